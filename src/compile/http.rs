//! `call: http` lowered to an `HttpSpec`: the method checked and upper-cased, the endpoint a
//! parsed URI template or a compiled expression, headers/query/body compiled as templates (a
//! map whose leaves may be expressions, or one expression), the authentication resolved.

use std::sync::Arc;

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::machine::{Compiled, Tmpl};
use super::scope::Scope;
use super::uri_template::UriTemplate;
use crate::document::{Endpoint, EndpointUri, HttpCall, HttpOutput};

/// One HTTP call, ready to evaluate into an `exec::http::HttpRequest`.
#[derive(Debug)]
pub(crate) struct HttpSpec {
    /// Upper case (`GET`, `POST`, ...).
    pub method: String,
    pub endpoint: EndpointSpec,
    pub headers: Option<Tmpl>,
    pub query: Option<Tmpl>,
    pub body: Option<Tmpl>,
    pub output: HttpOutput,
    pub redirect: bool,
    pub authentication: Option<AuthSpec>,
}

/// Where the request goes.
#[derive(Debug)]
pub(crate) enum EndpointSpec {
    /// A URI template expanded from the task input's top-level keys.
    Template { template: UriTemplate, at: Arc<str> },
    /// `${ ... }`, evaluated to the URI.
    Expr(Compiled),
}

impl Compiler<'_> {
    /// `pointer` is the task's; `None` when a part did not compile (a diagnostic says why).
    pub(super) fn http(
        &mut self,
        call: &HttpCall,
        pointer: &str,
        scope: &Scope,
    ) -> Option<HttpSpec> {
        let method = self.method(&call.method, pointer);
        let endpoint = self.endpoint(&call.endpoint, scope);
        let authentication = match &call.endpoint.authentication {
            None => Some(None),
            Some(reference) => self.authentication(reference, scope).map(Some),
        };
        let mut part = |value: &Option<crate::document::ValueTemplate>| match value {
            None => Some(None),
            Some(template) => self.template(template, scope).map(Some),
        };
        let headers = part(&call.headers);
        let query = part(&call.query);
        let body = part(&call.body);
        Some(HttpSpec {
            method: method?,
            endpoint: endpoint?,
            headers: headers?,
            query: query?,
            body: body?,
            output: call.output,
            redirect: call.redirect,
            authentication: authentication?,
        })
    }

    /// An endpoint: a literal URI template parsed now, or an expression compiled now.
    pub(super) fn endpoint(&mut self, endpoint: &Endpoint, scope: &Scope) -> Option<EndpointSpec> {
        match &endpoint.uri {
            EndpointUri::Expression(expression) => {
                self.expr(expression, scope).map(EndpointSpec::Expr)
            }
            EndpointUri::Template(template) => match UriTemplate::parse(&template.text) {
                Ok(parsed) => Some(EndpointSpec::Template {
                    template: parsed,
                    at: Arc::from(template.pointer.as_str()),
                }),
                Err(message) => {
                    self.error(
                        "http::uri-template",
                        &template.pointer,
                        format!("invalid URI template: {message}"),
                    );
                    None
                }
            },
        }
    }

    /// The method as sent: upper case, and a valid HTTP token (RFC 9110 §5.6.2).
    fn method(&mut self, method: &str, pointer: &str) -> Option<String> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if !method.is_empty() && method.chars().all(token) {
            Some(method.to_ascii_uppercase())
        } else {
            self.error(
                "http::method",
                &crate::pointer::join(&crate::pointer::join(pointer, "with"), "method"),
                format!("`{method}` is not an HTTP method (GET, POST, PUT, DELETE, ...)"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::machine::Body;
    use crate::compile::{EndpointSpec, Machine, compile};
    use crate::diagnostic::Diagnostic;
    use crate::document::HttpOutput;
    use crate::source::Source;

    fn compiled(tasks: &str) -> Result<Machine, Vec<Diagnostic>> {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\ndo:\n{tasks}"
        );
        let loaded = crate::yaml::load(&Source::new("t.yaml", text))
            .unwrap_or_else(|d| panic!("not YAML: {d:#?}"));
        let document =
            crate::parse::parse(&loaded.value).unwrap_or_else(|d| panic!("does not parse: {d:#?}"));
        compile(&document)
    }

    #[test]
    fn a_call_compiles_to_an_http_body() {
        let machine = compiled(
            "  - get:\n      call: http\n      with:\n        method: post\n        endpoint:\n          uri: http://h/pet/{petId}\n          authentication:\n            basic: { username: u, password: '${ .p }' }\n        headers: { x-a: '${ .a }' }\n        query: '${ {q: .q} }'\n        body: { name: '${ .name }' }\n        output: response\n        redirect: true\n",
        )
        .unwrap_or_else(|e| panic!("{e:#?}"));
        let root = machine.block(machine.workflow.root);
        let Body::Http(spec) = &machine.task(root.tasks[0]).body else {
            panic!("not an HTTP body")
        };
        assert_eq!(spec.method, "POST");
        assert!(
            matches!(&spec.endpoint, EndpointSpec::Template { at, .. } if &**at == "/do/0/get/with/endpoint/uri")
        );
        assert!(spec.headers.is_some() && spec.query.is_some() && spec.body.is_some());
        assert_eq!(spec.output, HttpOutput::Response);
        assert!(spec.redirect);
        assert!(matches!(
            spec.authentication,
            Some(crate::compile::AuthSpec::Basic { .. })
        ));
    }

    #[test]
    fn expression_endpoints_compile_with_the_scope() {
        let machine = compiled(
            "  - get:\n      call: http\n      with:\n        method: get\n        endpoint: '${ \"http://h/\" + .id }'\n",
        )
        .unwrap_or_else(|e| panic!("{e:#?}"));
        let root = machine.block(machine.workflow.root);
        let Body::Http(spec) = &machine.task(root.tasks[0]).body else {
            panic!("not an HTTP body")
        };
        assert!(matches!(spec.endpoint, EndpointSpec::Expr(_)));
        assert_eq!(spec.output, HttpOutput::Content);
        assert!(!spec.redirect && spec.authentication.is_none());
    }

    #[test]
    fn bad_methods_and_templates_are_diagnostics() {
        let found = match compiled(
            "  - a:\n      call: http\n      with:\n        method: 'get it'\n        endpoint: http://h/{+x}\n",
        ) {
            Err(found) => found,
            Ok(_) => panic!("expected diagnostics"),
        };
        let found: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|d| (d.code, d.pointer.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("http::method", Some("/do/0/a/with/method")),
                ("http::uri-template", Some("/do/0/a/with/endpoint")),
            ]
        );
    }
}
