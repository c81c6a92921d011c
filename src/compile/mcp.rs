//! Lowering of `call: mcp`: the method checked against the ones the DSL lists (with the
//! parameters each one needs, when they are written out), the parameters, command, arguments,
//! environment, endpoint and headers compiled as templates, the timeout and the endpoint's
//! authentication resolved. Nothing is started or connected here.

use serde_json::Value;

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::machine::{DurationSpec, Tmpl};
use super::openapi::UriSpec;
use super::scope::Scope;
use crate::document::{EndpointUri, McpCall, McpTransportKind, ValueTemplate};
use crate::pointer::join;

/// The MCP methods the DSL lists, with the parameters each one requires.
pub(crate) const MCP_METHODS: &[(&str, &[&str])] = &[
    ("tools/list", &[]),
    ("tools/call", &["name"]),
    ("prompts/list", &[]),
    ("prompts/get", &["name"]),
    ("resources/list", &[]),
    ("resources/read", &["uri"]),
    ("resources/templates/list", &[]),
];

/// `call: mcp`, ready to evaluate into an `exec::mcp::McpRequest`.
#[derive(Debug)]
pub(crate) struct McpSpec {
    pub method: String,
    /// Evaluated to the request's `params` object; absent: none.
    pub parameters: Option<Tmpl>,
    pub protocol_version: String,
    /// `with.timeout`: bounds the whole call (start, `initialize`, the request, every page).
    pub timeout: Option<DurationSpec>,
    pub transport: McpTransportSpec,
    /// `client.name` and `client.version`, sent in `initialize`.
    pub client_name: String,
    pub client_version: String,
}

/// How to reach the server.
#[derive(Debug)]
pub(crate) enum McpTransportSpec {
    /// A server process started for the call, spoken to over its stdin and stdout.
    Stdio {
        command: Tmpl,
        arguments: Vec<Tmpl>,
        environment: Option<Tmpl>,
    },
    /// Streamable HTTP at `endpoint`.
    Http {
        endpoint: UriSpec,
        authentication: Option<AuthSpec>,
        headers: Option<Tmpl>,
    },
}

impl Compiler<'_> {
    /// `pointer` is the task's; `None` when a part did not compile (a diagnostic says why).
    pub(super) fn mcp(&mut self, call: &McpCall, pointer: &str, scope: &Scope) -> Option<McpSpec> {
        let with = join(pointer, "with");
        let method = self.known_method(
            "mcp::method",
            &call.method,
            &with,
            MCP_METHODS,
            call.parameters.as_ref(),
        );
        let parameters = call
            .parameters
            .as_ref()
            .map(|template| self.template(template, scope));
        let timeout = call
            .timeout
            .as_ref()
            .map(|duration| self.duration(duration, scope));
        let transport_at = join(&with, "transport");
        let transport = match &call.transport.kind {
            McpTransportKind::Stdio {
                command,
                arguments,
                environment,
            } => {
                let at = join(&transport_at, "stdio");
                let command = self.value(
                    &Value::String(command.clone()),
                    &join(&at, "command"),
                    scope,
                );
                let arguments_at = join(&at, "arguments");
                let arguments: Option<Vec<Tmpl>> = arguments
                    .iter()
                    .enumerate()
                    .map(|(index, argument)| {
                        self.value(
                            &Value::String(argument.clone()),
                            &join(&arguments_at, &index.to_string()),
                            scope,
                        )
                    })
                    .collect();
                let environment = environment
                    .as_ref()
                    .map(|template| self.template(template, scope));
                match (command, arguments, transpose(environment)) {
                    (Some(command), Some(arguments), Some(environment)) => {
                        Some(McpTransportSpec::Stdio {
                            command,
                            arguments,
                            environment,
                        })
                    }
                    _ => None,
                }
            }
            McpTransportKind::Http { endpoint, headers } => {
                let uri = match &endpoint.uri {
                    EndpointUri::Template(template) => {
                        Some(UriSpec::Literal(template.text.as_str().into()))
                    }
                    EndpointUri::Expression(expression) => {
                        self.expr(expression, scope).map(UriSpec::Expr)
                    }
                };
                let authentication = endpoint
                    .authentication
                    .as_ref()
                    .map(|reference| self.authentication(reference, scope));
                let headers = headers
                    .as_ref()
                    .map(|template| self.template(template, scope));
                match (uri, transpose(authentication), transpose(headers)) {
                    (Some(endpoint), Some(authentication), Some(headers)) => {
                        Some(McpTransportSpec::Http {
                            endpoint,
                            authentication,
                            headers,
                        })
                    }
                    _ => None,
                }
            }
        };
        let (client_name, client_version) = match &call.client {
            Some(client) => (
                client.name.clone(),
                client
                    .version
                    .clone()
                    .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
            ),
            None => (
                String::from("workflow"),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
        };
        Some(McpSpec {
            method: method?,
            parameters: transpose(parameters)?,
            protocol_version: call.protocol_version.clone(),
            timeout: transpose(timeout)?,
            transport: transport?,
            client_name,
            client_version,
        })
    }

    /// The method, when it is one of `methods`; when `parameters` is written out as a map (not
    /// one expression), the keys the method requires must be there. `with` is the `with`
    /// pointer.
    pub(super) fn known_method(
        &mut self,
        code: &'static str,
        method: &str,
        with: &str,
        methods: &[(&str, &[&str])],
        parameters: Option<&ValueTemplate>,
    ) -> Option<String> {
        let Some((_, required)) = methods.iter().find(|(name, _)| *name == method) else {
            let known: Vec<&str> = methods.iter().map(|(name, _)| *name).collect();
            self.error(
                code,
                &join(with, "method"),
                format!("`{method}` is not one of {}", known.join(", ")),
            );
            return None;
        };
        let missing: Vec<&str> = match parameters.map(|p| &p.value) {
            // One expression: its keys are only known at run time.
            Some(Value::String(_)) => Vec::new(),
            Some(Value::Object(map)) => required
                .iter()
                .copied()
                .filter(|key| !map.contains_key(*key))
                .collect(),
            _ => required.to_vec(),
        };
        if !missing.is_empty() {
            let at = parameters.map_or_else(|| with.to_owned(), |p| p.pointer.clone());
            let keys: Vec<String> = missing.iter().map(|key| format!("`{key}`")).collect();
            self.error(
                code,
                &at,
                format!("`{method}` needs `parameters` with {}", keys.join(", ")),
            );
            return None;
        }
        Some(method.to_owned())
    }
}

/// An optional part that compiled (`Some(Some(_))`), was absent (`Some(None)`) or failed
/// (`None`).
pub(super) fn transpose<T>(part: Option<Option<T>>) -> Option<Option<T>> {
    match part {
        None => Some(None),
        Some(Some(value)) => Some(Some(value)),
        Some(None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::machine::Body;
    use crate::compile::{Machine, compile};
    use crate::diagnostic::Diagnostic;
    use crate::source::Source;

    fn compiled(task: &str) -> Result<Machine, Vec<Diagnostic>> {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\ndo:\n  - ask:\n      call: mcp\n      with:\n{task}"
        );
        let checked = crate::test_support::check_source(Source::new("t.yaml", text));
        let document = checked
            .valid_document()
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        compile(document)
    }

    fn spec(machine: &Machine) -> &McpSpec {
        let root = machine.block(machine.workflow.root);
        match &machine.task(root.tasks[0]).body {
            Body::Mcp(spec) => spec,
            other => panic!("not an MCP body: {other:?}"),
        }
    }

    #[test]
    fn a_stdio_call_compiles_every_part() {
        let machine = compiled(
            "        method: tools/call\n        parameters:\n          name: echo\n          arguments:\n            message: ${ .text }\n        timeout:\n          seconds: 5\n        transport:\n          stdio:\n            command: ${ .server }\n            arguments: [a, '${ .b }']\n            environment:\n              K: v\n        client:\n          name: tester\n          version: '2'\n",
        )
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let spec = spec(&machine);
        assert_eq!(spec.method, "tools/call");
        assert_eq!(spec.protocol_version, "2025-06-18");
        assert_eq!(
            (spec.client_name.as_str(), spec.client_version.as_str()),
            ("tester", "2")
        );
        assert!(matches!(spec.timeout, Some(DurationSpec::Fixed(d)) if d.as_secs() == 5));
        let McpTransportSpec::Stdio {
            command,
            arguments,
            environment,
        } = &spec.transport
        else {
            panic!("not stdio");
        };
        assert_eq!(&*command.at, "/do/0/ask/with/transport/stdio/command");
        assert_eq!(
            &*arguments[1].at,
            "/do/0/ask/with/transport/stdio/arguments/1"
        );
        assert!(environment.is_some());
    }

    #[test]
    fn an_http_call_keeps_its_endpoint_and_authentication() {
        let machine = compiled(
            "        method: tools/list\n        protocolVersion: '2025-03-26'\n        transport:\n          http:\n            endpoint:\n              uri: http://127.0.0.1:1/mcp\n              authentication:\n                bearer:\n                  token: t\n            headers:\n              X-A: b\n",
        )
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let spec = spec(&machine);
        assert_eq!(spec.protocol_version, "2025-03-26");
        assert_eq!(spec.client_name, "workflow");
        assert!(matches!(
            &spec.transport,
            McpTransportSpec::Http {
                endpoint: UriSpec::Literal(uri),
                authentication: Some(AuthSpec::Bearer { .. }),
                headers: Some(_),
            } if &**uri == "http://127.0.0.1:1/mcp"
        ));
    }

    #[test]
    fn missing_required_parameters_are_reported_where_they_belong() {
        let errors = compiled(
            "        method: tools/call\n        parameters:\n          arguments: {}\n        transport:\n          stdio:\n            command: srv\n",
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].code, "mcp::method");
        assert!(errors[0].message.contains("needs `parameters` with `name`"));
        // Without parameters at all, and through one expression (checked at run time).
        assert!(
            compiled("        method: resources/read\n        transport:\n          stdio:\n            command: srv\n")
                .is_err()
        );
        assert!(
            compiled("        method: resources/read\n        parameters: '${ {uri: .u} }'\n        transport:\n          stdio:\n            command: srv\n")
                .is_ok()
        );
    }
}
