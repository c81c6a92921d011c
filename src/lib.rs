//! workflow: validate, run and draw Serverless Workflow DSL 1.0 documents.
//!
//! The crate is shaped like a compiler (see the README's architecture section): source → YAML with
//! spans → schema check → typed document → analysis → compiled machine → engine / graph, with
//! reporters consuming the engine's event stream.

pub mod diagnostic;
pub mod exit_code;
pub mod pointer;
pub mod schema;
pub mod source;
