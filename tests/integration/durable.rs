//! Durable execution with real processes and real signals: a run of slow shell steps (each
//! counting its executions in a file) is killed with SIGKILL at several points, or cancelled with
//! SIGINT, then resumed; a faulted run is retried from its failed task, and from a chosen task
//! with a new input. Completed steps must run exactly once, the interrupted one at most twice,
//! and the final output must equal that of an uninterrupted run.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{BINARY, tempdir};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/durable");

/// Exit codes of the CLI contract.
const SUCCESS: i32 = 0;
const FAULTED: i32 = 1;
const USAGE: i32 = 2;
const CANCELLED: i32 = 130;

/// A scratch directory with a copy of the workflow, its journal and its counter file.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempdir();
        let source = Path::new(FIXTURES).join("steps.yaml");
        std::fs::copy(&source, dir.path().join("steps.yaml")).unwrap_or_else(|e| panic!("{e}"));
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The workflow command with the step environment; `extra` adds `BLOCK`, `FAIL`, ...
    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .arg("--state-dir")
            .arg(self.path("state"))
            .env("COUNTER", self.path("counter"))
            .env("GATE", self.path("gate"))
            .env("FIXED", self.path("fixed"))
            .env("STEP", Path::new(FIXTURES).join("step.sh"))
            .env_remove("BLOCK")
            .env_remove("FAIL")
            .env_remove("WORKFLOW_STATE_DIR")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        if matches!(args.first(), Some(&("run" | "resume" | "retry")))
            && !args.contains(&"--progress")
        {
            command.args(["--progress", "none"]);
        }
        for (name, value) in extra {
            command.env(name, value);
        }
        command
    }

    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.command(args, extra)
            .output()
            .unwrap_or_else(|e| panic!("cannot start workflow: {e}"))
    }

    /// `run steps.yaml` started in the background, blocking in step `block`.
    fn start_blocked(&self, block: &str) -> Child {
        self.command(
            &[
                "run",
                "steps.yaml",
                "--format",
                "json",
                "--input",
                r#"{"tag": "a"}"#,
            ],
            &[("BLOCK", block)],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start workflow: {e}"))
    }

    /// The step names in the counter file, one per execution.
    fn counted(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("counter"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn count(&self, step: &str) -> usize {
        self.counted().iter().filter(|line| *line == step).count()
    }

    /// Polls the counter file until every one of `steps` has run (no fixed sleeps).
    fn wait_for(&self, steps: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !steps.iter().all(|step| self.count(step) > 0) {
            assert!(
                Instant::now() < deadline,
                "waited a minute for {steps:?}, the counter holds {:?}",
                self.counted()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn open_gate(&self) {
        std::fs::write(self.path("gate"), "").unwrap_or_else(|e| panic!("{e}"));
    }

    /// The id of the only run recorded so far.
    fn only_run_id(&self) -> String {
        let output = self.run(&["runs", "--format", "json"], &[]);
        let runs = json(&output);
        let ids: Vec<&str> = runs
            .as_array()
            .map(|runs| runs.iter().filter_map(|r| r["id"].as_str()).collect())
            .unwrap_or_default();
        match ids.as_slice() {
            [id] => (*id).to_owned(),
            other => panic!("expected one recorded run, found {other:?}"),
        }
    }

    fn run_record(&self, id: &str) -> Value {
        let output = self.run(&["runs", "--format", "json", "--limit", "0"], &[]);
        json(&output)
            .as_array()
            .and_then(|runs| runs.iter().find(|r| r["id"] == id).cloned())
            .unwrap_or_else(|| panic!("run {id} is not listed"))
    }
}

fn json(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The output of a run that nothing interrupts, in a scratch directory of its own.
fn uninterrupted_output() -> Value {
    let scratch = Scratch::new();
    let output = scratch.run(
        &[
            "run",
            "steps.yaml",
            "--format",
            "json",
            "--input",
            r#"{"tag": "a"}"#,
        ],
        &[],
    );
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    json(&output)["output"].clone()
}

const ALL_STEPS: [&str; 9] = [
    "one", "two", "item1", "item2", "item3", "left1", "left2", "right", "last",
];

/// Kills the run with SIGKILL once `seen` have all run (`block` is in flight), resumes it and
/// checks the counts: `in_flight` steps at most twice, every other step exactly once.
fn kill_and_resume(block: &str, seen: &[&str], in_flight: &[&str]) {
    let scratch = Scratch::new();
    let mut child = scratch.start_blocked(block);
    scratch.wait_for(seen);
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), None, "killed by a signal");
    scratch.open_gate();
    let id = scratch.only_run_id();
    assert_eq!(scratch.run_record(&id)["interrupted"], true);

    let output = scratch.run(&["resume", &id, "--format", "json"], &[]);
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    let result = json(&output);
    assert_eq!(result["id"], id.as_str(), "a resume keeps the run's id");
    assert_eq!(result["status"], "completed");
    assert_eq!(result["output"], uninterrupted_output());
    for step in ALL_STEPS {
        let count = scratch.count(step);
        if in_flight.contains(&step) {
            assert!((1..=2).contains(&count), "{step} ran {count} times");
        } else {
            assert_eq!(
                count,
                1,
                "{step} ran {count} times: {:?}",
                scratch.counted()
            );
        }
    }
    assert_eq!(scratch.run_record(&id)["status"], "completed");
}

#[test]
fn a_run_killed_in_a_top_level_task_resumes_where_it_stopped() {
    kill_and_resume("two", &["two"], &["two"]);
}

#[test]
fn a_run_killed_inside_a_for_resumes_in_the_same_iteration() {
    kill_and_resume("item2", &["item2"], &["item2"]);
}

#[test]
fn a_run_killed_inside_a_fork_keeps_the_completed_branch_work() {
    // `left2` appears once `left1` completed durably; `right` blocks.
    kill_and_resume("right", &["right", "left2"], &["right", "left2"]);
}

#[test]
fn a_cancelled_run_resumes() {
    let scratch = Scratch::new();
    let child = scratch.start_blocked("item1");
    scratch.wait_for(&["item1"]);
    let pid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code(&output), Some(CANCELLED));
    let id = scratch.only_run_id();
    assert_eq!(scratch.run_record(&id)["status"], "cancelled");
    scratch.open_gate();

    let output = scratch.run(&["resume", &id, "--format", "json"], &[]);
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    assert_eq!(json(&output)["output"], uninterrupted_output());
    assert_eq!((scratch.count("one"), scratch.count("two")), (1, 1));
    assert!((1..=2).contains(&scratch.count("item1")));
    assert_eq!(scratch.count("last"), 1);

    // A completed run is not resumed again.
    let again = scratch.run(&["resume", &id], &[]);
    assert_eq!(code(&again), Some(USAGE));
    assert!(
        stderr(&again).contains("already completed"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_changed_document_is_refused_unless_forced() {
    let scratch = Scratch::new();
    let mut child = scratch.start_blocked("item3");
    scratch.wait_for(&["item3"]);
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    child.wait().unwrap_or_else(|e| panic!("{e}"));
    scratch.open_gate();
    let id = scratch.only_run_id();
    let document = scratch.path("steps.yaml");
    let mut text = std::fs::read_to_string(&document).unwrap_or_default();
    text.push_str("# edited after the run started\n");
    std::fs::write(&document, text).unwrap_or_else(|e| panic!("{e}"));

    let refused = scratch.run(&["resume", &id], &[]);
    assert_eq!(code(&refused), Some(USAGE));
    let message = stderr(&refused);
    assert!(message.contains("changed since run"), "{message}");
    assert!(message.contains("--force"), "{message}");
    assert_eq!(scratch.count("last"), 0, "nothing ran");

    let forced = scratch.run(&["resume", &id, "--force", "--format", "json"], &[]);
    assert_eq!(code(&forced), Some(SUCCESS), "{}", stderr(&forced));
    assert_eq!(json(&forced)["output"], uninterrupted_output());
    assert_eq!(scratch.count("item2"), 1);
}

#[test]
fn a_faulted_run_is_retried_from_its_failed_task() {
    let scratch = Scratch::new();
    let fail = [("FAIL", "item2")];
    let args = [
        "run",
        "steps.yaml",
        "--format",
        "json",
        "--input",
        r#"{"tag": "a"}"#,
    ];
    let output = scratch.run(&args, &fail);
    assert_eq!(code(&output), Some(FAULTED), "{}", stderr(&output));
    let failed = json(&output);
    assert_eq!(failed["error"]["instance"], "/do/2/each/do/0/item");
    let id = failed["id"].as_str().unwrap_or_default().to_owned();

    // A faulted run is retried, not resumed.
    let resume = scratch.run(&["resume", &id], &fail);
    assert_eq!(code(&resume), Some(USAGE));
    assert!(
        stderr(&resume).contains("workflow retry"),
        "{}",
        stderr(&resume)
    );

    // Fix the cause, then retry: only the failed task and what follows run.
    std::fs::write(scratch.path("fixed"), "").unwrap_or_else(|e| panic!("{e}"));
    let output = scratch.run(&["retry", &id, "--format", "json"], &fail);
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    let retried = json(&output);
    assert_ne!(retried["id"], id.as_str(), "a retry is a new run");
    assert_eq!(retried["output"], uninterrupted_output());
    let counts: Vec<usize> = ALL_STEPS.iter().map(|s| scratch.count(s)).collect();
    // one two item1 item2 item3 left1 left2 right last
    assert_eq!(counts, [1, 1, 1, 2, 1, 1, 1, 1, 1]);
    let record = scratch.run_record(retried["id"].as_str().unwrap_or_default());
    assert_eq!(record["parent"]["id"], id.as_str());
    assert_eq!(record["parent"]["relation"], "retry");
}

#[test]
fn a_retry_from_a_chosen_task_takes_a_new_input() {
    let scratch = Scratch::new();
    let args = [
        "run",
        "steps.yaml",
        "--format",
        "json",
        "--input",
        r#"{"tag": "a"}"#,
    ];
    let output = scratch.run(&args, &[]);
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    let id = json(&output)["id"].as_str().unwrap_or_default().to_owned();

    let output = scratch.run(
        &[
            "retry",
            &id,
            "--from",
            "last",
            "--input",
            r#"{"tag": "b"}"#,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    let result = json(&output);
    assert_eq!(result["output"]["tag"], "b", "the new input");
    assert_eq!(
        result["output"]["context"]["two"], "two\n",
        "the replayed context"
    );
    assert_eq!(scratch.count("last"), 2);
    assert_eq!(scratch.count("item2"), 1, "reused, not run again");

    // An unknown task is refused with a suggestion; nothing runs.
    let output = scratch.run(&["retry", &id, "--from", "lats"], &[]);
    assert_eq!(code(&output), Some(USAGE));
    assert!(
        stderr(&output).contains("did you mean `last`?"),
        "{}",
        stderr(&output)
    );
    assert_eq!(scratch.count("last"), 2);
}

#[test]
fn context_changes_stay_in_the_journal() {
    let scratch = Scratch::new();
    let events = scratch.path("events.jsonl");
    let events_arg = events.to_string_lossy().into_owned();
    let output = scratch.run(
        &[
            "run",
            "steps.yaml",
            "--format",
            "json",
            "--events",
            &events_arg,
        ],
        &[],
    );
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    let id = json(&output)["id"].as_str().unwrap_or_default().to_owned();
    let written = std::fs::read_to_string(&events).unwrap_or_default();
    let listed = scratch.run(&["runs", "events", &id], &[]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    for text in [&written, &listed] {
        assert!(text.contains("task.completed.v1"), "{text}");
        assert!(!text.contains("contextChanged"), "{text}");
    }
    // The switch-free run has nothing to say about where the flow went.
    assert!(!written.contains(r#""then""#), "{written}");
}

#[test]
fn an_unknown_run_is_a_clear_error() {
    let scratch = Scratch::new();
    let output = scratch.run(&["run", "steps.yaml"], &[]);
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    for command in ["resume", "retry"] {
        let output = scratch.run(&[command, "no-such-run"], &[]);
        assert_eq!(code(&output), Some(USAGE));
        assert!(
            stderr(&output).contains("no run `no-such-run`"),
            "{}",
            stderr(&output)
        );
    }
    // A document that is gone is named.
    let id = scratch.only_run_id();
    std::fs::remove_file(scratch.path("steps.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let output = scratch.run(&["retry", &id, "--from", "one"], &[]);
    assert_eq!(code(&output), Some(USAGE));
    let message = stderr(&output);
    assert!(
        message.contains("cannot read the document of run"),
        "{message}"
    );
    assert!(message.contains("steps.yaml"), "{message}");
}

/// The ids `runs --status STATUS` lists.
fn listed(scratch: &Scratch, status: &str) -> Vec<String> {
    let output = scratch.run(&["runs", "--status", status, "--format", "json"], &[]);
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    json(&output)
        .as_array()
        .map(|runs| {
            runs.iter()
                .filter_map(|run| run["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn runs_status_tells_running_from_interrupted() {
    let scratch = Scratch::new();
    let mut killed = scratch.start_blocked("one");
    scratch.wait_for(&["one"]);
    let interrupted = scratch.only_run_id();
    killed.kill().unwrap_or_else(|e| panic!("{e}"));
    killed.wait().unwrap_or_else(|e| panic!("{e}"));
    let completed = scratch.run(&["run", "steps.yaml", "--format", "json"], &[]);
    assert_eq!(code(&completed), Some(SUCCESS), "{}", stderr(&completed));
    let completed = json(&completed)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The completed run ran `two` once; the third run blocks in it, alive.
    let live = scratch.start_blocked("two");
    let deadline = Instant::now() + Duration::from_secs(60);
    while scratch.count("two") < 2 {
        assert!(Instant::now() < deadline, "{:?}", scratch.counted());
        std::thread::sleep(Duration::from_millis(20));
    }

    let all = listed(&scratch, "running")
        .into_iter()
        .chain(listed(&scratch, "interrupted"))
        .chain(listed(&scratch, "completed"))
        .collect::<Vec<_>>();
    let running = listed(&scratch, "running");
    assert_eq!(running.len(), 1, "{all:?}");
    assert_ne!(running[0], interrupted);
    assert_ne!(running[0], completed);
    assert_eq!(listed(&scratch, "interrupted"), [interrupted.as_str()]);
    assert_eq!(listed(&scratch, "completed"), [completed]);
    assert!(listed(&scratch, "faulted").is_empty());
    assert!(listed(&scratch, "cancelled").is_empty());
    let table = scratch.run(&["runs", "--status", "interrupted"], &[]);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains(&interrupted), "{table}");
    assert!(table.contains("interrupted"), "{table}");
    assert_eq!(table.lines().count(), 2, "a header and one run: {table}");

    scratch.open_gate();
    let output = live.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code(&output), Some(SUCCESS));
    assert_eq!(listed(&scratch, "completed").len(), 2);
    assert!(listed(&scratch, "running").is_empty());
}

#[test]
fn a_resume_shows_replayed_steps_as_replayed() {
    let scratch = Scratch::new();
    let mut child = scratch.start_blocked("item2");
    scratch.wait_for(&["item2"]);
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    child.wait().unwrap_or_else(|e| panic!("{e}"));
    scratch.open_gate();
    let id = scratch.only_run_id();
    let junit = scratch.path("resume.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let output = scratch.run(
        &[
            "resume",
            &id,
            "--format",
            "json",
            "--progress",
            "plain",
            "--junit",
            &junit_arg,
        ],
        &[],
    );
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    assert_eq!(json(&output)["status"], "completed");
    let lines = stderr(&output);
    // Every plain line starts with a time stamp; compare what follows it.
    let told = |line: &str| lines.lines().any(|l| l.get(13..) == Some(line));
    for replayed in ["/do/0/one", "/do/1/two", "/do/2/each/do/0/item [0]"] {
        let line = format!("{replayed} replayed from the journal");
        assert!(told(&line), "{line}:\n{lines}");
        assert!(!told(&format!("{replayed} started")), "{lines}");
    }
    for executed in ["/do/2/each/do/0/item [1]", "/do/2/each", "/do/4/last"] {
        let completed = lines.lines().any(|l| {
            l.get(13..)
                .is_some_and(|rest| rest.starts_with(&format!("{executed} completed in ")))
        });
        assert!(completed, "{executed}:\n{lines}");
    }

    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("{e}"));
    let skipped_cases = xml
        .split("<testcase ")
        .filter(|case| case.contains("<skipped message=\"replayed from the journal"))
        .filter_map(|case| case.split('"').nth(3))
        .collect::<Vec<_>>();
    assert_eq!(skipped_cases, ["one", "two", "each/item [0]"], "{xml}");
    assert!(
        xml.contains("<skipped message=\"replayed from the journal"),
        "{xml}"
    );
}

#[test]
fn a_retry_summary_counts_the_reused_steps() {
    let scratch = Scratch::new();
    let fail = [("FAIL", "item2")];
    let output = scratch.run(&["run", "steps.yaml", "--format", "json"], &fail);
    assert_eq!(code(&output), Some(FAULTED), "{}", stderr(&output));
    let id = json(&output)["id"].as_str().unwrap_or_default().to_owned();
    std::fs::write(scratch.path("fixed"), "").unwrap_or_else(|e| panic!("{e}"));
    let output = scratch.run(&["retry", &id, "--progress", "plain"], &fail);
    assert_eq!(code(&output), Some(SUCCESS), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("/do/2/each/do/0/item [0] replayed from the journal\n"),
        "{text}"
    );
    let tasks = text
        .lines()
        .find(|line| line.trim_start().starts_with("tasks:"))
        .unwrap_or_default();
    // Executed: item 2 and 3, each, left1, left2, left, right, pair, last.
    assert_eq!(tasks.trim(), "tasks: 9 run · 3 replayed", "{text}");
}
