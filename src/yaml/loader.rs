//! The loader: saphyr parser events → `serde_json::Value` plus a pointer → span index, in one
//! pass over the event stream with an explicit stack (no recursion, whatever the nesting).
//!
//! We drive `saphyr_parser::Parser` as an iterator rather than loading a `saphyr::MarkedYaml`
//! tree: saphyr's own `Parser::load` recurses once per nesting level (a 10,000-deep document
//! overflows the stack before any limit of ours could apply), its duplicate-key error does not
//! say where the first key was, and the tree would be built only to be converted again.
//!
//! A duplicate key is the one recoverable problem: the last value wins (as in most YAML and JSON
//! tools, and the DSL's own CI), so the rest of the document is still checked.

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

use super::anchors::{self, Anchored, Anchors, Refused, Size};
use super::entries::Entries;
use super::errors::{self, MAX_DEPTH};
use super::offsets::CharOffsets;
use super::scalar::{self, ScalarError};
use super::spans::SpanIndex;
use crate::diagnostic::Diagnostic;
use crate::source::{Source, Span};

/// A document turned into JSON, with the source span of each of its values.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub value: Value,
    pub spans: SpanIndex,
    /// Problems the load went on after: duplicate keys (`yaml::duplicate-key`, errors). The
    /// value holds each key's last value, at the key's first position in its object, and the
    /// spans of everything under it are those of the last occurrence.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads one YAML 1.2 (or JSON) document. Duplicate keys are reported in
/// [`Loaded::diagnostics`]; any other problem stops the load and is returned as a located
/// diagnostic: syntax, tabs, complex keys, several documents, non-JSON numbers, mistagged
/// scalars, nesting deeper than 255 levels, alias expansion past 2 million values or 64 MiB of
/// text, or no document at all.
pub fn load(source: &Source) -> Result<Loaded, Diagnostic> {
    let mut builder = Builder::new(source);
    let mut parser = Parser::new_from_str(&source.text);
    while let Some(next) = parser.next_event() {
        let (event, span) =
            next.map_err(|error| errors::syntax(source, &builder.offsets, &error))?;
        let span = Span::new(
            builder.offsets.byte(span.start.index()),
            builder.offsets.byte(span.end.index()),
        );
        builder.event(event, span)?;
    }
    builder.finish()
}

/// Where the next node of the event stream goes.
enum Place {
    /// It is a mapping key.
    Key,
    /// It is a value, in this position of its parent.
    Value(Slot),
}

struct Slot {
    /// Index id of the parent collection (`None` for the root).
    parent: Option<usize>,
    ordinal: usize,
    /// The key naming the value, when the parent is a mapping.
    key: Option<(String, Span)>,
}

enum Container {
    Sequence(Vec<Value>),
    /// The entries so far and the key waiting for its value.
    Mapping(Map<String, Value>, Option<(String, Span)>),
}

/// A collection whose end event has not come yet.
struct Frame {
    container: Container,
    /// Its id in the span index.
    node: usize,
    /// The key naming it in its parent mapping (taken when it is closed).
    key: Option<(String, Span)>,
    start: usize,
    /// End of the last child: a block collection's span ends there, not at the next token.
    last_end: usize,
    anchor: usize,
    size: Size,
    /// A mapping's finished entries (empty for a sequence).
    entries: Entries,
}

struct Builder<'s> {
    source: &'s Source,
    offsets: CharOffsets<'s>,
    /// Open collections, outermost first; their index ids increase along the stack.
    stack: Vec<Frame>,
    root: Option<Value>,
    /// The document is an untagged empty scalar (`---` alone): nothing was written.
    empty_root: bool,
    spans: SpanIndex,
    anchors: Anchors,
    /// Recoverable findings (duplicate keys).
    diagnostics: Vec<Diagnostic>,
    documents: usize,
}

impl<'s> Builder<'s> {
    fn new(source: &'s Source) -> Self {
        Builder {
            source,
            offsets: CharOffsets::new(&source.text),
            stack: Vec::new(),
            root: None,
            empty_root: false,
            spans: SpanIndex::default(),
            anchors: Anchors::default(),
            diagnostics: Vec::new(),
            documents: 0,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    let span = if span.is_empty() {
                        errors::char_span(self.source, span.start)
                    } else {
                        span
                    };
                    return Err(errors::multiple_documents(span));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.stack.is_empty()
                    && text.is_empty()
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                {
                    self.empty_root = true;
                }
                let place = self.place();
                let resolved = scalar::resolve(&text, style, tag.as_deref());
                let slot = match place {
                    Place::Key => {
                        if anchor != 0 {
                            // Aliased as a value later, the anchor must have its resolved value.
                            let value =
                                resolved.unwrap_or_else(|_| Value::String(text.to_string()));
                            self.anchors.define_scalar(anchor, value, &text);
                        }
                        self.key(text.into_owned(), span);
                        return Ok(());
                    }
                    Place::Value(slot) => slot,
                };
                let value = resolved.map_err(|error| match error {
                    ScalarError::NonJsonNumber => errors::non_json_number(&text, span),
                    ScalarError::TagMismatch { tag } => errors::tag_mismatch(&tag, &text, span),
                })?;
                if anchor != 0 {
                    self.anchors.define_scalar(anchor, value.clone(), &text);
                }
                self.attach(slot, value, span, Size::scalar(&text));
            }
            Event::SequenceStart(anchor, _) => {
                self.open(Container::Sequence(Vec::new()), anchor, span)?
            }
            Event::MappingStart(anchor, _) => {
                self.open(Container::Mapping(Map::new(), None), anchor, span)?
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(span),
            Event::Alias(id) => self.alias(id, span)?,
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Decides where the next node goes; for a value, takes the mapping's pending key.
    fn place(&mut self) -> Place {
        let Some(frame) = self.stack.last_mut() else {
            return Place::Value(Slot {
                parent: None,
                ordinal: 0,
                key: None,
            });
        };
        let parent = Some(frame.node);
        match &mut frame.container {
            Container::Sequence(items) => Place::Value(Slot {
                parent,
                ordinal: items.len(),
                key: None,
            }),
            Container::Mapping(map, pending) => match pending.take() {
                Some(key) => Place::Value(Slot {
                    parent,
                    ordinal: map.len(),
                    key: Some(key),
                }),
                None => Place::Key,
            },
        }
    }

    /// Records a mapping key. Keys keep their source text (`1: x` and `0x1: x` are the keys "1"
    /// and "0x1"), so the key a diagnostic names is the one the user wrote.
    fn key(&mut self, name: String, span: Span) {
        let duplicate = match self.stack.last() {
            Some(Frame {
                container: Container::Mapping(map, _),
                ..
            }) => map.contains_key(&name),
            _ => return,
        };
        if duplicate {
            self.replace(&name, span);
        }
        if let Some(frame) = self.stack.last_mut()
            && let Container::Mapping(_, pending) = &mut frame.container
        {
            frame.size.bytes = frame.size.bytes.saturating_add(name.len());
            *pending = Some((name, span));
        }
    }

    /// The key `name` at `span` repeats one of the innermost mapping: records the finding and
    /// takes the earlier entry out of the index and the value. A placeholder keeps its place in
    /// the object until the new value overwrites it; anchors inside it stay usable.
    fn replace(&mut self, name: &str, span: Span) {
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        let Container::Mapping(map, _) = &mut frame.container else {
            return;
        };
        let earlier = frame.entries.find(name, &self.spans);
        let first = earlier.and_then(|entry| entry.first);
        let diagnostic = errors::duplicate_key(self.source, name, span, first);
        self.diagnostics.push(diagnostic);
        let Some(earlier) = earlier else {
            return;
        };
        let value = map.get_mut(name).map(std::mem::take).unwrap_or_default();
        self.spans.detach(earlier.id);
        self.anchors
            .bury(earlier.id, earlier.id..earlier.end, value);
    }

    /// Adds a value's node to the span index.
    fn index(&mut self, slot: &Slot, span: Span) -> usize {
        let key = slot.key.as_ref().map(|(name, key)| (name.as_str(), *key));
        self.spans.push(slot.parent, slot.ordinal, key, span)
    }

    fn open(&mut self, container: Container, anchor: usize, span: Span) -> Result<(), Diagnostic> {
        let Place::Value(slot) = self.place() else {
            return Err(errors::complex_key(errors::char_span(
                self.source,
                span.start,
            )));
        };
        if self.stack.len() >= MAX_DEPTH {
            return Err(errors::too_deep(errors::char_span(self.source, span.start)));
        }
        let node = self.index(&slot, span);
        self.stack.push(Frame {
            container,
            node,
            key: slot.key,
            start: span.start,
            last_end: span.end,
            anchor,
            size: Size {
                nodes: 1,
                bytes: 0,
                height: 1,
            },
            entries: Entries::default(),
        });
        Ok(())
    }

    fn close(&mut self, span: Span) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        // Flow collections end with their bracket (a non-empty span); block ones at their last child.
        let end = if span.is_empty() {
            frame.last_end
        } else {
            span.end
        };
        let span = Span::new(frame.start, end);
        self.spans.set_value(frame.node, span);
        let value = match frame.container {
            Container::Sequence(items) => Value::Array(items),
            Container::Mapping(map, _) => Value::Object(map),
        };
        if frame.anchor != 0 {
            self.anchors
                .define_collection(frame.anchor, frame.node, frame.size);
        }
        self.insert(frame.node, frame.key, value, span, frame.size);
    }

    /// Indexes a scalar or alias and puts it in its parent.
    fn attach(&mut self, slot: Slot, value: Value, span: Span, size: Size) {
        let node = self.index(&slot, span);
        self.insert(node, slot.key, value, span, size);
    }

    /// Puts a finished value (index node `node`) in the innermost open collection, or makes it
    /// the root.
    fn insert(
        &mut self,
        node: usize,
        key: Option<(String, Span)>,
        value: Value,
        span: Span,
        size: Size,
    ) {
        // Its subtree was indexed last: it ends where the index does.
        let end = self.spans.len();
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return;
        };
        frame.size.add(size);
        frame.size.height = frame.size.height.max(size.height + 1);
        frame.last_end = frame.last_end.max(span.end);
        match (&mut frame.container, key) {
            (Container::Sequence(items), _) => items.push(value),
            (Container::Mapping(map, _), Some((name, key))) => {
                frame.entries.add(&name, node, end, Some(key));
                // In place of a replaced entry's placeholder, if any: the first position stays.
                map.insert(name, value);
            }
            (Container::Mapping(..), None) => {}
        }
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<(), Diagnostic> {
        let (target, size) = self.anchors.expand(id).map_err(|refused| match refused {
            Refused::Unfinished => errors::recursive_alias(span),
            Refused::TooLarge => errors::too_large(span),
        })?;
        let (slot, target) = match (self.place(), target) {
            (Place::Key, Anchored::Scalar { text, .. }) => {
                self.key(text, span);
                return Ok(());
            }
            (Place::Key, Anchored::Collection { .. } | Anchored::Buried { .. }) => {
                return Err(errors::complex_key(span));
            }
            (Place::Value(slot), Anchored::Scalar { value, .. }) => {
                self.attach(slot, value, span, size);
                return Ok(());
            }
            (Place::Value(slot), target) => (slot, target),
        };
        if self.stack.len() + size.height > MAX_DEPTH {
            return Err(errors::too_deep(span));
        }
        let value = match target {
            Anchored::Collection { node } => self.find(node),
            Anchored::Buried { grave, root, node } => {
                self.anchors.buried(&self.spans, grave, root, node)
            }
            Anchored::Scalar { .. } => None,
        };
        let value = value
            .cloned()
            .ok_or_else(|| errors::recursive_alias(span))?;
        self.attach(slot, value, span, size);
        Ok(())
    }

    /// The finished value of index node `target`. It lies under the open frame with the largest
    /// id below its own (ids follow document order), so walk up from it to that frame, then back
    /// down through the values.
    fn find(&self, target: usize) -> Option<&Value> {
        let frame = self.stack.get(
            self.stack
                .partition_point(|f| f.node < target)
                .checked_sub(1)?,
        )?;
        let path = anchors::path(&self.spans, frame.node, target)?;
        let (&first, rest) = path.split_first()?;
        let value = match (&frame.container, self.spans.token_of(first)?) {
            (Container::Sequence(items), (_, ordinal)) => items.get(ordinal)?,
            (Container::Mapping(map, _), (name, _)) => map.get(name?)?,
        };
        anchors::descend(&self.spans, value, rest)
    }

    fn finish(mut self) -> Result<Loaded, Diagnostic> {
        let end = self.source.text.len();
        match self.root {
            Some(value) if !self.empty_root => {
                self.spans.finish();
                Ok(Loaded {
                    value,
                    spans: self.spans,
                    diagnostics: self.diagnostics,
                })
            }
            _ => Err(errors::empty(self.source, Span::new(end, end))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value_of(text: &str) -> Value {
        let loaded = load(&Source::new("t.yaml", text)).expect("loads");
        assert_eq!(loaded.diagnostics, Vec::new(), "{text}");
        loaded.value
    }

    /// Loads `text`, which has duplicate keys: the value, and `(line, help)` of each finding.
    fn with_duplicates(text: &str) -> (Loaded, Vec<(usize, String)>) {
        let source = Source::new("t.yaml", text);
        let loaded = load(&source).expect("a duplicate key is not fatal");
        let found = loaded
            .diagnostics
            .iter()
            .map(|d| {
                assert_eq!(d.code, "yaml::duplicate-key");
                let line = d.span.map_or(0, |s| source.position(s.start).line);
                (line, d.help.clone().unwrap_or_default())
            })
            .collect();
        (loaded, found)
    }

    /// The text under `pointer`'s value span (or key span) and the line it starts on.
    fn at(text: &str, loaded: &Loaded, pointer: &str, on_key: bool) -> Option<(String, usize)> {
        let span = if on_key {
            loaded.spans.key(pointer)?
        } else {
            loaded.spans.value(pointer)?
        };
        let line = text.get(..span.start)?.matches('\n').count() + 1;
        Some((text.get(span.start..span.end)?.to_owned(), line))
    }

    #[test]
    fn a_duplicate_key_keeps_the_last_value_at_the_first_position() {
        let text = "a: 1\nb: 2\na: [3, 4]\n";
        let (loaded, found) = with_duplicates(text);
        assert_eq!(loaded.value, json!({"a": [3, 4], "b": 2}));
        let order: Vec<&String> = loaded
            .value
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(order, ["a", "b"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 3);
        assert!(found[0].1.contains("line 1"), "{}", found[0].1);
        assert_eq!(at(text, &loaded, "/a", true), Some(("a".into(), 3)));
        assert_eq!(at(text, &loaded, "/a/1", false), Some(("4".into(), 3)));
        assert_eq!(at(text, &loaded, "/b", false), Some(("2".into(), 2)));
    }

    #[test]
    fn nested_duplicates_index_only_the_last_occurrence() {
        let text = "a: {b: 1, b: {c: [1, 2]}}";
        let (loaded, found) = with_duplicates(text);
        assert_eq!(loaded.value, json!({"a": {"b": {"c": [1, 2]}}}));
        assert_eq!(found.len(), 1);
        let span = loaded.spans.value("/a/b/c/1").expect("indexed");
        assert_eq!((span.start, span.end), (21, 22));
        assert_eq!(
            at(text, &loaded, "/a/b/c", false),
            Some(("[1, 2]".into(), 1))
        );
        assert_eq!(
            at(text, &loaded, "/a/b", false),
            Some(("{c: [1, 2]}".into(), 1))
        );
        assert_eq!(loaded.spans.key("/a/b").map(|s| s.start), Some(10));
        // Block style, where the first value is bigger: none of it stays in the index.
        let text = "a:\n  b:\n    c: [9, 9, 9]\n    d: 0\n  b:\n    c: [1, 2]\n";
        let (loaded, found) = with_duplicates(text);
        assert_eq!(loaded.value, json!({"a": {"b": {"c": [1, 2]}}}));
        assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), [5]);
        assert_eq!(at(text, &loaded, "/a/b/c/1", false), Some(("2".into(), 6)));
        assert_eq!(loaded.spans.value("/a/b/c/2"), None);
        assert_eq!(loaded.spans.value("/a/b/d"), None);
        assert_eq!(
            loaded.spans.locate("/a/b/d", false),
            loaded.spans.value("/a/b")
        );
    }

    #[test]
    fn every_repeat_of_a_key_names_its_first_line() {
        let text = "k: 1\nother: true\nk: [x]\nk: {z: 3}\n";
        let (loaded, found) = with_duplicates(text);
        assert_eq!(loaded.value, json!({"k": {"z": 3}, "other": true}));
        assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), [3, 4]);
        assert!(
            found
                .iter()
                .all(|f| f.1.contains("first defined on line 1;")),
            "{found:?}"
        );
        assert_eq!(at(text, &loaded, "/k/z", false), Some(("3".into(), 4)));
        assert_eq!(at(text, &loaded, "/k", true), Some(("k".into(), 4)));
        assert_eq!(loaded.spans.value("/k/0"), None);
        // Many repeats of one key stay linear and keep the last.
        let many = "a: 0\n".repeat(50_000) + "a: 1\n";
        let (loaded, found) = with_duplicates(&many);
        assert_eq!((loaded.value, found.len()), (json!({"a": 1}), 50_000));
    }

    #[test]
    fn duplicates_in_flow_mappings_and_sequences_of_mappings() {
        let text = "[{x: 1, x: 2, y: 3, x: 4}, {\"x\": 5, 'x': 6}]";
        let (loaded, found) = with_duplicates(text);
        assert_eq!(loaded.value, json!([{"x": 4, "y": 3}, {"x": 6}]));
        assert_eq!(found.len(), 3);
        assert_eq!(at(text, &loaded, "/0/x", false), Some(("4".into(), 1)));
        assert_eq!(at(text, &loaded, "/1/x", true), Some(("'x'".into(), 1)));
        // Sibling mappings with the same keys are no duplicates.
        assert_eq!(value_of("[{x: 1}, {x: 2}]"), json!([{"x": 1}, {"x": 2}]));
    }

    fn code_of(text: &str) -> &'static str {
        load(&Source::new("t.yaml", text)).expect_err("fails").code
    }

    #[test]
    fn scalars_keys_and_roots() {
        let value = value_of(
            "on: yes\n1: one\ntrue: t\n~: n\n0x1F: hex\nv: 1.0\nbig: 18446744073709551615\n",
        );
        assert_eq!(
            value,
            json!({"on": "yes", "1": "one", "true": "t", "~": "n", "0x1F": "hex", "v": 1.0, "big": 18446744073709551615u64})
        );
        // Scalar and sequence documents load; the schema stage rejects them.
        assert_eq!(value_of("hello\n"), json!("hello"));
        assert_eq!(
            value_of("- 1\n- [a, {b: null}]\n"),
            json!([1, ["a", {"b": null}]])
        );
        assert_eq!(value_of("~\n"), Value::Null);
        assert_eq!(
            value_of("a: !!str 1\nb: !custom 2\nc: ! 3\n"),
            json!({"a": "1", "b": 2, "c": "3"})
        );
        assert_eq!(value_of("a:\nb: ''\n"), json!({"a": null, "b": ""}));
    }

    #[test]
    fn multiline_scalars() {
        let value = value_of("lit: |\n  one\n  two\nfold: >\n  one\n  two\n");
        assert_eq!(value, json!({"lit": "one\ntwo\n", "fold": "one two\n"}));
    }

    #[test]
    fn ten_thousand_deep_nesting_is_refused_without_crashing() {
        let depth = 10_000;
        let flow_sequences = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let flow_mappings = format!("{}1{}", "a: {".repeat(depth), "}".repeat(depth));
        let block_sequences = format!("{}x\n", "- ".repeat(depth));
        for text in [flow_sequences, flow_mappings, block_sequences] {
            assert_eq!(code_of(&text), "yaml::too-deep");
        }
        let just_fits = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(load(&Source::new("t.yaml", just_fits)).is_ok());
        let one_more = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(code_of(&one_more), "yaml::too-deep");
    }

    #[test]
    fn block_mappings_too_deep() {
        let mut text = String::new();
        for level in 0..=MAX_DEPTH {
            text.push_str(&" ".repeat(level));
            text.push_str("a:\n");
        }
        text.push_str(&" ".repeat(MAX_DEPTH + 1));
        text.push_str("1\n");
        assert_eq!(code_of(&text), "yaml::too-deep");
    }

    #[test]
    fn ten_megabyte_document_loads() {
        let mut text = String::with_capacity(10_500_000);
        text.push_str("items:\n");
        let mut count = 0;
        while text.len() < 10_000_000 {
            text.push_str(&format!(
                "  - {{name: \"tâche-{count}\", n: {count}, ok: true, tags: [a, é]}}\n"
            ));
            count += 1;
        }
        let source = Source::new("big.yaml", text);
        let loaded = load(&source).expect("loads");
        let last = count - 1;
        assert_eq!(loaded.value["items"][last]["n"], json!(last));
        let span = loaded
            .spans
            .value(&format!("/items/{last}/name"))
            .expect("span");
        assert_eq!(
            source.text.get(span.start..span.end),
            Some(format!("\"tâche-{last}\"").as_str())
        );
    }

    /// The spec directory, next to the repository (or where `WORKFLOW_SPEC_DIR` says).
    fn spec_dir() -> Option<std::path::PathBuf> {
        let dir = std::env::var_os("WORKFLOW_SPEC_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec").into());
        dir.is_dir().then_some(dir)
    }

    #[test]
    fn every_spec_example_loads_as_a_mapping() {
        let Some(dir) = spec_dir() else {
            println!("note: spec directory not found; skipping the examples");
            return;
        };
        let mut loaded = 0;
        for entry in std::fs::read_dir(dir.join("examples"))
            .expect("examples dir")
            .flatten()
        {
            let path = entry.path();
            let source = Source::read(&path).expect("readable example");
            let result = load(&source).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
            assert!(result.value.get("document").is_some(), "{}", path.display());
            assert!(result.spans.value("/document").is_some());
            loaded += 1;
        }
        assert!(loaded > 60, "only {loaded} examples found");
        // The upstream negative fixtures: schema errors; one also repeats `do:` (lines 6 and 7),
        // and the second `do` is the one kept.
        for entry in std::fs::read_dir(dir.join("invalid"))
            .expect("invalid dir")
            .flatten()
        {
            let path = entry.path();
            let source = Source::read(&path).expect("readable fixture");
            let loaded = load(&source).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
            if !path.to_string_lossy().contains("until-any-until") {
                assert_eq!(loaded.diagnostics, Vec::new(), "{}", path.display());
                continue;
            }
            let lines: Vec<(&str, usize, Option<&str>)> = loaded
                .diagnostics
                .iter()
                .map(|d| {
                    let line = d.span.map_or(0, |s| source.position(s.start).line);
                    (d.code, line, d.help.as_deref())
                })
                .collect();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(lines[0].0, "yaml::duplicate-key");
            assert_eq!(lines[0].1, 7);
            assert!(
                lines[0].2.is_some_and(|h| h.contains("line 6")),
                "{lines:?}"
            );
            assert!(loaded.value["do"].is_array());
            let task = loaded.spans.value("/do/0/callDoctor").expect("indexed");
            assert_eq!(source.position(task.start).line, 9);
        }
    }
}
