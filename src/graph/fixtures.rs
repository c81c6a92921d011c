//! Test-only: the documents the graph tests draw (the spec examples, the CTK workflows, this
//! repository's `workflows/`), loaded and parsed, each with a name fit for a snapshot file.

use std::path::{Path, PathBuf};

use crate::compile::Targets;
use crate::document::Document;
use crate::frontend;
use crate::source::Source;

/// Checks a workflow text with the real front end (loader, schema, parser), failing the test
/// with the diagnostics unless it is valid: the graph promises only valid documents.
pub(crate) fn document_named(name: &str, text: &str) -> Document {
    let checked = frontend::check_source(Source::new(name, text.to_string()));
    match checked.valid_document() {
        Some(document) => document.clone(),
        None => panic!("{name} is not valid: {:#?}", checked.diagnostics),
    }
}

pub(crate) fn document(text: &str) -> Document {
    document_named("test.yaml", text)
}

/// The `then` targets of a valid document, compiled as `workflow graph` compiles it.
pub(crate) fn targets(name: &str, document: &Document) -> Targets {
    match crate::compile::compile(document) {
        Ok(machine) => machine.targets().clone(),
        Err(diagnostics) => panic!("{name} does not compile: {diagnostics:#?}"),
    }
}

/// A valid document and its compiled `then` targets.
pub(crate) fn compiled(text: &str) -> (Document, Targets) {
    let document = document(text);
    let targets = targets("test.yaml", &document);
    (document, targets)
}

/// Loads and parses without the schema and the analysis: for shapes later checks reject but the
/// graph must still draw without failing (a `then` naming no task).
pub(crate) fn parsed(text: &str) -> Document {
    let source = Source::new("test.yaml", text.to_string());
    let loaded = crate::yaml::load(&source).unwrap_or_else(|d| panic!("{d:#?}"));
    crate::parse::parse(&loaded.value).unwrap_or_else(|d| panic!("{d:#?}"))
}

pub(crate) use crate::test_support::spec_dir;

/// Every `.yaml`/`.yml`/`.json` file of a directory as (snapshot name, document), sorted.
pub(crate) fn documents_in(dir: &Path) -> Vec<(String, Document)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|path| {
        matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        )
    });
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("doc");
            (
                snapshot_name(stem),
                document_named(&path.display().to_string(), &text),
            )
        })
        .collect()
}

/// The workflow definitions embedded as `"""` doc strings in the CTK features, named
/// `<feature>-<n>`.
pub(crate) fn ctk_documents() -> Vec<(String, Document)> {
    let Some(dir) = spec_dir("ctk/features") else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("ctk");
        for (n, definition) in crate::test_support::ctk_definitions(&text)
            .into_iter()
            .enumerate()
        {
            out.push((
                snapshot_name(&format!("{stem}-{}", n + 1)),
                document_named(&format!("{stem} #{}", n + 1), &definition),
            ));
        }
    }
    out
}

/// A file stem as a snapshot name: letters, digits, `-` and `_` only.
fn snapshot_name(stem: &str) -> String {
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
