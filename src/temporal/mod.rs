//! Runs on a Temporal cluster (feature `temporal`): the worker that hosts the engine as workflow
//! code, and the client side of `run --temporal`. See docs/temporal.md for the mapping.

mod activities;
mod client;
mod host;
mod payload;
mod replay;
mod unavailable;
mod worker;
mod workflow;

pub use client::{Endpoint, SubmitConfig, submit};
pub use replay::replay;
pub use worker::{WorkerConfig, run_worker};
