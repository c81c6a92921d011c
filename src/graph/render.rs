//! The graph stage's entry point: the output format and direction a user picks, and `render`,
//! which builds the picture once and hands it to the chosen writer.

use crate::document::Document;

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

/// The picture of `document` in `format`, ending with a newline.
pub fn render(document: &Document, format: Format, direction: Direction) -> String {
    let graph = build::build(document);
    match format {
        Format::Mermaid => mermaid::write(&graph, direction),
        Format::Dot => dot::write(&graph, direction),
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
                let text = render(document, format, Direction::TopDown);
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

    #[test]
    fn direction_is_honoured() {
        let document = fixtures::document(
            "document: {dsl: '1.0.3', namespace: a, name: b, version: '1.0.0'}\n\
             do:\n  - one:\n      set: {x: 1}\n",
        );
        let lr = render(&document, Format::Mermaid, Direction::LeftRight);
        assert!(lr.contains("\nflowchart LR\n"), "{lr}");
        let td = render(&document, Format::Dot, Direction::TopDown);
        assert!(td.contains("rankdir=TB"), "{td}");
        let lr = render(&document, Format::Dot, Direction::LeftRight);
        assert!(lr.contains("rankdir=LR"), "{lr}");
    }
}
