//! The engine: executes a compiled `Machine` on tokio, owning data flow, flow directives, retries,
//! timeouts and cancellation. It never prints; it publishes lifecycle events.

pub mod error;
pub mod event;
