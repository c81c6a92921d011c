//! The engine: executes a compiled `Machine` on tokio, owning data flow, flow directives, retries,
//! timeouts and cancellation. It never prints; it publishes lifecycle events.

mod a2a;
mod asyncapi;
mod auth;
mod auth_secret;
mod background;
mod backoff;
mod body;
mod catch;
mod container;
mod emit;
mod engine;
/// The problem-details type moved to `crate::problem`; this path stays for code written before.
pub use crate::problem as error;
pub mod event;
mod family;
mod function;
mod grpc;
mod http;
mod interrupt;
mod listen;
mod mcp;
mod openapi;
mod process;
pub mod replay;
mod resources;
pub mod retry_point;
mod script;
mod step;
mod subflow;
mod task;
mod values;

pub use engine::{Outcome, RunOptions, RunResult, check_input, run};
pub(crate) use listen::{TriggerOffer, offer_trigger};
pub use replay::{RecordedEvent, Replay};

#[cfg(test)]
mod asyncapi_tests;
#[cfg(test)]
mod calls_tests;
#[cfg(test)]
mod durable_tests;
#[cfg(test)]
mod effects_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod grpc_tests;
#[cfg(test)]
mod host_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod time_tests;
