//! The engine's boundary with the place it runs on: one value, [`Executors`], carries every part.
//! A run asks its host for side effects ([`effects`]: processes, HTTP, gRPC, MCP, A2A, AsyncAPI,
//! events, each a trait with its evaluated request type), for the time and its timers
//! ([`Clock`]), for ids and randomness ([`Ids`]) and for documents and resources ([`Loader`]):
//! the engine itself never reads the wall clock, a file, the environment or a socket, so two
//! runs on the same scripted host produce the same event stream. The local host (the CLI) is
//! `Executors::system`, built by `exec` with the loader of `crate::loader`; tests script every
//! part.

mod cache;
mod clock;
pub mod effects;
mod executors;
#[cfg(test)]
pub(crate) mod fake;
mod ids;
mod loader;

pub(crate) use cache::OnceMap;
pub use clock::{Clock, TokioClock, far_future};
pub use executors::Executors;
pub use ids::{Ids, RandomIds};
pub use loader::{ChildWorkflow, Loader};
