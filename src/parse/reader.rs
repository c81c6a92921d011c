//! The parser's state and its primitive readers: typed fields out of a `serde_json::Value`,
//! each knowing its JSON pointer, with every unexpected shape recorded as a diagnostic.

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::document::{Expression, StringOrExpr, ValueTemplate};
use crate::pointer;

/// The code of every diagnostic the parser emits for a shape it cannot read.
pub const UNEXPECTED_SHAPE: &str = "parse::unexpected-shape";

/// Collects diagnostics while the document is read; nothing stops at the first problem.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// A JSON type name for messages (`object`, `string`...).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Parser {
    /// Records that the value at `pointer` does not have the shape the model needs.
    pub(crate) fn unexpected(&mut self, pointer: &str, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(UNEXPECTED_SHAPE, message).at_pointer(pointer));
    }

    fn expected(&mut self, pointer: &str, wanted: &str, value: &Value) {
        self.unexpected(
            pointer,
            format!("expected {wanted} here, found {}", kind(value)),
        );
    }

    pub(crate) fn object<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.expected(pointer, "an object", other);
                None
            }
        }
    }

    pub(crate) fn array<'v>(&mut self, value: &'v Value, pointer: &str) -> Option<&'v Vec<Value>> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.expected(pointer, "an array", other);
                None
            }
        }
    }

    /// Reads `map[key]` with `read` when present.
    pub(crate) fn opt<'v, T>(
        &mut self,
        map: &'v Map<String, Value>,
        pointer: &str,
        key: &str,
        read: impl FnOnce(&mut Self, &'v Value, &str) -> Option<T>,
    ) -> Option<T> {
        let value = map.get(key)?;
        read(self, value, &pointer::join(pointer, key))
    }

    /// Reads `map[key]` with `read`, recording a diagnostic when it is missing.
    pub(crate) fn req<'v, T>(
        &mut self,
        map: &'v Map<String, Value>,
        pointer: &str,
        key: &str,
        read: impl FnOnce(&mut Self, &'v Value, &str) -> Option<T>,
    ) -> Option<T> {
        if !map.contains_key(key) {
            self.unexpected(pointer, format!("missing required property `{key}`"));
            return None;
        }
        self.opt(map, pointer, key, read)
    }

    pub(crate) fn string(&mut self, value: &Value, pointer: &str) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            other => {
                self.expected(pointer, "a string", other);
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, value: &Value, pointer: &str) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                self.expected(pointer, "a boolean", other);
                None
            }
        }
    }

    pub(crate) fn unsigned(&mut self, value: &Value, pointer: &str) -> Option<u64> {
        match value.as_u64() {
            Some(n) => Some(n),
            None => {
                self.expected(pointer, "a non-negative integer", value);
                None
            }
        }
    }

    pub(crate) fn status(&mut self, value: &Value, pointer: &str) -> Option<u16> {
        match value.as_u64().and_then(|n| u16::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                self.expected(pointer, "a status code (an integer from 0 to 65535)", value);
                None
            }
        }
    }

    /// An always-expression field (CHECKLIST decision 3): any string, `${ }` optional.
    pub(crate) fn expression(&mut self, value: &Value, pointer: &str) -> Option<Expression> {
        self.string(value, pointer)
            .map(|text| Expression::new(text, pointer))
    }

    /// A string that is a literal unless written `${ ... }`.
    pub(crate) fn string_or_expr(&mut self, value: &Value, pointer: &str) -> Option<StringOrExpr> {
        self.string(value, pointer)
            .map(|text| StringOrExpr::classify(&text, pointer))
    }

    /// Any value, kept whole for the compiler to walk.
    pub(crate) fn template(&mut self, value: &Value, pointer: &str) -> Option<ValueTemplate> {
        Some(ValueTemplate::new(value.clone(), pointer))
    }

    /// An object, or a single string (an expression yielding the object), kept as a template.
    pub(crate) fn object_or_string(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<ValueTemplate> {
        match value {
            Value::Object(_) | Value::String(_) => self.template(value, pointer),
            other => {
                self.expected(pointer, "an object or an expression string", other);
                None
            }
        }
    }

    /// An object kept as a template (environment, ports, arguments...).
    pub(crate) fn object_template(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<ValueTemplate> {
        self.object(value, pointer)?;
        self.template(value, pointer)
    }

    pub(crate) fn free_map(&mut self, value: &Value, pointer: &str) -> Option<Map<String, Value>> {
        self.object(value, pointer).cloned()
    }

    pub(crate) fn strings(&mut self, value: &Value, pointer: &str) -> Option<Vec<String>> {
        let items = self.array(value, pointer)?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            out.extend(self.string(item, &pointer::join_index(pointer, index)));
        }
        Some(out)
    }

    /// A map of strings (`options`), in document order.
    pub(crate) fn string_pairs(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<Vec<(String, String)>> {
        let map = self.object(value, pointer)?;
        let mut out = Vec::with_capacity(map.len());
        for (key, item) in map {
            if let Some(text) = self.string(item, &pointer::join(pointer, key)) {
                out.push((key.clone(), text));
            }
        }
        Some(out)
    }

    /// The single `key: value` of a one-key map (task list items, switch cases, extensions).
    pub(crate) fn single_entry<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
    ) -> Option<(&'v String, &'v Value)> {
        let map = self.object(value, pointer)?;
        let mut entries = map.iter();
        match (entries.next(), entries.next()) {
            (Some(entry), None) => Some(entry),
            (None, _) => {
                self.unexpected(
                    pointer,
                    "expected one `name: definition` entry, found an empty object",
                );
                None
            }
            (Some(_), Some(_)) => {
                let names: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
                self.unexpected(
                    pointer,
                    format!(
                        "expected one `name: definition` entry, found {}: {}",
                        map.len(),
                        names.join(", ")
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_wrong_shapes_with_pointers() {
        let mut parser = Parser::default();
        let value = json!({"a": 1, "b": "x", "c": -3});
        let map = value.as_object().cloned().unwrap_or_default();
        assert_eq!(parser.opt(&map, "/t", "a", Parser::string), None);
        assert_eq!(
            parser.opt(&map, "/t", "b", Parser::string),
            Some("x".to_string())
        );
        assert_eq!(parser.opt(&map, "/t", "c", Parser::unsigned), None);
        assert_eq!(parser.req(&map, "/t", "missing", Parser::string), None);
        let pointers: Vec<_> = parser
            .diagnostics
            .iter()
            .map(|d| d.pointer.clone().unwrap_or_default())
            .collect();
        assert_eq!(pointers, vec!["/t/a", "/t/c", "/t"]);
        assert!(
            parser
                .diagnostics
                .iter()
                .all(|d| d.code == UNEXPECTED_SHAPE)
        );
        assert!(parser.diagnostics[2].message.contains("`missing`"));
    }

    #[test]
    fn single_entry_rejects_zero_or_two_keys() {
        let mut parser = Parser::default();
        assert!(parser.single_entry(&json!({"a": 1}), "/do/0").is_some());
        assert!(parser.single_entry(&json!({}), "/do/1").is_none());
        assert!(
            parser
                .single_entry(&json!({"a": 1, "b": 2}), "/do/2")
                .is_none()
        );
        assert!(parser.single_entry(&json!([1]), "/do/3").is_none());
        assert_eq!(parser.diagnostics.len(), 3);
        assert!(parser.diagnostics[1].message.contains("`a`, `b`"));
    }
}
