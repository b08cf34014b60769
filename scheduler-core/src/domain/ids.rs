//! Newtype identifiers, so a task id cannot be passed where an executor id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id (UUID v7).
            pub fn generate() -> Self {
                let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
                Self(uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buf).to_owned())
            }

            /// Wraps an existing id as read from a store or a request.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// Identifies a [`Task`](crate::Task).
    TaskId
);
id_type!(
    /// Identifies an [`Executor`](crate::Executor).
    ExecutorId
);
id_type!(
    /// Identifies an [`Execution`](crate::Execution).
    ExecutionId
);

/// Longest id accepted anywhere (CONTRACT §1: "at most 64 chars").
pub const MAX_ID_LEN: usize = 64;
