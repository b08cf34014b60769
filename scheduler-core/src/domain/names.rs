//! Names of pluggable behaviours: execution modes and load-balancing strategies.
//!
//! Both are open sets: docs/reference/semantics.md names the built-in values, and an embedding
//! program can register its own under a new name. They are strings at heart, with
//! constants for the built-ins, and are checked against the engine's registry when
//! a task is created or changed.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident { $($(#[$cdoc:meta])* $konst:ident = $value:literal),+ $(,)? } default $default:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Cow<'static, str>);

        impl $name {
            $( $(#[$cdoc])* pub const $konst: Self = Self(Cow::Borrowed($value)); )+

            /// The built-in names, in the order docs/reference/semantics.md lists them.
            pub const BUILT_IN: &'static [&'static str] = &[$($value),+];

            /// A name, built-in or registered by the embedding program.
            pub fn new(name: impl Into<String>) -> Self {
                Self(Cow::Owned(name.into()))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::new(s)
            }
        }
    };
}

name_type!(
    /// Which [`ExecutionMode`](crate::ExecutionMode) decides what a scheduled fire does.
    ModeName {
        /// Always dispatch.
        PARALLEL = "parallel",
        /// Do not dispatch (and record nothing) while an execution is pending or running.
        SEQUENTIAL = "sequential",
        /// Record a `skipped` execution while an execution is running.
        SKIP = "skip",
    } default PARALLEL
);

name_type!(
    /// Which [`LoadBalancer`](crate::LoadBalancer) picks the executor of a dispatch.
    StrategyName {
        /// Next candidate in id order.
        ROUND_ROBIN = "round_robin",
        /// Smooth weighted round robin (nginx).
        WEIGHTED_ROUND_ROBIN = "weighted_round_robin",
        /// Uniform random choice.
        RANDOM = "random",
        /// Keep the bound executor while it is a candidate.
        STICKY = "sticky",
        /// Fewest running executions, ties by round robin.
        LEAST_LOADED = "least_loaded",
    } default ROUND_ROBIN
);
