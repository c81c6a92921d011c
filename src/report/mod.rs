//! Consumers of results and of the engine's event stream; each writes text, never decides.

pub mod diagnostics;
pub mod events;
pub mod final_tree;
pub mod fmt;
pub mod github;
pub mod junit;
pub mod outline;
pub mod plain;
pub mod plan;
mod plan_words;
pub mod progress;
pub mod publish;
pub mod record;
pub mod reporters;
pub(crate) mod sanitize;
#[cfg(test)]
pub(crate) mod script;
pub mod summary;
pub mod tracker;
pub mod tree;
#[cfg(test)]
pub(crate) mod vt;
