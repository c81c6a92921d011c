//! `call` tasks: HTTP, OpenAPI, gRPC, AsyncAPI, A2A, MCP, and custom functions.

use serde::Serialize;

use super::auth::AuthenticationRef;
use super::common::{Expression, Reference, ValueTemplate};
use super::duration::Duration;
use super::event::SubscriptionIterator;
use super::policy::{Endpoint, ExternalResource};

/// The call a `call` task performs, told apart by the value of `call`.
#[derive(Debug, Clone, PartialEq, Serialize)]
///
/// The protocol calls are boxed: each is a kilobyte or more (AsyncAPI four), and a task is as
/// large as its largest kind, so inline they made every task of a document weigh 8 KB.
pub enum CallTask {
    Http(Box<HttpCall>),
    OpenApi(Box<OpenApiCall>),
    Grpc(Box<GrpcCall>),
    AsyncApi(Box<AsyncApiCall>),
    A2a(Box<A2aCall>),
    Mcp(Box<McpCall>),
    /// `call: name`: a `use.functions` entry, a catalog reference (`fn:1.0.0@catalog`) or a URL.
    Function(FunctionCall),
}

impl CallTask {
    /// The value of `call` (`http`, ..., or the function name).
    pub fn call_name(&self) -> &str {
        match self {
            CallTask::Http(_) => "http",
            CallTask::OpenApi(_) => "openapi",
            CallTask::Grpc(_) => "grpc",
            CallTask::AsyncApi(_) => "asyncapi",
            CallTask::A2a(_) => "a2a",
            CallTask::Mcp(_) => "mcp",
            CallTask::Function(function) => &function.function.name,
        }
    }
}

/// What an HTTP or OpenAPI call outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum HttpOutput {
    /// The body, base64-encoded.
    Raw,
    /// The deserialized body (the default).
    #[default]
    Content,
    /// `{ request, statusCode, headers, content }`.
    Response,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpCall {
    /// As written (`get`, `POST`...); compare case-insensitively.
    pub method: String,
    pub endpoint: Endpoint,
    /// A map of strings (leaves may be expressions) or one expression string yielding a map.
    pub headers: Option<ValueTemplate>,
    pub body: Option<ValueTemplate>,
    /// Same shape as `headers`.
    pub query: Option<ValueTemplate>,
    pub output: HttpOutput,
    /// Whether 3xx responses are followed (CHECKLIST decision 8); false when absent.
    pub redirect: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenApiCall {
    pub document: ExternalResource,
    pub operation_id: String,
    pub parameters: Option<ValueTemplate>,
    pub authentication: Option<AuthenticationRef>,
    pub output: HttpOutput,
    pub redirect: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrpcCall {
    pub proto: ExternalResource,
    pub service: GrpcService,
    pub method: String,
    pub arguments: Option<ValueTemplate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrpcService {
    pub name: String,
    pub host: String,
    pub port: Option<u16>,
    pub authentication: Option<AuthenticationRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsyncApiCall {
    pub document: ExternalResource,
    /// AsyncAPI v2.6 documents name a channel...
    pub channel: Option<String>,
    /// ...v3 documents an operation.
    pub operation: Option<String>,
    pub server: Option<AsyncApiServer>,
    pub protocol: Option<String>,
    /// Set when publishing.
    pub message: Option<AsyncApiMessage>,
    /// Set when subscribing.
    pub subscription: Option<AsyncApiSubscription>,
    pub authentication: Option<AuthenticationRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsyncApiServer {
    pub name: String,
    pub variables: Option<ValueTemplate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsyncApiMessage {
    pub payload: Option<ValueTemplate>,
    pub headers: Option<ValueTemplate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsyncApiSubscription {
    pub filter: Option<Expression>,
    pub consume: ConsumePolicy,
    pub foreach: Option<SubscriptionIterator>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumePolicy {
    pub limit: ConsumeLimit,
    /// `for`: how long to consume.
    pub for_: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ConsumeLimit {
    Amount(u64),
    While(Expression),
    Until(Expression),
}

/// [main] Agent-to-agent call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct A2aCall {
    /// `message/send`, `tasks/get`, ... as written.
    pub method: String,
    pub agent_card: Option<ExternalResource>,
    pub server: Option<Endpoint>,
    /// An object (leaves may be expressions) or one expression string.
    pub parameters: Option<ValueTemplate>,
}

/// [main] Model Context Protocol call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McpCall {
    /// `2025-06-18` when absent.
    pub protocol_version: String,
    pub method: String,
    pub parameters: Option<ValueTemplate>,
    pub timeout: Option<Duration>,
    pub transport: McpTransport,
    pub client: Option<McpClient>,
}

impl McpCall {
    pub const DEFAULT_PROTOCOL_VERSION: &'static str = "2025-06-18";
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McpTransport {
    pub kind: McpTransportKind,
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum McpTransportKind {
    Http {
        endpoint: Endpoint,
        headers: Option<ValueTemplate>,
    },
    Stdio {
        command: String,
        arguments: Vec<String>,
        environment: Option<ValueTemplate>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpClient {
    pub name: String,
    pub version: Option<String>,
}

/// A call of a function by name, with its arguments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionCall {
    pub function: Reference,
    pub with: Option<ValueTemplate>,
}

impl FunctionCall {
    /// `name:version@catalog`: split into (function, version, catalog), if the name has that form.
    pub fn catalog_parts(&self) -> Option<(&str, &str, &str)> {
        let (function, rest) = self.function.name.split_once(':')?;
        let (version, catalog) = rest.split_once('@')?;
        if function.is_empty() || version.is_empty() || catalog.is_empty() || rest.starts_with("//")
        {
            return None;
        }
        Some((function, version, catalog))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str) -> FunctionCall {
        FunctionCall {
            function: Reference::new(name, "/do/0/f/call"),
            with: None,
        }
    }

    #[test]
    fn splits_catalog_references_only() {
        assert_eq!(
            call("log:1.0.0@default").catalog_parts(),
            Some(("log", "1.0.0", "default"))
        );
        assert_eq!(call("getPetById").catalog_parts(), None);
        assert_eq!(call("https://x/function.yaml").catalog_parts(), None);
        assert_eq!(call("https://user@host/f").catalog_parts(), None);
    }
}
