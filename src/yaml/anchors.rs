//! Anchors (`&name`) as the loader meets them, and what an alias (`*name`) to one copies,
//! counted against the alias-expansion budget.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde_json::Value;

use super::errors::{MAX_ALIAS_BYTES, MAX_ALIAS_NODES};
use super::spans::SpanIndex;

/// How big a subtree is: what an alias to it would copy, and how deep it would nest.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Size {
    /// Values, itself included.
    pub(super) nodes: usize,
    /// Bytes of scalar and key text.
    pub(super) bytes: usize,
    /// Collection levels, itself included (0 for a scalar).
    pub(super) height: usize,
}

impl Size {
    pub(super) fn scalar(text: &str) -> Size {
        Size {
            nodes: 1,
            bytes: text.len(),
            height: 0,
        }
    }

    pub(super) fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// What an anchor refers to. Collections are found again through the span index when aliased
/// rather than copied when defined: most anchors are never aliased, or only once.
#[derive(Debug, Clone)]
pub(super) enum Anchored {
    Scalar {
        value: Value,
        text: String,
    },
    /// The collection at index node `node`, in the document being built.
    Collection {
        node: usize,
    },
    /// A collection inside a value a duplicate key replaced: index node `node`, under the
    /// replaced value's node `root`, found with [`Anchors::buried`].
    Buried {
        grave: usize,
        root: usize,
        node: usize,
    },
}

#[derive(Debug)]
struct Anchor {
    target: Anchored,
    size: Size,
}

/// Why an alias cannot be expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Its anchor is a collection still open: the alias is inside what it names.
    Unfinished,
    /// The copies so far exceed `MAX_ALIAS_NODES` or `MAX_ALIAS_BYTES`.
    TooLarge,
}

/// The anchors defined so far, by the parser's anchor id (each `&name` gets a new one).
#[derive(Debug, Default)]
pub(super) struct Anchors {
    by_id: HashMap<usize, Anchor>,
    /// Anchor ids of the `Anchored::Collection` anchors by index node, so a duplicate key finds
    /// those inside the value it replaces.
    collections: BTreeMap<usize, usize>,
    /// Replaced values that hold anchored collections, kept for aliases that come later.
    graves: Vec<Value>,
    /// What alias expansion has copied so far.
    expanded: Size,
}

impl Anchors {
    pub(super) fn define_scalar(&mut self, id: usize, value: Value, text: &str) {
        let target = Anchored::Scalar {
            value,
            text: text.to_owned(),
        };
        let size = Size::scalar(text);
        self.by_id.insert(id, Anchor { target, size });
    }

    pub(super) fn define_collection(&mut self, id: usize, node: usize, size: Size) {
        let target = Anchored::Collection { node };
        self.by_id.insert(id, Anchor { target, size });
        self.collections.insert(node, id);
    }

    /// What alias `id` copies, once counted against the budget.
    pub(super) fn expand(&mut self, id: usize) -> Result<(Anchored, Size), Refused> {
        // The parser rejects undefined names, so a missing entry is an anchor still being built.
        let anchor = self.by_id.get(&id).ok_or(Refused::Unfinished)?;
        // Every copy counts, scalars too: a 1 MB string aliased a million times is also a bomb.
        self.expanded.add(anchor.size);
        if self.expanded.nodes > MAX_ALIAS_NODES || self.expanded.bytes > MAX_ALIAS_BYTES {
            return Err(Refused::TooLarge);
        }
        Ok((anchor.target.clone(), anchor.size))
    }

    /// The value at index node `root` (its subtree: `nodes`) was replaced by a duplicate key:
    /// anchors on collections inside it now point into `value`, kept for them if there are any.
    pub(super) fn bury(&mut self, root: usize, nodes: Range<usize>, value: Value) {
        let inside: Vec<(usize, usize)> = self
            .collections
            .range(nodes)
            .map(|(&node, &id)| (node, id))
            .collect();
        if inside.is_empty() {
            return;
        }
        let grave = self.graves.len();
        self.graves.push(value);
        for (node, id) in inside {
            // Each is buried once: a later, outer replacement finds it in its grave already.
            self.collections.remove(&node);
            if let Some(anchor) = self.by_id.get_mut(&id) {
                anchor.target = Anchored::Buried { grave, root, node };
            }
        }
    }

    /// The value of an `Anchored::Buried` target.
    pub(super) fn buried(
        &self,
        spans: &SpanIndex,
        grave: usize,
        root: usize,
        node: usize,
    ) -> Option<&Value> {
        descend(spans, self.graves.get(grave)?, &path(spans, root, node)?)
    }
}

/// The index nodes from just below `ancestor` down to `target`, outermost first.
pub(super) fn path(spans: &SpanIndex, ancestor: usize, target: usize) -> Option<Vec<usize>> {
    let mut path = Vec::new();
    let mut current = target;
    while current != ancestor {
        path.push(current);
        current = spans.parent_of(current)?;
    }
    path.reverse();
    Some(path)
}

/// Follows the index nodes of `path` (outermost first) down from `value`.
pub(super) fn descend<'v>(
    spans: &SpanIndex,
    mut value: &'v Value,
    path: &[usize],
) -> Option<&'v Value> {
    for &id in path {
        value = match (value, spans.token_of(id)?) {
            (Value::Array(items), (_, ordinal)) => items.get(ordinal)?,
            (Value::Object(map), (name, _)) => map.get(name?)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Source, Span};
    use crate::yaml::errors::MAX_DEPTH;
    use crate::yaml::load;
    use serde_json::json;

    fn value_of(text: &str) -> Value {
        let loaded = load(&Source::new("t.yaml", text)).expect("loads");
        assert_eq!(loaded.diagnostics, Vec::new(), "{text}");
        loaded.value
    }

    fn code_of(text: &str) -> &'static str {
        load(&Source::new("t.yaml", text)).expect_err("fails").code
    }

    /// The value of `text`, which repeats a key, and how many findings it gave.
    fn with_duplicates(text: &str) -> (Value, usize) {
        let loaded = load(&Source::new("t.yaml", text)).expect("a duplicate key is not fatal");
        assert!(
            loaded
                .diagnostics
                .iter()
                .all(|d| d.code == "yaml::duplicate-key")
        );
        (loaded.value, loaded.diagnostics.len())
    }

    #[test]
    fn anchors_inside_a_replaced_value_stay_usable() {
        let cases = [
            ("a: &x [1]\na: *x\n", json!({"a": [1]})),
            (
                "a: &x {k: [1]}\na: 2\nb: *x\n",
                json!({"a": 2, "b": {"k": [1]}}),
            ),
            ("a: {p: &q [7]}\na: 0\nb: *q\n", json!({"a": 0, "b": [7]})),
            // Replaced twice over: inside a value that is itself replaced.
            (
                "x: {a: &q [1], a: 2}\nx: 3\ny: *q\n",
                json!({"x": 3, "y": [1]}),
            ),
            ("a: &s hi\na: 1\nb: *s\n", json!({"a": 1, "b": "hi"})),
            (
                "m: &m {a: 1, a: 2}\nn: *m\n",
                json!({"m": {"a": 2}, "n": {"a": 2}}),
            ),
            (
                "a: &k name\n*k : 1\nname: 2\n",
                json!({"a": "name", "name": 2}),
            ),
        ];
        for (text, expected) in cases {
            let (value, found) = with_duplicates(text);
            assert_eq!(value, expected, "{text}");
            assert!(found > 0, "{text}");
        }
        // A buried collection is still no key.
        assert_eq!(code_of("a: &x [1]\na: 2\n*x : 3\n"), "yaml::complex-key");
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
}
