//! Lowering of a script's external `source`: its URI (a literal or an expression) and the
//! authentication to fetch it with. The code is loaded when the task runs
//! (`runtime/script.rs`), relative to the document that holds the task.

use std::sync::Arc;

use serde_json::Value;

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::machine::Tmpl;
use super::scope::Scope;
use crate::document::ExternalResource;

/// Where a script's code is: a path (relative to the document's directory), a `file://` URI or
/// an `http(s)://` URL.
#[derive(Debug)]
pub(crate) struct SourceSpec {
    /// The URI as written; `{name}` is not expanded (a literal) unless written as an expression.
    pub uri: Tmpl,
    pub authentication: Option<AuthSpec>,
    /// Pointer of the `source` value, for error messages.
    pub at: Arc<str>,
}

impl Compiler<'_> {
    pub(super) fn script_source(
        &mut self,
        resource: &ExternalResource,
        scope: &Scope,
    ) -> Option<SourceSpec> {
        let endpoint = &resource.endpoint;
        let uri = self.value(
            &Value::String(endpoint.uri.text().to_owned()),
            endpoint.uri.pointer(),
            scope,
        );
        let authentication = match &endpoint.authentication {
            None => None,
            Some(reference) => Some(self.authentication(reference, scope)?),
        };
        Some(SourceSpec {
            uri: uri?,
            authentication,
            at: Arc::from(resource.pointer.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::{Body, ProgramSpec, ScriptCode, compile};
    use crate::source::Source;

    fn body(script: &str) -> Body {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\ndo:\n  - s:\n      run:\n        script:\n{script}"
        );
        let checked = crate::test_support::check_source(Source::new("t.yaml", text));
        let document = checked
            .valid_document()
            .unwrap_or_else(|| panic!("invalid: {:#?}", checked.diagnostics));
        let mut machine = compile(document).unwrap_or_else(|d| panic!("does not compile: {d:#?}"));
        let root = machine.workflow.root;
        let id = machine.blocks[root].tasks[0];
        machine.tasks.swap_remove(id).body
    }

    #[test]
    fn a_source_compiles_to_an_external_script() {
        let compiled = body(
            "          language: python\n          source:\n            endpoint:\n              uri: file://scripts/hello.py\n              authentication:\n                bearer:\n                  token: abc\n",
        );
        let Body::Process(spec) = compiled else {
            panic!("not a process: {compiled:?}");
        };
        let ProgramSpec::Script {
            code: ScriptCode::External(source),
            ..
        } = &spec.program
        else {
            panic!("not an external script: {:?}", spec.program);
        };
        assert_eq!(&*source.at, "/do/0/s/run/script/source");
        assert_eq!(&*source.uri.at, "/do/0/s/run/script/source/endpoint/uri");
        assert!(source.authentication.is_some());
    }

    #[test]
    fn a_source_may_be_an_expression() {
        let compiled =
            body("          language: js\n          source:\n            endpoint: ${ .where }\n");
        let Body::Process(spec) = compiled else {
            panic!("not a process: {compiled:?}");
        };
        assert!(matches!(
            &spec.program,
            ProgramSpec::Script {
                code: ScriptCode::External(source),
                ..
            } if source.authentication.is_none()
        ));
    }
}
