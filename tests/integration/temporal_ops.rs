//! Operating runs on Temporal with our CLI, against a real dev server: `runs show/events/logs
//! --temporal` print what the local commands print for the same document (the workflow's
//! query, answered by a worker replaying the history), `runs --temporal` lists through the
//! visibility API, `cancel` and `retry` act on executions, `schedule` registers a Temporal
//! Schedule, and a worker's secrets never reach Temporal's history.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::temporal::{self, document};

const SAYS: &str = "document: {dsl: '1.0.0', namespace: test, name: says, version: '0.1.0'}\n\
do:\n  - first:\n      run:\n        shell:\n          command: 'echo one; echo three; sleep 0.3; echo two >&2'\n  \
- second:\n      set:\n        done: true\n  - third:\n      run:\n        shell:\n          \
command: 'echo four'\n        return: stdout\n";

fn workflow(args: &[&str]) -> Output {
    std::process::Command::new(crate::support::BINARY)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

/// Polls `check` until it returns `Some`, for at most `bound`.
fn until<T>(bound: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `type` and `subject` of every event line.
fn event_kinds(lines: &str) -> Vec<(String, String)> {
    lines
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            (
                event["type"].as_str().unwrap_or("?").to_string(),
                event["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn runs_show_events_and_logs_match_a_local_run() {
    let Some((server, dir)) = temporal::setup(
        "temporal_ops::runs_show_events_and_logs_match_a_local_run",
        &[],
    ) else {
        return;
    };
    let file = document(dir.path(), "says.yaml", SAYS);
    let mut worker = server.worker("ops", "a");
    let events_file = dir.path().join("remote-events.jsonl");
    let remote = server
        .submit(
            &file,
            "ops",
            &[
                "--input",
                "{\"n\": 1}",
                "--events",
                &events_file.to_string_lossy(),
            ],
        )
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let remote_json = json_of(&remote);
    assert_eq!(
        remote_json["status"],
        "completed",
        "{}",
        text(&remote.stderr)
    );
    let id = remote_json["id"].as_str().unwrap_or_default().to_string();
    // The same document locally, recorded in a journal.
    let state = dir.path().join("state");
    let state = state.to_string_lossy();
    let local = workflow(&[
        "run",
        &file.to_string_lossy(),
        "--input",
        "{\"n\": 1}",
        "--format",
        "json",
        "--progress",
        "none",
        "--state-dir",
        &state,
    ]);
    let local_id = json_of(&local)["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!local_id.is_empty(), "{}", text(&local.stderr));
    let at = ["--temporal", server.address.as_str(), "--task-queue", "ops"];

    // Logs: the same lines, labelled the same way.
    let remote_logs = workflow(&[&["runs", "logs", &id][..], &at[..]].concat());
    let local_logs = workflow(&["runs", "logs", &local_id, "--state-dir", &state]);
    assert!(
        remote_logs.status.success(),
        "{}",
        text(&remote_logs.stderr)
    );
    assert_eq!(text(&remote_logs.stdout), text(&local_logs.stdout));
    assert!(text(&remote_logs.stdout).contains("first stderr | two"));
    let only_third = workflow(&[&["runs", "logs", &id, "third"][..], &at[..]].concat());
    assert_eq!(text(&only_third.stdout), "third | four\n");

    // Events: the same CloudEvents, in the same order, from this run's source.
    let remote_events = workflow(&[&["runs", "events", &id][..], &at[..]].concat());
    let local_events = workflow(&["runs", "events", &local_id, "--state-dir", &state]);
    let remote_lines = text(&remote_events.stdout);
    assert!(!remote_lines.is_empty(), "{}", text(&remote_events.stderr));
    assert_eq!(
        event_kinds(&remote_lines),
        event_kinds(&text(&local_events.stdout))
    );
    assert!(
        remote_lines.contains(&format!("/runs/{id}\"")),
        "{remote_lines}"
    );
    // `run --temporal --events PATH` wrote the same lines while it waited.
    assert_eq!(
        std::fs::read_to_string(&events_file).unwrap_or_default(),
        remote_lines
    );

    // Show: the same run object and task table (times aside).
    let show = |args: &[&str]| {
        let output = workflow(args);
        let mut json = json_of(&output);
        assert!(json.is_object(), "{}", text(&output.stderr));
        for task in json["tasks"].as_array_mut().into_iter().flatten() {
            task["startOffsetMs"] = Value::Null;
            task["durationMs"] = Value::Null;
        }
        for key in ["id", "startedAt", "endedAt", "durationMs", "document"] {
            json[key] = Value::Null;
        }
        json
    };
    let remote_show = show(&[&["runs", "show", &id, "--format", "json"][..], &at[..]].concat());
    let local_show = show(&[
        "runs",
        "show",
        &local_id,
        "--format",
        "json",
        "--state-dir",
        &state,
    ]);
    assert_eq!(remote_show, local_show);
    assert_eq!(remote_show["output"], "four\n");
    let human = workflow(&[&["runs", "show", &id][..], &at[..]].concat());
    let human = text(&human.stdout);
    assert!(
        human.contains(&format!("run {id}  test/says:0.1.0  completed")),
        "{human}"
    );
    assert!(human.contains("third"), "{human}");

    // The list: through the visibility API (which may lag a moment behind).
    let listed = until(Duration::from_secs(30), "the run in the list", || {
        let list = workflow(&[&["runs", "--format", "json"][..], &at[..]].concat());
        let runs = json_of(&list);
        runs.as_array()
            .into_iter()
            .flatten()
            .find(|run| run["id"] == id.as_str())
            .cloned()
    });
    assert_eq!(listed["name"], "says");
    assert_eq!(listed["status"], "completed");
    let faulted = workflow(
        &[
            &["runs", "--format", "json", "--status", "faulted"][..],
            &at[..],
        ]
        .concat(),
    );
    assert_eq!(json_of(&faulted), serde_json::json!([]));
    let named = workflow(
        &[
            &["runs", "--format", "json", "--name", "other"][..],
            &at[..],
        ]
        .concat(),
    );
    assert_eq!(json_of(&named), serde_json::json!([]));

    // Plain progress lines while it waits, drawn from the run's query as a local run draws them.
    let plain = workflow(
        &[
            &[
                "run",
                &file.to_string_lossy(),
                "--progress",
                "plain",
                "--format",
                "json",
            ][..],
            &at[..],
        ]
        .concat(),
    );
    let lines = text(&plain.stderr);
    assert_eq!(json_of(&plain)["status"], "completed", "{lines}");
    for expected in [
        "workflow test/says:0.1.0 started (run ",
        "/do/0/first started",
        "first | one",
        "first stderr | two",
        "/do/2/third completed in ",
        "workflow test/says:0.1.0 completed in ",
    ] {
        assert!(lines.contains(expected), "{expected}: {lines}");
    }

    // No worker: a clear error, not a hang.
    worker.kill();
    let started = Instant::now();
    let orphan = workflow(&[&["runs", "show", &id][..], &at[..]].concat());
    assert_eq!(orphan.status.code(), Some(2));
    let message = text(&orphan.stderr);
    assert!(message.contains("no worker answered"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn cancel_and_retry_act_on_temporal_runs() {
    let Some((server, dir)) =
        temporal::setup("temporal_ops::cancel_and_retry_act_on_temporal_runs", &[])
    else {
        return;
    };
    let marker = dir.path().join("started");
    let slow = document(
        dir.path(),
        "slow.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: slow, version: '0.1.0'}}\n\
             do:\n  - long:\n      run:\n        shell:\n          command: 'touch {}; sleep 60'\n",
            marker.display()
        ),
    );
    let _worker = server.worker("ops", "a");
    let at = ["--temporal", server.address.as_str(), "--task-queue", "ops"];
    let detached = server
        .submit(&slow, "ops", &["--detach"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let id = json_of(&detached)["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    until(Duration::from_secs(60), "the process to start", || {
        marker.exists().then_some(())
    });
    let started = Instant::now();
    let cancelled = workflow(&[&["cancel", &id][..], &at[..]].concat());
    assert!(cancelled.status.success(), "{}", text(&cancelled.stderr));
    until(Duration::from_secs(30), "the run to end cancelled", || {
        let described = server.cli(&["workflow", "describe", "--workflow-id", &id]);
        let out = text(&described.stdout);
        (out.contains("Canceled") || out.contains("CANCELED")).then_some(())
    });
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the sleep was not cancelled"
    );
    let show = workflow(&[&["runs", "show", &id, "--format", "json"][..], &at[..]].concat());
    assert_eq!(
        json_of(&show)["status"],
        "cancelled",
        "{}",
        text(&show.stderr)
    );

    // Retry: a faulted run started again from the document its history carries (the file is
    // gone by then), with the recorded input.
    let counter = dir.path().join("attempts");
    let flaky = document(
        dir.path(),
        "flaky.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: flaky, version: '0.1.0'}}\n\
             do:\n  - attempt:\n      run:\n        shell:\n          command: 'echo x >> {}; \
             [ $(wc -l < {}) -ge 2 ] && echo ${{N}}'\n          environment:\n            N: \
             ${{ $workflow.input.n | tostring }}\n        return: stdout\n",
            counter.display(),
            counter.display()
        ),
    );
    let first = server
        .submit(&flaky, "ops", &["--input", "{\"n\": 7}"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let first_json = json_of(&first);
    assert_eq!(first_json["status"], "faulted", "{}", text(&first.stderr));
    let first_id = first_json["id"].as_str().unwrap_or_default().to_string();
    std::fs::remove_file(&flaky).unwrap_or_else(|e| panic!("{e}"));
    let retried = workflow(
        &[
            &["retry", &first_id, "--format", "json", "--progress", "none"][..],
            &at[..],
        ]
        .concat(),
    );
    let retried_json = json_of(&retried);
    assert_eq!(retried.status.code(), Some(0), "{}", text(&retried.stderr));
    assert_eq!(retried_json["status"], "completed");
    assert_eq!(retried_json["output"], "7\n");
    assert_ne!(retried_json["id"], first_json["id"]);
    // A run that does not exist.
    let missing = workflow(&[&["retry", "no-such-run"][..], &at[..]].concat());
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn a_schedule_starts_runs_until_deleted() {
    let Some((server, dir)) =
        temporal::setup("temporal_ops::a_schedule_starts_runs_until_deleted", &[])
    else {
        return;
    };
    let file = document(
        dir.path(),
        "tick.yaml",
        "document: {dsl: '1.0.0', namespace: test, name: tick, version: '0.1.0'}\n\
         schedule:\n  every: PT1S\ndo:\n  - say:\n      run:\n        shell:\n          command: 'echo tick'\n",
    );
    let _worker = server.worker("ticks", "a");
    let at = [
        "--temporal",
        server.address.as_str(),
        "--task-queue",
        "ticks",
    ];
    let registered = workflow(&[&["schedule", &file.to_string_lossy()][..], &at[..]].concat());
    assert!(registered.status.success(), "{}", text(&registered.stderr));
    let id = json_of(&registered)["schedule"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(id, "workflow.test.tick.0.1.0");
    // Registering again updates it.
    let again = workflow(&[&["schedule", &file.to_string_lossy()][..], &at[..]].concat());
    assert!(again.status.success(), "{}", text(&again.stderr));
    until(
        Duration::from_secs(60),
        "two completed scheduled runs",
        || {
            let list = server.cli(&["workflow", "list"]);
            let listed = text(&list.stdout);
            (listed
                .lines()
                .filter(|l| l.contains("Completed") && l.contains(&id))
                .count()
                >= 2)
                .then_some(())
        },
    );
    // Our list names them by the schedule id they carry (they have no memo).
    let listed = workflow(&[&["runs", "--name", "tick", "--format", "json"][..], &at[..]].concat());
    let runs = json_of(&listed);
    let runs = runs.as_array().cloned().unwrap_or_default();
    assert!(runs.len() >= 2, "{}", text(&listed.stdout));
    assert!(
        runs.iter()
            .all(|run| run["namespace"] == "test" && run["version"] == "0.1.0")
    );
    let deleted = workflow(
        &[
            &["schedule", &file.to_string_lossy(), "--delete"][..],
            &at[..],
        ]
        .concat(),
    );
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let schedules = server.cli(&["schedule", "list"]);
    assert!(
        !text(&schedules.stdout).contains(&id),
        "{}",
        text(&schedules.stdout)
    );
    // `after` is no Temporal Schedule.
    let after = document(
        dir.path(),
        "after.yaml",
        "document: {dsl: '1.0.0', namespace: test, name: after, version: '0.1.0'}\n\
         schedule:\n  after: PT1S\ndo:\n  - say:\n      set: {a: 1}\n",
    );
    let refused = workflow(&[&["schedule", &after.to_string_lossy()][..], &at[..]].concat());
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("workflow serve"));
}

#[test]
fn secrets_stay_on_the_workers() {
    const SECRET: &str = "s3cr3t-Value-4217";
    let Some((server, dir)) = temporal::setup("temporal_ops::secrets_stay_on_the_workers", &[])
    else {
        return;
    };
    let secrets = dir.path().join("secrets.json");
    std::fs::write(&secrets, format!("{{\"token\": \"{SECRET}\"}}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = dir.path().join("seen");
    let file = document(
        dir.path(),
        "secret.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: secret, version: '0.1.0'}}\n\
             use:\n  secrets: [token]\ndo:\n  - use:\n      run:\n        shell:\n          \
             command: 'printf %s \"$TOKEN\" > {}; echo \"token is $TOKEN\"'\n          \
             environment:\n            TOKEN: ${{ $secrets.token }}\n        return: stdout\n",
            seen.display()
        ),
    );
    let _worker = server.worker_with("secret", "a", &["--secrets", &secrets.to_string_lossy()]);
    let json = server.completed(&file, "secret");
    // The process had the value; what is printed has it masked, as locally.
    assert_eq!(std::fs::read_to_string(&seen).unwrap_or_default(), SECRET);
    assert_eq!(json["output"], "token is ***\n");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    let history = server.history_text(&id);
    assert!(
        history.contains("activityTaskCompletedEventAttributes"),
        "{history}"
    );
    // The decoded payloads are searched: the activity's command line is there, its value not.
    assert!(history.contains("token is"), "{history}");
    assert!(
        !history.contains(SECRET),
        "the secret is in the history:\n{history}"
    );
    let at = [
        "--temporal",
        server.address.as_str(),
        "--task-queue",
        "secret",
    ];
    for view in ["logs", "events", "show"] {
        let shown = workflow(&[&["runs", view, &id][..], &at[..]].concat());
        assert!(shown.status.success(), "{}", text(&shown.stderr));
        let shown = text(&shown.stdout);
        assert!(!shown.contains(SECRET), "runs {view}: {shown}");
        assert!(
            shown.contains("***") || view == "show",
            "runs {view}: {shown}"
        );
    }
    // The history replays on a worker with the same files.
    let replayed = workflow(&[
        "worker",
        "--temporal",
        &server.address,
        "--replay",
        &id,
        "--secrets",
        &secrets.to_string_lossy(),
    ]);
    assert!(replayed.status.success(), "{}", text(&replayed.stderr));
}

#[test]
fn a_sub_workflow_is_a_child_workflow() {
    let Some((server, dir)) =
        temporal::setup("temporal_ops::a_sub_workflow_is_a_child_workflow", &[])
    else {
        return;
    };
    std::fs::create_dir(dir.path().join("workflows")).unwrap_or_else(|e| panic!("{e}"));
    document(
        &dir.path().join("workflows"),
        "child.yaml",
        "document: {dsl: '1.0.0', namespace: acme, name: child, version: '1.0.0'}\n\
         do:\n  - hello:\n      run:\n        shell:\n          command: 'echo \"child got $1\"'\n          \
         arguments: ['${ .n | tostring }']\n        return: stdout\n",
    );
    let parent = document(
        dir.path(),
        "parent.yaml",
        "document: {dsl: '1.0.0', namespace: acme, name: parent, version: '1.0.0'}\n\
         do:\n  - prepare:\n      set:\n        n: 21\n  - child:\n      run:\n        workflow:\n          \
         namespace: acme\n          name: child\n          version: '1.0.0'\n          input:\n            \
         n: ${ .n * 2 }\n",
    );
    // The worker finds sub-workflows in `workflows/` of its directory (no caller path there).
    let _worker = server.worker_in("kids", "a", dir.path(), &[]);
    let json = server.completed(&parent, "kids");
    let local = std::process::Command::new(crate::support::BINARY)
        .arg("run")
        .arg(&parent)
        .args(["--format", "json", "--progress", "none", "--no-journal"])
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        json["output"],
        json_of(&local)["output"],
        "{}",
        text(&local.stderr)
    );
    assert_eq!(json["output"], "child got 42\n");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    // Two executions: the parent, and its child named after it.
    let list = server.cli(&["workflow", "list"]);
    let listed = text(&list.stdout);
    let child_id = listed
        .split_whitespace()
        .find(|word| word.starts_with(&format!("{id}-")))
        .unwrap_or_else(|| panic!("no child of {id}:\n{listed}"))
        .to_string();
    assert_eq!(
        listed.lines().filter(|l| l.contains("Completed")).count(),
        2,
        "{listed}"
    );
    let history = |run: &str| {
        let shown = server.cli(&["workflow", "show", "--workflow-id", run, "--output", "json"]);
        text(&shown.stdout)
    };
    let parent_history = history(&id);
    assert!(
        parent_history.contains("startChildWorkflowExecutionInitiatedEventAttributes"),
        "{parent_history}"
    );
    // The parent's one activity is the lookup of the sub-workflow's document.
    assert_eq!(
        parent_history
            .matches("activityTaskScheduledEventAttributes")
            .count(),
        1,
        "{parent_history}"
    );
    let child_history = history(&child_id);
    assert!(child_history.contains("activityTaskScheduledEventAttributes"));
    // Both histories replay with this build, even where the sub-workflow's file is not: its
    // text is the lookup activity's result, in the history.
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for run in [&id, &child_id] {
        let replayed = std::process::Command::new(crate::support::BINARY)
            .args(["worker", "--temporal", &server.address, "--replay", run])
            .current_dir(elsewhere.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(replayed.status.success(), "{}", text(&replayed.stderr));
    }
}
