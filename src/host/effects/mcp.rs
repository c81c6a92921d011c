//! `call: mcp` as the engine asks its host for it: a fully evaluated `McpRequest` (where the
//! server is, the client's name and protocol version, the method and its parameters) and the
//! JSON-RPC `result` that came back.

use futures::future::BoxFuture;
use serde_json::Value;

use super::credentials::Credentials;
use super::process::LineObserver;
use crate::problem::WorkflowError;

/// One MCP request, every expression already evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct McpRequest {
    pub server: McpServer,
    /// Sent in `initialize` (`2025-06-18` unless the task says otherwise).
    pub protocol_version: String,
    pub client_name: String,
    pub client_version: String,
    /// One of the methods the DSL lists (`tools/call`, `resources/read`, ...).
    pub method: String,
    /// The request's `params`; `None` sends none.
    pub parameters: Option<Value>,
    /// Told each line the server writes to stderr (its log), for live views.
    pub on_line: Option<LineObserver>,
}

/// Where the server is.
#[derive(Debug, Clone, PartialEq)]
pub enum McpServer {
    /// A server process started for this call and ended after it (stdio transport).
    Stdio {
        command: String,
        arguments: Vec<String>,
        /// Added to (not replacing) our environment.
        environment: Vec<(String, String)>,
    },
    /// A server reached over Streamable HTTP.
    Http {
        url: String,
        headers: Vec<(String, String)>,
        credentials: Option<Credentials>,
    },
}

/// Talks to MCP servers. Cancel-safe: dropping the future ends the session (a stdio server's
/// process group is terminated).
pub trait McpClient: Send + Sync {
    /// The JSON-RPC `result` of `request.method`; a list method's pages (`nextCursor`) are all
    /// fetched and joined into one result, unless the parameters ask for one page by `cursor`.
    /// A JSON-RPC error answer is a `runtime` error carrying its message; a server that cannot
    /// be started or reached, or breaks the protocol, is a `communication` error (with the end
    /// of a stdio server's stderr in the detail).
    fn call(&self, request: McpRequest) -> BoxFuture<'static, Result<Value, WorkflowError>>;
}
