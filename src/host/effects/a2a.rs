//! `call: a2a` as the engine asks its host for it: a fully evaluated `A2aRequest` (where the
//! agent is, the JSON-RPC method and its params) and the result that came back.

use futures::future::BoxFuture;
use reqwest::Url;
use serde_json::Value;

use super::credentials::Credentials;
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

/// Talks to A2A agents. Cancel-safe: dropping the future abandons the request.
pub trait A2aClient: Send + Sync {
    /// A JSON-RPC error answer (in the response or in any event of a stream) is a `runtime`
    /// error carrying its code and message; a card that cannot be fetched or read, or asks for
    /// credentials the task does not give, is a `configuration` or `authentication` error; an
    /// agent that cannot be reached or answers outside JSON-RPC is a `communication` error
    /// (401 `authentication`, 403 `authorization`).
    fn call(&self, request: A2aRequest) -> BoxFuture<'static, Result<Value, WorkflowError>>;
}
