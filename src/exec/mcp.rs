//! `call: mcp` as the engine hands it to a Model Context Protocol server: a fully evaluated
//! `McpRequest` (where the server is, the client's name and protocol version, the method and its
//! parameters) and the JSON-RPC `result` that came back. The engine decides what a result means
//! (a tool's `isError`); the client does the protocol: `initialize` first, the request, every
//! page of a paginated list, then the session's end.

#[cfg(feature = "mcp")]
mod session;
#[cfg(feature = "mcp")]
mod stdio;

use futures::future::BoxFuture;
use serde_json::Value;

use super::LineObserver;
use super::auth::Credentials;
use crate::problem::WorkflowError;

#[cfg(feature = "mcp")]
pub use session::RmcpClient;

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

/// The list a paginated MCP method returns its items in.
#[cfg(feature = "mcp")]
pub(crate) fn list_key(method: &str) -> Option<&'static str> {
    match method {
        "tools/list" => Some("tools"),
        "prompts/list" => Some("prompts"),
        "resources/list" => Some("resources"),
        "resources/templates/list" => Some("resourceTemplates"),
        _ => None,
    }
}

/// Stands in when the binary was built without the `mcp` feature.
#[cfg(not(feature = "mcp"))]
pub struct RmcpClient;

#[cfg(not(feature = "mcp"))]
impl RmcpClient {
    pub fn new(
        _processes: super::process::SystemProcesses,
        _http: super::http::ReqwestHttp,
    ) -> Self {
        RmcpClient
    }
}

#[cfg(not(feature = "mcp"))]
impl McpClient for RmcpClient {
    fn call(&self, _request: McpRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        Box::pin(async {
            Err(WorkflowError::new(
                crate::problem::ErrorKind::Configuration,
                "MCP is not available",
            )
            .with_detail("this `workflow` was built without the `mcp` feature"))
        })
    }
}
