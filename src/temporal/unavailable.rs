//! The effects a run on Temporal cannot perform yet (HTTP, gRPC, MCP, A2A, AsyncAPI). Running
//! them inside workflow code would break determinism, and they have no activity yet: each one is
//! a `configuration` error naming the task kind, never a silent local call.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::exec::a2a::{A2aClient, A2aRequest};
use crate::exec::asyncapi::{AsyncApiClient, Consumption, Message, Target};
use crate::exec::grpc::{GrpcClient, GrpcReply, GrpcRequest};
use crate::exec::http::{HttpClient, HttpRequest, HttpResponse};
use crate::exec::mcp::{McpClient, McpRequest};
use crate::problem::{ErrorKind, WorkflowError};

/// Every effect that is not an activity yet.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NotOnTemporal;

fn refuse<T: Send + 'static>(what: &'static str) -> BoxFuture<'static, Result<T, WorkflowError>> {
    Box::pin(async move {
        Err(
            WorkflowError::new(ErrorKind::Configuration, "Not available on Temporal").with_detail(
                format!(
                    "`{what}` has no Temporal activity yet: run this document locally \
                     (without --temporal)"
                ),
            ),
        )
    })
}

impl HttpClient for NotOnTemporal {
    fn send(
        &self,
        _request: HttpRequest,
    ) -> BoxFuture<'static, Result<HttpResponse, WorkflowError>> {
        refuse("call: http")
    }
}

impl GrpcClient for NotOnTemporal {
    fn call(&self, _request: GrpcRequest) -> BoxFuture<'static, Result<GrpcReply, WorkflowError>> {
        refuse("call: grpc")
    }
}

impl McpClient for NotOnTemporal {
    fn call(&self, _request: McpRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        refuse("call: mcp")
    }
}

impl AsyncApiClient for NotOnTemporal {
    fn publish(
        &self,
        _target: Target,
        _message: Message,
    ) -> BoxFuture<'static, Result<(), WorkflowError>> {
        refuse("call: asyncapi")
    }

    fn subscribe(
        &self,
        _target: Target,
        _name: String,
    ) -> BoxFuture<'static, Result<Consumption, WorkflowError>> {
        refuse("call: asyncapi")
    }
}

impl A2aClient for NotOnTemporal {
    fn call(&self, _request: A2aRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        refuse("call: a2a")
    }
}
