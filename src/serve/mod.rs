//! `workflow serve`: a long-running host of the engine. Scheduled and event-started runs, an
//! HTTP API and a web UI, every run recorded in the journal and resumed after a crash.

mod api;
mod catalog;
mod dispatch;
mod metrics;
mod schedule;
mod server;
mod trigger;

pub use server::{ServeConfig, serve};
