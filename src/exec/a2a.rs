//! `call: a2a` as the engine hands it to an agent: a fully evaluated `A2aRequest` (where the
//! agent is, the JSON-RPC method and its params) and what came back: the JSON-RPC `result`, or
//! for the streaming methods the ordered array of every result the agent sent.

mod card;
mod rpc;
mod sse;

use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::Url;
use serde_json::Value;

use super::auth::Credentials;
use super::http::HttpClient;
use crate::problem::WorkflowError;

/// One A2A request, every expression already evaluated (`message.messageId` and
/// `message.role` already defaulted).
#[derive(Debug, Clone, PartialEq)]
pub struct A2aRequest {
    pub agent: A2aAgent,
    pub method: String,
    pub params: Value,
}

/// Where the agent is, and the credentials the task gives for it.
#[derive(Debug, Clone, PartialEq)]
pub enum A2aAgent {
    /// The agent card at this location (`file:` or `http(s):`), fetched with `credentials`; the
    /// agent is called at the card's JSON-RPC URL, with `credentials` applied the way the card's
    /// `security` and `securitySchemes` ask.
    Card {
        location: Url,
        credentials: Option<Credentials>,
    },
    /// The agent's JSON-RPC endpoint.
    Server {
        url: String,
        credentials: Option<Credentials>,
    },
}

/// Whether the method answers with a stream of Server-Sent Events.
pub(crate) fn is_streaming(method: &str) -> bool {
    matches!(method, "message/stream" | "tasks/resubscribe")
}

/// Talks to A2A agents. Cancel-safe: dropping the future abandons the request.
pub trait A2aClient: Send + Sync {
    /// A JSON-RPC error answer (in the response or in any event of a stream) is a `runtime`
    /// error carrying its code and message; a card that cannot be fetched or read, or asks for
    /// credentials the task does not give, is a `configuration` or `authentication` error; an
    /// agent that cannot be reached or answers outside JSON-RPC is a `communication` error
    /// (401 `authentication`, 403 `authorization`).
    fn call(&self, request: A2aRequest) -> BoxFuture<'static, Result<Value, WorkflowError>>;
}

/// The real client: JSON-RPC 2.0 over the run's shared HTTP client.
#[derive(Clone)]
pub struct JsonRpcA2a {
    http: Arc<dyn HttpClient>,
}

impl JsonRpcA2a {
    pub fn new(http: Arc<dyn HttpClient>) -> Self {
        JsonRpcA2a { http }
    }
}

impl A2aClient for JsonRpcA2a {
    fn call(&self, request: A2aRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        let http = Arc::clone(&self.http);
        Box::pin(async move { rpc::call(&*http, request).await })
    }
}
