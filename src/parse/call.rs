//! Reading `call` tasks, dispatched on the value of `call`.

use serde_json::{Map, Value};

use super::reader::Parser;
use crate::document::{
    A2aCall, AsyncApiCall, AsyncApiMessage, AsyncApiServer, AsyncApiSubscription, CallTask,
    ConsumeLimit, ConsumePolicy, FunctionCall, GrpcCall, GrpcService, HttpCall, HttpOutput,
    McpCall, McpClient, McpTransport, McpTransportKind, OpenApiCall, Reference,
};
use crate::pointer;

impl Parser {
    /// `task` is the task's object; `pointer` the task's pointer.
    pub(crate) fn call_task(
        &mut self,
        task: &Map<String, Value>,
        pointer: &str,
    ) -> Option<CallTask> {
        let name = self.req(task, pointer, "call", Parser::string)?;
        let with_pointer = pointer::join(pointer, "with");
        if !matches!(
            name.as_str(),
            "http" | "openapi" | "grpc" | "asyncapi" | "a2a" | "mcp"
        ) {
            return Some(CallTask::Function(FunctionCall {
                function: Reference::new(name, pointer::join(pointer, "call")),
                with: self.opt(task, pointer, "with", Parser::object_template),
            }));
        }
        let with = self.req(task, pointer, "with", |p, v, ptr| p.object(v, ptr))?;
        let p = with_pointer.as_str();
        Some(match name.as_str() {
            "http" => CallTask::Http(Box::new(self.http_call(with, p)?)),
            "openapi" => CallTask::OpenApi(Box::new(self.openapi_call(with, p)?)),
            "grpc" => CallTask::Grpc(Box::new(self.grpc_call(with, p)?)),
            "asyncapi" => CallTask::AsyncApi(Box::new(self.asyncapi_call(with, p)?)),
            "a2a" => CallTask::A2a(Box::new(self.a2a_call(with, p)?)),
            _ => CallTask::Mcp(Box::new(self.mcp_call(with, p)?)),
        })
    }

    fn http_output(&mut self, value: &Value, pointer: &str) -> Option<HttpOutput> {
        let text = self.string(value, pointer)?;
        match text.as_str() {
            "raw" => Some(HttpOutput::Raw),
            "content" => Some(HttpOutput::Content),
            "response" => Some(HttpOutput::Response),
            other => {
                self.unexpected(
                    pointer,
                    format!("unknown output `{other}`; expected `raw`, `content` or `response`"),
                );
                None
            }
        }
    }

    fn http_call(&mut self, with: &Map<String, Value>, pointer: &str) -> Option<HttpCall> {
        let method = self.req(with, pointer, "method", Parser::string);
        let endpoint = self.req(with, pointer, "endpoint", Parser::endpoint);
        Some(HttpCall {
            method: method?,
            endpoint: endpoint?,
            headers: self.opt(with, pointer, "headers", Parser::object_or_string),
            body: self.opt(with, pointer, "body", Parser::template),
            query: self.opt(with, pointer, "query", Parser::object_or_string),
            output: self
                .opt(with, pointer, "output", Parser::http_output)
                .unwrap_or_default(),
            redirect: self
                .opt(with, pointer, "redirect", Parser::boolean)
                .unwrap_or(false),
        })
    }

    fn openapi_call(&mut self, with: &Map<String, Value>, pointer: &str) -> Option<OpenApiCall> {
        let document = self.req(with, pointer, "document", Parser::external_resource);
        let operation_id = self.req(with, pointer, "operationId", Parser::string);
        Some(OpenApiCall {
            document: document?,
            operation_id: operation_id?,
            parameters: self.opt(with, pointer, "parameters", Parser::object_template),
            authentication: self.opt(with, pointer, "authentication", Parser::authentication_ref),
            output: self
                .opt(with, pointer, "output", Parser::http_output)
                .unwrap_or_default(),
            redirect: self
                .opt(with, pointer, "redirect", Parser::boolean)
                .unwrap_or(false),
        })
    }

    fn grpc_call(&mut self, with: &Map<String, Value>, pointer: &str) -> Option<GrpcCall> {
        let proto = self.req(with, pointer, "proto", Parser::external_resource);
        let service = self.req(with, pointer, "service", Parser::grpc_service);
        let method = self.req(with, pointer, "method", Parser::string);
        Some(GrpcCall {
            proto: proto?,
            service: service?,
            method: method?,
            arguments: self.opt(with, pointer, "arguments", Parser::object_template),
        })
    }

    fn grpc_service(&mut self, value: &Value, pointer: &str) -> Option<GrpcService> {
        let map = self.object(value, pointer)?;
        let name = self.req(map, pointer, "name", Parser::string);
        let host = self.req(map, pointer, "host", Parser::string);
        let port = self.opt(map, pointer, "port", |p, v, ptr| {
            let port = p.unsigned(v, ptr)?;
            let port = u16::try_from(port).ok();
            if port.is_none() {
                p.unexpected(ptr, "a port is an integer from 0 to 65535");
            }
            port
        });
        Some(GrpcService {
            name: name?,
            host: host?,
            port,
            authentication: self.opt(map, pointer, "authentication", Parser::authentication_ref),
        })
    }

    fn asyncapi_call(&mut self, with: &Map<String, Value>, pointer: &str) -> Option<AsyncApiCall> {
        let document = self.req(with, pointer, "document", Parser::external_resource);
        Some(AsyncApiCall {
            document: document?,
            channel: self.opt(with, pointer, "channel", Parser::string),
            operation: self.opt(with, pointer, "operation", Parser::string),
            server: self.opt(with, pointer, "server", |p, v, ptr| {
                let map = p.object(v, ptr)?;
                Some(AsyncApiServer {
                    name: p.req(map, ptr, "name", Parser::string)?,
                    variables: p.opt(map, ptr, "variables", Parser::object_template),
                })
            }),
            protocol: self.opt(with, pointer, "protocol", Parser::string),
            message: self.opt(with, pointer, "message", |p, v, ptr| {
                let map = p.object(v, ptr)?;
                Some(AsyncApiMessage {
                    payload: p.opt(map, ptr, "payload", Parser::template),
                    headers: p.opt(map, ptr, "headers", Parser::object_template),
                })
            }),
            subscription: self.opt(with, pointer, "subscription", Parser::asyncapi_subscription),
            authentication: self.opt(with, pointer, "authentication", Parser::authentication_ref),
        })
    }

    fn asyncapi_subscription(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<AsyncApiSubscription> {
        let map = self.object(value, pointer)?;
        Some(AsyncApiSubscription {
            filter: self.opt(map, pointer, "filter", Parser::expression),
            consume: self.req(map, pointer, "consume", Parser::consume_policy)?,
            foreach: self.opt(map, pointer, "foreach", Parser::subscription_iterator),
        })
    }

    fn consume_policy(&mut self, value: &Value, pointer: &str) -> Option<ConsumePolicy> {
        let map = self.object(value, pointer)?;
        let for_ = self.opt(map, pointer, "for", Parser::duration);
        let limit = if map.contains_key("amount") {
            ConsumeLimit::Amount(self.opt(map, pointer, "amount", Parser::unsigned)?)
        } else if map.contains_key("while") {
            ConsumeLimit::While(self.opt(map, pointer, "while", Parser::expression)?)
        } else if map.contains_key("until") {
            ConsumeLimit::Until(self.opt(map, pointer, "until", Parser::expression)?)
        } else {
            self.unexpected(
                pointer,
                "a consumption policy needs one of `amount`, `while`, `until`",
            );
            return None;
        };
        Some(ConsumePolicy { limit, for_ })
    }

    fn a2a_call(&mut self, with: &Map<String, Value>, pointer: &str) -> Option<A2aCall> {
        Some(A2aCall {
            method: self.req(with, pointer, "method", Parser::string)?,
            agent_card: self.opt(with, pointer, "agentCard", Parser::external_resource),
            server: self.opt(with, pointer, "server", Parser::endpoint),
            parameters: self.opt(with, pointer, "parameters", Parser::object_or_string),
        })
    }

    fn mcp_call(&mut self, with: &Map<String, Value>, pointer: &str) -> Option<McpCall> {
        let method = self.req(with, pointer, "method", Parser::string);
        let transport = self.req(with, pointer, "transport", Parser::mcp_transport);
        Some(McpCall {
            protocol_version: self
                .opt(with, pointer, "protocolVersion", Parser::string)
                .unwrap_or_else(|| McpCall::DEFAULT_PROTOCOL_VERSION.to_string()),
            method: method?,
            parameters: self.opt(with, pointer, "parameters", Parser::object_or_string),
            timeout: self.opt(with, pointer, "timeout", Parser::duration),
            transport: transport?,
            client: self.opt(with, pointer, "client", |p, v, ptr| {
                let map = p.object(v, ptr)?;
                Some(McpClient {
                    name: p.req(map, ptr, "name", Parser::string)?,
                    version: p.opt(map, ptr, "version", Parser::string),
                })
            }),
        })
    }

    fn mcp_transport(&mut self, value: &Value, pointer: &str) -> Option<McpTransport> {
        let map = self.object(value, pointer)?;
        let options = self
            .opt(map, pointer, "options", Parser::string_pairs)
            .unwrap_or_default();
        let kind = match (map.get("http"), map.get("stdio")) {
            (Some(http), None) => {
                let ptr = pointer::join(pointer, "http");
                let http = self.object(http, &ptr)?;
                McpTransportKind::Http {
                    endpoint: self.req(http, &ptr, "endpoint", Parser::endpoint)?,
                    headers: self.opt(http, &ptr, "headers", Parser::object_template),
                }
            }
            (None, Some(stdio)) => {
                let ptr = pointer::join(pointer, "stdio");
                let stdio = self.object(stdio, &ptr)?;
                McpTransportKind::Stdio {
                    command: self.req(stdio, &ptr, "command", Parser::string)?,
                    arguments: self
                        .opt(stdio, &ptr, "arguments", Parser::strings)
                        .unwrap_or_default(),
                    environment: self.opt(stdio, &ptr, "environment", Parser::object_template),
                }
            }
            _ => {
                self.unexpected(
                    pointer,
                    "an MCP transport needs exactly one of `http`, `stdio`",
                );
                return None;
            }
        };
        Some(McpTransport { kind, options })
    }
}
