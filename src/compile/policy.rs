//! Lowering of policies to plain data: durations, timeouts, retry policies, errors to raise and
//! data schemas. Named `use` entries are resolved here and inlined at each use site.

use std::sync::Arc;

use super::compiler::Compiler;
use super::machine::{BackoffKind, DurationSpec, ErrorSpec, RetrySpec, SchemaCheck, TimeoutSpec};
use super::scope::Scope;
use crate::document::{
    self, Duration, DurationError, ErrorDef, ErrorRef, Reference, RetryPolicy, RetryRef, SchemaDef,
    SchemaSource, TimeoutRef,
};

impl Compiler<'_> {
    pub(super) fn duration(&mut self, duration: &Duration, scope: &Scope) -> Option<DurationSpec> {
        match duration {
            Duration::Expression(expression) => {
                self.expr(expression, scope).map(DurationSpec::Expr)
            }
            _ => match duration.to_std() {
                Ok(fixed) => Some(DurationSpec::Fixed(fixed)),
                Err(error) => {
                    let code = match error {
                        DurationError::CalendarUnit { .. } => "duration::calendar-unit",
                        _ => "duration::invalid",
                    };
                    self.error(code, duration.pointer(), error.to_string());
                    None
                }
            },
        }
    }

    pub(super) fn timeout(&mut self, timeout: &TimeoutRef, scope: &Scope) -> Option<TimeoutSpec> {
        let document = self.document;
        let after = match timeout {
            TimeoutRef::Inline(inline) => &inline.after,
            TimeoutRef::Named(reference) => match document.use_.timeout(&reference.name) {
                Some(named) => &named.value.after,
                None => {
                    let known = document.use_.timeouts.iter().map(|t| t.name.as_str());
                    self.undefined("ref::undefined-timeout", "timeout", reference, known);
                    return None;
                }
            },
        };
        self.duration(after, scope)
            .map(|after| TimeoutSpec { after })
    }

    /// A retry policy, inline or named, compiled in the catch's scope (the error is bound).
    pub(super) fn retry(&mut self, retry: &RetryRef, scope: &Scope) -> Option<RetrySpec> {
        let document = self.document;
        let policy: &RetryPolicy = match retry {
            RetryRef::Inline(policy) => policy,
            RetryRef::Named(reference) => match document.use_.retry(&reference.name) {
                Some(named) => &named.value,
                None => {
                    let known = document.use_.retries.iter().map(|r| r.name.as_str());
                    self.undefined("ref::undefined-retry", "retry policy", reference, known);
                    return None;
                }
            },
        };
        let limit = policy.limit.clone().unwrap_or_default();
        let jitter = policy.jitter.as_ref().map(|jitter| {
            (
                self.duration(&jitter.from, scope),
                self.duration(&jitter.to, scope),
            )
        });
        Some(RetrySpec {
            when: policy.when.as_ref().and_then(|e| self.expr(e, scope)),
            except_when: policy
                .except_when
                .as_ref()
                .and_then(|e| self.expr(e, scope)),
            delay: policy.delay.as_ref().and_then(|d| self.duration(d, scope)),
            backoff: match policy.backoff.as_ref().map(|b| b.kind) {
                Some(document::BackoffKind::Linear) => BackoffKind::Linear,
                Some(document::BackoffKind::Exponential) => BackoffKind::Exponential,
                Some(document::BackoffKind::Constant) | None => BackoffKind::Constant,
            },
            jitter: match jitter {
                Some((Some(from), Some(to))) => Some((from, to)),
                _ => None,
            },
            max_retries: limit.attempt_count,
            attempt_duration: limit
                .attempt_duration
                .as_ref()
                .and_then(|d| self.duration(d, scope)),
            total_duration: limit
                .duration
                .as_ref()
                .and_then(|d| self.duration(d, scope)),
        })
    }

    /// `raise.error`, inline or named, compiled in the raising task's scope.
    pub(super) fn error_spec(&mut self, error: &ErrorRef, scope: &Scope) -> Option<ErrorSpec> {
        let document = self.document;
        let def: &ErrorDef = match error {
            ErrorRef::Inline(def) => def,
            ErrorRef::Named(reference) => match document.use_.error(&reference.name) {
                Some(named) => &named.value,
                None => {
                    let known = document.use_.errors.iter().map(|e| e.name.as_str());
                    self.undefined("ref::undefined-error", "error", reference, known);
                    return None;
                }
            },
        };
        let type_ = self.string(&def.type_, scope);
        let title = def.title.as_ref().map(|t| self.string(t, scope));
        let detail = def.detail.as_ref().map(|d| self.string(d, scope));
        let instance = def.instance.as_ref().map(|i| self.string(i, scope));
        Some(ErrorSpec {
            type_: type_?,
            status: def.status,
            title: title.flatten(),
            detail: detail.flatten(),
            instance: instance.flatten(),
        })
    }

    /// A data schema, compiled once. Schemas this runtime cannot check become an error raised
    /// when (and only when) the run reaches them.
    pub(super) fn schema(&mut self, schema: &SchemaDef) -> Option<SchemaCheck> {
        let at: Arc<str> = Arc::from(schema.pointer.as_str());
        let format = schema.format.split(':').next().unwrap_or_default();
        if !format.eq_ignore_ascii_case("json") {
            return Some(SchemaCheck::Unsupported {
                message: format!(
                    "schema format `{}` is not supported yet by this runtime (only `json`)",
                    schema.format
                ),
                at,
            });
        }
        match &schema.source {
            SchemaSource::Inline(document) => match jsonschema::options().build(document) {
                Ok(validator) => Some(SchemaCheck::Json {
                    validator: Arc::new(validator),
                    at,
                }),
                Err(error) => {
                    self.error(
                        "schema::invalid-schema",
                        &format!("{}/document", schema.pointer),
                        format!("this JSON Schema does not compile: {error}"),
                    );
                    None
                }
            },
            SchemaSource::Resource(_) => Some(SchemaCheck::Unsupported {
                message:
                    "schemas from an external `resource` are not supported yet by this runtime"
                        .to_owned(),
                at,
            }),
        }
    }

    fn undefined<'a>(
        &mut self,
        code: &'static str,
        what: &str,
        reference: &Reference,
        known: impl Iterator<Item = &'a str>,
    ) {
        let names: Vec<&str> = known.collect();
        let mut diagnostic = crate::diagnostic::Diagnostic::error(
            code,
            format!("no {what} named `{}` in `use`", reference.name),
        )
        .at_pointer(&reference.pointer);
        if let Some(close) = crate::diagnostic::did_you_mean(&reference.name, names) {
            diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
        }
        self.diagnostics.push(diagnostic);
    }
}
