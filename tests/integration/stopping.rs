//! Runs that can always be stopped, expressions that cannot crash the process, processes that
//! die with the runner: timeouts and signals during expressions that never end, loops of
//! millions of tasks and `then` cycles; unbounded recursion, values nested thousands deep and
//! runaway memory; `kill -9` of the runner, `setsid` children, resume after a kill.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::procs::{SOON, wait_for};
use crate::support::{BINARY, Ran, document, parse_json, state_dir, tempdir, write};
use serde_json::{Value, json};

const FAULTED: i32 = 1;
const CANCELLED: i32 = 130;

fn flow(dir: &Path, body: &str) -> PathBuf {
    write(
        dir,
        "flow.yaml",
        &document("test", "stopping", "1.0.0", body),
    )
}

fn command(file: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("run")
        .arg(file)
        .args(["--format", "json", "--progress", "none"])
        .args(args)
        .env("WORKFLOW_STATE_DIR", state_dir("stopping"))
        .stdin(Stdio::null());
    command
}

fn run(file: &Path, args: &[&str]) -> Ran {
    let output = command(file, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start workflow: {e}"));
    Ran::from(output)
}

/// The run's `--format json` error, after checking it faulted.
fn fault(ran: &Ran) -> Value {
    assert_eq!(ran.code, FAULTED, "{ran:?}");
    let result = parse_json(&ran.stdout, &ran.stderr);
    assert_eq!(result["status"], "faulted", "{result}");
    result["error"].clone()
}

fn error_type(kind: &str) -> String {
    format!("https://serverlessworkflow.io/spec/1.0.0/errors/{kind}")
}

/// A task that evaluates `expression` (a `set`), after a first task has started.
fn busy_flow(dir: &Path, expression: &str, timeout: &str) -> PathBuf {
    flow(
        dir,
        &format!("{timeout}do:\n  - spin:\n      set:\n        value: '${{ {expression} }}'\n"),
    )
}

#[test]
fn a_task_timeout_stops_an_expression_that_never_ends() {
    let dir = tempdir();
    for expression in [
        "def f: f; f",
        "reduce range(1e12) as $i (0; .+1)",
        "[limit(1; repeat(1) | select(. == 2))]",
    ] {
        let file = flow(
            dir.path(),
            &format!(
                "do:\n  - spin:\n      timeout:\n        after:\n          milliseconds: 200\n      \
                 set:\n        value: '${{ {expression} }}'\n"
            ),
        );
        let started = Instant::now();
        let ran = run(&file, &[]);
        assert!(started.elapsed() < SOON, "{expression} was not stopped");
        let error = fault(&ran);
        assert_eq!(
            error["type"],
            error_type("timeout"),
            "{expression}: {error}"
        );
        assert_eq!(error["instance"], "/do/0/spin", "{error}");
    }
}

#[test]
fn a_workflow_timeout_stops_an_expression_that_never_ends() {
    let dir = tempdir();
    let file = busy_flow(
        dir.path(),
        "[repeat(1)]",
        "timeout:\n  after:\n    milliseconds: 200\n",
    );
    let ran = run(&file, &[]);
    let error = fault(&ran);
    assert_eq!(error["type"], error_type("timeout"), "{error}");
    assert_eq!(error["title"], "Workflow timed out", "{error}");
}

#[test]
fn a_timeout_is_not_caught_as_an_expression_error() {
    // The interrupted expression sits inside a `try` whose catch takes every error: the task's
    // timeout must still win, not the catch.
    let dir = tempdir();
    let file = flow(
        dir.path(),
        r#"do:
  - guarded:
      timeout:
        after:
          milliseconds: 200
      try:
        - spin:
            set:
              value: '${ def f: f; f }'
      catch:
        do:
          - swallowed:
              set:
                caught: true
"#,
    );
    let error = fault(&run(&file, &[]));
    assert_eq!(error["type"], error_type("timeout"), "{error}");
    assert_eq!(error["instance"], "/do/0/guarded", "{error}");
}

#[test]
fn a_loop_over_millions_of_tasks_is_stopped_by_its_timeout() {
    let dir = tempdir();
    let file = flow(
        dir.path(),
        r#"do:
  - loop:
      timeout:
        after:
          milliseconds: 300
      for:
        in: '${ [range(5000000)] }'
      do:
        - one:
            set:
              n: 1
"#,
    );
    let started = Instant::now();
    let ran = run(&file, &["--no-journal"]);
    assert!(started.elapsed() < SOON);
    let error = fault(&ran);
    assert_eq!(error["type"], error_type("timeout"), "{error}");
    assert_eq!(error["instance"], "/do/0/loop", "{error}");
}

#[test]
fn a_then_cycle_is_stopped_by_the_workflow_timeout() {
    let dir = tempdir();
    let file = flow(
        dir.path(),
        r#"timeout:
  after:
    milliseconds: 300
do:
  - first:
      set:
        n: 1
  - second:
      set:
        n: 2
      then: first
"#,
    );
    let error = fault(&run(&file, &["--no-journal"]));
    assert_eq!(error["type"], error_type("timeout"), "{error}");
}

/// Starts `file` in the background with an events file, and waits until task `task` started.
fn start_and_wait(dir: &Path, file: &Path, task: &str) -> Child {
    let events = dir.join("events.jsonl");
    let child = command(file, &["--events"])
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start workflow: {e}"));
    let pointer = format!("/do/0/{task}");
    wait_for(&events, |text| {
        text.lines()
            .any(|line| line.contains("task.started") && line.contains(&pointer))
    });
    child
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: kill(2) on the id of a child we started and have not reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

fn finish(child: Child) -> Ran {
    Ran::from(child.wait_with_output().unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn sigint_and_sigterm_cancel_a_run_busy_in_an_expression() {
    for (expression, sent) in [
        ("reduce range(1e12) as $i (0; .+1)", libc::SIGINT),
        ("def f: f; f", libc::SIGTERM),
    ] {
        let dir = tempdir();
        let file = busy_flow(dir.path(), expression, "");
        let child = start_and_wait(dir.path(), &file, "spin");
        let signalled = Instant::now();
        signal(&child, sent);
        let ran = finish(child);
        assert!(signalled.elapsed() < SOON);
        assert_eq!(ran.code, CANCELLED, "{expression}: {ran:?}");
        let result = parse_json(&ran.stdout, &ran.stderr);
        assert_eq!(result["status"], "cancelled", "{result}");
    }
}

#[test]
fn unbounded_recursion_faults_the_task_instead_of_the_process() {
    let dir = tempdir();
    for expression in ["def f: 1 + f; f", "def f(x): [f(x+1)]; f(0)"] {
        let file = busy_flow(dir.path(), expression, "");
        let ran = run(&file, &[]);
        let error = fault(&ran);
        assert_eq!(error["type"], error_type("expression"), "{error}");
        assert_eq!(error["instance"], "/do/0/spin", "{error}");
        let detail = error["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("recursed too deep"), "{detail}");
    }
}

#[test]
fn values_nested_thousands_deep_fault_the_task_on_every_path() {
    let dir = tempdir();
    let events = dir.path().join("events.jsonl");
    let junit = dir.path().join("junit.xml");
    for expression in [
        "reduce range(20000) as $i (null; [.])",
        "reduce range(200000) as $i (null; {a: .})",
        "reduce range(100000) as $i (null; [.]) | length",
    ] {
        let file = busy_flow(dir.path(), expression, "");
        // The journal, an events file and JUnit: every thread that serialises values.
        let ran = run(
            &file,
            &[
                "--events",
                &events.display().to_string(),
                "--junit",
                &junit.display().to_string(),
            ],
        );
        let error = fault(&ran);
        assert_eq!(
            error["type"],
            error_type("expression"),
            "{expression}: {error}"
        );
        let detail = error["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("levels deep"), "{detail}");
    }
    // Just below the limit is fine.
    let file = busy_flow(dir.path(), "reduce range(900) as $i (0; [.]) | length", "");
    let ran = run(&file, &[]);
    assert_eq!(ran.code, 0, "{ran:?}");
}

#[test]
fn runaway_memory_faults_the_task_under_the_cap() {
    let dir = tempdir();
    let file = busy_flow(dir.path(), "[range(1e9)] | length", "");
    let ran = run(&file, &["--no-journal", "--max-memory", "300"]);
    let error = fault(&ran);
    assert_eq!(error["type"], error_type("expression"), "{error}");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("memory cap of 300 MiB"), "{detail}");
    // The environment variable sets it too; a repeated string is refused before it is built.
    let file = busy_flow(dir.path(), "\"abc\" * 1e12 | length", "");
    let output = command(&file, &["--no-journal"])
        .env("WORKFLOW_MAX_MEMORY", "300")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let error = fault(&Ran::from(output));
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("memory cap"), "{detail}");
}

/// Whether `pid` is a live process (a zombie counts as gone: it runs nothing).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                != Some('Z')
        }
        Err(_) => false,
    }
}

fn pids_in(path: &Path, count: usize) -> Vec<i32> {
    let text = wait_for(path, |text| {
        text.split_whitespace().count() >= count && text.ends_with('\n')
    });
    text.split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

fn all_gone(pids: &[i32]) {
    let deadline = Instant::now() + SOON;
    while pids.iter().any(|&pid| running(pid)) {
        assert!(Instant::now() < deadline, "a process survived: {pids:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn process_flow(dir: &Path, command: &str) -> PathBuf {
    flow(
        dir,
        &format!(
            "do:\n  - spin:\n      run:\n        shell:\n          command: '{command}'\n          \
             arguments: [ '${{ .pids }}' ]\n"
        ),
    )
}

#[test]
fn no_child_outlives_a_runner_killed_with_sigkill() {
    let dir = tempdir();
    let pids = dir.path().join("pids");
    // The shell, a child in its group, and one that left it with setsid.
    let file = process_flow(
        dir.path(),
        r#"sleep 300 & a=$!; setsid sleep 300 & b=$!; echo "$$ $a $b" > "$1"; wait"#,
    );
    let input = json!({"pids": pids}).to_string();
    let mut child = command(&file, &["--input", &input])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pids = pids_in(&pids, 3);
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    child.wait().unwrap_or_else(|e| panic!("{e}"));
    all_gone(&pids);
}

#[test]
fn a_child_that_called_setsid_is_ended_on_sigint() {
    let dir = tempdir();
    let pids = dir.path().join("pids");
    let file = process_flow(
        dir.path(),
        r#"setsid sh -c "trap \"\" TERM; sleep 300" & echo "$$ $!" > "$1"; wait"#,
    );
    let input = json!({"pids": pids}).to_string();
    let events = dir.path().join("events.jsonl");
    let child = command(&file, &["--input", &input, "--events"])
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pids = pids_in(&pids, 2);
    signal(&child, libc::SIGINT);
    let ran = finish(child);
    assert_eq!(ran.code, CANCELLED, "{ran:?}");
    all_gone(&pids);
}

#[test]
fn a_resume_after_sigkill_never_runs_next_to_the_orphan() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let pids = dir.path().join("pids");
    let overlap = dir.path().join("overlap");
    // First attempt: records its background child and blocks. Second attempt (the resume):
    // records whether the first attempt's child still runs (a zombie runs nothing), and
    // finishes.
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - spin:\n      run:\n        shell:\n          command: '{}'\n          \
             arguments: [ '${{ .pids }}', '${{ .overlap }}' ]\n",
            r#"if [ -s "$1" ]; then s=$(cut -d" " -f3 /proc/$(cat "$1")/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && echo "$s" > "$2"; exit 0; fi; sleep 300 & echo $! > "$1"; wait"#
        ),
    );
    let input = json!({"pids": pids, "overlap": overlap}).to_string();
    let mut first = Command::new(BINARY)
        .arg("run")
        .arg(&file)
        .args(["--progress", "none", "--input", &input, "--state-dir"])
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let orphan = pids_in(&pids, 1);
    first.kill().unwrap_or_else(|e| panic!("{e}"));
    first.wait().unwrap_or_else(|e| panic!("{e}"));
    let listed = Command::new(BINARY)
        .args(["runs", "--format", "json", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let runs: Value = serde_json::from_slice(&listed.stdout).unwrap_or_else(|e| panic!("{e}"));
    let id = runs
        .as_array()
        .and_then(|runs| runs.first())
        .and_then(|run| run["id"].as_str())
        .unwrap_or_else(|| panic!("no run listed: {runs}"))
        .to_owned();
    let resumed = Command::new(BINARY)
        .args([
            "resume",
            &id,
            "--progress",
            "none",
            "--format",
            "json",
            "--state-dir",
        ])
        .arg(&state)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumed.status.code(), Some(0), "{resumed:?}");
    assert!(!overlap.exists(), "the resumed step ran next to the orphan");
    all_gone(&orphan);
}
