//! gRPC as the engine hands it to the network: a fully evaluated `GrpcRequest` (the proto's
//! source files, service, method, where to connect, the argument object, credentials, deadline)
//! and the messages that came back. The proto is compiled, messages are built from JSON and read
//! back into JSON, and the call is made by the executor; the engine only evaluates expressions.
//!
//! The real executor (`SystemGrpc`) sits behind the cargo feature `grpc` (on by default): protos
//! are compiled in-process by protox (no `protoc`), messages are dynamic (prost-reflect), the
//! transport is tonic's HTTP/2 channel.

#[cfg(feature = "grpc")]
mod check;
#[cfg(feature = "grpc")]
mod client;
#[cfg(feature = "grpc")]
mod codec;
#[cfg(feature = "grpc")]
mod fields;
mod load;
#[cfg(feature = "grpc")]
mod proto;
#[cfg(feature = "grpc")]
mod status;

use std::sync::Arc;

#[cfg(feature = "grpc")]
pub use check::check_call;
#[cfg(feature = "grpc")]
pub(crate) use check::check_protos;
#[cfg(feature = "grpc")]
pub use client::SystemGrpc;
#[cfg(feature = "grpc")]
pub(crate) use load::load_local;
pub(crate) use load::load_remote;

use crate::host::effects::grpc::{GrpcClient, ProtoFiles};

/// The real executor when the build has one.
pub(crate) fn system() -> Arc<dyn GrpcClient> {
    #[cfg(feature = "grpc")]
    {
        Arc::new(SystemGrpc::default())
    }
    #[cfg(not(feature = "grpc"))]
    {
        Arc::new(crate::host::effects::grpc::NoGrpc)
    }
}
