//! Runs on a Temporal cluster (feature `temporal`): the worker that hosts the engine as workflow
//! code, and the client side of `run --temporal`. See docs/temporal.md for the mapping.

mod activities;
mod children;
mod client;
mod events;
mod host;
mod host_calls;
mod loader;
mod ops;
mod payload;
mod payload_calls;
mod progress;
mod record;
mod replay;
mod retry;
mod schedule;
mod secrets;
mod signals;
mod subscriptions;
mod worker;
mod workflow;

pub use client::{Endpoint, SubmitConfig, submit};
pub use events::send_event;
pub use ops::{ListFilter, RemoteRun};
pub(crate) use ops::{block_on, cancel, list_runs, remote_run};
pub use replay::replay;
pub use retry::{RetryConfig, retry};
pub use schedule::{ScheduleConfig, Timing};
pub(crate) use schedule::{delete as delete_schedule, register as register_schedule};
pub use secrets::use_files as use_secret_files;
pub use worker::{WorkerConfig, run_worker};
