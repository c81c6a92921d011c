//! End-to-end tests of the `workflow` binary's `run` contract: outputs, formats, events file,
//! inputs, exit codes (by name), cancellation by signal, and every offline bundled workflow.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use workflow::exit_code::ExitCode;

use crate::support::{BINARY, Ran, journaled, json_of, state_dir, tempdir, write};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bundled(name: &str) -> PathBuf {
    root().join("workflows").join(name)
}

/// Runs `workflow run ARGS` (journaled under the target directory, not the repository) and
/// returns (exit code, stdout, stderr).
fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut command = journaled("cli");
    command.arg("run").args(args);
    if let Some(text) = stdin {
        command.write_stdin(text);
    }
    Ran::of(&mut command).parts()
}

fn header(body: &str) -> String {
    format!("document:\n  dsl: '1.0.3'\n  namespace: test\n  name: cli\n  version: '1.0.0'\n{body}")
}

#[test]
fn hello_prints_its_output_as_pretty_json() {
    let file = bundled("hello.yaml");
    let (code, stdout, _) = run(
        &[
            file.to_str().unwrap_or_default(),
            "--input",
            r#"{"name": "Ada"}"#,
        ],
        None,
    );
    assert_eq!(code, ExitCode::Success.code());
    assert_eq!(json_of(&stdout), json!({"greeting": "Hello, Ada!"}));
    assert!(
        stdout.contains("\n  \"greeting\""),
        "pretty-printed: {stdout}"
    );
}

#[test]
fn order_routing_routes_and_faults_on_an_empty_order() {
    let file = bundled("order-routing.yaml");
    let path = file.to_str().unwrap_or_default();
    let input = r#"{"id": "A-17", "amount": 1200, "items": ["desk"]}"#;
    let (code, stdout, _) = run(&[path, "--input", input, "--format", "json"], None);
    assert_eq!(code, ExitCode::Success.code());
    let result = json_of(&stdout);
    assert_eq!(result["status"], "completed");
    assert_eq!(result["output"]["route"], "manual-approval");
    assert_eq!(result["output"]["audited"], true);
    assert!(result["id"].is_string());

    let (code, stdout, _) = run(
        &[
            path,
            "--input",
            r#"{"id": "A-18", "amount": 5}"#,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, ExitCode::Faulted.code());
    let result = json_of(&stdout);
    assert_eq!(result["status"], "faulted");
    assert_eq!(
        result["error"],
        json!({
            "type": "https://serverlessworkflow.io/spec/1.0.0/errors/validation",
            "status": 400,
            "instance": "/do/0/checkItems",
            "title": "Order has no items"
        })
    );
}

#[test]
fn retry_compensate_retries_then_compensates() {
    let file = bundled("retry-compensate.yaml");
    let dir = tempdir();
    let events = dir.path().join("events.jsonl");
    let (code, stdout, _) = run(
        &[
            file.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--events",
            events.to_str().unwrap_or_default(),
        ],
        None,
    );
    assert_eq!(code, ExitCode::Success.code());
    assert_eq!(
        json_of(&stdout)["output"],
        json!({"stock": "released", "charged": false, "reason": "Card declined"})
    );
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    let lines: Vec<Value> = text.lines().map(json_of).collect();
    let retried: Vec<&Value> = lines
        .iter()
        .filter(|e| e["type"] == "io.serverlessworkflow.task.retried.v1")
        .collect();
    assert_eq!(retried.len(), 2, "two failed attempts before success");
    assert_eq!(retried[0]["data"]["task"], "/do/0/reserveStock");
    assert_eq!(retried[1]["data"]["attempt"], 2);
    assert_eq!(retried[1]["data"]["delay"], 0.1);
    assert_eq!(
        lines.first().map(|e| e["type"].clone()),
        Some(json!("io.serverlessworkflow.workflow.started.v1"))
    );
    assert_eq!(
        lines.last().map(|e| e["type"].clone()),
        Some(json!("io.serverlessworkflow.workflow.completed.v1"))
    );
    for event in &lines {
        assert_eq!(event["specversion"], "1.0");
        assert!(event["time"].is_string() && event["id"].is_string());
    }
}

#[test]
fn the_events_file_has_no_live_view_events() {
    let dir = tempdir();
    let body = "do:\n  - each:\n      for:\n        in: ${ [1, 2, 3] }\n      do:\n        \
                - say:\n            run:\n              shell:\n                \
                command: echo working; echo done\n";
    let file = write(dir.path(), "loop.yaml", &header(body));
    let events = dir.path().join("events.jsonl");
    let (code, _, stderr) = run(
        &[
            file.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--events",
            events.to_str().unwrap_or_default(),
        ],
        None,
    );
    assert_eq!(code, ExitCode::Success.code(), "{stderr}");
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    let types: Vec<String> = text
        .lines()
        .map(|line| json_of(line)["type"].as_str().unwrap_or("").to_owned())
        .collect();
    // Workflow started/completed; the loop and three run tasks, each created/started/completed.
    assert_eq!(types.len(), 2 + 4 * 3, "{types:?}");
    assert!(
        types
            .iter()
            .all(|t| !t.contains("iterations") && !t.contains("output")),
        "{types:?}"
    );
}

#[test]
fn data_pipeline_runs_offline_and_writes_its_report() {
    let file = bundled("data-pipeline.yaml");
    let dir = tempdir();
    let input = json!({"reportDir": dir.path()}).to_string();
    let (code, stdout, stderr) = run(
        &[
            file.to_str().unwrap_or_default(),
            "--input",
            &input,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, ExitCode::Success.code(), "{stderr}");
    let output = &json_of(&stdout)["output"];
    assert_eq!(output["stats"]["count"], 4);
    let report = std::fs::read_to_string(dir.path().join("sensor-report.json")).unwrap_or_default();
    assert_eq!(json_of(&report)["count"], 4);
}

#[test]
fn inputs_come_from_files_and_stdin() {
    let dir = tempdir();
    let file = bundled("hello.yaml");
    let path = file.to_str().unwrap_or_default();
    let yaml_input = write(dir.path(), "input.yaml", "name: Grace\n");
    let at = format!("@{}", yaml_input.display());
    let (code, stdout, _) = run(&[path, "--input", &at], None);
    assert_eq!(code, ExitCode::Success.code());
    assert_eq!(json_of(&stdout)["greeting"], "Hello, Grace!");
    let (code, stdout, _) = run(&[path, "--input", "-"], Some(r#"{"name": "Linus"}"#));
    assert_eq!(code, ExitCode::Success.code());
    assert_eq!(json_of(&stdout)["greeting"], "Hello, Linus!");
    let (code, stdout, _) = run(&[path], None);
    assert_eq!(code, ExitCode::Success.code());
    assert_eq!(json_of(&stdout)["greeting"], "Hello, world!");
}

#[test]
fn a_bad_input_is_a_usage_error() {
    let file = bundled("hello.yaml");
    let path = file.to_str().unwrap_or_default();
    let (code, stdout, stderr) = run(&[path, "--input", "{name:"], None);
    assert_eq!(code, ExitCode::Usage.code());
    assert!(stdout.is_empty());
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    let (code, _, stderr) = run(&[path, "--input", "@/nonexistent/input.json"], None);
    assert_eq!(code, ExitCode::Usage.code());
    assert!(stderr.contains("cannot read the input file"), "{stderr}");
}

#[test]
fn an_invalid_document_exits_before_running() {
    let dir = tempdir();
    let broken = write(dir.path(), "broken.yaml", "document: [unclosed\n");
    let (code, stdout, stderr) = run(&[broken.to_str().unwrap_or_default()], None);
    assert_eq!(code, ExitCode::Invalid.code());
    assert!(stdout.is_empty());
    assert!(stderr.contains("yaml::syntax"), "{stderr}");
    let bad_target = write(
        dir.path(),
        "target.yaml",
        &header("do:\n  - a:\n      set: { x: 1 }\n      then: nowhere\n"),
    );
    let (code, _, stderr) = run(
        &[bad_target.to_str().unwrap_or_default(), "--format", "json"],
        None,
    );
    assert_eq!(code, ExitCode::Invalid.code());
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert!(
        stderr.contains("target.yaml:9"),
        "located in the file: {stderr}"
    );
}

#[test]
fn a_fault_is_printed_readably_in_human_format() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "fail.yaml",
        &header(
            "do:\n  - boom:\n      raise:\n        error:\n          type: https://example.com/boom\n          status: 418\n          title: Teapot\n          detail: short and stout\n",
        ),
    );
    let (code, stdout, stderr) = run(&[file.to_str().unwrap_or_default()], None);
    assert_eq!(code, ExitCode::Faulted.code());
    assert!(stdout.is_empty());
    // After the plain lines (the task's fault is one of them), the closing text tells it once:
    // a diagnostic at the task (title, status, detail), its type and instance below.
    let closing = &stderr[stderr.find("✗ test/cli:1.0.0 faulted").unwrap_or(0)..];
    for part in [
        "× Teapot (418)",
        "short and stout",
        "type: https://example.com/boom · instance: /do/0/boom",
    ] {
        assert_eq!(
            closing.matches(part).count(),
            1,
            "{part:?} once in {stderr}"
        );
    }
    assert!(!stderr.contains("help: error type"), "{stderr}");
}

#[test]
fn the_step_budget_is_configurable() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "loop.yaml",
        &header("do:\n  - spin:\n      set: { a: 1 }\n      then: spin\n"),
    );
    let (code, stdout, _) = run(
        &[
            file.to_str().unwrap_or_default(),
            "--max-steps",
            "1000",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, ExitCode::Faulted.code());
    let error = &json_of(&stdout)["error"];
    assert_eq!(error["status"], 500);
    assert_eq!(
        error["detail"],
        "step budget of 1000 tasks exceeded (a `then` loop or a `for` that does not end?)"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_cancels_the_run() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "slow.yaml",
        &header("do:\n  - pause:\n      wait: PT1M\n"),
    );
    let events = dir.path().join("events.jsonl");
    let child = Command::new(BINARY)
        .env("WORKFLOW_STATE_DIR", state_dir("cli"))
        .args([
            "run",
            file.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--events",
        ])
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Wait until the task has started, then ask the process to stop.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&events)
        .unwrap_or_default()
        .contains("task.started")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the task never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(ExitCode::Cancelled.code()));
    let result = json_of(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(result["status"], "cancelled");
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    assert!(
        text.contains("io.serverlessworkflow.task.cancelled.v1"),
        "{text}"
    );
    assert!(
        text.contains("io.serverlessworkflow.workflow.cancelled.v1"),
        "{text}"
    );
}
