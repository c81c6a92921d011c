//! The typed model of a DSL 1.0.3 document, built by `parse::parse`.

// The model is built once per document and read many times; unboxed variants keep pattern
// matching plain for every later stage, and their size is irrelevant.
#![allow(clippy::large_enum_variant)]

mod auth;
mod call;
mod common;
mod duration;
mod event;
mod names;
mod policy;
mod run;
mod task;
mod workflow;

pub use auth::*;
pub use call::*;
pub use common::*;
pub use duration::*;
pub use event::*;
pub use names::NameIndex;
pub use policy::*;
pub use run::*;
pub use task::*;
pub use workflow::*;
