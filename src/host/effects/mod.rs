//! The side effects the engine asks its host for, one small trait each, with the fully evaluated
//! requests and the results it expects back. The engine owns these contracts; `exec/` implements
//! them on this machine, the Temporal worker as activities, tests with scripted fakes.

pub mod a2a;
pub mod asyncapi;
pub mod credentials;
pub mod events;
pub mod grpc;
pub mod http;
pub mod mcp;
pub mod process;
