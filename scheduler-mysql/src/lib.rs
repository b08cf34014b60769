//! MySQL/MariaDB store (work in progress).
