//! The graph stage's entry point: the output format and direction a user picks, and `render`,
//! which builds the picture once and hands it to the chosen writer.

use std::collections::BTreeMap;

use crate::compile::Targets;
use crate::document::Document;

use super::states::{self, TaskState};
use super::{build, dot, mermaid};

/// Which language the picture is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A Mermaid flowchart (GitHub, GitLab and most Markdown tools draw it).
    #[default]
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Which way the flow runs on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Top to bottom (the default).
    #[default]
    TopDown,
    LeftRight,
}

/// The picture of `document` in `format`, ending with a newline; its `then` jumps go to the
/// `targets` the compiler resolved.
pub fn render(
    document: &Document,
    targets: &Targets,
    format: Format,
    direction: Direction,
) -> String {
    write(&build::build(document, targets), format, direction)
}

/// The picture with each task coloured by its state in a run (`states` by task pointer; tasks
/// absent from it were not reached).
pub fn render_run(
    document: &Document,
    targets: &Targets,
    format: Format,
    direction: Direction,
    states: &BTreeMap<String, TaskState>,
) -> String {
    let mut graph = build::build(document, targets);
    states::apply(&mut graph, states);
    write(&graph, format, direction)
}

fn write(graph: &super::model::Graph, format: Format, direction: Direction) -> String {
    match format {
        Format::Mermaid => mermaid::write(graph, direction),
        Format::Dot => dot::write(graph, direction),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::fixtures;

    fn snapshot_all(prefix: &str, documents: Vec<(String, Document)>, format: Format) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| {
            for (name, document) in &documents {
                let targets = fixtures::targets(name, document);
                let text = render(document, &targets, format, Direction::TopDown);
                insta::assert_snapshot!(format!("{prefix}{name}"), text);
            }
        });
    }

    #[test]
    fn mermaid_of_every_spec_example() {
        let Some(dir) = fixtures::spec_dir("examples") else {
            return;
        };
        let documents = fixtures::documents_in(&dir);
        assert!(documents.len() >= 60, "found {}", documents.len());
        snapshot_all("mermaid@example-", documents, Format::Mermaid);
    }

    #[test]
    fn mermaid_of_every_ctk_workflow() {
        let documents = fixtures::ctk_documents();
        if documents.is_empty() {
            return;
        }
        assert!(documents.len() >= 21, "found {}", documents.len());
        snapshot_all("mermaid@ctk-", documents, Format::Mermaid);
    }

    #[test]
    fn mermaid_of_every_repository_workflow() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        let documents = fixtures::documents_in(&dir);
        assert!(!documents.is_empty(), "workflows/ has no documents");
        snapshot_all("mermaid@workflows-", documents, Format::Mermaid);
    }

    #[test]
    fn mermaid_and_dot_of_awkward_names() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph");
        let documents = fixtures::documents_in(&dir);
        assert!(
            !documents.is_empty(),
            "tests/fixtures/graph has no documents"
        );
        snapshot_all("mermaid@fixture-", documents.clone(), Format::Mermaid);
        snapshot_all("dot@fixture-", documents, Format::Dot);
    }

    #[test]
    fn dot_of_a_few() {
        let mut documents = Vec::new();
        if let Some(dir) = fixtures::spec_dir("examples") {
            let wanted = [
                "try-catch-retry-inline",
                "fork",
                "switch-then-string",
                "for",
            ];
            documents.extend(
                fixtures::documents_in(&dir)
                    .into_iter()
                    .filter(|(name, _)| wanted.contains(&name.as_str())),
            );
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        documents.extend(fixtures::documents_in(&dir));
        snapshot_all("dot@", documents, Format::Dot);
    }

    /// Flow edits the schema may or may not allow (odd `then` targets, `if` everywhere, emptied
    /// lists): whatever still parses must draw, in both languages, without failing.
    #[test]
    fn drawing_never_fails_on_mutated_flows() {
        use serde_json::{Value, json};
        let mut texts = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("workflows"), root.join("tests/fixtures/graph")];
        dirs.extend(fixtures::spec_dir("examples"));
        for dir in dirs {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                texts.extend(std::fs::read_to_string(entry.path()));
            }
        }
        fn walk(value: &Value, at: String, objects: &mut Vec<String>, arrays: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    objects.push(at.clone());
                    for (key, item) in map {
                        walk(item, crate::pointer::join(&at, key), objects, arrays);
                    }
                }
                Value::Array(items) => {
                    arrays.push(at.clone());
                    for (index, item) in items.iter().enumerate() {
                        walk(
                            item,
                            crate::pointer::join_index(&at, index),
                            objects,
                            arrays,
                        );
                    }
                }
                _ => {}
            }
        }
        let edits = [
            ("then", json!("exit")),
            ("then", json!("end")),
            ("then", json!("nowhere")),
            ("if", json!(".x")),
        ];
        let mut drawn = 0;
        for text in &texts {
            let source = crate::source::Source::new("m.yaml", text.clone());
            let Ok(loaded) = crate::yaml::load(&source) else {
                continue;
            };
            let (mut objects, mut arrays) = (Vec::new(), Vec::new());
            walk(&loaded.value, String::new(), &mut objects, &mut arrays);
            let mut variants = Vec::new();
            for pointer in &objects {
                for (key, value) in &edits {
                    let mut mutated = loaded.value.clone();
                    if let Some(Value::Object(map)) = mutated.pointer_mut(pointer) {
                        map.insert((*key).to_string(), value.clone());
                    }
                    variants.push(mutated);
                }
            }
            for pointer in &arrays {
                let mut mutated = loaded.value.clone();
                if let Some(slot) = mutated.pointer_mut(pointer) {
                    *slot = json!([]);
                }
                variants.push(mutated);
            }
            for variant in variants {
                if let Ok(document) = crate::parse::parse(&variant) {
                    // Drawn uncompiled (it may not compile): every `then` is unresolved.
                    let none = Targets::default();
                    let mermaid = render(&document, &none, Format::Mermaid, Direction::TopDown);
                    let dot = render(&document, &none, Format::Dot, Direction::LeftRight);
                    assert!(mermaid.contains("wf_start") && dot.contains("wf_start"));
                    drawn += 1;
                }
            }
        }
        println!("{drawn} mutated documents drawn");
        assert!(drawn > 500, "only {drawn} mutated documents parsed");
    }

    #[test]
    fn direction_is_honoured() {
        let document = fixtures::document(
            "document: {dsl: '1.0.3', namespace: a, name: b, version: '1.0.0'}\n\
             do:\n  - one:\n      set: {x: 1}\n",
        );
        let targets = fixtures::targets("direction", &document);
        let lr = render(&document, &targets, Format::Mermaid, Direction::LeftRight);
        assert!(lr.contains("\nflowchart LR\n"), "{lr}");
        let td = render(&document, &targets, Format::Dot, Direction::TopDown);
        assert!(td.contains("rankdir=TB"), "{td}");
        let lr = render(&document, &targets, Format::Dot, Direction::LeftRight);
        assert!(lr.contains("rankdir=LR"), "{lr}");
    }
}
