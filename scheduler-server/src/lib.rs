//! REST API server (work in progress).
