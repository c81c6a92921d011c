//! `workflow worker --temporal` and `workflow run --temporal` against a real Temporal dev server
//! (one per test): runs spread over two workers survive a `kill -9` of one of them; `wait` and
//! retry backoff are Temporal timers; a faulted run reports the error object a local run does;
//! `--detach` returns at once.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::temporal::{self, document};

const STEPS: [&str; 3] = ["one", "two", "three"];

/// Three shell steps; each appends `RUN STEP WORKER` to `log`, then sleeps.
fn steps_document(log: &str, sleep: &str) -> String {
    let mut text = String::from(
        "document: {dsl: '1.0.0', namespace: test, name: steps, version: '0.1.0'}\ndo:\n",
    );
    for step in STEPS {
        text.push_str(&format!(
            "  - {step}:\n      run:\n        shell:\n          command: 'echo \"$1 {step} \
             $WORKER_NAME\" >> \"$2\"; sleep {sleep}; echo {step}'\n          arguments:\n            \
             - ${{ $workflow.input.n | tostring }}\n            - {log}\n        return: stdout\n"
        ));
    }
    text
}

fn output_of(child: Child) -> (i32, Value, String) {
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn twelve_runs_on_two_workers_survive_a_kill_9_of_one() {
    let Some((server, dir)) = temporal::setup(
        "temporal::twelve_runs_on_two_workers_survive_a_kill_9_of_one",
        &[],
    ) else {
        return;
    };
    let log = dir.path().join("steps.log");
    let log_text = log.display().to_string();
    let file = document(dir.path(), "steps.yaml", &steps_document(&log_text, "1"));
    let mut a = server.worker("fleet", "a");
    let _b = server.worker("fleet", "b");
    let runs: Vec<Child> = (0..12)
        .map(|n| {
            server
                .submit(&file, "fleet", &["--input", &format!("{{\"n\": {n}}}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    // Mid-way: once both workers have run steps, and not all of them are done.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines = text.lines().count();
        if text.contains(" a") && text.contains(" b") && lines >= 8 {
            assert!(lines < 36, "every step ran before the kill:\n{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the workers did not start:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    a.kill();
    for (n, run) in runs.into_iter().enumerate() {
        let (code, json, stderr) = output_of(run);
        assert_eq!(code, 0, "run {n}: {json} {stderr}");
        assert_eq!(json["status"], "completed", "run {n}: {json}");
        assert_eq!(json["output"], "three\n", "run {n}: {json}");
    }
    // Every step of every run is there; a step recorded twice was in flight on the killed
    // worker the first time.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut seen: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        seen.entry((parts[0].to_string(), parts[1].to_string()))
            .or_default()
            .push(parts[2].to_string());
    }
    assert_eq!(seen.len(), 36, "{text}");
    for ((run, step), workers) in &seen {
        let (last, before) = workers.split_last().unwrap_or((&workers[0], &[]));
        assert!(
            before.iter().all(|w| w == "a"),
            "run {run} step {step} ran more than once without a kill: {workers:?}"
        );
        assert!(
            before.is_empty() || last == "b",
            "run {run} step {step}: {workers:?}"
        );
    }
    let workers: Vec<&String> = seen.values().flatten().collect();
    assert!(workers.iter().any(|w| *w == "a"), "{text}");
    assert!(workers.iter().any(|w| *w == "b"), "{text}");
    // Temporal's own CLI agrees.
    let list = server.cli(&["workflow", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    let completed = listed.lines().filter(|l| l.contains("Completed")).count();
    assert_eq!(completed, 12, "{listed}");
}

#[test]
fn a_faulted_run_reports_the_error_object_of_a_local_run() {
    let Some((server, dir)) = temporal::setup(
        "temporal::a_faulted_run_reports_the_error_object_of_a_local_run",
        &[],
    ) else {
        return;
    };
    let file = document(
        dir.path(),
        "fails.yaml",
        "document: {dsl: '1.0.0', namespace: test, name: fails, version: '0.1.0'}\n\
         do:\n  - prepare:\n      set: {ok: true}\n  - broken:\n      run:\n        shell:\n          \
         command: 'echo to stdout; echo cannot go on >&2; exit 3'\n",
    );
    let _worker = server.worker("faults", "a");
    let child = server
        .submit(&file, "faults", &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, remote, stderr) = output_of(child);
    let local = std::process::Command::new(crate::support::BINARY)
        .arg("run")
        .arg(&file)
        .args(["--format", "json", "--progress", "none", "--no-journal"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let local_json: Value = serde_json::from_slice(&local.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, local.status.code().unwrap_or(-1), "{remote} {stderr}");
    assert_eq!(code, 1);
    assert_eq!(remote["status"], "faulted", "{remote}");
    assert_eq!(remote["error"], local_json["error"]);
    // Temporal shows the run failed, not completed.
    let id = remote["id"].as_str().unwrap_or_default();
    let described = server.cli(&["workflow", "describe", "--workflow-id", id]);
    let text = String::from_utf8_lossy(&described.stdout);
    assert!(text.to_lowercase().contains("failed"), "{text}");
}

#[test]
fn wait_and_retry_backoff_are_temporal_timers() {
    let Some((server, dir)) =
        temporal::setup("temporal::wait_and_retry_backoff_are_temporal_timers", &[])
    else {
        return;
    };
    let counter = dir.path().join("attempts");
    let file = document(
        dir.path(),
        "flaky.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: flaky, version: '0.1.0'}}\n\
             do:\n  - pause:\n      wait: PT1S\n  - flaky:\n      try:\n        - attempt:\n            \
             run:\n              shell:\n                command: 'n=$(cat \"$1\" 2>/dev/null || echo 0); \
             n=$((n+1)); echo $n > \"$1\"; echo $n; [ $n -ge 3 ]'\n                arguments: [{}]\n              \
             return: stdout\n      catch:\n        errors:\n          with:\n            status: 500\n        \
             retry:\n          delay: PT1S\n          backoff:\n            exponential: {{}}\n          \
             limit:\n            attempt:\n              count: 5\n",
            counter.display()
        ),
    );
    let _worker = server.worker("timers", "a");
    // Detached first: the id comes back at once, while the run goes on.
    let started = Instant::now();
    let detached = server
        .submit(&file, "timers", &["--detach"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let json: Value = serde_json::from_slice(&detached.stdout).unwrap_or(Value::Null);
    assert_eq!(json["status"], "running", "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    assert!(started.elapsed() < Duration::from_secs(20));
    // `temporal workflow result` waits for it.
    let result = server.cli(&["workflow", "result", "--workflow-id", &id]);
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{text}");
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap_or_default().trim(),
        "3"
    );
    // The wait and the two backoffs (1 s, then 2 s) are timers in the run's history.
    let history = server.cli(&["workflow", "show", "--workflow-id", &id, "--output", "json"]);
    let history = String::from_utf8_lossy(&history.stdout);
    let timers = history.matches("\"timerStartedEventAttributes\"").count();
    assert_eq!(timers, 3, "{history}");
    assert!(
        history.contains("\"startToFireTimeout\": \"1s\""),
        "{history}"
    );
    assert!(
        history.contains("\"startToFireTimeout\": \"2s\""),
        "{history}"
    );
    let activities = history
        .matches("\"activityTaskScheduledEventAttributes\"")
        .count();
    assert_eq!(activities, 3, "one activity per attempt: {history}");
}

#[test]
fn recorded_histories_replay_with_this_build() {
    let Some((server, dir)) =
        temporal::setup("temporal::recorded_histories_replay_with_this_build", &[])
    else {
        return;
    };
    let log = dir.path().join("steps.log");
    let file = document(
        dir.path(),
        "steps.yaml",
        &steps_document(&log.display().to_string(), "0"),
    );
    let _worker = server.worker("replay", "a");
    let ran = server
        .submit(&file, "replay", &["--input", "{\"n\": 1}"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let json: Value = serde_json::from_slice(&ran.stdout).unwrap_or(Value::Null);
    assert_eq!(json["status"], "completed", "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    // The document changes on disk after the run: its history still replays, because the
    // run carries the document it started with.
    std::fs::write(&file, "document: {}\n").unwrap_or_else(|e| panic!("{e}"));
    let replay = |id: &str| {
        std::process::Command::new(crate::support::BINARY)
            .args(["worker", "--temporal", &server.address, "--replay", id])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let replayed = replay(&id);
    let stderr = String::from_utf8_lossy(&replayed.stderr);
    assert!(replayed.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("replayed: run {id}")), "{stderr}");
    // A run that does not exist is not a success.
    assert!(!replay("no-such-run").status.success());
}
