//! `call: a2a` as the engine hands it to an agent: a fully evaluated `A2aRequest` (where the
//! agent is, the JSON-RPC method and its params) and what came back: the JSON-RPC `result`, or
//! for the streaming methods the ordered array of every result the agent sent.

mod card;
mod rpc;
mod sse;

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::host::effects::a2a::{A2aAgent, A2aClient, A2aRequest};
use crate::host::effects::http::HttpClient;
use crate::problem::WorkflowError;

/// Whether the method answers with a stream of Server-Sent Events.
pub(crate) fn is_streaming(method: &str) -> bool {
    matches!(method, "message/stream" | "tasks/resubscribe")
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
