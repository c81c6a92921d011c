//! Reading policies and resources: durations, flow directives, timeouts, retries, errors,
//! endpoints, external resources, schemas and the data-flow settings.

use serde_json::{Map, Value};

use super::reader::Parser;
use crate::document::{
    Backoff, BackoffKind, Duration, Endpoint, EndpointUri, ErrorDef, ErrorFilter, ErrorRef, Export,
    ExternalResource, FlowDirective, Input, Jitter, Output, Reference, RetryLimit, RetryPolicy,
    RetryRef, SchemaDef, SchemaSource, StringOrExpr, Timeout, TimeoutRef, Transform, UriTemplate,
    is_runtime_expression,
};
use crate::pointer;

impl Parser {
    pub(crate) fn duration(&mut self, value: &Value, pointer: &str) -> Option<Duration> {
        match value {
            Value::String(text) if is_runtime_expression(text) => {
                self.expression(value, pointer).map(Duration::Expression)
            }
            Value::String(text) => {
                // Whether it has a fixed length is the analyzer's question (decision 7): a
                // parse error here would hide every other finding in the document.
                Some(Duration::Iso8601 {
                    text: text.clone(),
                    pointer: pointer.to_string(),
                })
            }
            Value::Object(map) => {
                let mut part =
                    |key: &str| self.opt(map, pointer, key, Parser::unsigned).unwrap_or(0);
                Some(Duration::Inline {
                    days: part("days"),
                    hours: part("hours"),
                    minutes: part("minutes"),
                    seconds: part("seconds"),
                    milliseconds: part("milliseconds"),
                    pointer: pointer.to_string(),
                })
            }
            _ => {
                self.unexpected(
                    pointer,
                    "expected a duration: an ISO 8601 string, an expression or an object",
                );
                None
            }
        }
    }

    pub(crate) fn flow_directive(&mut self, value: &Value, pointer: &str) -> Option<FlowDirective> {
        let text = self.string(value, pointer)?;
        Some(match text.as_str() {
            "continue" => FlowDirective::Continue,
            "exit" => FlowDirective::Exit,
            "end" => FlowDirective::End,
            _ => FlowDirective::Goto(Reference::new(text, pointer)),
        })
    }

    /// A name of a `use` entry (`timeout: name`, `retry: name`, `error: name`).
    pub(crate) fn reference(&mut self, value: &Value, pointer: &str) -> Option<Reference> {
        self.string(value, pointer)
            .map(|name| Reference::new(name, pointer))
    }

    pub(crate) fn timeout(&mut self, value: &Value, pointer: &str) -> Option<Timeout> {
        let map = self.object(value, pointer)?;
        let after = self.req(map, pointer, "after", Parser::duration)?;
        Some(Timeout {
            after,
            pointer: pointer.to_string(),
        })
    }

    pub(crate) fn timeout_ref(&mut self, value: &Value, pointer: &str) -> Option<TimeoutRef> {
        match value {
            Value::String(_) => self.reference(value, pointer).map(TimeoutRef::Named),
            _ => self.timeout(value, pointer).map(TimeoutRef::Inline),
        }
    }

    pub(crate) fn retry_ref(&mut self, value: &Value, pointer: &str) -> Option<RetryRef> {
        match value {
            Value::String(_) => self.reference(value, pointer).map(RetryRef::Named),
            _ => self.retry_policy(value, pointer).map(RetryRef::Inline),
        }
    }

    pub(crate) fn retry_policy(&mut self, value: &Value, pointer: &str) -> Option<RetryPolicy> {
        let map = self.object(value, pointer)?;
        Some(RetryPolicy {
            when: self.opt(map, pointer, "when", Parser::expression),
            except_when: self.opt(map, pointer, "exceptWhen", Parser::expression),
            delay: self.opt(map, pointer, "delay", Parser::duration),
            backoff: self.opt(map, pointer, "backoff", Parser::backoff),
            limit: self.opt(map, pointer, "limit", Parser::retry_limit),
            jitter: self.opt(map, pointer, "jitter", Parser::jitter),
            pointer: pointer.to_string(),
        })
    }

    fn backoff(&mut self, value: &Value, pointer: &str) -> Option<Backoff> {
        let (key, settings) = self.single_entry(value, pointer)?;
        let kind = match key.as_str() {
            "constant" => BackoffKind::Constant,
            "linear" => BackoffKind::Linear,
            "exponential" => BackoffKind::Exponential,
            other => {
                self.unexpected(
                    &pointer::join(pointer, other),
                    format!(
                        "unknown backoff `{other}`; expected `constant`, `linear` or `exponential`"
                    ),
                );
                return None;
            }
        };
        Some(Backoff {
            kind,
            settings: settings.clone(),
            pointer: pointer::join(pointer, key),
        })
    }

    fn retry_limit(&mut self, value: &Value, pointer: &str) -> Option<RetryLimit> {
        let map = self.object(value, pointer)?;
        let mut limit = RetryLimit {
            duration: self.opt(map, pointer, "duration", Parser::duration),
            ..RetryLimit::default()
        };
        let attempt_pointer = pointer::join(pointer, "attempt");
        if let Some(attempt) = self.opt(map, pointer, "attempt", |p, v, ptr| p.object(v, ptr)) {
            limit.attempt_count = self.opt(attempt, &attempt_pointer, "count", Parser::unsigned);
            limit.attempt_duration =
                self.opt(attempt, &attempt_pointer, "duration", Parser::duration);
        }
        Some(limit)
    }

    fn jitter(&mut self, value: &Value, pointer: &str) -> Option<Jitter> {
        let map = self.object(value, pointer)?;
        let from = self.req(map, pointer, "from", Parser::duration);
        let to = self.req(map, pointer, "to", Parser::duration);
        Some(Jitter {
            from: from?,
            to: to?,
        })
    }

    pub(crate) fn error_ref(&mut self, value: &Value, pointer: &str) -> Option<ErrorRef> {
        match value {
            Value::String(_) => self.reference(value, pointer).map(ErrorRef::Named),
            _ => self.error_def(value, pointer).map(ErrorRef::Inline),
        }
    }

    pub(crate) fn error_def(&mut self, value: &Value, pointer: &str) -> Option<ErrorDef> {
        let map = self.object(value, pointer)?;
        let type_ = self.req(map, pointer, "type", Parser::string_or_expr);
        let status = self.req(map, pointer, "status", Parser::status);
        Some(ErrorDef {
            type_: type_?,
            status: status?,
            title: self.opt(map, pointer, "title", Parser::string_or_expr),
            detail: self.opt(map, pointer, "detail", Parser::string_or_expr),
            instance: self.opt(map, pointer, "instance", Parser::string_or_expr),
            pointer: pointer.to_string(),
        })
    }

    pub(crate) fn error_filter(&mut self, value: &Value, pointer: &str) -> Option<ErrorFilter> {
        let map = self.object(value, pointer)?;
        Some(ErrorFilter {
            type_: self.opt(map, pointer, "type", Parser::string),
            status: self.opt(map, pointer, "status", Parser::status),
            instance: self.opt(map, pointer, "instance", Parser::string),
            title: self.opt(map, pointer, "title", Parser::string),
            details: self.opt(map, pointer, "details", Parser::string),
            pointer: pointer.to_string(),
        })
    }

    fn endpoint_uri(&mut self, value: &Value, pointer: &str) -> Option<EndpointUri> {
        Some(match self.string_or_expr(value, pointer)? {
            StringOrExpr::Expression(expression) => EndpointUri::Expression(expression),
            StringOrExpr::Literal { value, pointer } => EndpointUri::Template(UriTemplate {
                text: value,
                pointer,
            }),
        })
    }

    pub(crate) fn endpoint(&mut self, value: &Value, pointer: &str) -> Option<Endpoint> {
        match value {
            Value::String(_) => Some(Endpoint {
                uri: self.endpoint_uri(value, pointer)?,
                authentication: None,
                pointer: pointer.to_string(),
            }),
            Value::Object(map) => Some(Endpoint {
                uri: self.req(map, pointer, "uri", Parser::endpoint_uri)?,
                authentication: self.opt(
                    map,
                    pointer,
                    "authentication",
                    Parser::authentication_ref,
                ),
                pointer: pointer.to_string(),
            }),
            _ => {
                self.unexpected(
                    pointer,
                    "expected an endpoint: a URI template, an expression or `{ uri }`",
                );
                None
            }
        }
    }

    pub(crate) fn external_resource(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<ExternalResource> {
        let map = self.object(value, pointer)?;
        Some(ExternalResource {
            name: self.opt(map, pointer, "name", Parser::string),
            endpoint: self.req(map, pointer, "endpoint", Parser::endpoint)?,
            pointer: pointer.to_string(),
        })
    }

    fn schema_def(&mut self, value: &Value, pointer: &str) -> Option<SchemaDef> {
        let map = self.object(value, pointer)?;
        let format = self
            .opt(map, pointer, "format", Parser::string)
            .unwrap_or_else(|| "json".to_string());
        let source = if let Some(document) = map.get("document") {
            SchemaSource::Inline(document.clone())
        } else if map.contains_key("resource") {
            SchemaSource::Resource(self.opt(map, pointer, "resource", Parser::external_resource)?)
        } else {
            self.unexpected(pointer, "a schema needs `document` or `resource`");
            return None;
        };
        Some(SchemaDef {
            format,
            source,
            pointer: pointer.to_string(),
        })
    }

    /// `from`/`as`: a string is an expression, an object a template.
    fn transform(&mut self, value: &Value, pointer: &str) -> Option<Transform> {
        match value {
            Value::String(_) => self.expression(value, pointer).map(Transform::Expression),
            Value::Object(_) => self.template(value, pointer).map(Transform::Template),
            _ => {
                self.unexpected(pointer, "expected an expression string or an object");
                None
            }
        }
    }

    fn schema_and<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
    ) -> Option<(&'v Map<String, Value>, Option<SchemaDef>)> {
        let map = self.object(value, pointer)?;
        let schema = self.opt(map, pointer, "schema", Parser::schema_def);
        Some((map, schema))
    }

    pub(crate) fn input(&mut self, value: &Value, pointer: &str) -> Option<Input> {
        let (map, schema) = self.schema_and(value, pointer)?;
        let from = self.opt(map, pointer, "from", Parser::transform);
        Some(Input {
            schema,
            from,
            pointer: pointer.to_string(),
        })
    }

    pub(crate) fn output(&mut self, value: &Value, pointer: &str) -> Option<Output> {
        let (map, schema) = self.schema_and(value, pointer)?;
        let as_ = self.opt(map, pointer, "as", Parser::transform);
        Some(Output {
            schema,
            as_,
            pointer: pointer.to_string(),
        })
    }

    pub(crate) fn export(&mut self, value: &Value, pointer: &str) -> Option<Export> {
        let (map, schema) = self.schema_and(value, pointer)?;
        let as_ = self.opt(map, pointer, "as", Parser::transform);
        Some(Export {
            schema,
            as_,
            pointer: pointer.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_durations_in_all_forms() {
        let mut parser = Parser::default();
        let inline = parser.duration(&json!({"seconds": 3}), "/w");
        assert_eq!(
            inline.and_then(|d| d.to_std().ok()),
            Some(std::time::Duration::from_secs(3))
        );
        assert!(matches!(
            parser.duration(&json!("${ .d }"), "/w"),
            Some(Duration::Expression(_))
        ));
        assert!(matches!(
            parser.duration(&json!("PT1S"), "/w"),
            Some(Duration::Iso8601 { .. })
        ));
        assert!(parser.diagnostics.is_empty());
        // Calendar units are read as written; the analyzer rejects them (decision 7).
        assert!(matches!(
            parser.duration(&json!("P1Y"), "/y"),
            Some(Duration::Iso8601 { .. })
        ));
        parser.duration(&json!({"days": -1}), "/n");
        parser.duration(&json!(5), "/five");
        let codes: Vec<_> = parser.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            vec!["parse::unexpected-shape", "parse::unexpected-shape"]
        );
    }

    #[test]
    fn reads_endpoints_in_all_forms() {
        let mut parser = Parser::default();
        let template = parser.endpoint(&json!("https://h/p/{id}"), "/e");
        assert!(
            matches!(template.map(|e| e.uri), Some(EndpointUri::Template(t)) if t.has_variables())
        );
        let expression = parser.endpoint(&json!("${ \"https://h/\\(.id)\" }"), "/e");
        assert!(matches!(
            expression.map(|e| e.uri),
            Some(EndpointUri::Expression(_))
        ));
        let config = parser
            .endpoint(
                &json!({"uri": "https://h", "authentication": {"use": "petstore"}}),
                "/e",
            )
            .expect("endpoint object");
        assert_eq!(config.uri.pointer(), "/e/uri");
        assert!(config.authentication.is_some());
        assert!(parser.diagnostics.is_empty());
    }

    #[test]
    fn reads_retry_policies() {
        let mut parser = Parser::default();
        let value = json!({
            "delay": {"seconds": 3},
            "backoff": {"exponential": {}},
            "limit": {"attempt": {"count": 5, "duration": "PT1M"}, "duration": "PT10M"},
            "jitter": {"from": "PT1S", "to": "PT2S"},
            "when": ".status == 503"
        });
        let policy = parser.retry_policy(&value, "/r").expect("policy");
        assert_eq!(
            policy.backoff.map(|b| (b.kind, b.pointer)),
            Some((BackoffKind::Exponential, "/r/backoff/exponential".into()))
        );
        let limit = policy.limit.expect("limit");
        assert_eq!(limit.attempt_count, Some(5));
        assert_eq!(
            limit.attempt_duration.map(|d| d.pointer().to_string()),
            Some("/r/limit/attempt/duration".into())
        );
        assert_eq!(policy.when.map(|w| w.pointer), Some("/r/when".into()));
        assert!(policy.jitter.is_some());
        assert!(parser.diagnostics.is_empty());
    }
}
