//! Consumers of results and of the engine's event stream; each writes text, never decides.

pub mod diagnostics;
pub mod outline;
#[cfg(test)]
pub(crate) mod script;
pub mod tracker;
