//! Runs on a Temporal cluster (feature `temporal`): the worker that hosts the engine as workflow
//! code, and the client side of `run --temporal`. See docs/temporal.md for the mapping.

mod activities;
mod client;
mod events;
mod host;
mod host_calls;
mod payload;
mod payload_calls;
mod replay;
mod signals;
mod subscriptions;
mod worker;
mod workflow;

pub use client::{Endpoint, SubmitConfig, submit};
pub use events::send_event;
pub use replay::replay;
pub use worker::{WorkerConfig, run_worker};
