//! The compiler accepts every document of the spec's examples, the bundled workflows and the
//! CTK scenarios (each read from `../shared/spec`, skipped with a note when it is absent).

use std::path::{Path, PathBuf};

use crate::compile::compile;

use crate::test_support::spec_dir;

fn compiles(path: &Path, checked: crate::test_support::Checked) -> usize {
    let Some(document) = checked.valid_document() else {
        // The front end's own tests cover documents it rejects.
        return 0;
    };
    if let Err(diagnostics) = compile(document) {
        panic!("{} does not compile: {diagnostics:#?}", path.display());
    }
    1
}

#[test]
fn every_spec_example_and_bundled_workflow_compiles() {
    let mut dirs = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/workflows"
    ))];
    let examples = spec_dir("examples");
    let expected = if examples.is_some() { 64 } else { 4 };
    dirs.extend(examples);
    let mut count = 0;
    for dir in dirs {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        for path in paths {
            count += compiles(&path, crate::test_support::check_path(&path));
        }
    }
    assert!(count >= expected, "compiled only {count} documents");
}

#[test]
fn every_ctk_workflow_compiles() {
    let Some(dir) = spec_dir("ctk/features") else {
        return;
    };
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for definition in docstrings(&text) {
            let source = crate::source::Source::new("ctk.yaml", definition);
            count += compiles(&entry.path(), crate::test_support::check_source(source));
        }
    }
    assert!(count >= 21, "compiled only {count} CTK workflows");
}

/// The `"""yaml` blocks that follow "a workflow with definition" steps, de-indented.
fn docstrings(feature: &str) -> Vec<String> {
    let lines: Vec<&str> = feature.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].contains("a workflow with definition")
            && lines
                .get(i + 1)
                .is_some_and(|l| l.trim().starts_with("\"\"\""))
        {
            let indent = lines[i + 1].len() - lines[i + 1].trim_start().len();
            let mut body = Vec::new();
            i += 2;
            while i < lines.len() && !lines[i].trim().starts_with("\"\"\"") {
                body.push(lines[i].get(indent..).unwrap_or("").to_owned());
                i += 1;
            }
            out.push(body.join("\n"));
        }
        i += 1;
    }
    out
}
