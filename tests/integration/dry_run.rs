//! End-to-end tests of `workflow run --dry-run`: the plan is printed, nothing is executed (no file
//! a shell task would write, no events file), and bad documents and inputs fail as a run would.

use std::path::{Path, PathBuf};

use serde_json::Value;
use workflow::exit_code::ExitCode;

use crate::support::{BINARY, Ran, tempdir};

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workflows")
        .join(name)
}

/// Runs `workflow run --dry-run ARGS` and returns (exit code, stdout, stderr).
fn dry_run(args: &[&str]) -> (i32, String, String) {
    Ran::of(
        assert_cmd::Command::new(BINARY)
            .args(["run", "--dry-run", "--color", "never"])
            .args(args),
    )
    .parts()
}

fn path_arg(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// A workflow whose shell task would create `marker` and whose wait would take an hour.
fn side_effect_workflow(dir: &Path, marker: &Path) -> PathBuf {
    let text = format!(
        "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: effects\n  version: '1.0.0'\n\
         do:\n  - touch:\n      run:\n        shell:\n          command: touch '{}'\n  \
         - pause:\n      wait: PT1H\n",
        marker.display()
    );
    let path = dir.join("effects.yaml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

#[test]
fn a_dry_run_prints_the_plan_and_executes_nothing() {
    let dir = tempdir();
    let marker = dir.path().join("created-by-the-shell-task");
    let events = dir.path().join("events.jsonl");
    let file = side_effect_workflow(dir.path(), &marker);
    let (code, stdout, stderr) = dry_run(&[path_arg(&file), "--events", path_arg(&events)]);
    assert_eq!(code, ExitCode::Success.code(), "stderr: {stderr}");
    assert!(!marker.exists(), "the shell task ran during a dry run");
    assert!(!events.exists(), "a dry run wrote an events file");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("plan of test/effects 1.0.0 (2 tasks, nothing executed)")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  touch  run   shell: touch '")),
        "{stdout}"
    );
    assert_eq!(lines.last().copied(), Some("  pause  wait  1h"));
    assert_eq!(stderr, "", "nothing runs, so nothing reports");
}

#[test]
fn the_json_plan_is_one_document() {
    let (code, stdout, _) = dry_run(&[
        path_arg(&bundled("order-routing.yaml")),
        "--format",
        "json",
        "--input",
        r#"{"id": "A", "amount": 5}"#,
    ]);
    assert_eq!(code, ExitCode::Success.code());
    let plan: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(plan["name"], "order-routing");
    let steps = plan["steps"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = steps.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "checkItems",
            "route",
            "needsApproval",
            "autoApprove",
            "audit"
        ]
    );
    assert_eq!(steps[2]["notes"][0], "then → audit");
    assert_eq!(steps[1]["kind"], "switch");
}

#[test]
fn an_invalid_document_exits_3_with_the_validate_diagnostics() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/invalid/flow-unknown-target.yaml");
    let (code, stdout, stderr) = dry_run(&[path_arg(&file)]);
    assert_eq!(code, ExitCode::Invalid.code());
    assert_eq!(stdout, "");
    assert!(stderr.contains("did you mean `process`?"), "{stderr}");
}

#[test]
fn the_input_is_still_checked() {
    let file = bundled("order-routing.yaml");
    let (code, _, stderr) = dry_run(&[path_arg(&file), "--input", r#"{"id": 3}"#]);
    assert_eq!(code, ExitCode::Faulted.code());
    assert!(
        stderr.contains("Workflow input does not match its schema"),
        "{stderr}"
    );
    let (code, stdout, _) = dry_run(&[
        path_arg(&file),
        "--input",
        r#"{"id": 3}"#,
        "--format",
        "json",
    ]);
    assert_eq!(code, ExitCode::Faulted.code());
    let result: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(result["status"], "faulted");
    assert_eq!(result["error"]["status"], 400);
    // Without `--input` there is nothing to check: the plan needs none.
    let (code, stdout, _) = dry_run(&[path_arg(&file)]);
    assert_eq!(code, ExitCode::Success.code());
    assert!(
        stdout.starts_with("plan of examples/order-routing"),
        "{stdout}"
    );
    let (code, _, stderr) = dry_run(&[path_arg(&file), "--input", "{not json"]);
    assert_eq!(code, ExitCode::Usage.code());
    assert!(stderr.contains("not valid JSON"), "{stderr}");
}
