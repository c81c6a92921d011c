//! What crosses Temporal for every effect but processes: a `call` (HTTP, gRPC, MCP, A2A, an
//! AsyncAPI publish or one consumption step of an AsyncAPI subscription) and an `emit`, as the
//! `workflow.call` activity receives it, and what it returns. Everything here is JSON in
//! Temporal's history: the run's secret values (credentials built from `$secrets` included) are
//! sealed before it is sent and opened by the worker that runs the activity (`secrets.rs`).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::effects::credentials::{Authorization, Credentials};

use crate::host::effects::a2a::{A2aAgent, A2aRequest};
use crate::host::effects::asyncapi::{Message, Received, Target, WebBinding};
use crate::host::effects::grpc::{GrpcReply, GrpcRequest, ProtoFiles};
use crate::host::effects::http::{HttpBody, HttpRequest, HttpResponse, SentRequest};
use crate::host::effects::mcp::{McpRequest, McpServer};
use crate::problem::{ErrorKind, WorkflowError};

/// What the call activity is given: the request, its secret values sealed (`secrets.rs`), and
/// the names of the secrets the worker opens them from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallInput {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    #[serde(flatten)]
    pub call: CallRequest,
}

/// One execution of a side effect, every expression already evaluated by the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallRequest {
    Http(HttpCall),
    Grpc(GrpcCall),
    Mcp(McpCall),
    A2a(A2aCall),
    /// An AsyncAPI `publish`.
    Publish {
        target: TargetCall,
        message: MessageCall,
    },
    /// The start of an AsyncAPI subscription: the durable subscription `name` is made, so that
    /// messages published from now on wait for the consumption steps.
    Subscribe {
        target: TargetCall,
        name: String,
    },
    /// One consumption step of an AsyncAPI subscription: the next message of the durable
    /// subscription `name`.
    Receive {
        target: TargetCall,
        name: String,
    },
    /// The end of an AsyncAPI subscription: what the broker kept under `name` is removed.
    Close {
        target: TargetCall,
        name: String,
    },
    /// An `emit`: published through the worker's `--broker` (if it has one).
    Emit {
        event: Value,
    },
    /// A local resource a task names (`file:`: a gRPC proto, an OpenAPI or AsyncAPI
    /// document), read by the worker that takes the activity.
    Fetch {
        location: String,
    },
    /// A sub-workflow's document, found as a local run finds it (next to `caller`, in the
    /// worker's `workflows/` folders) by the worker that takes the activity: the text is in
    /// the history, so a replay needs no file.
    FindWorkflow {
        caller: Option<String>,
        namespace: String,
        name: String,
        version: String,
    },
}

impl CallRequest {
    /// What the activity is, for the Temporal UI's summary and messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            CallRequest::Http(_) => "http",
            CallRequest::Grpc(_) => "grpc",
            CallRequest::Mcp(_) => "mcp",
            CallRequest::A2a(_) => "a2a",
            CallRequest::Publish { .. } => "asyncapi publish",
            CallRequest::Subscribe { .. } => "asyncapi subscribe",
            CallRequest::Receive { .. } => "asyncapi receive",
            CallRequest::Close { .. } => "asyncapi close",
            CallRequest::Emit { .. } => "emit",
            CallRequest::Fetch { .. } => "resource",
            CallRequest::FindWorkflow { .. } => "sub-workflow lookup",
        }
    }
}

/// What a call activity returns. A failed call is a result carrying the error, never an
/// activity failure: only the engine's retry policy retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallDone {
    Http(HttpReply),
    Grpc {
        stream: bool,
        messages: Vec<Value>,
    },
    /// MCP's and A2A's JSON result.
    Value {
        value: Value,
    },
    /// A consumption step's message.
    Received(ReceivedCall),
    /// A resource's text.
    Text {
        text: String,
    },
    /// A sub-workflow's document and where it was found.
    Document {
        path: String,
        text: String,
    },
    /// A publish, an emit or a close that completed.
    Done,
    Failed {
        error: WorkflowError,
    },
}

impl CallDone {
    pub(crate) fn failed(error: WorkflowError) -> CallDone {
        CallDone::Failed { error }
    }

    /// The answer that was not the one the request asked for: a broken worker.
    pub(crate) fn unexpected(kind: &str) -> WorkflowError {
        WorkflowError::new(ErrorKind::Runtime, "Unexpected activity result").with_detail(format!(
            "the {kind} activity returned another kind of result"
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// `{"json": ...}` or `{"text": ...}`.
    pub body: Option<BodyCall>,
    pub redirect: bool,
    /// The call's authentication; its secret values are sealed (`secrets.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyCall {
    Json(Value),
    Text(String),
}

impl HttpCall {
    pub(crate) fn from_request(request: HttpRequest) -> Result<HttpCall, WorkflowError> {
        Ok(HttpCall {
            method: request.method,
            url: request.url,
            query: request.query,
            headers: request.headers,
            body: request.body.map(|body| match body {
                HttpBody::Json(value) => BodyCall::Json(value),
                HttpBody::Text(text) => BodyCall::Text(text),
            }),
            redirect: request.redirect,
            credentials: request.credentials,
        })
    }

    pub(crate) fn into_request(self) -> HttpRequest {
        HttpRequest {
            method: self.method,
            url: self.url,
            query: self.query,
            headers: self.headers,
            body: self.body.map(|body| match body {
                BodyCall::Json(value) => HttpBody::Json(value),
                BodyCall::Text(text) => HttpBody::Text(text),
            }),
            redirect: self.redirect,
            credentials: self.credentials,
        }
    }
}

/// An HTTP response; the body as bytes (JSON array) since it need not be text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub sent_method: String,
    pub sent_url: String,
    pub sent_headers: Vec<(String, String)>,
    /// The scheme of the authorization used (`$authorization.scheme`); its parameter (a token
    /// the worker obtained) stays on the worker: it is no secret the sealer knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_scheme: Option<String>,
}

impl From<HttpResponse> for HttpReply {
    fn from(response: HttpResponse) -> HttpReply {
        HttpReply {
            status: response.status,
            headers: response.headers,
            body: response.body,
            sent_method: response.sent.method,
            sent_url: response.sent.url,
            sent_headers: response.sent.headers,
            authorization_scheme: response.authorization.map(|used| used.scheme),
        }
    }
}

impl From<HttpReply> for HttpResponse {
    fn from(reply: HttpReply) -> HttpResponse {
        HttpResponse {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
            sent: SentRequest {
                method: reply.sent_method,
                url: reply.sent_url,
                headers: reply.sent_headers,
            },
            authorization: reply.authorization_scheme.map(|scheme| Authorization {
                scheme,
                parameter: String::new(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrpcCall {
    pub proto_location: String,
    pub proto_root: String,
    pub proto_files: Vec<(String, String)>,
    pub service: String,
    pub method: String,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub arguments: Value,
    pub deadline_ms: Option<u64>,
    /// The call's authentication; its secret values are sealed (`secrets.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
}

impl GrpcCall {
    pub(crate) fn from_request(request: GrpcRequest) -> Result<GrpcCall, WorkflowError> {
        Ok(GrpcCall {
            proto_location: request.proto.location.clone(),
            proto_root: request.proto.root.clone(),
            proto_files: request.proto.files.clone(),
            service: request.service,
            method: request.method,
            host: request.host,
            port: request.port,
            tls: request.tls,
            arguments: request.arguments,
            deadline_ms: request
                .deadline
                .map(|deadline| u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX)),
            credentials: request.credentials,
        })
    }

    pub(crate) fn into_request(self) -> GrpcRequest {
        GrpcRequest {
            proto: Arc::new(ProtoFiles {
                location: self.proto_location,
                root: self.proto_root,
                files: self.proto_files,
            }),
            service: self.service,
            method: self.method,
            host: self.host,
            port: self.port,
            tls: self.tls,
            arguments: self.arguments,
            credentials: self.credentials,
            deadline: self.deadline_ms.map(Duration::from_millis),
        }
    }
}

impl From<GrpcReply> for CallDone {
    fn from(reply: GrpcReply) -> CallDone {
        match reply {
            GrpcReply::Unary(message) => CallDone::Grpc {
                stream: false,
                messages: vec![message],
            },
            GrpcReply::Stream(messages) => CallDone::Grpc {
                stream: true,
                messages,
            },
        }
    }
}

/// A gRPC answer back from the activity's result.
pub(crate) fn grpc_reply(stream: bool, mut messages: Vec<Value>) -> GrpcReply {
    if stream {
        GrpcReply::Stream(messages)
    } else {
        GrpcReply::Unary(messages.pop().unwrap_or(Value::Null))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpCall {
    /// `{"stdio": {...}}` or `{"http": {...}}`.
    pub server: McpServerCall,
    pub protocol_version: String,
    pub client_name: String,
    pub client_version: String,
    pub method: String,
    pub parameters: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum McpServerCall {
    Stdio {
        command: String,
        arguments: Vec<String>,
        environment: Vec<(String, String)>,
    },
    Http {
        url: String,
        headers: Vec<(String, String)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credentials: Option<Credentials>,
    },
}

impl McpCall {
    pub(crate) fn from_request(request: McpRequest) -> Result<McpCall, WorkflowError> {
        let server = match request.server {
            McpServer::Stdio {
                command,
                arguments,
                environment,
            } => McpServerCall::Stdio {
                command,
                arguments,
                environment,
            },
            McpServer::Http {
                url,
                headers,
                credentials,
            } => McpServerCall::Http {
                url,
                headers,
                credentials,
            },
        };
        Ok(McpCall {
            server,
            protocol_version: request.protocol_version,
            client_name: request.client_name,
            client_version: request.client_version,
            method: request.method,
            parameters: request.parameters,
        })
    }

    pub(crate) fn into_request(self) -> McpRequest {
        McpRequest {
            server: match self.server {
                McpServerCall::Stdio {
                    command,
                    arguments,
                    environment,
                } => McpServer::Stdio {
                    command,
                    arguments,
                    environment,
                },
                McpServerCall::Http {
                    url,
                    headers,
                    credentials,
                } => McpServer::Http {
                    url,
                    headers,
                    credentials,
                },
            },
            protocol_version: self.protocol_version,
            client_name: self.client_name,
            client_version: self.client_version,
            method: self.method,
            parameters: self.parameters,
            on_line: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct A2aCall {
    /// The agent card's location, or the agent's JSON-RPC endpoint.
    pub card: Option<String>,
    pub server: Option<String>,
    pub method: String,
    pub params: Value,
    /// The call's authentication; its secret values are sealed (`secrets.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
}

impl A2aCall {
    pub(crate) fn from_request(request: A2aRequest) -> Result<A2aCall, WorkflowError> {
        let (card, server, credentials) = match request.agent {
            A2aAgent::Card {
                location,
                credentials,
            } => (Some(location.to_string()), None, credentials),
            A2aAgent::Server { url, credentials } => (None, Some(url), credentials),
        };
        Ok(A2aCall {
            card,
            server,
            method: request.method,
            params: request.params,
            credentials,
        })
    }

    pub(crate) fn into_request(self) -> Result<A2aRequest, WorkflowError> {
        let agent = match (self.card, self.server) {
            (Some(card), _) => A2aAgent::Card {
                location: card.parse().map_err(|error| {
                    WorkflowError::new(ErrorKind::Configuration, "Invalid agent card location")
                        .with_detail(format!("`{card}`: {error}"))
                })?,
                credentials: self.credentials,
            },
            (None, server) => A2aAgent::Server {
                url: server.unwrap_or_default(),
                credentials: self.credentials,
            },
        };
        Ok(A2aRequest {
            agent,
            method: self.method,
            params: self.params,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetCall {
    pub protocol: String,
    pub url: String,
    pub address: String,
    pub exchange: Option<String>,
    pub stream: bool,
    /// The broker's user name and password, or token (sealed as credentials are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_password: Option<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `ws`/`http`: the bindings' method, query parameters and headers.
    #[serde(default)]
    pub web_method: Option<String>,
    #[serde(default)]
    pub web_query: Vec<(String, String)>,
    #[serde(default)]
    pub web_headers: Vec<(String, String)>,
}

impl TargetCall {
    pub(crate) fn from_target(target: Target) -> Result<TargetCall, WorkflowError> {
        Ok(TargetCall {
            user_password: target.credentials,
            token: target.token,
            protocol: target.protocol,
            url: target.url,
            address: target.address,
            exchange: target.exchange,
            stream: target.stream,
            web_method: target.web.method,
            web_query: target.web.query,
            web_headers: target.web.headers,
        })
    }

    pub(crate) fn into_target(self) -> Target {
        Target {
            protocol: self.protocol,
            url: self.url,
            address: self.address,
            credentials: self.user_password,
            token: self.token,
            exchange: self.exchange,
            stream: self.stream,
            web: WebBinding {
                method: self.web_method,
                query: self.web_query,
                headers: self.web_headers,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageCall {
    pub payload: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

impl From<Message> for MessageCall {
    fn from(message: Message) -> MessageCall {
        MessageCall {
            payload: message.payload,
            content_type: message.content_type,
            headers: message.headers,
        }
    }
}

impl From<MessageCall> for Message {
    fn from(message: MessageCall) -> Message {
        Message {
            payload: message.payload,
            content_type: message.content_type,
            headers: message.headers,
        }
    }
}

/// A message one consumption step took (already acknowledged to the broker by the activity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedCall {
    pub message: MessageCall,
    pub address: String,
    pub key: Option<String>,
    pub redelivered: bool,
    pub correlation_id: Option<String>,
}

impl ReceivedCall {
    /// The parts of a delivery that travel; its acknowledgement stays with the activity.
    pub(crate) fn from_received(received: &Received) -> ReceivedCall {
        ReceivedCall {
            message: received.message.clone().into(),
            address: received.address.clone(),
            key: received.key.clone(),
            redelivered: received.redelivered,
            correlation_id: received.correlation_id.clone(),
        }
    }

    pub(crate) fn into_received(self) -> Received {
        let mut received = Received::new(self.message.into(), self.address);
        received.key = self.key;
        received.redelivered = self.redelivered;
        received.correlation_id = self.correlation_id;
        received
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::effects::credentials::Credentials;

    #[test]
    fn an_http_call_survives_the_trip_through_json() {
        let request = HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:1/x".into(),
            query: vec![("q".into(), "1".into())],
            headers: vec![("h".into(), "v".into())],
            body: Some(HttpBody::Json(serde_json::json!({"a": 1}))),
            redirect: true,
            credentials: None,
        };
        let call = HttpCall::from_request(request.clone()).map(CallRequest::Http);
        let text = serde_json::to_string(&call.ok()).unwrap_or_default();
        let back = match serde_json::from_str::<Option<CallRequest>>(&text) {
            Ok(Some(CallRequest::Http(back))) => Some(back.into_request()),
            _ => None,
        };
        assert_eq!(back, Some(request));
    }

    #[test]
    fn credentials_cross_with_their_secret_values_sealed() {
        let mut request = HttpRequest::default_get();
        request.credentials = Some(Credentials::Bearer {
            token: "t0ken-from-secrets".into(),
        });
        let secrets = crate::secrets::Secrets::from([(
            "api".to_string(),
            serde_json::json!({"token": "t0ken-from-secrets"}),
        )]);
        let sealer = super::super::secrets::Sealer::new(&secrets);
        let call = HttpCall::from_request(request.clone()).map(CallRequest::Http);
        let sealed = call.and_then(|call| sealer.seal_payload(call));
        let text = serde_json::to_string(&sealed.as_ref().ok()).unwrap_or_default();
        assert!(!text.contains("t0ken-from-secrets"), "{text}");
        assert!(text.contains("secret:api.token"), "{text}");
        let opened = sealed.and_then(|call| sealer.unseal_payload(call));
        let back = match opened {
            Ok(CallRequest::Http(back)) => Some(back.into_request()),
            _ => None,
        };
        assert_eq!(back, Some(request));
    }

    #[test]
    fn a_failed_call_is_a_result() {
        let done = CallDone::failed(WorkflowError::new(ErrorKind::Communication, "down"));
        let text = serde_json::to_string(&done).unwrap_or_default();
        assert_eq!(serde_json::from_str::<CallDone>(&text).ok(), Some(done));
    }

    impl HttpRequest {
        fn default_get() -> HttpRequest {
            HttpRequest {
                method: "GET".into(),
                url: "http://127.0.0.1:1/".into(),
                query: vec![],
                headers: vec![],
                body: None,
                redirect: false,
                credentials: None,
            }
        }
    }
}
