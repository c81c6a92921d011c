//! The JSON pointer → source span index built by the loader, and how diagnostics use it.

use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::pointer;
use crate::source::Span;

/// Parent id of the root.
const NO_PARENT: usize = usize::MAX;

/// Parent id of a value replaced by a later duplicate key: no lookup reaches it (or anything
/// under it) any more, but its descendants keep their parents, so the loader can still walk
/// from an anchor inside it up to it.
const DETACHED: usize = usize::MAX - 1;

/// One indexed value: where it sits, and how its parent names it.
#[derive(Debug, Clone)]
struct Node {
    parent: usize,
    /// Position among the parent's children (the array index inside a sequence).
    ordinal: usize,
    value: Span,
    /// The mapping key naming this value (`None` for the root and sequence items).
    key: Option<Span>,
    /// The key's text, as a range of `SpanIndex::names`.
    name: Range<usize>,
}

/// Source spans of every value of a loaded document, by JSON pointer (`""` is the root).
///
/// Values produced by expanding an alias (`*name`) are not indexed one by one: a pointer into
/// one resolves, through [`SpanIndex::locate`], to the alias itself, which is where the user
/// would look. A value replaced by a later duplicate key is not reachable either: pointers under
/// that key lead into the last occurrence.
///
/// Stored as a tree of nodes in document order rather than a map from pointer strings: a 10 MB
/// document has a million values, and building a pointer string and hashing it for each one
/// cost more than parsing. A lookup walks the pointer's tokens down from the root instead.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    nodes: Vec<Node>,
    /// All key texts, back to back (one allocation instead of one per key).
    names: String,
    /// Children of node `i` are `children[child_start[i]..child_start[i + 1]]`, in order.
    child_start: Vec<usize>,
    children: Vec<usize>,
}

impl SpanIndex {
    /// Adds a value under `parent` (`None` for the root); returns its id. Ids follow document
    /// order, so a parent is always added before its children.
    pub(crate) fn push(
        &mut self,
        parent: Option<usize>,
        ordinal: usize,
        key: Option<(&str, Span)>,
        value: Span,
    ) -> usize {
        let start = self.names.len();
        if let Some((name, _)) = key {
            self.names.push_str(name);
        }
        self.nodes.push(Node {
            parent: parent.unwrap_or(NO_PARENT),
            ordinal,
            value,
            key: key.map(|(_, span)| span),
            name: start..self.names.len(),
        });
        self.nodes.len() - 1
    }

    /// Sets the value span of a collection once its end is known.
    pub(crate) fn set_value(&mut self, id: usize, value: Span) {
        if let Some(node) = self.nodes.get_mut(id) {
            node.value = value;
        }
    }

    pub(crate) fn parent_of(&self, id: usize) -> Option<usize> {
        self.nodes
            .get(id)
            .map(|node| node.parent)
            .filter(|&parent| parent != NO_PARENT && parent != DETACHED)
    }

    /// Removes node `id` and its subtree from lookups: a later duplicate key replaced it.
    pub(crate) fn detach(&mut self, id: usize) {
        if let Some(node) = self.nodes.get_mut(id) {
            node.parent = DETACHED;
        }
    }

    /// How the parent names node `id`: its key, or its index when the parent is a sequence.
    pub(crate) fn token_of(&self, id: usize) -> Option<(Option<&str>, usize)> {
        let node = self.nodes.get(id)?;
        let name = node.key.and_then(|_| self.names.get(node.name.clone()));
        Some((name, node.ordinal))
    }

    /// Span of the mapping key naming node `id`.
    pub(crate) fn key_of(&self, id: usize) -> Option<Span> {
        self.nodes.get(id)?.key
    }

    /// Builds the child lists used by lookups; called once the document is complete.
    pub(crate) fn finish(&mut self) {
        // `NO_PARENT` and `DETACHED` are out of range below: the root and replaced values are
        // nobody's children.
        let mut counts = vec![0usize; self.nodes.len() + 1];
        for node in &self.nodes {
            if let Some(count) = counts.get_mut(node.parent) {
                *count += 1;
            }
        }
        // Prefix sums turn counts into start positions.
        let mut total = 0;
        for count in counts.iter_mut() {
            let here = *count;
            *count = total;
            total += here;
        }
        let mut next = counts.clone();
        let mut children = vec![0usize; total];
        for (id, node) in self.nodes.iter().enumerate() {
            if let Some(slot) = next.get_mut(node.parent) {
                if let Some(entry) = children.get_mut(*slot) {
                    *entry = id;
                }
                *slot += 1;
            }
        }
        self.child_start = counts;
        self.children = children;
    }

    /// The node at `pointer`, or `Err` with the deepest ancestor that exists (`None`: no root).
    fn lookup(&self, pointer: &str) -> Result<usize, Option<usize>> {
        if self.nodes.is_empty() {
            return Err(None);
        }
        if pointer.is_empty() {
            return Ok(0);
        }
        if !pointer.starts_with('/') {
            return Err(Some(0));
        }
        let mut current = 0;
        for token in pointer::tokens(pointer) {
            match self.child(current, &token) {
                Some(child) => current = child,
                None => return Err(Some(current)),
            }
        }
        Ok(current)
    }

    fn child(&self, parent: usize, token: &str) -> Option<usize> {
        let start = *self.child_start.get(parent)?;
        let end = *self.child_start.get(parent + 1)?;
        let children = self.children.get(start..end)?;
        let first = self.nodes.get(*children.first()?)?;
        if first.key.is_none() {
            // A sequence: the token is an array index (RFC 6901: no sign, no leading zero).
            let canonical = token == "0" || !token.starts_with('0');
            if !canonical || !token.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            return children.get(token.parse::<usize>().ok()?).copied();
        }
        children.iter().copied().find(|&id| {
            self.nodes
                .get(id)
                .and_then(|node| self.names.get(node.name.clone()))
                == Some(token)
        })
    }

    /// Span of the value at `pointer` (a block mapping or sequence spans its first to last entry;
    /// a flow one includes its brackets; a scalar includes its quotes and tag).
    pub fn value(&self, pointer: &str) -> Option<Span> {
        let id = self.lookup(pointer).ok()?;
        self.nodes.get(id).map(|node| node.value)
    }

    /// Span of the mapping key whose value is at `pointer`; `None` for the root and for items of
    /// sequences.
    pub fn key(&self, pointer: &str) -> Option<Span> {
        let id = self.lookup(pointer).ok()?;
        self.nodes.get(id).and_then(|node| node.key)
    }

    /// Best place for a diagnostic: the key (when on_key) or value span of `pointer`, else the
    /// value span of the nearest ancestor that exists. Never None for a loaded document.
    pub fn locate(&self, pointer: &str, on_key: bool) -> Option<Span> {
        match self.lookup(pointer) {
            Ok(id) => {
                let node = self.nodes.get(id)?;
                Some(match (on_key, node.key) {
                    (true, Some(key)) => key,
                    _ => node.value,
                })
            }
            Err(ancestor) => self.nodes.get(ancestor?).map(|node| node.value),
        }
    }

    /// Number of indexed values, those replaced by a later duplicate key included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
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
    fn crlf_line_endings_and_byte_order_mark() {
        let source = Source::new("t.yaml", "\u{feff}a: 1\r\nb:\r\n  - x\r\n");
        let loaded = load(&source).expect("loads");
        assert_eq!(text_at(&source, loaded.spans.key("/b")), "b");
        assert_eq!(text_at(&source, loaded.spans.value("/b/0")), "x");
        assert_eq!(loaded.value["a"], 1);
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
        // Array indices are canonical decimal (RFC 6901).
        assert!(spans.value("/a/list/0").is_some());
        assert_eq!(spans.value("/a/list/00"), None);
        assert_eq!(spans.value("/a/list/+0"), None);
        assert_eq!(spans.value("/a/bogus/0"), None);
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

            /// A key written twice keeps its second value, and the index leads into the second
            /// occurrence only (whatever the first one held).
            #[test]
            fn a_repeated_key_indexes_its_last_occurrence(first in tree(), second in tree()) {
                let mut text = String::new();
                block(&Value::Object([("k".to_owned(), first)].into_iter().collect()), 0, &mut text);
                let again = text.len();
                let kept: Value = Value::Object([("k".to_owned(), second)].into_iter().collect());
                block(&kept, 0, &mut text);
                let source = Source::new("p.yaml", text.clone());
                let loaded = load(&source).map_err(|d| TestCaseError::fail(format!("{d:?}")))?;
                let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
                prop_assert_eq!(codes, ["yaml::duplicate-key"]);
                prop_assert_eq!(loaded.spans.key("/k").map(|s| s.start), Some(again));
                prop_assert!(loaded.spans.value("/k").is_some_and(|s| s.start > again));
                check(text, &kept)?;
            }
        }
    }
}
