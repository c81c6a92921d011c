//! gRPC as the engine asks its host for it: a fully evaluated `GrpcRequest` (the proto's source
//! files, service, method, where to connect, the argument object, credentials, deadline) and the
//! messages that came back, in the proto3 JSON mapping.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::credentials::Credentials;
use crate::problem::{ErrorKind, WorkflowError};

/// A proto file and every file it imports (except Google's well-known types, which the compiler
/// knows), as text, named the way the `import` statements name them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProtoFiles {
    /// Where the root file was read from (for messages).
    pub location: String,
    /// The root file's name among `files`.
    pub root: String,
    /// `(name, text)`, the root first.
    pub files: Vec<(String, String)>,
}

/// One call to make, every expression already evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpcRequest {
    pub proto: Arc<ProtoFiles>,
    /// Package-qualified (`helloworld.Greeter`).
    pub service: String,
    pub method: String,
    pub host: String,
    pub port: u16,
    /// TLS (rustls, the system's roots) rather than plaintext HTTP/2.
    pub tls: bool,
    /// The request message in the proto3 JSON mapping (an object).
    pub arguments: serde_json::Value,
    /// Sent as the `authorization` metadata (basic, bearer, oauth2, oidc).
    pub credentials: Option<Credentials>,
    /// The task's timeout, sent as the call's deadline (`grpc-timeout`).
    pub deadline: Option<Duration>,
}

/// What came back, in the proto3 JSON mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum GrpcReply {
    /// A unary method's response message.
    Unary(serde_json::Value),
    /// A server-streaming method's messages, in the order they arrived.
    Stream(Vec<serde_json::Value>),
}

impl GrpcReply {
    /// The task's raw output: the message, or the array of messages.
    pub fn into_output(self) -> serde_json::Value {
        match self {
            GrpcReply::Unary(message) => message,
            GrpcReply::Stream(messages) => serde_json::Value::Array(messages),
        }
    }
}

/// Makes gRPC calls. Cancel-safe: dropping the future cancels the call (the stream is reset).
pub trait GrpcClient: Send + Sync {
    /// A proto that does not compile, a missing service or method and a client- or
    /// bidi-streaming method are `configuration` errors; arguments naming no field (or of the
    /// wrong type) are `validation` errors; a non-OK status is a `communication` error with the
    /// HTTP status the gRPC-to-HTTP mapping gives (a deadline the request set: `timeout`).
    fn call(&self, request: GrpcRequest) -> BoxFuture<'static, Result<GrpcReply, WorkflowError>>;
}

/// The executor of a build without the `grpc` feature: every call is a `configuration` error.
#[derive(Debug, Default)]
pub struct NoGrpc;

impl GrpcClient for NoGrpc {
    fn call(&self, _request: GrpcRequest) -> BoxFuture<'static, Result<GrpcReply, WorkflowError>> {
        Box::pin(async {
            Err(
                WorkflowError::new(ErrorKind::Configuration, "gRPC is not available")
                    .with_detail("this build of workflow was made without the `grpc` feature"),
            )
        })
    }
}
