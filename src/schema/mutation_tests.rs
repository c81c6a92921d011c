//! Mutation agreement: thousands of documents derived from the spec's examples (keys deleted,
//! unknown keys added, values of the wrong type or shape, task kinds renamed, two tasks in one
//! item, emptied lists, ...) must get the same verdict from our schema as from the official one,
//! except where schemas/README.md documents a deliberate difference.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::agreement_tests::{documents, official_validator, spec_dir};
use super::validator::VALIDATOR;
use crate::pointer;

const TASK_KINDS: [&str; 12] = [
    "call", "do", "emit", "for", "fork", "listen", "raise", "run", "set", "switch", "try", "wait",
];

/// One derived document and what was done to get it.
struct Mutation {
    kind: &'static str,
    pointer: String,
    doc: Value,
}

/// Every node of a document with its pointer, parents before children.
fn nodes(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| nodes(v, pointer::join(&at, k), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| nodes(v, pointer::join_index(&at, i), out)),
        _ => {}
    }
}

fn with_replaced(doc: &Value, at: &str, replacement: Value) -> Value {
    let mut copy = doc.clone();
    if let Some(slot) = copy.pointer_mut(at) {
        *slot = replacement;
    }
    copy
}

/// Values of every other type than `value`.
fn other_types(value: &Value) -> Vec<Value> {
    let candidates = [
        json!(null),
        json!(true),
        json!(42),
        json!(1.5),
        json!("text"),
        json!(["x"]),
        json!({"k": 1}),
    ];
    let same = |c: &Value| match (c, value) {
        (Value::Number(a), Value::Number(b)) => a.is_i64() == b.is_i64(),
        _ => std::mem::discriminant(c) == std::mem::discriminant(value),
    };
    candidates.iter().filter(|c| !same(c)).cloned().collect()
}

/// Strings that exercise the string rules: expressions, URIs, durations, names, emptiness.
const STRINGS: [&str; 6] = [
    "${ .value }",
    "https://example.com/{id}",
    "PT5S",
    "",
    "not valid!",
    "/do/0/task",
];

/// Keys that are valid somewhere in the DSL, added where they may not belong (JSON values).
const FOREIGN_KEYS: [(&str, &str); 14] = [
    ("then", r#""end""#),
    ("until", r#""${ .done }""#),
    ("use", r#""mySecret""#),
    ("with", "{}"),
    ("do", "[]"),
    ("endpoint", r#""https://example.com""#),
    ("after", r#""PT1S""#),
    ("any", "[]"),
    ("basic", r#"{"username": "u", "password": "p"}"#),
    ("shell", r#"{"command": "ls"}"#),
    ("for", r#"{"in": ".items"}"#),
    ("set", r#"{"a": 1}"#),
    ("document", r#"{"name": "x"}"#),
    ("source", r#"{"endpoint": "https://example.com"}"#),
];

/// Is this pointer the body of a task (the value under a task name)?
fn is_task(doc: &Value, at: &str) -> bool {
    let tokens: Vec<String> = pointer::tokens(at).collect();
    let n = tokens.len();
    if n >= 3 && tokens[n - 2].parse::<usize>().is_ok() {
        let list_key = &tokens[n - 3];
        let list_parent = if n >= 4 {
            Some(tokens[n - 4].as_str())
        } else {
            None
        };
        let is_list = matches!(
            list_key.as_str(),
            "do" | "try" | "branches" | "before" | "after"
        ) && !(list_key == "do" && list_parent == Some("use"));
        return is_list && doc.pointer(at).is_some_and(Value::is_object);
    }
    n == 3 && tokens[0] == "use" && tokens[1] == "functions"
}

fn mutations(doc: &Value) -> Vec<Mutation> {
    let mut all = Vec::new();
    nodes(doc, String::new(), &mut all);
    let mut out = Vec::new();
    for (seed, at) in all.iter().enumerate() {
        let Some(value) = doc.pointer(at) else {
            continue;
        };
        let mut push = |kind, pointer: String, doc| out.push(Mutation { kind, pointer, doc });
        if !at.is_empty() {
            let mut copy = doc.clone();
            if let (Some(parent), Some(key)) = (pointer::parent(at), pointer::tokens(at).last()) {
                match copy.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.shift_remove(&key);
                        push("delete-key", at.clone(), copy);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            items.remove(i);
                            push("delete-item", at.clone(), copy);
                        }
                    }
                    _ => {}
                }
            }
            for replacement in other_types(value) {
                push(
                    "wrong-type",
                    at.clone(),
                    with_replaced(doc, at, replacement),
                );
            }
        }
        match value {
            Value::Object(map) => {
                let mut added = map.clone();
                added.insert("bogusKey".into(), json!("x"));
                push(
                    "unknown-key",
                    at.clone(),
                    with_replaced(doc, at, Value::Object(added)),
                );
                for offset in 0..3 {
                    let (key, extra) = &FOREIGN_KEYS[(seed + offset * 4) % FOREIGN_KEYS.len()];
                    if !map.contains_key(*key) {
                        let mut added = map.clone();
                        added.insert(
                            (*key).into(),
                            serde_json::from_str(extra).unwrap_or(Value::Null),
                        );
                        push(
                            "foreign-key",
                            at.clone(),
                            with_replaced(doc, at, Value::Object(added)),
                        );
                    }
                }
                if !map.is_empty() {
                    push(
                        "empty-object",
                        at.clone(),
                        with_replaced(doc, at, json!({})),
                    );
                }
            }
            Value::Array(items) if !items.is_empty() => {
                push("empty-list", at.clone(), with_replaced(doc, at, json!([])));
            }
            Value::String(s) => {
                for replacement in STRINGS {
                    if replacement != s {
                        push(
                            "other-string",
                            at.clone(),
                            with_replaced(doc, at, json!(replacement)),
                        );
                    }
                }
            }
            _ => {}
        }
        if is_task(doc, at) {
            if let Some(task) = value.as_object() {
                let kind = task
                    .keys()
                    .find(|k| TASK_KINDS.contains(&k.as_str()))
                    .cloned();
                if let Some(kind) = kind {
                    for other in TASK_KINDS.iter().chain(["cal", "sett"].iter()) {
                        if *other == kind || task.contains_key(*other) {
                            continue;
                        }
                        let mut renamed = serde_json::Map::new();
                        for (k, v) in task {
                            let key = if *k == kind {
                                (*other).to_string()
                            } else {
                                k.clone()
                            };
                            renamed.insert(key, v.clone());
                        }
                        push(
                            "rename-kind",
                            at.clone(),
                            with_replaced(doc, at, Value::Object(renamed)),
                        );
                    }
                }
            }
            // Two tasks in one list item: copy this task under a second name in its item.
            let item_at = pointer::parent(at).unwrap_or_default();
            if let Some(Value::Object(item)) = doc.pointer(item_at) {
                let mut item = item.clone();
                item.insert("secondTask".into(), value.clone());
                push(
                    "two-tasks-in-item",
                    at.clone(),
                    with_replaced(doc, item_at, Value::Object(item)),
                );
            }
        }
    }
    out
}

/// Differences documented in schemas/README.md: our schema rejects unknown top-level keys, and
/// accepts the DSL 1.0.0 map form of `run.shell`/`run.script` `arguments`.
fn deliberate_difference(mutation: &Mutation, ours: bool, official: bool) -> bool {
    let key_added = matches!(mutation.kind, "unknown-key" | "foreign-key");
    let top_level_key_added = key_added && mutation.pointer.is_empty();
    let arguments_map = (mutation.pointer.ends_with("/shell/arguments")
        || mutation.pointer.ends_with("/script/arguments"))
        && mutation
            .doc
            .pointer(&mutation.pointer)
            .is_some_and(Value::is_object);
    (top_level_key_added && !ours && official) || (arguments_map && ours && !official)
}

#[test]
fn mutated_examples_get_the_official_verdict() {
    let Some(spec) = spec_dir() else { return };
    let official = official_validator(&spec);
    let ours = VALIDATOR.as_ref().expect("our schema compiles");
    let mut total: BTreeMap<&str, usize> = BTreeMap::new();
    let mut disagreements: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut rejected = 0;
    for (name, doc) in documents(&spec, "examples") {
        for mutation in mutations(&doc) {
            *total.entry(mutation.kind).or_default() += 1;
            let (a, b) = (
                ours.is_valid(&mutation.doc),
                official.is_valid(&mutation.doc),
            );
            rejected += usize::from(!b);
            if a != b && !deliberate_difference(&mutation, a, b) {
                disagreements
                    .entry(mutation.kind)
                    .or_default()
                    .push(format!(
                        "{name} {} (ours {}, official {})",
                        mutation.pointer,
                        if a { "accepts" } else { "rejects" },
                        if b { "accepts" } else { "rejects" }
                    ));
            }
        }
    }
    let count: usize = total.values().sum();
    assert!(
        count > 5000,
        "expected thousands of mutations, made {count}"
    );
    // Both verdicts must be common, or agreement would say little.
    assert!(
        rejected > 2000 && count - rejected > 2000,
        "{rejected} of {count} rejected"
    );
    if !disagreements.is_empty() {
        let mut report = String::new();
        for (kind, list) in &disagreements {
            report.push_str(&format!(
                "{kind}: {} of {} disagree\n",
                list.len(),
                total[kind]
            ));
            for line in list.iter().take(8) {
                report.push_str(&format!("    {line}\n"));
            }
        }
        panic!("schema verdicts differ from the official schema:\n{report}");
    }
    eprintln!("{count} mutations agree: {total:?}");
}

/// Every mutated document gets diagnostics exactly when the schema rejects it, each located
/// in the document, none falling back to the validator's own wording, and a single edit gives
/// a single finding.
#[test]
fn mutated_examples_get_precise_diagnostics() {
    let Some(spec) = spec_dir() else { return };
    let ours = VALIDATOR.as_ref().expect("our schema compiles");
    let mut failures = Vec::new();
    for (name, doc) in documents(&spec, "examples") {
        for m in mutations(&doc) {
            let diagnostics = super::check(&m.doc);
            let what = format!("{name} {} {}", m.kind, m.pointer);
            if ours.is_valid(&m.doc) != diagnostics.is_empty() {
                failures.push(format!(
                    "{what}: verdict and diagnostics disagree: {diagnostics:?}"
                ));
            }
            for d in &diagnostics {
                let located = d
                    .pointer
                    .as_deref()
                    .is_some_and(|p| m.doc.pointer(p).is_some());
                if !located || d.code == "schema::invalid" || d.code == "schema::internal" {
                    failures.push(format!(
                        "{what}: {} {} at {:?}",
                        d.code, d.message, d.pointer
                    ));
                }
            }
            let replaced_by_mapping = m.doc.pointer(&m.pointer).is_some_and(Value::is_object);
            let single_edit = match m.kind {
                "unknown-key" | "other-string" | "two-tasks-in-item" | "delete-item"
                | "empty-list" => true,
                "wrong-type" => !replaced_by_mapping,
                _ => false,
            };
            if single_edit && diagnostics.len() > 1 {
                failures.push(format!(
                    "{what}: {} findings for one edit: {diagnostics:#?}",
                    diagnostics.len()
                ));
            }
        }
    }
    let shown: Vec<_> = failures.iter().take(10).collect();
    assert!(
        failures.is_empty(),
        "{} failures, first ones:\n{shown:#?}",
        failures.len()
    );
}
