//! Test-only: every runtime expression in the spec's examples and conformance features compiles.
//!
//! Reads `../shared/spec` relative to the crate root and skips (with a note) when it is absent.
//! Strings written `${ ... }` and the always-expression fields (`if`, `when`, `for.in`, ...) are
//! compiled with the DSL's variables plus the names the document binds (`for.each`, `catch.as`,
//! subscription `foreach.item`).

use super::{Expr, strip_expression};
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use std::path::PathBuf;

const DSL_VARS: [&str; 11] = [
    "context",
    "input",
    "output",
    "secrets",
    "task",
    "workflow",
    "runtime",
    "authorization",
    "item",
    "index",
    "error",
];

fn spec_dir() -> Option<PathBuf> {
    crate::test_support::spec_dir("")
}

fn text<'a>(node: &'a Yaml<'_>) -> Option<&'a str> {
    match node {
        Yaml::Value(Scalar::String(s)) => Some(s),
        _ => None,
    }
}

/// An expression found in a document: where, and its jq code.
struct Found {
    at: String,
    code: String,
}

/// Collects expressions under `node`; `path` is the chain of mapping keys leading to it.
fn collect(node: &Yaml, path: &mut Vec<String>, found: &mut Vec<Found>, names: &mut Vec<String>) {
    match node {
        Yaml::Mapping(map) => {
            for (k, v) in map {
                let key = text(k).unwrap_or("").to_owned();
                let parent = path.last().map(String::as_str).unwrap_or("");
                // Names bound by the document become variables.
                if let (Some(name), true) = (
                    text(v),
                    matches!(
                        (parent, key.as_str()),
                        ("for", "each" | "at") | ("catch", "as") | ("foreach", "item" | "at")
                    ),
                ) {
                    names.push(name.to_owned());
                }
                path.push(key);
                collect(v, path, found, names);
                path.pop();
            }
        }
        Yaml::Sequence(items) => {
            for item in items {
                collect(item, path, found, names);
            }
        }
        _ => {
            let Some(s) = text(node) else { return };
            let key = path.last().map(String::as_str).unwrap_or("");
            let parent = path.iter().rev().nth(1).map(String::as_str).unwrap_or("");
            let always = match key {
                "if" | "when" | "exceptWhen" | "while" => true,
                "in" => parent == "for",
                "as" => matches!(parent, "output" | "export"),
                "from" => matches!(parent, "input") || path.iter().any(|p| p == "correlate"),
                "until" => true,
                _ => false,
            };
            let code = match strip_expression(s) {
                Some(body) => body,
                None if always => s.trim(),
                None => return,
            };
            found.push(Found {
                at: path.join("/"),
                code: code.to_owned(),
            });
        }
    }
}

fn check_documents(label: &str, yaml: &str, failures: &mut Vec<String>) -> usize {
    let Ok(docs) = Yaml::load_from_str(yaml) else {
        return 0;
    };
    let mut count = 0;
    for doc in &docs {
        let (mut found, mut names) = (Vec::new(), Vec::new());
        collect(doc, &mut Vec::new(), &mut found, &mut names);
        let mut vars: Vec<&str> = DSL_VARS.to_vec();
        vars.extend(names.iter().map(String::as_str));
        for f in found {
            count += 1;
            if let Err(errs) = Expr::compile(&f.code, &vars) {
                let messages: Vec<String> = errs.into_iter().map(|e| e.message).collect();
                failures.push(format!(
                    "{label} at {}: `{}`: {}",
                    f.at,
                    f.code,
                    messages.join("; ")
                ));
            }
        }
    }
    count
}

#[test]
fn every_expression_in_the_spec_examples_compiles() {
    let Some(dir) = spec_dir() else { return };
    let mut failures = Vec::new();
    let mut count = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("examples"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    for path in &paths {
        let yaml = std::fs::read_to_string(path).unwrap_or_default();
        count += check_documents(&path.display().to_string(), &yaml, &mut failures);
    }
    assert!(
        paths.len() >= 60,
        "expected the spec examples, found {}",
        paths.len()
    );
    println!("{count} expressions in {} examples", paths.len());
    assert!(count >= 50, "found only {count} expressions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expression_in_the_ctk_features_compiles() {
    let Some(dir) = spec_dir() else { return };
    let mut failures = Vec::new();
    let mut count = 0;
    let entries: Vec<PathBuf> = std::fs::read_dir(dir.join("ctk/features"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    for path in &entries {
        let feature = std::fs::read_to_string(path).unwrap_or_default();
        // Gherkin doc strings are delimited by lines holding only `"""`.
        let mut block: Option<Vec<&str>> = None;
        for line in feature.lines() {
            // An opening delimiter may name the content type (`"""yaml`).
            if line.trim().starts_with("\"\"\"") {
                match block.take() {
                    Some(lines) => {
                        count += check_documents(
                            &path.display().to_string(),
                            &dedent(&lines),
                            &mut failures,
                        )
                    }
                    None => block = Some(Vec::new()),
                }
            } else if let Some(lines) = block.as_mut() {
                lines.push(line);
            }
        }
    }
    println!("{count} expressions in {} feature files", entries.len());
    assert!(count >= 20, "found only {count} expressions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Removes the indentation common to all non-blank lines.
fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}
