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

/// A minimal valid document with `extra` merged in at the top level.
fn workflow_with(extra: Value) -> Value {
    let mut doc = serde_json::json!({
        "document": {"dsl": "1.0.3", "namespace": "test", "name": "differences", "version": "0.1.0"},
        "do": [{"greet": {"set": {"message": "hello"}}}]
    });
    if let (Some(target), Value::Object(extra)) = (doc.as_object_mut(), extra) {
        target.extend(extra);
    }
    doc
}

fn mcp_call(client: Value) -> Value {
    serde_json::json!({"do": [{"ask": {"call": "mcp", "with": {
        "method": "tools/list",
        "transport": {"stdio": {"command": "server"}},
        "client": client
    }}}]})
}

fn shell_with(arguments: Value) -> Value {
    serde_json::json!({"do": [{"list": {"run": {"shell": {
        "command": "ls",
        "arguments": arguments
    }}}}]})
}

/// The differences schemas/README.md documents, each checked in both directions.
#[test]
fn documented_differences_hold() {
    let Some(spec) = spec_dir() else { return };
    let official = official_validator(&spec);
    let ours = VALIDATOR.as_ref().expect("our schema compiles");
    let two_schemes =
        serde_json::json!({"basic": {"username": "u", "password": "p"}, "bearer": {"token": 5}});
    // (document, accepted by ours, accepted by the official schema)
    let cases = [
        (
            workflow_with(serde_json::json!({"evaluate": {"language": "jq", "mode": "loose"}})),
            true,
            true,
        ),
        (
            workflow_with(serde_json::json!({"evaluate": {"mode": "lenient"}})),
            false,
            true,
        ),
        (
            workflow_with(serde_json::json!({"evaluate": {"langauge": "jq"}})),
            false,
            true,
        ),
        (
            workflow_with(serde_json::json!({"timout": "PT1S"})),
            false,
            true,
        ),
        (
            workflow_with(mcp_call(
                serde_json::json!({"name": "cli", "version": "1.0"}),
            )),
            true,
            true,
        ),
        (
            workflow_with(mcp_call(serde_json::json!({"name": "cli", "version": 1}))),
            false,
            true,
        ),
        (
            workflow_with(serde_json::json!({"use": {"authentications": {"both": two_schemes}}})),
            false,
            true,
        ),
        (
            workflow_with(shell_with(
                serde_json::json!({"--verbose": null, "name": "${ .n }"}),
            )),
            true,
            false,
        ),
        (
            workflow_with(shell_with(serde_json::json!(["--verbose", "${ .n }"]))),
            true,
            true,
        ),
        (
            workflow_with(shell_with(serde_json::json!("--verbose"))),
            false,
            false,
        ),
        (
            workflow_with(shell_with(serde_json::json!([1]))),
            false,
            false,
        ),
    ];
    for (i, (doc, ours_accepts, official_accepts)) in cases.iter().enumerate() {
        assert_eq!(ours.is_valid(doc), *ours_accepts, "case {i}: ours");
        assert_eq!(
            official.is_valid(doc),
            *official_accepts,
            "case {i}: official"
        );
    }
}

/// Edge cases of the official schema's `oneOf` rules that our restructured rules must keep.
#[test]
fn restructured_rules_keep_the_official_verdicts() {
    let Some(spec) = spec_dir() else { return };
    let official = official_validator(&spec);
    let ours = VALIDATOR.as_ref().expect("our schema compiles");
    let call = |auth: Value| {
        workflow_with(serde_json::json!({"do": [{"get": {"call": "http", "with": {
            "method": "get", "endpoint": {"uri": "https://example.com", "authentication": auth}
        }}}]}))
    };
    let task = |t: Value| workflow_with(serde_json::json!({"do": [{"t": t}]}));
    let docs = [
        call(serde_json::json!({"basic": {"use": "secret"}})),
        call(serde_json::json!({"basic": {"use": "secret", "username": "u"}})),
        call(serde_json::json!({"basic": {"username": "u", "password": "p", "use": "s"}})),
        call(serde_json::json!({"basic": {"use": ""}})),
        call(serde_json::json!({"oauth2": {}})),
        call(serde_json::json!({"oauth2": {"use": "s", "authority": "https://x.org"}})),
        call(serde_json::json!({"oidc": {"authority": "https://x.org", "endpoints": {}}})),
        call(serde_json::json!({"use": "shared", "bearer": {"token": "t"}})),
        task(
            serde_json::json!({"listen": {"to": {"one": {"with": {"type": "x"}}, "until": "${ true }"}}}),
        ),
        task(
            serde_json::json!({"listen": {"to": {"any": [], "until": {"one": {"with": {"type": "x"}}}}}}),
        ),
        task(serde_json::json!({"for": {"in": ".xs"}, "do": [], "while": "${ true }"})),
        task(serde_json::json!({"do": [], "while": "${ true }"})),
        task(
            serde_json::json!({"run": {"container": {"image": "x", "lifetime": {"cleanup": "never", "after": "PT1S"}}}}),
        ),
        task(
            serde_json::json!({"run": {"container": {"image": "x", "lifetime": {"cleanup": "eventually"}}}}),
        ),
        task(
            serde_json::json!({"run": {"script": {"language": "python", "code": "1", "source": {"endpoint": "https://x.org"}}}}),
        ),
        task(
            serde_json::json!({"raise": {"error": {"type": "https://x.org/e", "status": 400, "instance": "${ .x }"}}}),
        ),
        task(
            serde_json::json!({"raise": {"error": {"type": "${ .t }", "status": 400, "instance": "not a pointer"}}}),
        ),
        task(
            serde_json::json!({"emit": {"event": {"with": {"source": "https://x.org", "type": "t", "time": "${ now }"}}}}),
        ),
        task(serde_json::json!({"emit": {"event": {"with": {"source": "x", "type": "t"}}}})),
        task(serde_json::json!({"wait": "PT"})),
        task(serde_json::json!({"wait": {"seconds": 1.5}})),
        task(
            serde_json::json!({"call": "asyncapi", "with": {"document": {"endpoint": "https://x.org"}, "operation": "o", "channel": "c", "message": {}}}),
        ),
        task(serde_json::json!({"call": "a2a", "with": {"method": "tasks/get", "parameters": {}}})),
        task(
            serde_json::json!({"call": "mcp", "with": {"method": "tools/list", "transport": {"http": {"endpoint": "https://x.org"}, "stdio": {"command": "c"}}}}),
        ),
        task(serde_json::json!({"call": 5})),
    ];
    for (i, doc) in docs.iter().enumerate() {
        assert_eq!(
            ours.is_valid(doc),
            official.is_valid(doc),
            "case {i}: {doc}"
        );
    }
}

/// Each invalid fixture gets exactly one finding, naming its real problem.
#[test]
fn invalid_fixtures_get_one_precise_finding_each() {
    let Some(spec) = spec_dir() else { return };
    let expected = [
        (
            "extra-property-in-call.yaml",
            "schema::unknown-property",
            "/do/0/getPet/foo",
        ),
        (
            "listen-any-until-any-until.yaml",
            "schema::not-allowed",
            "/do/0/callDoctor/listen/to/until/until",
        ),
        (
            "two-tasks-in-one-item.yaml",
            "schema::task-item",
            "/do/0/setMessage",
        ),
    ];
    let docs = documents(&spec, "invalid");
    for (file, code, pointer) in expected {
        let Some((_, doc)) = docs.iter().find(|(name, _)| name == file) else {
            panic!("fixture {file} missing");
        };
        let found = super::check(doc);
        assert_eq!(found.len(), 1, "{file}: {found:#?}");
        assert_eq!(
            (found[0].code, found[0].pointer.as_deref()),
            (code, Some(pointer)),
            "{file}"
        );
    }
}
