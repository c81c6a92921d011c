//! The JSON pointer → source span index built by the loader, and how diagnostics use it.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::pointer;
use crate::source::Span;

/// Where one value sits in the text, and the key naming it when its parent is a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    value: Span,
    key: Option<Span>,
}

/// Source spans of every value of a loaded document, by JSON pointer (`""` is the root).
///
/// Values produced by expanding an alias (`*name`) are not indexed one by one: a pointer into
/// one resolves, through [`SpanIndex::locate`], to the alias itself, which is where the user
/// would look.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    entries: HashMap<Box<str>, Entry>,
}

impl SpanIndex {
    pub(crate) fn insert(&mut self, pointer: &str, value: Span, key: Option<Span>) {
        self.entries.insert(pointer.into(), Entry { value, key });
    }

    /// Span of the value at `pointer` (a block mapping or sequence spans its first to last entry;
    /// a flow one includes its brackets; a scalar includes its quotes and tag).
    pub fn value(&self, pointer: &str) -> Option<Span> {
        self.entries.get(pointer).map(|entry| entry.value)
    }

    /// Span of the mapping key whose value is at `pointer`; `None` for the root and for items of
    /// sequences.
    pub fn key(&self, pointer: &str) -> Option<Span> {
        self.entries.get(pointer).and_then(|entry| entry.key)
    }

    /// Best place for a diagnostic: the key (when on_key) or value span of `pointer`, else the
    /// value span of the nearest ancestor that exists. Never None for a loaded document.
    pub fn locate(&self, pointer: &str, on_key: bool) -> Option<Span> {
        if let Some(entry) = self.entries.get(pointer) {
            return Some(match (on_key, entry.key) {
                (true, Some(key)) => key,
                _ => entry.value,
            });
        }
        let mut current = pointer;
        while let Some(up) = pointer::parent(current) {
            if let Some(entry) = self.entries.get(up) {
                return Some(entry.value);
            }
            current = up;
        }
        // A malformed pointer (no leading `/`) still lands somewhere sensible.
        self.value("")
    }

    /// Number of indexed values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Fill `span` of every diagnostic that has a pointer but no span (uses `on_key`).
pub fn locate_all(diagnostics: &mut [Diagnostic], spans: &SpanIndex) {
    for diagnostic in diagnostics.iter_mut().filter(|d| d.span.is_none()) {
        if let Some(pointer) = &diagnostic.pointer {
            diagnostic.span = spans.locate(pointer, diagnostic.on_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::yaml::load;

    /// The text a span covers, for readable assertions.
    fn text_at(source: &Source, span: Option<Span>) -> &str {
        let span = span.expect("span present");
        source
            .text
            .get(span.start..span.end)
            .expect("span on char boundaries")
    }

    #[test]
    fn nested_block_mappings_and_sequences() {
        let source = Source::new(
            "t.yaml",
            "document:\n  name: demo\ndo:\n  - first:\n      set:\n        x: 1\n  - second:\n      wait: PT1S\n",
        );
        let loaded = load(&source).expect("loads");
        let spans = &loaded.spans;
        assert_eq!(text_at(&source, spans.value("/document/name")), "demo");
        assert_eq!(text_at(&source, spans.key("/document/name")), "name");
        assert_eq!(text_at(&source, spans.key("/do/0/first/set")), "set");
        assert_eq!(text_at(&source, spans.value("/do/0/first/set/x")), "1");
        assert_eq!(text_at(&source, spans.value("/do/1/second/wait")), "PT1S");
        assert_eq!(text_at(&source, spans.value("/do/0/first/set")), "x: 1");
        assert_eq!(text_at(&source, spans.value("/document")), "name: demo");
        assert_eq!(spans.key("/do/0"), None, "sequence items have no key");
        assert_eq!(spans.key(""), None);
        let position = source.position(spans.value("/do/1/second/wait").expect("span").start);
        assert_eq!((position.line, position.column), (8, 13));
    }

    #[test]
    fn flow_style_spans_include_brackets_and_quotes() {
        let source = Source::new("t.yaml", "a: {b: [1, \"two\", {c: 'x'}]}\n");
        let loaded = load(&source).expect("loads");
        let spans = &loaded.spans;
        assert_eq!(
            text_at(&source, spans.value("/a")),
            "{b: [1, \"two\", {c: 'x'}]}"
        );
        assert_eq!(
            text_at(&source, spans.value("/a/b")),
            "[1, \"two\", {c: 'x'}]"
        );
        assert_eq!(text_at(&source, spans.value("/a/b/1")), "\"two\"");
        assert_eq!(text_at(&source, spans.value("/a/b/2/c")), "'x'");
        assert_eq!(text_at(&source, spans.key("/a/b/2/c")), "c");
    }

    #[test]
    fn multibyte_characters_before_a_key() {
        let source = Source::new(
            "t.yaml",
            "title: \"héllo wörld 😀\"\nnext: 日本語\nlast: [é, ü]\n",
        );
        let loaded = load(&source).expect("loads");
        let spans = &loaded.spans;
        assert_eq!(text_at(&source, spans.key("/next")), "next");
        assert_eq!(text_at(&source, spans.value("/next")), "日本語");
        assert_eq!(text_at(&source, spans.value("/last/1")), "ü");
        assert_eq!(loaded.value["last"][1], "ü");
    }

    #[test]
    fn escaped_pointer_tokens() {
        let source = Source::new("t.yaml", "\"a/b\": {\"c~d\": 1}\n");
        let loaded = load(&source).expect("loads");
        assert_eq!(text_at(&source, loaded.spans.key("/a~1b/c~0d")), "\"c~d\"");
        assert_eq!(text_at(&source, loaded.spans.value("/a~1b/c~0d")), "1");
    }

    #[test]
    fn json_input_has_spans() {
        let source = Source::new(
            "t.json",
            "{\n  \"document\": {\"dsl\": \"1.0.0\"},\n  \"do\": [\n    {\"a\": {\"set\": {\"x\": true}}}\n  ]\n}\n",
        );
        let loaded = load(&source).expect("loads");
        let spans = &loaded.spans;
        assert_eq!(loaded.value["do"][0]["a"]["set"]["x"], true);
        assert_eq!(text_at(&source, spans.value("/document/dsl")), "\"1.0.0\"");
        assert_eq!(text_at(&source, spans.key("/do")), "\"do\"");
        assert_eq!(
            text_at(&source, spans.value("/do/0/a/set")),
            "{\"x\": true}"
        );
        assert!(text_at(&source, spans.value("")).starts_with('{'));
        assert!(text_at(&source, spans.value("")).ends_with('}'));
    }

    #[test]
    fn locate_prefers_key_then_value_then_ancestor() {
        let source = Source::new("t.yaml", "a:\n  bogus: 1\n  list: [x]\n");
        let loaded = load(&source).expect("loads");
        let spans = &loaded.spans;
        assert_eq!(text_at(&source, spans.locate("/a/bogus", true)), "bogus");
        assert_eq!(text_at(&source, spans.locate("/a/bogus", false)), "1");
        // Items of sequences have no key: fall back to the value.
        assert_eq!(text_at(&source, spans.locate("/a/list/0", true)), "x");
        // Missing values resolve to the nearest existing ancestor's value.
        assert_eq!(
            text_at(&source, spans.locate("/a/list/7/deeper", false)),
            "[x]"
        );
        assert_eq!(spans.locate("/nope", false), spans.value(""));
        assert_eq!(spans.locate("malformed", true), spans.value(""));
    }

    #[test]
    fn locate_all_fills_only_missing_spans() {
        let source = Source::new("t.yaml", "a:\n  bogus: 1\n");
        let loaded = load(&source).expect("loads");
        let preset = Span::new(0, 1);
        let mut diagnostics = vec![
            Diagnostic::error("x::a", "unknown key")
                .at_pointer("/a/bogus")
                .on_key(),
            Diagnostic::error("x::b", "bad value").at_pointer("/a/bogus"),
            Diagnostic::error("x::c", "kept")
                .at_pointer("/a/bogus")
                .with_span(preset),
            Diagnostic::error("x::d", "no pointer"),
        ];
        locate_all(&mut diagnostics, &loaded.spans);
        let texts: Vec<Option<&str>> = diagnostics
            .iter()
            .map(|d| d.span.and_then(|s| source.text.get(s.start..s.end)))
            .collect();
        assert_eq!(texts, vec![Some("bogus"), Some("1"), Some("a"), None]);
    }

    mod roundtrip {
        use super::super::*;
        use crate::source::Source;
        use crate::yaml::load;
        use proptest::prelude::*;
        use serde_json::Value;

        fn tree() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                (-1e6f64..1e6).prop_map(Value::from),
                "[a-zA-Z0-9 _~/.:#'é日😀-]{0,10}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::btree_map("[a-z~/é ]{0,5}", inner, 0..5)
                        .prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        fn json(value: &Value) -> String {
            serde_json::to_string(value).unwrap_or_default()
        }

        fn is_block(value: &Value) -> bool {
            match value {
                Value::Array(items) => !items.is_empty(),
                Value::Object(map) => !map.is_empty(),
                _ => false,
            }
        }

        /// Block-style YAML with every scalar written as JSON (a valid YAML flow scalar).
        fn block(value: &Value, indent: usize, out: &mut String) {
            let pad = " ".repeat(indent);
            match value {
                Value::Object(map) if !map.is_empty() => {
                    for (key, item) in map {
                        out.push_str(&format!("{pad}{}:", json(&Value::from(key.as_str()))));
                        if is_block(item) {
                            out.push('\n');
                            block(item, indent + 2, out);
                        } else {
                            out.push_str(&format!(" {}\n", json(item)));
                        }
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    for item in items {
                        if is_block(item) {
                            out.push_str(&format!("{pad}-\n"));
                            block(item, indent + 2, out);
                        } else {
                            out.push_str(&format!("{pad}- {}\n", json(item)));
                        }
                    }
                }
                other => out.push_str(&format!("{pad}{}\n", json(other))),
            }
        }

        /// Every value (and key) of `value` is indexed, and its span covers its own text.
        fn check(text: String, value: &Value) -> Result<(), TestCaseError> {
            let source = Source::new("p.yaml", text);
            let loaded = load(&source).map_err(|d| TestCaseError::fail(format!("{d:?}")))?;
            prop_assert_eq!(&loaded.value, value);
            let mut pending = vec![(String::new(), value)];
            while let Some((pointer, value)) = pending.pop() {
                let span = loaded.spans.value(&pointer);
                prop_assert!(span.is_some(), "no span for {:?}", pointer);
                let covered = span
                    .and_then(|s| source.text.get(s.start..s.end))
                    .unwrap_or_default();
                match value {
                    Value::Array(items) => {
                        for (index, item) in items.iter().enumerate() {
                            pending.push((pointer::join_index(&pointer, index), item));
                        }
                    }
                    Value::Object(map) => {
                        for (key, item) in map {
                            let child = pointer::join(&pointer, key);
                            let key_span = loaded.spans.key(&child);
                            let key_text = key_span.and_then(|s| source.text.get(s.start..s.end));
                            let parsed: Option<String> =
                                key_text.and_then(|t| serde_json::from_str(t).ok());
                            prop_assert_eq!(parsed.as_deref(), Some(key.as_str()));
                            pending.push((child, item));
                        }
                    }
                    scalar => {
                        let parsed: Option<Value> = serde_json::from_str(covered).ok();
                        prop_assert_eq!(parsed.as_ref(), Some(scalar), "at {:?}", pointer);
                    }
                }
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn json_text_round_trips_with_spans(value in tree()) {
                check(serde_json::to_string_pretty(&value).unwrap_or_default(), &value)?;
            }

            #[test]
            fn block_yaml_round_trips_with_spans(value in tree()) {
                let mut text = String::new();
                block(&value, 0, &mut text);
                check(text, &value)?;
            }
        }
    }
}
