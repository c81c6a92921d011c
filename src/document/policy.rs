//! Policies and resources shared by tasks: retry, timeout, errors and error filters, endpoints,
//! external resources, schemas, data-flow (`input`/`output`/`export`) and flow directives.

use serde::Serialize;

use super::auth::AuthenticationRef;
use super::common::{Expression, Reference, StringOrExpr, UriTemplate, ValueTemplate};
use super::duration::Duration;

/// Where to go after a task (`then`), or where a switch case leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub enum FlowDirective {
    /// Go to the next task of the same list (the default).
    #[default]
    Continue,
    /// Complete the enclosing task list and resume after it.
    Exit,
    /// End the whole workflow gracefully.
    End,
    /// Jump to the named task in the same list.
    Goto(Reference),
}

/// A `timeout`: inline `{ after }` or the name of a `use.timeouts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TimeoutRef {
    Inline(Timeout),
    Named(Reference),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeout {
    pub after: Duration,
    pub pointer: String,
}

/// `catch.retry`: inline policy or the name of a `use.retries` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RetryRef {
    Inline(RetryPolicy),
    Named(Reference),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryPolicy {
    pub when: Option<Expression>,
    pub except_when: Option<Expression>,
    pub delay: Option<Duration>,
    pub backoff: Option<Backoff>,
    pub limit: Option<RetryLimit>,
    pub jitter: Option<Jitter>,
    pub pointer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BackoffKind {
    Constant,
    Linear,
    Exponential,
}

/// The backoff strategy; its settings object is free-form in the spec, kept for completeness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backoff {
    pub kind: BackoffKind,
    pub settings: serde_json::Value,
    pub pointer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RetryLimit {
    /// `attempt.count`: retries after the first attempt (CHECKLIST decision 6).
    pub attempt_count: Option<u64>,
    /// `attempt.duration`: bound on each attempt.
    pub attempt_duration: Option<Duration>,
    /// `duration`: bound on all attempts together.
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jitter {
    pub from: Duration,
    pub to: Duration,
}

/// `raise.error`: inline error or the name of a `use.errors` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ErrorRef {
    Inline(ErrorDef),
    Named(Reference),
}

/// An RFC 7807 problem definition (`use.errors` entry or inline `raise.error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDef {
    /// A URI template or an expression.
    pub type_: StringOrExpr,
    pub status: u16,
    pub title: Option<StringOrExpr>,
    pub detail: Option<StringOrExpr>,
    /// Set by the runtime to the raising task's pointer when absent.
    pub instance: Option<StringOrExpr>,
    pub pointer: String,
}

/// `catch.errors.with`: static properties a caught error must all match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ErrorFilter {
    pub type_: Option<String>,
    pub status: Option<u16>,
    pub instance: Option<String>,
    pub title: Option<String>,
    pub details: Option<String>,
    pub pointer: String,
}

/// An endpoint in any of its three written forms, normalised: a bare string (shorthand, the
/// URI's pointer is the endpoint's own) or `{ uri, authentication }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    pub uri: EndpointUri,
    pub authentication: Option<AuthenticationRef>,
    /// Pointer of the endpoint value (the string, or the `{uri, ...}` object).
    pub pointer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EndpointUri {
    /// A literal URI template, expanded from the task input's top-level keys.
    Template(UriTemplate),
    /// `${ ... }` evaluated to the URI.
    Expression(Expression),
}

impl EndpointUri {
    pub fn text(&self) -> &str {
        match self {
            EndpointUri::Template(template) => &template.text,
            EndpointUri::Expression(expression) => &expression.text,
        }
    }

    pub fn pointer(&self) -> &str {
        match self {
            EndpointUri::Template(template) => &template.pointer,
            EndpointUri::Expression(expression) => &expression.pointer,
        }
    }
}

/// `{ name?, endpoint }`: an OpenAPI/AsyncAPI/proto document, schema, script source, agent card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExternalResource {
    pub name: Option<String>,
    pub endpoint: Endpoint,
    pub pointer: String,
}

/// A schema used to validate data: inline document or external resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaDef {
    /// `format`, `json` when absent; may carry a version (`avro:1.11`).
    pub format: String,
    pub source: SchemaSource,
    pub pointer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SchemaSource {
    Inline(serde_json::Value),
    Resource(ExternalResource),
}

/// `input.from`, `output.as`, `export.as`: a string is always an expression (decision 3); an
/// object is a template whose leaves may hold expressions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Transform {
    Expression(Expression),
    Template(ValueTemplate),
}

impl Transform {
    pub fn pointer(&self) -> &str {
        match self {
            Transform::Expression(expression) => &expression.pointer,
            Transform::Template(template) => &template.pointer,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    pub schema: Option<SchemaDef>,
    pub from: Option<Transform>,
    pub pointer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub schema: Option<SchemaDef>,
    pub as_: Option<Transform>,
    pub pointer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Export {
    pub schema: Option<SchemaDef>,
    pub as_: Option<Transform>,
    pub pointer: String,
}
