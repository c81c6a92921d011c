//! `call: mcp` as the engine hands it to a Model Context Protocol server: a fully evaluated
//! `McpRequest` (where the server is, the client's name and protocol version, the method and its
//! parameters) and the JSON-RPC `result` that came back. The engine decides what a result means
//! (a tool's `isError`); the client does the protocol: `initialize` first, the request, every
//! page of a paginated list, then the session's end.

#[cfg(feature = "mcp")]
mod session;
#[cfg(feature = "mcp")]
mod stdio;

#[cfg(not(feature = "mcp"))]
use crate::host::effects::mcp::{McpClient, McpRequest};
#[cfg(not(feature = "mcp"))]
use {crate::problem::WorkflowError, futures::future::BoxFuture, serde_json::Value};

#[cfg(feature = "mcp")]
pub use session::RmcpClient;

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
