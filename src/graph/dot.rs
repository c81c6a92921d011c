//! Graphviz DOT text from the picture model. Clusters are `subgraph cluster_*`; an edge that
//! starts or ends at a whole cluster is drawn through its first node with `ltail`/`lhead`, which
//! needs `compound=true`.

use std::fmt::Write as _;

use super::model::{EdgeStyle, Graph, Item, Node, Shape};
use super::render::Direction;

const INDENT: &str = "    ";
const FONT: &str = "Helvetica";

/// Renders the graph as a DOT digraph, ending with a newline.
pub(crate) fn write(graph: &Graph, direction: Direction) -> String {
    let mut out = String::new();
    let rankdir = match direction {
        Direction::TopDown => "TB",
        Direction::LeftRight => "LR",
    };
    let _ = writeln!(out, "digraph workflow {{");
    let _ = writeln!(
        out,
        "{INDENT}graph [label={}, labelloc=t, rankdir={rankdir}, compound=true, fontname={FONT}];",
        quote(&graph.title)
    );
    let _ = writeln!(
        out,
        "{INDENT}node [shape=box, style=rounded, fontname={FONT}, fontsize=11];"
    );
    let _ = writeln!(out, "{INDENT}edge [fontname={FONT}, fontsize=10];");
    items(&mut out, graph, &graph.items, 1);
    for edge in &graph.edges {
        let mut attributes = Vec::new();
        let from = match graph.is_cluster(&edge.from) {
            true => match graph.anchor(&edge.from) {
                Some(anchor) => {
                    attributes.push(format!("ltail={}", quote(&cluster_name(&edge.from))));
                    anchor
                }
                None => continue,
            },
            false => edge.from.as_str(),
        };
        let to = match graph.is_cluster(&edge.to) {
            true => match graph.anchor(&edge.to) {
                Some(anchor) => {
                    attributes.push(format!("lhead={}", quote(&cluster_name(&edge.to))));
                    anchor
                }
                None => continue,
            },
            false => edge.to.as_str(),
        };
        if let Some(label) = &edge.label {
            attributes.push(format!("label={}", quote(label)));
        }
        if edge.backward {
            attributes.push("constraint=false".into());
        }
        match edge.style {
            EdgeStyle::Flow => {}
            EdgeStyle::Skip => attributes.push("style=dashed, color=gray40".into()),
            EdgeStyle::Error => attributes.push("style=dashed, color=red3".into()),
            EdgeStyle::Retry => attributes.push("style=dashed, color=darkorange3".into()),
        }
        let attributes = match attributes.is_empty() {
            true => String::new(),
            false => format!(" [{}]", attributes.join(", ")),
        };
        let _ = writeln!(out, "{INDENT}{} -> {}{attributes};", quote(from), quote(to));
    }
    out.push_str("}\n");
    out
}

/// DOT only treats subgraphs whose name starts with `cluster` as boxes.
fn cluster_name(id: &str) -> String {
    format!("cluster_{id}")
}

fn items(out: &mut String, graph: &Graph, items: &[Item], depth: usize) {
    let indent = INDENT.repeat(depth);
    for item in items {
        match item {
            Item::Node(node) => {
                let _ = writeln!(
                    out,
                    "{indent}{}",
                    node_text(node, graph.states.get(&node.id))
                );
            }
            Item::Cluster(cluster) => {
                let name = quote(&cluster_name(&cluster.id));
                let _ = writeln!(out, "{indent}subgraph {name} {{");
                let style = match graph.states.get(&cluster.id) {
                    None => "style=rounded; color=gray60;".to_string(),
                    Some(state) => format!("{};", state.dot_attributes(true).replace(", ", "; ")),
                };
                let _ = writeln!(
                    out,
                    "{indent}{INDENT}label={}; {style}",
                    quote(&cluster.title)
                );
                self::items(out, graph, &cluster.items, depth + 1);
                let _ = writeln!(out, "{indent}}}");
            }
        }
    }
}

fn node_text(node: &Node, state: Option<&super::states::TaskState>) -> String {
    let shape = match node.shape {
        Shape::Start => "shape=circle, style=filled, fillcolor=gray20, fontcolor=white",
        Shape::End => "shape=doublecircle, style=filled, fillcolor=gray20, fontcolor=white",
        Shape::Fault => "shape=doublecircle, style=filled, fillcolor=mistyrose, color=red3",
        Shape::Task => "",
        Shape::Condition => "shape=hexagon, style=\"\"",
        Shape::Decision => "shape=diamond, style=\"\"",
        Shape::Loop => "shape=box, peripheries=2, style=\"\"",
        Shape::Fork => "shape=trapezium, style=\"\"",
        Shape::Join => "shape=invtrapezium, style=\"\"",
        Shape::Catch => "shape=cds, style=\"\"",
        Shape::Placeholder => "shape=parallelogram, style=dashed",
    };
    let label = quote(&node.lines.join("\n"));
    let separator = if shape.is_empty() { "" } else { ", " };
    // A run's colour comes last: DOT keeps the last `style` given.
    let state = state
        .map(|state| format!(", {}", state.dot_attributes(node.shape == Shape::Task)))
        .unwrap_or_default();
    format!(
        "{} [label={label}{separator}{shape}{state}];",
        quote(&node.id)
    )
}

/// A DOT double-quoted string: backslash and quote escaped (so `\(` in jq stays literal and
/// no `\N`/`\G` escape is formed), line breaks as DOT's centred `\n`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::{Cluster, Edge};

    #[test]
    fn quotes_backslashes_quotes_and_lines() {
        assert_eq!(quote(r#"say "\(.name)""#), r#""say \"\\(.name)\"""#);
        assert_eq!(quote("a\nb"), r#""a\nb""#);
    }

    #[test]
    fn cluster_edges_go_through_an_anchor_node() {
        let node = |id: &str| {
            Item::Node(Node {
                id: id.into(),
                lines: vec![id.into()],
                shape: Shape::Task,
            })
        };
        let graph = Graph {
            title: "t".into(),
            items: vec![
                Item::Cluster(Cluster {
                    id: "c_try".into(),
                    title: "x · try".into(),
                    items: vec![node("inner")],
                }),
                node("handler"),
            ],
            edges: vec![
                Edge {
                    from: "c_try".into(),
                    to: "handler".into(),
                    label: Some("any error".into()),
                    style: EdgeStyle::Error,
                    backward: false,
                },
                Edge {
                    from: "handler".into(),
                    to: "c_try".into(),
                    label: None,
                    style: EdgeStyle::Retry,
                    backward: true,
                },
            ],
            ..Graph::default()
        };
        let text = write(&graph, Direction::TopDown);
        assert!(text.contains("subgraph \"cluster_c_try\" {"), "{text}");
        assert!(
            text.contains(
                "\"inner\" -> \"handler\" [ltail=\"cluster_c_try\", label=\"any error\", \
                 style=dashed, color=red3];"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\"handler\" -> \"inner\" [lhead=\"cluster_c_try\", constraint=false, \
                 style=dashed, color=darkorange3];"
            ),
            "{text}"
        );
        assert!(text.starts_with("digraph workflow {\n"));
        assert!(text.ends_with("}\n"));
    }
}
