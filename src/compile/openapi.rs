//! Lowering of `call: openapi`: the document's endpoint (a literal URI or an expression, with
//! its own authentication), the operation id, the parameters as a template, and the call's
//! authentication, output and redirect rule. The document itself is loaded at run time.

use std::sync::Arc;

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::machine::{Body, Compiled, Tmpl};
use super::scope::Scope;
use crate::document::{Endpoint, EndpointUri, HttpOutput, OpenApiCall};

/// `call: openapi`, ready to evaluate.
#[derive(Debug)]
pub(crate) struct OpenApiSpec {
    pub document: ResourceSpec,
    pub operation_id: String,
    /// Evaluated to the object of parameter values; absent: no parameters.
    pub parameters: Option<Tmpl>,
    pub authentication: Option<AuthSpec>,
    pub output: HttpOutput,
    pub redirect: bool,
}

/// Where an external resource is and how to authenticate to it.
#[derive(Debug)]
pub(crate) struct ResourceSpec {
    pub uri: UriSpec,
    pub authentication: Option<AuthSpec>,
}

/// A URI as written, or an expression yielding it.
#[derive(Debug, Clone)]
pub(crate) enum UriSpec {
    /// Used as written (no template expansion for resource locations).
    Literal(Arc<str>),
    Expr(Compiled),
}

impl Compiler<'_> {
    pub(super) fn openapi(&mut self, call: &OpenApiCall, scope: &Scope) -> Body {
        // Each part is compiled even when an earlier one failed: every problem is reported.
        let document = self.resource(&call.document.endpoint, scope);
        let parameters = call
            .parameters
            .as_ref()
            .map(|template| self.template(template, scope));
        let authentication = call
            .authentication
            .as_ref()
            .map(|reference| self.authentication(reference, scope));
        let (Some(document), Some(parameters), Some(authentication)) = (
            document,
            parameters.map_or(Some(None), |p| p.map(Some)),
            authentication.map_or(Some(None), |a| a.map(Some)),
        ) else {
            return Body::Unsupported(String::from("this task did not compile"));
        };
        Body::OpenApi(Box::new(OpenApiSpec {
            document,
            operation_id: call.operation_id.clone(),
            parameters,
            authentication,
            output: call.output,
            redirect: call.redirect,
        }))
    }

    /// An endpoint naming an external resource.
    pub(super) fn resource(&mut self, endpoint: &Endpoint, scope: &Scope) -> Option<ResourceSpec> {
        let uri = match &endpoint.uri {
            EndpointUri::Template(template) => UriSpec::Literal(Arc::from(template.text.as_str())),
            EndpointUri::Expression(expression) => UriSpec::Expr(self.expr(expression, scope)?),
        };
        let authentication = match &endpoint.authentication {
            None => None,
            Some(reference) => Some(self.authentication(reference, scope)?),
        };
        Some(ResourceSpec {
            uri,
            authentication,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::machine::Body;
    use crate::compile::{Machine, compile};
    use crate::document::HttpOutput;
    use crate::source::Source;

    fn machine(body: &str) -> Machine {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\n{body}"
        );
        let checked = crate::test_support::check_source(Source::new("t.yaml", text));
        let document = checked
            .valid_document()
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        compile(document).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn openapi_calls_lower_to_their_spec() {
        let machine = machine(
            "do:\n  - find:\n      call: openapi\n      with:\n        document:\n          endpoint: file://specs/petstore.yaml\n        operationId: findPetsByStatus\n        parameters:\n          status: ${ .status }\n        output: response\n        redirect: true\n",
        );
        let root = machine.block(machine.workflow.root);
        let Body::OpenApi(spec) = &machine.task(root.tasks[0]).body else {
            panic!(
                "not an OpenAPI body: {:?}",
                machine.task(root.tasks[0]).body
            );
        };
        assert_eq!(spec.operation_id, "findPetsByStatus");
        assert!(
            matches!(&spec.document.uri, super::UriSpec::Literal(uri) if &**uri == "file://specs/petstore.yaml")
        );
        assert!(spec.document.authentication.is_none());
        assert_eq!(spec.output, HttpOutput::Response);
        assert!(spec.redirect);
        let parameters = spec.parameters.as_ref().map(|p| &*p.at);
        assert_eq!(parameters, Some("/do/0/find/with/parameters"));
    }

    #[test]
    fn expression_endpoints_and_authentication_compile() {
        let machine = machine(
            "do:\n  - find:\n      call: openapi\n      with:\n        document:\n          endpoint:\n            uri: ${ .spec }\n            authentication:\n              bearer:\n                token: abc\n        operationId: x\n        authentication:\n          basic:\n            username: u\n            password: p\n",
        );
        let root = machine.block(machine.workflow.root);
        let Body::OpenApi(spec) = &machine.task(root.tasks[0]).body else {
            panic!("not an OpenAPI body");
        };
        assert!(matches!(spec.document.uri, super::UriSpec::Expr(_)));
        assert!(matches!(
            spec.document.authentication,
            Some(crate::compile::AuthSpec::Bearer { .. })
        ));
        assert!(matches!(
            spec.authentication,
            Some(crate::compile::AuthSpec::Basic { .. })
        ));
        assert!(spec.parameters.is_none());
    }
}
