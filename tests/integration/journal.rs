//! The run journal through the real binary: runs are recorded and listed, shown, replayed as
//! CloudEvents and pruned; concurrent runs share one state directory; a damaged, foreign, newer
//! or unwritable journal stops a run with a clear error and is left untouched; `graph --run`
//! colours tasks by what happened to them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use workflow::exit_code::ExitCode;

use crate::support::{BINARY, Ran, document, tempdir, write};

/// A scratch directory holding the documents and the state directory of one test.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch { dir: tempdir() }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn write(&self, name: &str, body: &str) -> PathBuf {
        let text = document("test", name.trim_end_matches(".yaml"), "1.0.0", body);
        write(self.dir.path(), name, &text)
    }

    /// `workflow ARGS --state-dir STATE`, run in the scratch directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .arg("--state-dir")
            .arg(self.state())
            .current_dir(self.dir.path())
            .env_remove("WORKFLOW_STATE_DIR")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Ran {
        let output = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        Ran::from(output)
    }

    /// `run FILE --format json --progress none`: the run's result object.
    fn run_json(&self, file: &Path, extra: &[&str]) -> Value {
        let mut args = vec![
            "run",
            file.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--progress",
            "none",
        ];
        args.extend_from_slice(extra);
        self.run(&args).json()
    }

    fn runs_json(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["runs", "--format", "json"];
        args.extend_from_slice(extra);
        let output = self.run(&args);
        assert_eq!(output.code, ExitCode::Success.code(), "{}", output.stderr);
        let list = output.json();
        list.as_array().cloned().unwrap_or_default()
    }

    fn database(&self) -> PathBuf {
        self.state().join("journal.db")
    }
}

const GREET: &str = "do:\n  - greet:\n      set:\n        message: ${ \"hi \" + .name }\n";

const MIXED: &str = "do:\n  - first:\n      set: {a: 1}\n  - maybe:\n      if: ${ false }\n      \
                     set: {b: 2}\n  - boom:\n      raise:\n        error:\n          type: \
                     https://example.com/errors/boom\n          status: 500\n          title: \
                     Boom\n  - never:\n      set: {c: 3}\n";

fn looping(count: usize) -> String {
    format!(
        "do:\n  - sum:\n      for:\n        in: ${{ [range({count})] }}\n      do:\n        - \
         add:\n            set:\n              n: ${{ $item }}\n"
    )
}

#[test]
fn a_run_is_recorded_listed_and_shown() {
    let scratch = Scratch::new();
    let file = scratch.write("greet.yaml", GREET);
    let result = scratch.run_json(&file, &["--input", r#"{"name": "Ada"}"#]);
    assert_eq!(result["status"], "completed");
    let id = result["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(id.len(), 36, "{result}");

    let runs = scratch.runs_json(&[]);
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["id"], id.as_str());
    assert_eq!(run["name"], "greet");
    assert_eq!(run["status"], "completed");
    assert_eq!(run["input"]["name"], "Ada");
    assert_eq!(run["output"]["message"], "hi Ada");
    assert_eq!(run["document"]["sha256"].as_str().map(str::len), Some(64));

    let table = scratch.run(&["runs"]);
    assert_eq!(table.code, ExitCode::Success.code(), "{}", table.stderr);
    assert!(table.stdout.starts_with("ID "), "{}", table.stdout);
    assert!(table.stdout.contains(&id), "{}", table.stdout);
    assert!(
        table.stdout.contains("test/greet:1.0.0  completed"),
        "{}",
        table.stdout
    );

    // A unique prefix is enough.
    let show = scratch.run(&["runs", "show", &id[..30]]);
    assert_eq!(show.code, ExitCode::Success.code(), "{}", show.stderr);
    assert!(
        show.stdout.contains(&format!("run {id}")),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("/do/0/greet  completed"),
        "{}",
        show.stdout
    );
    let shown = scratch.run(&["runs", "show", &id, "--format", "json"]);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap_or_default();
    assert_eq!(shown["tasks"][0]["task"], "/do/0/greet");
    assert_eq!(shown["tasks"][0]["status"], "completed");
    assert_eq!(shown["tasks"][0]["attempts"], 1);

    let missing = scratch.run(&["runs", "show", "no-such-run"]);
    assert_eq!(missing.code, ExitCode::Usage.code());
    assert!(
        missing.stderr.contains("no run `no-such-run`"),
        "{}",
        missing.stderr
    );
}

#[test]
fn recorded_events_equal_the_events_file() {
    let scratch = Scratch::new();
    let file = scratch.write("mixed.yaml", MIXED);
    let events_file = scratch.dir.path().join("events.jsonl");
    let result = scratch.run_json(
        &file,
        &["--events", events_file.to_str().unwrap_or_default()],
    );
    assert_eq!(result["status"], "faulted");
    let id = result["id"].as_str().unwrap_or_default();
    let replayed = scratch.run(&["runs", "events", id]);
    assert_eq!(
        replayed.code,
        ExitCode::Success.code(),
        "{}",
        replayed.stderr
    );
    let written = std::fs::read_to_string(&events_file).unwrap_or_default();
    assert!(written.lines().count() >= 10, "{written}");
    assert_eq!(replayed.stdout, written);
}

#[test]
fn filters_and_prune() {
    let scratch = Scratch::new();
    let greet = scratch.write("greet.yaml", GREET);
    let mixed = scratch.write("mixed.yaml", MIXED);
    scratch.run_json(&greet, &["--input", r#"{"name": "A"}"#]);
    scratch.run_json(&mixed, &[]);
    scratch.run_json(&greet, &["--input", r#"{"name": "B"}"#]);
    assert_eq!(scratch.runs_json(&[]).len(), 3);
    let greets = scratch.runs_json(&["--name", "greet"]);
    assert_eq!(greets.len(), 2);
    // Newest first.
    assert_eq!(greets[0]["input"]["name"], "B");
    let faulted = scratch.runs_json(&["--status", "faulted"]);
    assert_eq!(faulted.len(), 1);
    assert_eq!(faulted[0]["name"], "mixed");
    assert_eq!(faulted[0]["error"]["title"], "Boom");
    assert_eq!(scratch.runs_json(&["--limit", "1"]).len(), 1);

    let kept = scratch.run(&["runs", "prune", "--older-than", "30d"]);
    assert_eq!(kept.code, ExitCode::Success.code(), "{}", kept.stderr);
    assert!(kept.stdout.contains("pruned 0 runs"), "{}", kept.stdout);
    let pruned = scratch.run(&["runs", "prune", "--older-than", "0s"]);
    assert!(pruned.stdout.contains("pruned 3 runs"), "{}", pruned.stdout);
    assert!(scratch.runs_json(&[]).is_empty());
    let bad = scratch.run(&["runs", "prune", "--older-than", "a week"]);
    assert_eq!(bad.code, ExitCode::Usage.code());
    assert!(bad.stderr.contains("is not an age"), "{}", bad.stderr);
}

#[test]
fn an_empty_state_directory_lists_nothing_and_creates_nothing() {
    let scratch = Scratch::new();
    assert!(scratch.runs_json(&[]).is_empty());
    let table = scratch.run(&["runs"]);
    assert_eq!(table.code, ExitCode::Success.code());
    assert!(
        table.stderr.contains("no runs recorded"),
        "{}",
        table.stderr
    );
    assert!(!scratch.state().exists());
}

#[test]
fn no_journal_records_nothing() {
    let scratch = Scratch::new();
    let file = scratch.write("greet.yaml", GREET);
    let result = scratch.run_json(&file, &["--no-journal"]);
    assert_eq!(result["status"], "completed");
    assert!(!scratch.state().exists());
}

#[test]
fn the_environment_names_the_state_directory() {
    let scratch = Scratch::new();
    let file = scratch.write("greet.yaml", GREET);
    let elsewhere = scratch.dir.path().join("from-env");
    let output = Command::new(BINARY)
        .args([
            "run",
            file.to_str().unwrap_or_default(),
            "--progress",
            "none",
        ])
        .env("WORKFLOW_STATE_DIR", &elsewhere)
        .current_dir(scratch.dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(output.status.success());
    assert!(elsewhere.join("journal.db").exists());
    // Without flag or variable, `.workflow/` in the current directory.
    let output = Command::new(BINARY)
        .args([
            "run",
            file.to_str().unwrap_or_default(),
            "--progress",
            "none",
        ])
        .env_remove("WORKFLOW_STATE_DIR")
        .current_dir(scratch.dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(output.status.success());
    assert!(scratch.dir.path().join(".workflow/journal.db").exists());
}

#[test]
fn two_concurrent_runs_share_one_state_directory() {
    let scratch = Scratch::new();
    let one = scratch.write("one.yaml", &looping(3000));
    let two = scratch.write("two.yaml", &looping(3000));
    let spawn = |file: &Path| {
        scratch
            .command(&[
                "run",
                file.to_str().unwrap_or_default(),
                "--format",
                "json",
                "--progress",
                "none",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let children = [spawn(&one), spawn(&two)];
    for child in children {
        let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let runs = scratch.runs_json(&[]);
    let mut names: Vec<_> = runs
        .iter()
        .map(|run| {
            (
                run["name"].as_str().unwrap_or("").to_string(),
                run["status"].clone(),
            )
        })
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            ("one".to_string(), Value::from("completed")),
            ("two".to_string(), Value::from("completed"))
        ]
    );
    // Every event of both runs is there: 3 per iteration, 3 for the loop, 2 for the workflow.
    for run in &runs {
        let events = scratch.run(&["runs", "events", run["id"].as_str().unwrap_or_default()]);
        assert_eq!(events.stdout.lines().count(), 3 * 3000 + 3 + 2);
    }
}

/// Runs until the state directory holds a journal of several hundred KiB.
fn a_journal(scratch: &Scratch) -> Vec<u8> {
    let file = scratch.write("loop.yaml", &looping(2000));
    assert_eq!(scratch.run_json(&file, &[])["status"], "completed");
    let bytes = std::fs::read(scratch.database()).unwrap_or_default();
    assert!(bytes.len() > 100_000, "{}", bytes.len());
    bytes
}

#[test]
fn a_truncated_journal_stops_the_run_and_is_left_untouched() {
    let scratch = Scratch::new();
    let bytes = a_journal(&scratch);
    let half = bytes.get(..bytes.len() / 2).unwrap_or_default().to_vec();
    std::fs::write(scratch.database(), &half).unwrap_or_else(|e| panic!("{e}"));
    let file = scratch.write("greet.yaml", GREET);
    let output = scratch.run(&["run", file.to_str().unwrap_or_default()]);
    assert_eq!(output.code, ExitCode::Usage.code(), "{}", output.stderr);
    assert!(output.stderr.contains("is damaged"), "{}", output.stderr);
    assert!(output.stderr.contains("journal.db"), "{}", output.stderr);
    assert!(
        output.stdout.is_empty(),
        "the workflow must not run: {}",
        output.stdout
    );
    assert_eq!(std::fs::read(scratch.database()).unwrap_or_default(), half);
    let listed = scratch.run(&["runs"]);
    assert_eq!(listed.code, ExitCode::Usage.code());
    assert!(listed.stderr.contains("is damaged"), "{}", listed.stderr);
}

#[test]
fn a_file_that_is_not_a_journal_is_refused() {
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.state()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(scratch.database(), "precious notes\n").unwrap_or_else(|e| panic!("{e}"));
    let file = scratch.write("greet.yaml", GREET);
    let output = scratch.run(&["run", file.to_str().unwrap_or_default()]);
    assert_eq!(output.code, ExitCode::Usage.code());
    assert!(
        output.stderr.contains("is not a SQLite database"),
        "{}",
        output.stderr
    );
    assert_eq!(
        std::fs::read_to_string(scratch.database()).ok().as_deref(),
        Some("precious notes\n")
    );
}

#[test]
fn a_journal_from_a_newer_version_is_refused() {
    let scratch = Scratch::new();
    a_journal(&scratch);
    {
        let connection =
            rusqlite::Connection::open(scratch.database()).unwrap_or_else(|e| panic!("{e}"));
        connection
            .pragma_update(None, "user_version", 99)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = std::fs::read(scratch.database()).unwrap_or_default();
    let file = scratch.write("greet.yaml", GREET);
    let output = scratch.run(&["run", file.to_str().unwrap_or_default()]);
    assert_eq!(output.code, ExitCode::Usage.code(), "{}", output.stderr);
    assert!(
        output.stderr.contains("newer workflow"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("version 99"), "{}", output.stderr);
    assert_eq!(
        std::fs::read(scratch.database()).unwrap_or_default(),
        before
    );
}

#[cfg(unix)]
#[test]
fn an_unwritable_state_directory_advises_no_journal() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    let file = scratch.write("greet.yaml", GREET);
    std::fs::create_dir_all(scratch.state()).unwrap_or_else(|e| panic!("{e}"));
    let set_mode = |mode: u32| {
        std::fs::set_permissions(scratch.state(), std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"));
    };
    set_mode(0o555);
    // Permissions do not stop root: then a state directory that cannot exist (below a plain
    // file) stands in for an unwritable one.
    let probe = scratch.state().join("probe");
    let mut state_dir = scratch.state();
    if std::fs::write(&probe, "x").is_ok() {
        println!("note: permissions are not enforced for this user; using a path below a file");
        let _ = std::fs::remove_file(&probe);
        let blocker = scratch.dir.path().join("a-file");
        std::fs::write(&blocker, "x").unwrap_or_else(|e| panic!("{e}"));
        state_dir = blocker.join("state");
    }
    let run = |extra: &[&str]| {
        let output = Command::new(BINARY)
            .args(["run", file.to_str().unwrap_or_default(), "--format", "json"])
            .args(extra)
            .arg("--state-dir")
            .arg(&state_dir)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, ExitCode::Usage.code(), "{stderr}");
    assert!(stderr.contains("--no-journal"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let (code, stdout, stderr) = run(&["--no-journal"]);
    assert_eq!(code, ExitCode::Success.code(), "{stderr}");
    assert!(stdout.contains("\"completed\""), "{stdout}");
    set_mode(0o755);
}

#[test]
fn graph_colours_the_tasks_of_a_run() {
    let scratch = Scratch::new();
    let file = scratch.write("mixed.yaml", MIXED);
    let result = scratch.run_json(&file, &[]);
    let id = result["id"].as_str().unwrap_or_default();
    let path = file.to_str().unwrap_or_default();
    let mermaid = scratch.run(&["graph", path, "--run", id]);
    assert_eq!(mermaid.code, ExitCode::Success.code(), "{}", mermaid.stderr);
    for line in [
        "    class t_do_0_first completed\n",
        "    class t_do_1_maybe skipped\n",
        "    class t_do_2_boom faulted\n",
        "    class t_do_3_never notreached\n",
        "    classDef faulted fill:#fde2e2",
    ] {
        assert!(mermaid.stdout.contains(line), "{line}: {}", mermaid.stdout);
    }
    let dot = scratch.run(&["graph", path, "--run", id, "--format", "dot"]);
    let boom = dot
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("\"t_do_2_boom\" ["))
        .unwrap_or_default();
    assert!(
        boom.ends_with("style=\"rounded,filled\", fillcolor=\"#fde2e2\", color=\"#c62828\", fontcolor=\"#8e0000\"];"),
        "{}",
        dot.stdout
    );
    // A run of another workflow is refused.
    let other = scratch.write("greet.yaml", GREET);
    let refused = scratch.run(&["graph", other.to_str().unwrap_or_default(), "--run", id]);
    assert_eq!(refused.code, ExitCode::Usage.code());
    assert!(
        refused.stderr.contains("is a run of test/mixed"),
        "{}",
        refused.stderr
    );
}
