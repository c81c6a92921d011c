//! The library-level runner: a checked [`RunConfig`] in, an exit code out. It owns the tokio
//! runtime, the signals, the local host, the sinks and reporters; `command/` only turns
//! arguments into the configuration (`run`, `resume` and `retry` alike).

mod dry_run;
mod engine;
pub(crate) mod hosted;
mod input;
pub(crate) mod journal;
mod outcome;
mod run;

pub use input::{InputError, read_input};
pub(crate) use outcome::result_json;
pub(crate) use run::Journaling;
pub use run::{ConfigError, RunConfig, run};
