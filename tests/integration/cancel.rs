//! `workflow cancel RUN_ID` on a local run: the process the journal names gets SIGINT (what
//! Ctrl-C sends) and the run ends `cancelled` (exit 130); a run that is not running is refused.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[test]
fn a_local_run_is_cancelled_through_its_journal() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = dir.path().join("state");
    let marker = dir.path().join("started");
    let file = dir.path().join("slow.yaml");
    std::fs::write(
        &file,
        format!(
            "document: {{dsl: '1.0.0', namespace: test, name: slow, version: '0.1.0'}}\n\
             do:\n  - long:\n      run:\n        shell:\n          command: 'touch {}; sleep 60'\n",
            marker.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let workflow = || {
        let mut command = Command::new(crate::support::BINARY);
        command.arg("--color").arg("never");
        command
    };
    let run = workflow()
        .arg("run")
        .arg(&file)
        .args(["--progress", "none", "--format", "json", "--state-dir"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the run never started its task");
        std::thread::sleep(Duration::from_millis(50));
    }
    let listed = workflow()
        .args(["runs", "--format", "json", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let runs: Value = serde_json::from_slice(&listed.stdout).unwrap_or(Value::Null);
    let id = runs[0]["id"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty(), "{runs}");
    let started = Instant::now();
    let cancelled = workflow()
        .args(["cancel", &id, "--state-dir"])
        .arg(&state)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cancelled.status.success(),
        "{}",
        String::from_utf8_lossy(&cancelled.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&cancelled.stdout),
        format!("cancelled: run {id}\n")
    );
    let output = run.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(130));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the sleep ran on"
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert_eq!(json["status"], "cancelled", "{json}");
    // Not running any more: refused, saying why.
    let again = workflow()
        .args(["cancel", &id, "--state-dir"])
        .arg(&state)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.status.code(), Some(2));
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(
        message.contains("is not running: it ended cancelled"),
        "{message}"
    );
}
