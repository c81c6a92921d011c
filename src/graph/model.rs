//! The picture of a workflow as plain data: nodes, clusters (subgraphs) and edges. Built once
//! from a `Document` by `build.rs`; the Mermaid and DOT writers only render it, so the drawing
//! decisions live in one place.

use std::collections::{BTreeMap, HashSet};

use super::states::TaskState;

/// A whole workflow picture.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Graph {
    /// A one-line caption (`namespace/name:version`).
    pub title: String,
    /// Top-level nodes and clusters, in drawing order.
    pub items: Vec<Item>,
    /// Every edge; endpoints are node or cluster ids.
    pub edges: Vec<Edge>,
    /// The node (or, for tasks drawn only as a box, the cluster) standing for each task, by
    /// the task's JSON pointer.
    pub task_ids: BTreeMap<String, String>,
    /// `graph --run`: the state of each task's node or cluster, by id. Empty: no colours.
    pub states: BTreeMap<String, TaskState>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Node(Node),
    Cluster(Cluster),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Safe for both Mermaid and DOT: ASCII letters, digits and `_`, never a keyword.
    pub id: String,
    /// Label lines, unescaped; writers escape and join them.
    pub lines: Vec<String>,
    pub shape: Shape,
}

/// What a node stands for, which decides how it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Start,
    End,
    /// Where an error nobody catches ends the run.
    Fault,
    /// An ordinary task.
    Task,
    /// An `if` condition: run the task, or skip it.
    Condition,
    /// A `switch`: one way out per case.
    Decision,
    /// The head of a `for` loop or of a `foreach` over consumed events.
    Loop,
    /// Where fork branches start, and where they join again.
    Fork,
    Join,
    /// The handler of a `try`.
    Catch,
    /// Stands for something that is not a task of this list (an empty list, an extended task).
    Placeholder,
}

/// A subgraph: the body of a composite task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cluster {
    pub id: String,
    pub title: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Edge {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
    pub style: EdgeStyle,
    /// Closes a loop (jump back, next iteration, retry): layouts should not rank by it.
    pub backward: bool,
}

/// The kind of path an edge stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgeStyle {
    /// Normal control flow (sequence, `then`, switch cases).
    Flow,
    /// A task skipped because its `if` was false.
    Skip,
    /// An error leaving a task: to a catch handler, or faulting the run.
    Error,
    /// A `try` block run again by its retry policy.
    Retry,
}

impl Graph {
    /// Whether `id` names a cluster (DOT needs to know: it draws such edges through a node).
    pub fn is_cluster(&self, id: &str) -> bool {
        self.find_cluster(id).is_some()
    }

    /// The first node inside cluster `id`, at any depth: where DOT attaches the cluster's edges.
    pub fn anchor(&self, id: &str) -> Option<&str> {
        self.find_cluster(id)
            .and_then(|cluster| first_node(&cluster.items))
    }

    fn find_cluster(&self, id: &str) -> Option<&Cluster> {
        fn find<'a>(items: &'a [Item], id: &str) -> Option<&'a Cluster> {
            items.iter().find_map(|item| match item {
                Item::Cluster(cluster) if cluster.id == id => Some(cluster),
                Item::Cluster(cluster) => find(&cluster.items, id),
                Item::Node(_) => None,
            })
        }
        find(&self.items, id)
    }

    /// Every node, depth-first in drawing order.
    pub fn nodes(&self) -> Vec<&Node> {
        fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Node>) {
            for item in items {
                match item {
                    Item::Node(node) => out.push(node),
                    Item::Cluster(cluster) => walk(&cluster.items, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }
}

fn first_node(items: &[Item]) -> Option<&str> {
    items.iter().find_map(|item| match item {
        Item::Node(node) => Some(node.id.as_str()),
        Item::Cluster(cluster) => first_node(&cluster.items),
    })
}

/// Hands out ids that are unique in one graph and safe in both output languages.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    taken: HashSet<String>,
}

impl Ids {
    /// An id made of `prefix` and the tokens of a JSON pointer (`t`, `/do/0/getPet` →
    /// `t_do_0_getPet`), with every other character mapped to `_` and a numeric suffix on clash.
    /// The prefix keeps ids clear of keywords (`end`, `graph`, `subgraph`, `node`, ...).
    pub fn for_pointer(&mut self, prefix: &str, pointer: &str) -> String {
        let mut base = String::from(prefix);
        for token in crate::pointer::tokens(pointer) {
            base.push('_');
            base.extend(
                token
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
            );
        }
        self.unique(base)
    }

    /// `base` itself when free, else `base_2`, `base_3`, ...
    pub fn unique(&mut self, base: String) -> String {
        let mut candidate = base.clone();
        let mut n = 1;
        while self.taken.contains(&candidate) {
            n += 1;
            candidate = format!("{base}_{n}");
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

/// Collapses whitespace and cuts `text` to at most `max` characters, marking the cut with `…`.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut out: String = collapsed.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_for_pointers_and_stay_unique() {
        let mut ids = Ids::default();
        assert_eq!(ids.for_pointer("t", "/do/0/getPet"), "t_do_0_getPet");
        assert_eq!(ids.for_pointer("t", "/do/1/a-b c"), "t_do_1_a_b_c");
        assert_eq!(ids.for_pointer("t", "/do/1/a_b_c"), "t_do_1_a_b_c_2");
        assert_eq!(ids.for_pointer("t", "/do/1/a~1b"), "t_do_1_a_b");
        assert_eq!(ids.for_pointer("c", "/do/0/end"), "c_do_0_end");
        assert_eq!(ids.for_pointer("t", "/do/0/é"), "t_do_0__");
        assert_eq!(ids.unique("wf_end".into()), "wf_end");
        assert_eq!(ids.unique("wf_end".into()), "wf_end_2");
    }

    #[test]
    fn shorten_collapses_and_cuts_on_characters() {
        assert_eq!(shorten("  .a ==\n  1 ", 20), ".a == 1");
        assert_eq!(shorten("abcdefgh", 5), "abcd…");
        assert_eq!(shorten("ééééé", 5), "ééééé");
        assert_eq!(shorten("éééééé", 5), "éééé…");
    }

    #[test]
    fn anchors_are_the_first_node_inside_a_cluster() {
        let node = |id: &str| {
            Item::Node(Node {
                id: id.into(),
                lines: vec![id.into()],
                shape: Shape::Task,
            })
        };
        let graph = Graph {
            title: String::new(),
            items: vec![
                node("a"),
                Item::Cluster(Cluster {
                    id: "outer".into(),
                    title: "outer".into(),
                    items: vec![Item::Cluster(Cluster {
                        id: "inner".into(),
                        title: "inner".into(),
                        items: vec![node("b"), node("c")],
                    })],
                }),
            ],
            edges: Vec::new(),
            ..Graph::default()
        };
        assert_eq!(graph.anchor("outer"), Some("b"));
        assert_eq!(graph.anchor("inner"), Some("b"));
        assert_eq!(graph.anchor("a"), None);
        assert!(graph.is_cluster("inner"));
        assert!(!graph.is_cluster("c"));
        let ids: Vec<_> = graph.nodes().iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
