//! Small building blocks shared by every part of the model: expressions, value templates,
//! literal-or-expression strings, URI templates, references to `use` entries and named entries.
//!
//! Every node keeps the JSON pointer of the value it was read from, so the analyzer and compiler
//! can report a problem at the exact field without carrying spans around.

use serde::Serialize;
use serde_json::Value;

/// Whether a string is written as a runtime expression, `${ ... }` with optional surrounding
/// whitespace (the schema's `runtimeExpression` pattern, allowing multi-line bodies).
pub fn is_runtime_expression(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.len() > 3 && trimmed.starts_with("${") && trimmed.ends_with('}')
}

/// A runtime expression exactly as written, `${ }` NOT stripped, with the pointer of its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expression {
    pub text: String,
    pub pointer: String,
}

impl Expression {
    pub fn new(text: impl Into<String>, pointer: impl Into<String>) -> Self {
        Expression {
            text: text.into(),
            pointer: pointer.into(),
        }
    }

    /// Whether the text is wrapped in `${ }`. Always-expression fields (CHECKLIST decision 3)
    /// are expressions either way; this only says how they were written.
    pub fn is_wrapped(&self) -> bool {
        is_runtime_expression(&self.text)
    }

    /// The jq source: the text with an optional `${ }` wrapper and surrounding whitespace removed.
    pub fn source(&self) -> &str {
        let trimmed = self.text.trim();
        if is_runtime_expression(trimmed) {
            let inner = &trimmed[2..trimmed.len() - 1];
            inner.trim()
        } else {
            trimmed
        }
    }
}

/// A value position where `${ }` may appear at any depth (set, with, body, event data...). The
/// compiler walks `value` and compiles every string that is a runtime expression (strict mode).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueTemplate {
    pub value: Value,
    pub pointer: String,
}

impl ValueTemplate {
    pub fn new(value: Value, pointer: impl Into<String>) -> Self {
        ValueTemplate {
            value,
            pointer: pointer.into(),
        }
    }

    /// Whether the template contains no runtime expression anywhere, so it evaluates to itself.
    pub fn is_constant(&self) -> bool {
        fn constant(value: &Value) -> bool {
            match value {
                Value::String(s) => !is_runtime_expression(s),
                Value::Array(items) => items.iter().all(constant),
                Value::Object(map) => map.values().all(constant),
                _ => true,
            }
        }
        constant(&self.value)
    }
}

/// A string field that is either a literal or, when written `${ ... }`, a runtime expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StringOrExpr {
    Literal { value: String, pointer: String },
    Expression(Expression),
}

impl StringOrExpr {
    /// Classifies a string by its `${ }` wrapper (strict mode).
    pub fn classify(text: &str, pointer: impl Into<String>) -> Self {
        if is_runtime_expression(text) {
            StringOrExpr::Expression(Expression::new(text, pointer))
        } else {
            StringOrExpr::Literal {
                value: text.to_string(),
                pointer: pointer.into(),
            }
        }
    }

    pub fn pointer(&self) -> &str {
        match self {
            StringOrExpr::Literal { pointer, .. } => pointer,
            StringOrExpr::Expression(expression) => &expression.pointer,
        }
    }

    /// The text as written (for a literal, its value; for an expression, `${ ... }`).
    pub fn text(&self) -> &str {
        match self {
            StringOrExpr::Literal { value, .. } => value,
            StringOrExpr::Expression(expression) => &expression.text,
        }
    }

    pub fn as_literal(&self) -> Option<&str> {
        match self {
            StringOrExpr::Literal { value, .. } => Some(value),
            StringOrExpr::Expression(_) => None,
        }
    }

    pub fn as_expression(&self) -> Option<&Expression> {
        match self {
            StringOrExpr::Literal { .. } => None,
            StringOrExpr::Expression(expression) => Some(expression),
        }
    }
}

/// A literal RFC 6570 URI template (`https://host/pets/{petId}`), expanded at run time from the
/// top-level keys of the task input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UriTemplate {
    pub text: String,
    pub pointer: String,
}

impl UriTemplate {
    /// Whether the template has any `{var}` to expand.
    pub fn has_variables(&self) -> bool {
        self.text.contains('{')
    }
}

/// A use of a name defined elsewhere: a `use.*` entry (`raise.error: name`, `catch.retry: name`,
/// `timeout: name`, `authentication: {use: name}`, custom `call: name`), a secret, or a `then`
/// target. The analyzer checks that it exists and suggests close names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub name: String,
    /// Pointer of the string holding the name.
    pub pointer: String,
}

impl Reference {
    pub fn new(name: impl Into<String>, pointer: impl Into<String>) -> Self {
        Reference {
            name: name.into(),
            pointer: pointer.into(),
        }
    }
}

/// One entry of a `use` map (`use.errors.notFound`, `use.retries.default`, ...), in document order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Named<T> {
    pub name: String,
    /// Pointer of the entry's value (`/use/errors/notFound`).
    pub pointer: String,
    pub value: T,
}

/// Finds the entry called `name` in a list of named entries.
pub fn find_named<'a, T>(entries: &'a [Named<T>], name: &str) -> Option<&'a Named<T>> {
    entries.iter().find(|entry| entry.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_runtime_expressions() {
        assert!(is_runtime_expression("${ .a }"));
        assert!(is_runtime_expression("  ${.a}\n"));
        assert!(is_runtime_expression("${\n  .a\n}"));
        assert!(!is_runtime_expression(".a"));
        assert!(!is_runtime_expression("${}"));
        assert!(!is_runtime_expression("prefix ${ .a }"));
    }

    #[test]
    fn expression_source_strips_the_wrapper_only_when_present() {
        assert_eq!(Expression::new("${ .a + 1 }", "/x").source(), ".a + 1");
        assert_eq!(
            Expression::new(" .color == \"red\" ", "/x").source(),
            ".color == \"red\""
        );
        assert!(Expression::new("${ . }", "/x").is_wrapped());
        assert!(!Expression::new(".", "/x").is_wrapped());
    }

    #[test]
    fn string_or_expr_classifies_by_wrapper() {
        let literal = StringOrExpr::classify("Not Implemented", "/t");
        assert_eq!(literal.as_literal(), Some("Not Implemented"));
        let expr = StringOrExpr::classify("${ .x }", "/d");
        assert_eq!(expr.as_expression().map(Expression::source), Some(".x"));
        assert_eq!(expr.pointer(), "/d");
    }

    #[test]
    fn constant_templates_have_no_expression() {
        assert!(ValueTemplate::new(json!({"a": [1, "b"]}), "").is_constant());
        assert!(!ValueTemplate::new(json!({"a": ["${ .b }"]}), "").is_constant());
    }
}
