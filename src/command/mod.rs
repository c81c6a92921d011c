//! One file per subcommand: each turns its arguments into settings and wires the stages together.

pub mod cancel;
pub mod completions;
mod durable;
mod error;
pub mod events;
pub mod graph;
mod graph_run;
pub mod init;
pub mod man;
pub mod resume;
pub mod retry;
pub mod run;
pub mod runs;
mod runs_logs;
mod runs_show;
mod runs_temporal;
pub mod schema;
pub mod serve;
pub mod temporal;
pub mod validate;
