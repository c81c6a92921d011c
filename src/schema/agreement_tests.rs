//! Agreement of our schema with the official one on the spec's examples and invalid fixtures.
//! The spec files are read from `../shared/spec` (or `$WORKFLOW_SPEC_DIR`); tests skip with a
//! note when they are absent.

use std::path::PathBuf;

use serde_json::Value;

use super::test_yaml::yaml_to_json;
use super::validator::{VALIDATOR, compile};

/// Where the spec's reference files are, if present on this machine.
pub(crate) fn spec_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("WORKFLOW_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec")));
    if dir.join("schema/workflow.yaml").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} not found; skipping schema agreement tests",
            dir.display()
        );
        None
    }
}

/// The official schema, compiled with the same options as ours.
pub(crate) fn official_validator(spec: &std::path::Path) -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(spec.join("schema/workflow.yaml")).expect("read official schema");
    let schema = yaml_to_json(&text).expect("official schema is YAML");
    compile(&schema).expect("official schema compiles")
}

/// Every `*.yaml` document in a spec folder, by file name.
pub(crate) fn documents(spec: &std::path::Path, folder: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(spec.join(folder))
        .expect("read spec folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read document");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let doc = yaml_to_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name, doc));
    }
    out
}

#[test]
fn every_example_is_accepted_by_both_schemas() {
    let Some(spec) = spec_dir() else { return };
    let official = official_validator(&spec);
    let ours = VALIDATOR.as_ref().expect("our schema compiles");
    let docs = documents(&spec, "examples");
    assert!(
        docs.len() >= 60,
        "expected the spec's examples, found {}",
        docs.len()
    );
    let mut failures = Vec::new();
    for (name, doc) in &docs {
        if !official.is_valid(doc) {
            failures.push(format!("official rejects {name}"));
        }
        for error in ours.iter_errors(doc) {
            failures.push(format!(
                "ours rejects {name}: {} at {}",
                error,
                error.instance_path().as_str()
            ));
        }
        let diagnostics = super::check(doc);
        if !diagnostics.is_empty() {
            failures.push(format!("check reports on {name}: {diagnostics:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invalid_fixture_is_rejected_by_both_schemas() {
    let Some(spec) = spec_dir() else { return };
    let official = official_validator(&spec);
    let ours = VALIDATOR.as_ref().expect("our schema compiles");
    let docs = documents(&spec, "invalid");
    assert!(docs.len() >= 3);
    for (name, doc) in &docs {
        assert!(!official.is_valid(doc), "official accepts {name}");
        assert!(!ours.is_valid(doc), "ours accepts {name}");
        assert!(
            !super::check(doc).is_empty(),
            "check finds nothing in {name}"
        );
    }
}
