//! The loader: saphyr parser events → `serde_json::Value` plus a pointer → span index, in one
//! pass over the event stream with an explicit stack (no recursion, whatever the nesting).
//!
//! We drive `saphyr_parser::Parser` as an iterator rather than loading a `saphyr::MarkedYaml`
//! tree: saphyr's own `Parser::load` recurses once per nesting level (a 10,000-deep document
//! overflows the stack before any limit of ours could apply), its duplicate-key error does not
//! say where the first key was, and the tree would be built only to be converted again.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

use super::errors::{self, MAX_ALIAS_BYTES, MAX_ALIAS_NODES, MAX_DEPTH};
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
}

/// Loads one YAML 1.2 (or JSON) document. The first problem found is returned as a located
/// diagnostic: syntax, tabs, duplicate or complex keys, several documents, non-JSON numbers,
/// mistagged scalars, nesting deeper than 255 levels, alias expansion past 2 million values or
/// 64 MiB of text, or no document at all.
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
}

/// How big a subtree is: what an alias to it would copy, and how deep it would nest.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    /// Values, itself included.
    nodes: usize,
    /// Bytes of scalar and key text.
    bytes: usize,
    /// Collection levels, itself included (0 for a scalar).
    height: usize,
}

impl Size {
    fn scalar(text: &str) -> Size {
        Size {
            nodes: 1,
            bytes: text.len(),
            height: 0,
        }
    }

    fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// What an anchor (`&name`) refers to. Collections are found again through the span index when
/// aliased rather than copied when defined: most anchors are never aliased, or only once.
#[derive(Clone)]
enum Anchored {
    Scalar { value: Value, text: String },
    Collection { node: usize },
}

struct Anchor {
    target: Anchored,
    size: Size,
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
    anchors: HashMap<usize, Anchor>,
    /// What alias expansion has copied so far, against `MAX_ALIAS_NODES` and `MAX_ALIAS_BYTES`.
    expanded: Size,
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
            anchors: HashMap::new(),
            expanded: Size::default(),
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
                            self.define_scalar(anchor, value, &text);
                        }
                        return self.key(text.into_owned(), span);
                    }
                    Place::Value(slot) => slot,
                };
                let value = resolved.map_err(|error| match error {
                    ScalarError::NonJsonNumber => errors::non_json_number(&text, span),
                    ScalarError::TagMismatch { tag } => errors::tag_mismatch(&tag, &text, span),
                })?;
                if anchor != 0 {
                    self.define_scalar(anchor, value.clone(), &text);
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

    fn define_scalar(&mut self, anchor: usize, value: Value, text: &str) {
        let target = Anchored::Scalar {
            value,
            text: text.to_owned(),
        };
        let size = Size::scalar(text);
        self.anchors.insert(anchor, Anchor { target, size });
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
    fn key(&mut self, name: String, span: Span) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.last_mut() else {
            return Ok(());
        };
        if let Container::Mapping(map, pending) = &mut frame.container {
            if map.contains_key(&name) {
                let first = self.spans.scan_key(frame.node, &name);
                return Err(errors::duplicate_key(self.source, &name, span, first));
            }
            frame.size.bytes = frame.size.bytes.saturating_add(name.len());
            *pending = Some((name, span));
        }
        Ok(())
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
            let target = Anchored::Collection { node: frame.node };
            let anchor = Anchor {
                target,
                size: frame.size,
            };
            self.anchors.insert(frame.anchor, anchor);
        }
        self.insert(frame.key, value, span, frame.size);
    }

    /// Indexes a scalar or alias and puts it in its parent.
    fn attach(&mut self, slot: Slot, value: Value, span: Span, size: Size) {
        self.index(&slot, span);
        self.insert(slot.key, value, span, size);
    }

    /// Puts a finished value in the innermost open collection, or makes it the root.
    fn insert(&mut self, key: Option<(String, Span)>, value: Value, span: Span, size: Size) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return;
        };
        frame.size.add(size);
        frame.size.height = frame.size.height.max(size.height + 1);
        frame.last_end = frame.last_end.max(span.end);
        match (&mut frame.container, key) {
            (Container::Sequence(items), _) => items.push(value),
            (Container::Mapping(map, _), Some((name, _))) => {
                map.insert(name, value);
            }
            (Container::Mapping(..), None) => {}
        }
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<(), Diagnostic> {
        // The parser rejects undefined names, so a missing entry is an anchor still being built.
        let Some(anchor) = self.anchors.get(&id) else {
            return Err(errors::recursive_alias(span));
        };
        let (size, target) = (anchor.size, anchor.target.clone());
        // Every copy counts, scalars too: a 1 MB string aliased a million times is also a bomb.
        self.expanded.add(size);
        if self.expanded.nodes > MAX_ALIAS_NODES || self.expanded.bytes > MAX_ALIAS_BYTES {
            return Err(errors::too_large(span));
        }
        let (slot, node) = match (self.place(), target) {
            (Place::Key, Anchored::Scalar { text, .. }) => return self.key(text, span),
            (Place::Key, Anchored::Collection { .. }) => return Err(errors::complex_key(span)),
            (Place::Value(slot), Anchored::Scalar { value, .. }) => {
                self.attach(slot, value, span, size);
                return Ok(());
            }
            (Place::Value(slot), Anchored::Collection { node }) => (slot, node),
        };
        if self.stack.len() + size.height > MAX_DEPTH {
            return Err(errors::too_deep(span));
        }
        let value = self
            .find(node)
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
        let mut path = Vec::new();
        let mut current = target;
        while current != frame.node {
            path.push(current);
            current = self.spans.parent_of(current)?;
        }
        let mut steps = path.iter().rev().map(|&id| self.spans.token_of(id));
        let mut value = match (&frame.container, steps.next()??) {
            (Container::Sequence(items), (_, ordinal)) => items.get(ordinal)?,
            (Container::Mapping(map, _), (name, _)) => map.get(name?)?,
        };
        for step in steps {
            value = match (value, step?) {
                (Value::Array(items), (_, ordinal)) => items.get(ordinal)?,
                (Value::Object(map), (name, _)) => map.get(name?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    fn finish(mut self) -> Result<Loaded, Diagnostic> {
        let end = self.source.text.len();
        match self.root {
            Some(value) if !self.empty_root => {
                self.spans.finish();
                Ok(Loaded {
                    value,
                    spans: self.spans,
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
        load(&Source::new("t.yaml", text)).expect("loads").value
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
    fn aliases_expand_and_point_at_the_alias() {
        let text = "base: &b {x: 1, y: [2]}\nnested: {n: &n [1, 2]}\nuse: *b\nagain: *n\nlist: [&s str, *s]\n&k key: *k\n";
        let source = Source::new("t.yaml", text);
        let loaded = load(&source).expect("loads");
        assert_eq!(loaded.value["use"], json!({"x": 1, "y": [2]}));
        assert_eq!(loaded.value["again"], json!([1, 2]));
        assert_eq!(loaded.value["list"], json!(["str", "str"]));
        assert_eq!(loaded.value["key"], json!("key"));
        let at = |span: Option<Span>| {
            span.and_then(|s| source.text.get(s.start..s.end))
                .unwrap_or_default()
        };
        assert_eq!(at(loaded.spans.value("/use")), "*b");
        assert_eq!(at(loaded.spans.locate("/use/y/0", false)), "*b");
        assert_eq!(at(loaded.spans.key("/use")), "use");
        // An anchor used from inside the collection that is still open.
        assert_eq!(value_of("[&x [1], *x]"), json!([[1], [1]]));
        // Scalar anchors used as keys, and an anchored key's resolved value used as a value.
        assert_eq!(value_of("a: &s 1\n*s : y\n"), json!({"a": 1, "1": "y"}));
        assert_eq!(value_of("&k 7: *k\n"), json!({"7": 7}));
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
    fn aliases_cannot_nest_past_the_depth_limit() {
        let half = MAX_DEPTH / 2 + 1;
        let text = format!(
            "a: &a {}{}\nb: {}*a{}\n",
            "[".repeat(half),
            "]".repeat(half),
            "[".repeat(half),
            "]".repeat(half)
        );
        assert_eq!(code_of(&text), "yaml::too-deep");
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let source = Source::new("t.yaml", text);
        let diagnostic = load(&source).expect_err("bomb");
        assert_eq!(diagnostic.code, "yaml::too-large");
        let span = diagnostic.span.expect("located");
        assert!(
            source
                .text
                .get(span.start..span.end)
                .is_some_and(|t| t.starts_with("*a"))
        );
        // Few values but much text: a big string aliased many times, as a value or as a key.
        let big = "x".repeat(1 << 20);
        let strings = format!("a: &a \"{big}\"\nb: [{}]\n", ["*a"; 100].join(", "));
        assert_eq!(code_of(&strings), "yaml::too-large");
        let keys = format!("- {{&k \"{big}\": 1}}\n{}", "- {*k : 1}\n".repeat(100));
        assert_eq!(code_of(&keys), "yaml::too-large");
        // A few levels of the same shape are fine.
        let small = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        assert_eq!(value_of(small)["c"][1][0], json!(["x", "x"]));
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
        // The upstream negative fixtures: schema errors, except one that repeats `do:`.
        for entry in std::fs::read_dir(dir.join("invalid"))
            .expect("invalid dir")
            .flatten()
        {
            let path = entry.path();
            let source = Source::read(&path).expect("readable fixture");
            let duplicate = path.to_string_lossy().contains("until-any-until");
            match load(&source) {
                Ok(_) => assert!(!duplicate, "{}", path.display()),
                Err(d) => assert_eq!(
                    (d.code, duplicate),
                    ("yaml::duplicate-key", true),
                    "{}",
                    path.display()
                ),
            }
        }
    }
}
