//! Lowering of `call: grpc`: the proto as an external resource (loaded and compiled when the task
//! runs), the service and method, where to connect and whether over TLS, the arguments as a
//! template, and the service's authentication.
//!
//! The TLS rule: a call uses TLS when the port is 443 (the port when none is written, as for any
//! gRPC target), and plaintext HTTP/2 otherwise; the task's `metadata.grpc.tls` (a boolean)
//! decides instead when present.

use std::sync::Arc;

use serde_json::Value;

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::machine::{Body, Tmpl};
use super::openapi::ResourceSpec;
use super::scope::Scope;
use crate::document::{GrpcCall, Task};

/// The port of a call that names none.
pub(crate) const DEFAULT_PORT: u16 = 443;

/// `call: grpc`, ready to evaluate.
#[derive(Debug)]
pub(crate) struct GrpcSpec {
    pub proto: ResourceSpec,
    /// Package-qualified, as written.
    pub service: String,
    pub method: String,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// The request message; absent: an empty message.
    pub arguments: Option<Tmpl>,
    /// `arguments` as written, for `validate`'s field check.
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    pub written_arguments: Option<Value>,
    pub authentication: Option<AuthSpec>,
}

impl GrpcSpec {
    /// The proto's location when it is written as a literal (not an expression).
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    pub(crate) fn literal_proto(&self) -> Option<&str> {
        match &self.proto.uri {
            super::openapi::UriSpec::Literal(uri) => Some(uri),
            super::openapi::UriSpec::Expr(_) => None,
        }
    }
}

impl Compiler<'_> {
    pub(super) fn grpc(&mut self, call: &GrpcCall, task: &Task, scope: &Scope) -> Body {
        // Each part is compiled even when an earlier one failed: every problem is reported.
        let proto = self.resource(&call.proto.endpoint, scope);
        let arguments = call
            .arguments
            .as_ref()
            .map(|template| self.template(template, scope));
        let authentication = call
            .service
            .authentication
            .as_ref()
            .map(|reference| self.authentication(reference, scope));
        let tls = self.grpc_tls(task);
        let port = call.service.port.unwrap_or(DEFAULT_PORT);
        let (Some(proto), Some(arguments), Some(authentication), Some(tls)) = (
            proto,
            arguments.map_or(Some(None), |a| a.map(Some)),
            authentication.map_or(Some(None), |a| a.map(Some)),
            tls,
        ) else {
            return Body::Unsupported(String::from("this task did not compile"));
        };
        Body::Grpc(Box::new(GrpcSpec {
            proto,
            service: call.service.name.clone(),
            method: call.method.clone(),
            host: call.service.host.clone(),
            port,
            tls: tls.unwrap_or(port == DEFAULT_PORT),
            arguments,
            written_arguments: call.arguments.as_ref().map(|a| a.value.clone()),
            authentication,
        }))
    }

    /// `metadata.grpc.tls`: `Some(None)` when absent, `None` (with a diagnostic) when not a
    /// boolean.
    fn grpc_tls(&mut self, task: &Task) -> Option<Option<bool>> {
        let Some(value) = task
            .common
            .metadata
            .as_ref()
            .and_then(|m| m.get("grpc"))
            .and_then(|g| g.get("tls"))
        else {
            return Some(None);
        };
        match value {
            Value::Bool(tls) => Some(Some(*tls)),
            other => {
                let at: Arc<str> = Arc::from(format!("{}/metadata/grpc/tls", task.pointer));
                self.error(
                    "grpc::tls",
                    &at,
                    format!("`metadata.grpc.tls` must be true or false, got {other}"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::machine::Body;
    use crate::compile::{Machine, compile};
    use crate::source::Source;

    fn compiled(task: &str) -> Result<Machine, Vec<crate::diagnostic::Diagnostic>> {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\ndo:\n  - greet:\n      call: grpc\n{task}"
        );
        let checked = crate::test_support::check_source(Source::new("t.yaml", text));
        let document = checked
            .valid_document()
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        compile(document)
    }

    fn spec(machine: &Machine) -> &super::GrpcSpec {
        let root = machine.block(machine.workflow.root);
        match &machine.task(root.tasks[0]).body {
            Body::Grpc(spec) => spec,
            other => panic!("not a gRPC body: {other:?}"),
        }
    }

    const WITH: &str = "      with:\n        proto:\n          endpoint: file://greeter.proto\n        service:\n          name: demo.Greeter\n          host: localhost\n";

    #[test]
    fn calls_lower_to_their_spec_with_the_tls_rule() {
        let machine = compiled(&format!(
            "{WITH}          port: 50051\n        method: SayHello\n        arguments:\n          name: ${{ .name }}\n"
        ))
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let lowered = spec(&machine);
        assert_eq!(
            (lowered.service.as_str(), lowered.method.as_str()),
            ("demo.Greeter", "SayHello")
        );
        assert_eq!((lowered.port, lowered.tls), (50051, false));
        assert_eq!(lowered.literal_proto(), Some("file://greeter.proto"));
        assert!(lowered.arguments.is_some());

        let default_port = compiled(&format!("{WITH}        method: SayHello\n"))
            .unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(
            (spec(&default_port).port, spec(&default_port).tls),
            (443, true)
        );

        let forced = compiled(&format!(
            "      metadata:\n        grpc: {{ tls: true }}\n{WITH}          port: 8443\n        method: SayHello\n"
        ))
        .unwrap_or_else(|d| panic!("{d:#?}"));
        assert!(spec(&forced).tls);
    }

    #[test]
    fn a_tls_switch_must_be_a_boolean() {
        let found = compiled(&format!(
            "      metadata:\n        grpc: {{ tls: 'yes' }}\n{WITH}        method: SayHello\n"
        ))
        .err()
        .unwrap_or_default();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].pointer.as_deref(),
            Some("/do/0/greet/metadata/grpc/tls")
        );
    }
}
