//! `workflow graph`: Mermaid and DOT pictures of a workflow, built once as a small graph model
//! (`model`, `build`) and written by one writer per language.

mod aside;
mod build;
mod dot;
mod inject;
mod label;
mod mermaid;
mod model;
mod render;
mod states;

#[cfg(test)]
mod fixtures;

pub use inject::{END_MARKER, InjectError, START_MARKER, inject};
pub use render::{Direction, Format, render, render_run};
pub use states::TaskState;
