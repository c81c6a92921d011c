//! Mermaid flowchart text from the picture model: shapes, subgraphs, edges, and the escaping that
//! keeps any task name or jq text from breaking the syntax.

use std::fmt::Write as _;

use super::model::{EdgeStyle, Graph, Item, Node, Shape};
use super::render::Direction;

const INDENT: &str = "    ";

/// Renders the graph as a Mermaid flowchart, ending with a newline.
pub(crate) fn write(graph: &Graph, direction: Direction) -> String {
    let mut out = String::new();
    // A YAML front matter title; the value is a JSON string, which YAML reads as is.
    let title = serde_json::Value::String(graph.title.clone());
    let _ = writeln!(out, "---\ntitle: {title}\n---");
    let direction = match direction {
        Direction::TopDown => "TD",
        Direction::LeftRight => "LR",
    };
    let _ = writeln!(out, "flowchart {direction}");
    items(&mut out, &graph.items, 1);
    for edge in &graph.edges {
        let arrow = match edge.style {
            EdgeStyle::Flow => "-->",
            EdgeStyle::Skip | EdgeStyle::Error | EdgeStyle::Retry => "-.->",
        };
        let label = edge
            .label
            .as_deref()
            .map(|label| format!("|\"{}\"|", escape(label)))
            .unwrap_or_default();
        let _ = writeln!(out, "{INDENT}{} {arrow}{label} {}", edge.from, edge.to);
    }
    let faults: Vec<&str> = graph
        .nodes()
        .into_iter()
        .filter(|node| node.shape == Shape::Fault)
        .map(|node| node.id.as_str())
        .collect();
    if !faults.is_empty() {
        let _ = writeln!(
            out,
            "{INDENT}classDef fault fill:#fde2e2,stroke:#c62828,color:#8e0000"
        );
        let _ = writeln!(out, "{INDENT}class {} fault", faults.join(","));
    }
    for (state, ids) in super::states::by_state(graph) {
        let class = state.class();
        let _ = writeln!(out, "{INDENT}classDef {class} {}", state.mermaid_style());
        let _ = writeln!(out, "{INDENT}class {} {class}", ids.join(","));
    }
    out
}

fn items(out: &mut String, items: &[Item], depth: usize) {
    let indent = INDENT.repeat(depth);
    for item in items {
        match item {
            Item::Node(node) => {
                let _ = writeln!(out, "{indent}{}", node_text(node));
            }
            Item::Cluster(cluster) => {
                let title = escape(&cluster.title);
                let _ = writeln!(out, "{indent}subgraph {} [\"{title}\"]", cluster.id);
                self::items(out, &cluster.items, depth + 1);
                let _ = writeln!(out, "{indent}end");
            }
        }
    }
}

fn node_text(node: &Node) -> String {
    let label = node
        .lines
        .iter()
        .map(|line| escape(line))
        .collect::<Vec<_>>()
        .join("<br/>");
    let (open, close) = match node.shape {
        Shape::Start => ("((", "))"),
        Shape::End | Shape::Fault => ("(((", ")))"),
        Shape::Task => ("(", ")"),
        Shape::Condition => ("{{", "}}"),
        Shape::Decision => ("{", "}"),
        Shape::Loop => ("[[", "]]"),
        Shape::Fork => ("[/", "\\]"),
        Shape::Join => ("[\\", "/]"),
        Shape::Catch => (">", "]"),
        Shape::Placeholder => ("[/", "/]"),
    };
    format!("{}{open}\"{label}\"{close}", node.id)
}

/// Makes text safe inside a quoted Mermaid label: everything Mermaid or the HTML label could
/// read as syntax becomes an entity code (`#quot;`, `#35;`, ...), which Mermaid turns back into
/// the character when it draws.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '%' => out.push_str("#37;"),
            '\\' => out.push_str("#92;"),
            '`' => out.push_str("#96;"),
            '{' => out.push_str("#123;"),
            '|' => out.push_str("#124;"),
            '}' => out.push_str("#125;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::{Cluster, Edge};

    #[test]
    fn escapes_everything_that_is_syntax() {
        assert_eq!(
            escape(r#"a "b" #1 <c> {d|e} \(x) `y` 50%"#),
            "a #quot;b#quot; #35;1 #lt;c#gt; #123;d#124;e#125; #92;(x) #96;y#96; 50#37;"
        );
        assert_eq!(escape("multi\nline"), "multi line");
        assert_eq!(escape("plain text, [ok] (ok)"), "plain text, [ok] (ok)");
    }

    #[test]
    fn writes_nodes_clusters_and_edges() {
        let node = |id: &str, shape| {
            Item::Node(Node {
                id: id.into(),
                lines: vec![id.into(), "call http".into()],
                shape,
            })
        };
        let graph = Graph {
            title: "ns/name:1.0.0".into(),
            items: vec![
                node("a", Shape::Task),
                Item::Cluster(Cluster {
                    id: "c".into(),
                    title: "c · do".into(),
                    items: vec![node("b", Shape::Decision)],
                }),
                node("f", Shape::Fault),
            ],
            edges: vec![
                Edge {
                    from: "a".into(),
                    to: "b".into(),
                    label: None,
                    style: EdgeStyle::Flow,
                    backward: false,
                },
                Edge {
                    from: "c".into(),
                    to: "a".into(),
                    label: Some(".x == \"y\"".into()),
                    style: EdgeStyle::Retry,
                    backward: true,
                },
            ],
            ..Graph::default()
        };
        let text = write(&graph, Direction::LeftRight);
        let expected = "---\ntitle: \"ns/name:1.0.0\"\n---\nflowchart LR\n    \
            a(\"a<br/>call http\")\n    subgraph c [\"c · do\"]\n        \
            b{\"b<br/>call http\"}\n    end\n    f(((\"f<br/>call http\")))\n    \
            a --> b\n    c -.->|\".x == #quot;y#quot;\"| a\n    \
            classDef fault fill:#fde2e2,stroke:#c62828,color:#8e0000\n    class f fault\n";
        assert_eq!(text, expected);
    }
}
