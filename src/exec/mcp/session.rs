//! The real `McpClient`, on the official Rust MCP SDK (`rmcp`): one session per call. The SDK
//! does the JSON-RPC framing, the `initialize` handshake (with the task's protocol version and
//! client), `Mcp-Session-Id` and the SSE answers of Streamable HTTP; this file picks the
//! transport, sends the one request (and the further pages of a list), and ends the session.
//!
//! Why one session per call, not one server per run: a call is one durable step, so its effects
//! must not depend on what an earlier call left in a server process, a resumed run behaves like
//! the first, and a server that hangs or crashes takes only its own call with it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientRequest, CustomRequest, Implementation, ProtocolVersion,
};
use rmcp::service::{Peer, RoleClient};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ServiceError, ServiceExt};
use serde_json::{Map, Value};

use super::{list_key, stdio};
use crate::exec::http::ReqwestHttp;
use crate::exec::process::SystemProcesses;
use crate::host::effects::mcp::{McpClient, McpRequest, McpServer};
use crate::problem::{ErrorKind, WorkflowError};
use futures::future::BoxFuture;

/// How long a stdio server has to exit after its input closed before its group is terminated.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long a failed call waits for the rest of the server's stderr.
const STDERR_DRAIN: Duration = Duration::from_secs(1);
/// A server handing out more pages than this is looping.
const MAX_PAGES: usize = 10_000;

/// Starts stdio servers with the run's process settings and reaches HTTP servers through the
/// run's shared HTTP client (pool, TLS, timeouts, token cache).
#[derive(Clone)]
pub struct RmcpClient {
    processes: SystemProcesses,
    http: ReqwestHttp,
}

impl RmcpClient {
    pub fn new(processes: SystemProcesses, http: ReqwestHttp) -> Self {
        RmcpClient { processes, http }
    }

    async fn call_server(&self, request: McpRequest) -> Result<Value, WorkflowError> {
        let version: ProtocolVersion = serde_json::from_value(Value::String(
            request.protocol_version.clone(),
        ))
        .map_err(|why| {
            WorkflowError::new(ErrorKind::Validation, "Invalid MCP protocol version")
                .with_detail(why.to_string())
        })?;
        let config = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new(&request.client_name, &request.client_version),
        )
        .with_protocol_version(version);
        match &request.server {
            McpServer::Stdio {
                command,
                arguments,
                environment,
            } => {
                let started = stdio::start(
                    &self.processes,
                    command,
                    arguments,
                    environment,
                    request.on_line.clone(),
                )?;
                let outcome = converse(config, started.transport, &request).await;
                let exit = started.process.shut_down(EXIT_GRACE).await;
                let Err(mut error) = outcome else {
                    return outcome;
                };
                if let Some(code) = exit {
                    // Why the conversation broke: say it plainly, not as a pipe error.
                    error.detail = Some(format!(
                        "`{command}` exited with code {code} before the call was over"
                    ));
                }
                // The last lines the server wrote may still be in the pipe.
                if let Some(reader) = started.reader {
                    let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
                }
                Err(started.stderr.explain(error))
            }
            McpServer::Http {
                url,
                headers,
                credentials,
            } => {
                let (client, authenticator) = self.http.shared()?;
                let mut custom = HashMap::new();
                for (name, value) in headers {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| bad_header(name, "is not a valid header name"))?;
                    let value = HeaderValue::from_str(value).map_err(|_| {
                        bad_header(name.as_str(), "has a value that cannot be sent")
                    })?;
                    custom.insert(name, value);
                }
                if let Some(credentials) = credentials {
                    let Some(authorization) = authenticator.authorize(credentials).await? else {
                        return Err(WorkflowError::new(
                            ErrorKind::Configuration,
                            "Authentication not supported for MCP",
                        )
                        .with_detail(format!(
                            "`{}` authentication answers a challenge; MCP calls send basic, bearer, oauth2 or oidc credentials up front",
                            credentials.scheme_name()
                        )));
                    };
                    let mut value =
                        HeaderValue::from_str(&authorization.header()).map_err(|_| {
                            bad_header("Authorization", "has a value that cannot be sent")
                        })?;
                    value.set_sensitive(true);
                    custom.insert(AUTHORIZATION, value);
                }
                let transport = StreamableHttpClientTransport::with_client(
                    client,
                    StreamableHttpClientTransportConfig::with_uri(url.as_str())
                        .custom_headers(custom),
                );
                converse(config, transport, &request)
                    .await
                    .map_err(|mut error| {
                        if let Some(detail) = &mut error.detail {
                            detail.push_str(&format!(
                                " (server {})",
                                crate::exec::http::display_url(url)
                            ));
                        }
                        error
                    })
            }
        }
    }
}

impl McpClient for RmcpClient {
    fn call(&self, request: McpRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        let client = self.clone();
        Box::pin(async move { client.call_server(request).await })
    }
}

/// `initialize`, the request (and its further pages), then the end of the session.
async fn converse<T, E, A>(
    config: ClientConfig,
    transport: T,
    request: &McpRequest,
) -> Result<Value, WorkflowError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let service = config.serve(transport).await.map_err(|error| {
        WorkflowError::new(ErrorKind::Communication, "MCP server did not initialize")
            .with_detail(tidy(&error.to_string()))
    })?;
    let outcome = request_all(service.peer(), &request.method, request.parameters.clone()).await;
    // Closing the session: an HTTP server is told (DELETE), a stdio server's input closes.
    let _ = service.cancel().await;
    outcome
}

/// The result of `method`; for a list without an explicit `cursor`, every page joined.
async fn request_all(
    peer: &Peer<RoleClient>,
    method: &str,
    parameters: Option<Value>,
) -> Result<Value, WorkflowError> {
    let parameters = match parameters {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(other) => {
            return Err(
                WorkflowError::new(ErrorKind::Validation, "Invalid MCP parameters")
                    .with_detail(format!("`parameters` must be an object, got {other}")),
            );
        }
    };
    let mut result = send(peer, method, parameters.clone()).await?;
    let explicit_cursor = parameters
        .as_ref()
        .is_some_and(|p| p.contains_key("cursor"));
    let Some(key) = list_key(method).filter(|_| !explicit_cursor) else {
        return Ok(result);
    };
    let mut seen = HashSet::new();
    while let Some(cursor) = next_cursor(&result) {
        if !seen.insert(cursor.clone()) || seen.len() > MAX_PAGES {
            return Err(
                WorkflowError::new(ErrorKind::Runtime, "MCP pagination does not end")
                    .with_detail(format!("`{method}` handed out the cursor `{cursor}` again")),
            );
        }
        let mut next = parameters.clone().unwrap_or_default();
        next.insert("cursor".to_owned(), Value::String(cursor));
        let page = send(peer, method, Some(next)).await?;
        join_page(&mut result, page, key);
    }
    Ok(result)
}

fn next_cursor(result: &Value) -> Option<String> {
    result
        .get("nextCursor")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Appends `page`'s items to `result`'s and takes over its `nextCursor` (or its absence).
fn join_page(result: &mut Value, page: Value, key: &str) {
    let Value::Object(page) = page else {
        return;
    };
    let Some(result) = result.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(items)) = page.get(key) {
        match result.get_mut(key) {
            Some(Value::Array(all)) => all.extend(items.iter().cloned()),
            _ => {
                result.insert(key.to_owned(), Value::Array(items.clone()));
            }
        }
    }
    match page.get("nextCursor") {
        Some(cursor) => result.insert("nextCursor".to_owned(), cursor.clone()),
        None => result.remove("nextCursor"),
    };
}

async fn send(
    peer: &Peer<RoleClient>,
    method: &str,
    parameters: Option<Map<String, Value>>,
) -> Result<Value, WorkflowError> {
    let request = CustomRequest::new(method, parameters.map(Value::Object));
    let result = peer
        .send_request(ClientRequest::CustomRequest(request))
        .await
        .map_err(|error| service_error(method, error))?;
    serde_json::to_value(result).map_err(|why| {
        WorkflowError::new(ErrorKind::Communication, "Unreadable MCP result")
            .with_detail(format!("`{method}`: {why}"))
    })
}

/// A JSON-RPC error answer is the server's verdict (`runtime`); anything else means the
/// conversation broke (`communication`).
fn service_error(method: &str, error: ServiceError) -> WorkflowError {
    match error {
        ServiceError::McpError(data) => {
            let mut detail = format!(
                "`{method}`: {} (JSON-RPC error {})",
                data.message, data.code.0
            );
            if let Some(data) = &data.data {
                detail.push_str(&format!("; data: {data}"));
            }
            WorkflowError::new(ErrorKind::Runtime, "MCP server returned an error")
                .with_detail(detail)
        }
        other => WorkflowError::new(ErrorKind::Communication, "MCP request failed")
            .with_detail(format!("`{method}`: {}", tidy(&other.to_string()))),
    }
}

/// The SDK's error text without the Rust type names it puts in brackets
/// (`Transport [rmcp::transport::...] error: Broken pipe`).
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(" [") {
        let Some(length) = rest[start..].find("] ") else {
            break;
        };
        let inside = &rest[start + 2..start + length];
        out.push_str(&rest[..start]);
        if !inside.contains("::") {
            out.push_str(&rest[start..start + length + 1]);
        }
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    out
}

fn bad_header(name: &str, why: &str) -> WorkflowError {
    WorkflowError::new(ErrorKind::Validation, "Invalid MCP header")
        .with_detail(format!("the header `{name}` {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_are_joined_and_the_last_cursor_wins() {
        let mut result = json!({"tools": [{"name": "a"}], "nextCursor": "1"});
        join_page(
            &mut result,
            json!({"tools": [{"name": "b"}], "nextCursor": "2"}),
            "tools",
        );
        assert_eq!(next_cursor(&result).as_deref(), Some("2"));
        join_page(&mut result, json!({"tools": [{"name": "c"}]}), "tools");
        assert_eq!(
            result,
            json!({"tools": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
        );
    }

    #[test]
    fn type_names_are_taken_out_of_sdk_errors() {
        assert_eq!(
            tidy(
                "Send message error Transport [rmcp::transport::A<B, C>] error: Broken pipe, when send initialize request"
            ),
            "Send message error Transport error: Broken pipe, when send initialize request"
        );
        assert_eq!(tidy("list [a] of b"), "list [a] of b");
    }

    #[test]
    fn json_rpc_errors_are_runtime_errors_with_the_message() {
        let error = service_error(
            "tools/call",
            ServiceError::McpError(rmcp::model::ErrorData::invalid_params(
                "unknown tool `x`",
                None,
            )),
        );
        assert!(error.type_.ends_with("/runtime"));
        let detail = error.detail.unwrap_or_default();
        assert!(
            detail.contains("unknown tool `x`") && detail.contains("-32602"),
            "{detail}"
        );
        let broken = service_error("tools/list", ServiceError::TransportClosed);
        assert!(broken.type_.ends_with("/communication"));
    }
}
