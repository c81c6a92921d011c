//! Lowering of `call: a2a`: the method checked against the ones the DSL lists (with the
//! parameters each one needs, when they are written out), where the agent is (its agent card,
//! or a server endpoint) with the endpoint's authentication, and the parameters as a template.

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::machine::Tmpl;
use super::mcp::transpose;
use super::openapi::{ResourceSpec, UriSpec};
use super::scope::Scope;
use crate::document::{A2aCall, EndpointUri};
use crate::pointer::join;

/// The A2A JSON-RPC methods the DSL lists, with the parameters each one requires (A2A 0.3).
pub(crate) const A2A_METHODS: &[(&str, &[&str])] = &[
    ("message/send", &["message"]),
    ("message/stream", &["message"]),
    ("tasks/get", &["id"]),
    ("tasks/list", &[]),
    ("tasks/cancel", &["id"]),
    ("tasks/resubscribe", &["id"]),
    (
        "tasks/pushNotificationConfig/set",
        &["taskId", "pushNotificationConfig"],
    ),
    ("tasks/pushNotificationConfig/get", &["id"]),
    ("tasks/pushNotificationConfig/list", &["id"]),
    (
        "tasks/pushNotificationConfig/delete",
        &["id", "pushNotificationConfigId"],
    ),
    ("agent/getAuthenticatedExtendedCard", &[]),
];

/// `call: a2a`, ready to evaluate into an `exec::a2a::A2aRequest`.
#[derive(Debug)]
pub(crate) struct A2aSpec {
    pub method: String,
    pub agent: AgentSpec,
    /// Evaluated to the request's `params` object; absent: none (`{}` for methods that need it).
    pub parameters: Option<Tmpl>,
}

/// Where the agent is.
#[derive(Debug)]
pub(crate) enum AgentSpec {
    /// The agent card, fetched at run time: its `url` (or an interface speaking JSON-RPC) is
    /// called, with the resource's authentication applied as the card's `security` asks.
    Card(ResourceSpec),
    /// The agent's JSON-RPC endpoint, called directly.
    Server {
        uri: UriSpec,
        authentication: Option<AuthSpec>,
    },
}

impl Compiler<'_> {
    /// `pointer` is the task's; `None` when a part did not compile (a diagnostic says why).
    pub(super) fn a2a(&mut self, call: &A2aCall, pointer: &str, scope: &Scope) -> Option<A2aSpec> {
        let with = join(pointer, "with");
        let method = self.known_method(
            "a2a::method",
            &call.method,
            &with,
            A2A_METHODS,
            call.parameters.as_ref(),
        );
        // The spec: `server` is ignored when an agent card is given.
        let agent = match (&call.agent_card, &call.server) {
            (Some(card), _) => self.resource(&card.endpoint, scope).map(AgentSpec::Card),
            (None, Some(server)) => {
                let uri = match &server.uri {
                    EndpointUri::Template(template) => {
                        Some(UriSpec::Literal(template.text.as_str().into()))
                    }
                    EndpointUri::Expression(expression) => {
                        self.expr(expression, scope).map(UriSpec::Expr)
                    }
                };
                let authentication = server
                    .authentication
                    .as_ref()
                    .map(|reference| self.authentication(reference, scope));
                match (uri, transpose(authentication)) {
                    (Some(uri), Some(authentication)) => Some(AgentSpec::Server {
                        uri,
                        authentication,
                    }),
                    _ => None,
                }
            }
            (None, None) => {
                self.error(
                    "a2a::agent",
                    &with,
                    String::from("an A2A call needs `agentCard` or `server` to know the agent"),
                );
                None
            }
        };
        let parameters = call
            .parameters
            .as_ref()
            .map(|template| self.template(template, scope));
        Some(A2aSpec {
            method: method?,
            agent: agent?,
            parameters: transpose(parameters)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::machine::Body;
    use crate::compile::{Machine, compile};
    use crate::diagnostic::Diagnostic;
    use crate::source::Source;

    fn compiled(with: &str) -> Result<Machine, Vec<Diagnostic>> {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\ndo:\n  - ask:\n      call: a2a\n      with:\n{with}"
        );
        let checked = crate::test_support::check_source(Source::new("t.yaml", text));
        let document = checked
            .valid_document()
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        compile(document)
    }

    fn spec(machine: &Machine) -> &A2aSpec {
        let root = machine.block(machine.workflow.root);
        match &machine.task(root.tasks[0]).body {
            Body::A2a(spec) => spec,
            other => panic!("not an A2A body: {other:?}"),
        }
    }

    #[test]
    fn an_agent_card_wins_over_a_server() {
        let machine = compiled(
            "        method: message/send\n        agentCard:\n          endpoint: http://127.0.0.1:1/.well-known/agent-card.json\n        server: http://127.0.0.1:2/\n        parameters:\n          message:\n            parts: [{kind: text, text: hi}]\n",
        )
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let spec = spec(&machine);
        assert_eq!(spec.method, "message/send");
        assert!(matches!(
            &spec.agent,
            AgentSpec::Card(ResourceSpec { uri: UriSpec::Literal(uri), .. }) if uri.ends_with("agent-card.json")
        ));
        assert!(spec.parameters.is_some());
    }

    #[test]
    fn a_server_with_authentication_compiles() {
        let machine = compiled(
            "        method: tasks/get\n        server:\n          uri: ${ .agent }\n          authentication:\n            bearer:\n              token: t\n        parameters:\n          id: ${ .task }\n",
        )
        .unwrap_or_else(|d| panic!("{d:#?}"));
        assert!(matches!(
            &spec(&machine).agent,
            AgentSpec::Server {
                uri: UriSpec::Expr(_),
                authentication: Some(AuthSpec::Bearer { .. })
            }
        ));
    }

    #[test]
    fn no_agent_and_missing_parameters_are_reported() {
        let errors = compiled("        method: tasks/list\n")
            .err()
            .unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].code, "a2a::agent");
        let errors = compiled(
            "        method: tasks/pushNotificationConfig/delete\n        server: http://127.0.0.1:2/\n        parameters:\n          id: t1\n",
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0]
                .message
                .contains("needs `parameters` with `pushNotificationConfigId`"),
            "{}",
            errors[0].message
        );
    }
}
