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

use super::errors::{self, MAX_ALIAS_NODES, MAX_DEPTH};
use super::offsets::CharOffsets;
use super::scalar::{self, ScalarError};
use super::spans::SpanIndex;
use crate::diagnostic::Diagnostic;
use crate::pointer;
use crate::source::{Source, Span};

/// A document turned into JSON, with the source span of each of its values.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub value: Value,
    pub spans: SpanIndex,
}

/// Loads one YAML 1.2 (or JSON) document. The first problem found is returned as a located
/// diagnostic: syntax, tabs, duplicate or complex keys, several documents, non-JSON numbers,
/// nesting deeper than 256 levels, alias expansion past 2 million values, or no document at all.
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
    /// It is a value at this pointer (named by this key, inside a mapping).
    Value(Slot),
}

struct Slot {
    pointer: String,
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
    slot: Slot,
    start: usize,
    /// End of the last child: a block collection's span ends there, not at the next token.
    last_end: usize,
    anchor: usize,
    /// Values in this subtree, itself included (the alias budget counts these).
    nodes: usize,
    /// Collection levels in this subtree, itself included.
    height: usize,
}

/// What an anchor (`&name`) refers to. Collections are found again through their pointer rather
/// than copied when the anchor is defined: most anchors are never aliased, or only once.
enum Anchored {
    Scalar { value: Value, text: String },
    Collection { pointer: String },
}

struct Anchor {
    target: Anchored,
    nodes: usize,
    height: usize,
}

struct Builder<'s> {
    source: &'s Source,
    offsets: CharOffsets<'s>,
    stack: Vec<Frame>,
    root: Option<Value>,
    /// The document is an untagged empty scalar (`---` alone): nothing was written.
    empty_root: bool,
    spans: SpanIndex,
    anchors: HashMap<usize, Anchor>,
    alias_nodes: usize,
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
            alias_nodes: 0,
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
                if let Place::Key = place {
                    if anchor != 0 {
                        // Aliased as a value later, the anchor must have its resolved value.
                        let value = scalar::resolve(&text, style, tag.as_deref())
                            .unwrap_or_else(|_| Value::String(text.to_string()));
                        let target = Anchored::Scalar {
                            value,
                            text: text.to_string(),
                        };
                        self.anchors.insert(
                            anchor,
                            Anchor {
                                target,
                                nodes: 1,
                                height: 0,
                            },
                        );
                    }
                    return self.key(text.into_owned(), span);
                }
                let value =
                    scalar::resolve(&text, style, tag.as_deref()).map_err(|error| match error {
                        ScalarError::NonJsonNumber => errors::non_json_number(&text, span),
                        ScalarError::TagMismatch { tag } => errors::tag_mismatch(&tag, &text, span),
                    })?;
                if anchor != 0 {
                    let target = Anchored::Scalar {
                        value: value.clone(),
                        text: text.to_string(),
                    };
                    self.anchors.insert(
                        anchor,
                        Anchor {
                            target,
                            nodes: 1,
                            height: 0,
                        },
                    );
                }
                if let Place::Value(slot) = place {
                    self.attach(slot, value, span, 1, 0);
                }
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
                pointer: String::new(),
                key: None,
            });
        };
        match &mut frame.container {
            Container::Sequence(items) => Place::Value(Slot {
                pointer: pointer::join_index(&frame.slot.pointer, items.len()),
                key: None,
            }),
            Container::Mapping(_, pending) => match pending.take() {
                Some((name, span)) => Place::Value(Slot {
                    pointer: pointer::join(&frame.slot.pointer, &name),
                    key: Some((name, span)),
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
                let first = self.spans.key(&pointer::join(&frame.slot.pointer, &name));
                return Err(errors::duplicate_key(self.source, &name, span, first));
            }
            *pending = Some((name, span));
        }
        Ok(())
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
        self.stack.push(Frame {
            container,
            slot,
            start: span.start,
            last_end: span.end,
            anchor,
            nodes: 1,
            height: 1,
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
        let value = match frame.container {
            Container::Sequence(items) => Value::Array(items),
            Container::Mapping(map, _) => Value::Object(map),
        };
        if frame.anchor != 0 {
            let target = Anchored::Collection {
                pointer: frame.slot.pointer.clone(),
            };
            let anchor = Anchor {
                target,
                nodes: frame.nodes,
                height: frame.height,
            };
            self.anchors.insert(frame.anchor, anchor);
        }
        self.attach(
            frame.slot,
            value,
            Span::new(frame.start, end),
            frame.nodes,
            frame.height,
        );
    }

    /// Puts a finished value in its parent (or makes it the root) and indexes its span.
    fn attach(&mut self, slot: Slot, value: Value, span: Span, nodes: usize, height: usize) {
        self.spans
            .insert(&slot.pointer, span, slot.key.as_ref().map(|(_, key)| *key));
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return;
        };
        frame.nodes += nodes;
        frame.height = frame.height.max(height + 1);
        frame.last_end = frame.last_end.max(span.end);
        match (&mut frame.container, slot.key) {
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
        let (nodes, height) = (anchor.nodes, anchor.height);
        let target = match &anchor.target {
            Anchored::Scalar { value, text } => Anchored::Scalar {
                value: value.clone(),
                text: text.clone(),
            },
            Anchored::Collection { pointer } => Anchored::Collection {
                pointer: pointer.clone(),
            },
        };
        let slot = match (self.place(), target) {
            (Place::Key, Anchored::Scalar { text, .. }) => return self.key(text, span),
            (Place::Key, Anchored::Collection { .. }) => return Err(errors::complex_key(span)),
            (Place::Value(slot), Anchored::Scalar { value, .. }) => {
                self.attach(slot, value, span, nodes, height);
                return Ok(());
            }
            (Place::Value(slot), Anchored::Collection { pointer }) => (slot, pointer),
        };
        if self.stack.len() + height > MAX_DEPTH {
            return Err(errors::too_deep(span));
        }
        self.alias_nodes = self.alias_nodes.saturating_add(nodes);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(errors::too_large(span));
        }
        let (slot, pointer) = slot;
        // The anchored collection is complete, so it sits under one of the open frames.
        let value = self
            .find(&pointer)
            .cloned()
            .ok_or_else(|| errors::recursive_alias(span))?;
        self.attach(slot, value, span, nodes, height);
        Ok(())
    }

    /// The finished value at `target`, looked up from the deepest open frame containing it.
    fn find(&self, target: &str) -> Option<&Value> {
        let frame = self.stack.iter().rev().find(|frame| {
            target
                .strip_prefix(frame.slot.pointer.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        })?;
        let rest = target.get(frame.slot.pointer.len()..)?;
        let mut tokens = pointer::tokens(rest);
        let first = tokens.next()?;
        let mut value = match &frame.container {
            Container::Sequence(items) => items.get(first.parse::<usize>().ok()?)?,
            Container::Mapping(map, _) => map.get(&first)?,
        };
        for token in tokens {
            value = match value {
                Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                Value::Object(map) => map.get(&token)?,
                _ => return None,
            };
        }
        Some(value)
    }

    fn finish(self) -> Result<Loaded, Diagnostic> {
        let end = self.source.text.len();
        match self.root {
            Some(value) if !self.empty_root => Ok(Loaded {
                value,
                spans: self.spans,
            }),
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
