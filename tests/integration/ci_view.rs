//! What a CI user sees of a run, through the real binary: task output in plain lines (grouped
//! under GitHub Actions), kept in the journal and shown by `runs logs`, attached to JUnit; honest
//! counts of recovered faults in the summary, `graph --run` and a JUnit file that validates
//! against the schema CI servers use.

use std::path::{Path, PathBuf};

use crate::support::services::{self, Need};
use crate::support::{Ran, document, journaled, tempdir, write};

const AREA: &str = "ci-view";

/// A loop whose task prints on both streams, escape codes and a progress bar included, and a
/// secret.
fn chatty(dir: &Path) -> PathBuf {
    let body = r#"use:
  secrets:
    - token
do:
  - each:
      for:
        in: ${ [1, 2] }
        each: n
      do:
        - say:
            run:
              shell:
                command: 'echo "hello $N"; printf "\033[2J\033[31mred\033[0m\r50%%\r100%%\n"; echo "oops $N" >&2; echo "token=$TOKEN"'
                environment:
                  N: ${ $n | tostring }
                  TOKEN: ${ $secrets.token }
  - done:
      set:
        ok: true
"#;
    write(dir, "chatty.yaml", &document("ci", "chatty", "1.0.0", body))
}

const SECRET: &str = "s3cr3t-value-42";

fn run_id(stderr: &str) -> String {
    let start = stderr
        .find("(run ")
        .unwrap_or_else(|| panic!("no run id in {stderr}"));
    stderr[start + 5..]
        .split(')')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn plain_lines_show_every_output_line_under_the_task_name_sanitised_and_masked() {
    let dir = tempdir();
    let file = chatty(dir.path());
    let ran = Ran::of(
        journaled(AREA)
            .args(["run", "--progress", "plain"])
            .arg(&file)
            .env("WORKFLOW_SECRET_TOKEN", SECRET)
            .env_remove("GITHUB_ACTIONS"),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let err = &ran.stderr;
    for expected in [
        " each/say [0] | hello 1\n",
        " each/say [0] | 100%\n",
        " each/say [0] stderr | oops 1\n",
        " each/say [1] | hello 2\n",
        " each/say [1] stderr | oops 2\n",
        " each/say [1] | token=***\n",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from {err}");
    }
    assert!(
        !err.contains('\u{1b}'),
        "no escape code reaches the log: {err:?}"
    );
    assert!(!err.contains('\r'), "{err:?}");
    assert!(!err.contains(SECRET), "{err}");
    assert!(!err.contains("::group::"), "{err}");
    // The lines come in the order printed, inside the task's start and end.
    let started = err.find("say [0] started").unwrap_or(usize::MAX);
    let hello = err.find("each/say [0] | hello 1").unwrap_or(0);
    let oops = err.find("each/say [0] stderr | oops 1").unwrap_or(0);
    let done = err.find("say [0] completed").unwrap_or(0);
    assert!(started < hello && hello < done && oops < done, "{err}");
}

#[test]
fn github_actions_folds_each_tasks_output_in_a_group() {
    let dir = tempdir();
    let file = chatty(dir.path());
    let ran = Ran::of(
        journaled(AREA)
            .args(["run", "--progress", "plain"])
            .arg(&file)
            .env("WORKFLOW_SECRET_TOKEN", SECRET)
            .env("GITHUB_ACTIONS", "true"),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let lines: Vec<&str> = ran.stderr.lines().collect();
    let opened: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("::group::"))
        .collect();
    assert_eq!(
        opened.iter().map(|&i| lines[i]).collect::<Vec<_>>(),
        [
            "::group::each/say [0] output",
            "::group::each/say [1] output"
        ],
        "{}",
        ran.stderr
    );
    for start in opened {
        let end = (start..lines.len())
            .find(|&i| lines[i] == "::endgroup::")
            .unwrap_or_else(|| panic!("a group is closed: {}", ran.stderr));
        assert!(
            lines[start + 1..end]
                .iter()
                .all(|line| line.contains(" each/say [")),
            "only the task's output inside its group: {:?}",
            &lines[start..=end]
        );
        assert!(
            lines[end + 1].contains(" completed in "),
            "{}",
            lines[end + 1]
        );
    }
}

#[test]
fn runs_logs_prints_the_journaled_output_by_task() {
    let dir = tempdir();
    let file = chatty(dir.path());
    let ran = Ran::of(
        journaled(AREA)
            .args(["run", "--progress", "none"])
            .arg(&file)
            .env("WORKFLOW_SECRET_TOKEN", SECRET),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = run_id(&ran.stderr);
    let logs = Ran::of(journaled(AREA).args(["runs", "logs", &id]));
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    // Each stream in the order printed (the two pipes are read side by side).
    let stream = |marker: &str| -> Vec<String> {
        logs.stdout
            .lines()
            .filter(|line| line.contains(marker))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        stream("say | "),
        [
            "each[0]/say | hello 1",
            "each[0]/say | 100%",
            "each[0]/say | token=***",
            "each[1]/say | hello 2",
            "each[1]/say | 100%",
            "each[1]/say | token=***"
        ],
        "{}",
        logs.stdout
    );
    assert_eq!(
        stream(" stderr | "),
        ["each[0]/say stderr | oops 1", "each[1]/say stderr | oops 2"]
    );
    assert_eq!(logs.stdout.lines().count(), 8, "{}", logs.stdout);
    // One iteration, by its label; `--raw` keeps what the task wrote (masked all the same).
    let one = Ran::of(journaled(AREA).args(["runs", "logs", &id, "each[1]/say", "--raw"]));
    assert!(
        one.stdout.starts_with("each[1]/say | hello 2\n"),
        "{}",
        one.stdout
    );
    assert!(one.stdout.contains("\u{1b}[2J"), "{:?}", one.stdout);
    assert!(!one.stdout.contains("each[0]"), "{}", one.stdout);
    assert!(!one.stdout.contains(SECRET));
    let none = Ran::of(journaled(AREA).args(["runs", "logs", &id, "done"]));
    assert!(none.stdout.contains("printed nothing"), "{}", none.stdout);
    // The journal itself holds the masked text only.
    let db = std::fs::read(Path::new(&crate::support::state_dir(AREA)).join("journal.db"))
        .unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&db).contains(SECRET),
        "the secret is never stored"
    );
}

#[test]
fn runs_logs_follows_a_running_run_until_it_ends() {
    let dir = tempdir();
    let marker = dir.path().join("go");
    let body = format!(
        "do:\n  - slow:\n      run:\n        shell:\n          command: 'echo first; while [ ! -e {} ]; do sleep 0.05; done; echo second'\n",
        marker.display()
    );
    let file = write(
        dir.path(),
        "slow.yaml",
        &document("ci", "slow", "1.0.0", &body),
    );
    let state = crate::support::state_dir("ci-view-follow");
    let mut running = std::process::Command::new(crate::support::BINARY)
        .env("WORKFLOW_STATE_DIR", &state)
        .args(["run", "--progress", "plain"])
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The run id is on its first plain line.
    let mut stderr = std::io::BufReader::new(running.stderr.take().expect("stderr"));
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap_or_default();
    let id = run_id(&first);
    let mut follower = std::process::Command::new(crate::support::BINARY)
        .env("WORKFLOW_STATE_DIR", &state)
        .args(["runs", "logs", "--follow", &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = std::io::BufReader::new(follower.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap_or_default();
    assert_eq!(
        line, "slow | first\n",
        "the follower shows lines as they come"
    );
    std::fs::write(&marker, "").unwrap_or_else(|e| panic!("{e}"));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap_or_default();
    assert_eq!(rest, "slow | second\n", "and ends with the run");
    assert!(follower.wait().map(|s| s.success()).unwrap_or(false));
    let _ = std::io::Read::read_to_string(&mut stderr, &mut String::new());
    assert!(running.wait().map(|s| s.success()).unwrap_or(false));
}

fn retrying(dir: &Path) -> PathBuf {
    let counter = dir.join("count");
    let body = format!(
        r#"do:
  - flaky:
      try:
        - attempt:
            run:
              shell:
                command: 'n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; echo "attempt $n"; if [ $n -lt 3 ]; then echo "not yet" >&2; exit 1; fi'
      catch:
        errors:
          with:
            type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
        retry:
          delay:
            milliseconds: 10
          limit:
            attempt:
              count: 5
  - after:
      set:
        done: true
"#,
        c = counter.display()
    );
    write(
        dir,
        "retrying.yaml",
        &document("ci-team", "retrying", "1.0.0", &body),
    )
}

#[test]
fn a_task_that_passed_after_retries_is_not_counted_as_failed() {
    let dir = tempdir();
    let file = retrying(dir.path());
    let junit = dir.path().join("report.xml");
    let ran = Ran::of(
        journaled(AREA)
            .args(["run", "--progress", "none", "--junit"])
            .arg(&junit)
            .arg(&file),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let tasks = ran
        .stderr
        .lines()
        .find(|line| line.trim_start().starts_with("tasks:"))
        .unwrap_or_default();
    assert_eq!(
        tasks.trim(),
        "tasks: 5 run · 1 passed after 2 retries · 2 errors caught",
        "{}",
        ran.stderr
    );
    assert!(!tasks.contains("failed"));

    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    let parsed = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let root = parsed.root_element();
    assert_eq!(root.attribute("failures"), Some("0"), "{xml}");
    assert_eq!(root.attribute("skipped"), None, "not in the JUnit schema");
    let cases: Vec<_> = parsed
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "flaky/attempt",
            "flaky/attempt (2)",
            "flaky/attempt (3)",
            "flaky",
            "after"
        ],
        "{xml}"
    );
    assert!(
        cases
            .iter()
            .all(|c| c.attribute("classname") == Some("ci-team/retrying")),
        "{xml}"
    );
    assert!(
        !parsed.descendants().any(|n| n.has_tag_name("failure")),
        "{xml}"
    );
    // The failed attempts are flaky, the retried task carries one flakyFailure per retry.
    let flaky_of = |case: &roxmltree::Node<'_, '_>| {
        case.children()
            .filter(|n| n.has_tag_name("flakyFailure"))
            .count()
    };
    assert_eq!(
        cases.iter().map(flaky_of).collect::<Vec<_>>(),
        [1, 1, 0, 2, 0]
    );
    let text_of = |case: &roxmltree::Node<'_, '_>, tag: &str| {
        case.children()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(text_of(&cases[2], "system-out"), "attempt 3\n");
    assert_eq!(text_of(&cases[0], "system-err"), "not yet\n");
    assert!(text_of(&cases[3], "system-out").starts_with("passed after 2 retries\n"));
    validate_junit("ci_view::a_task_that_passed_after_retries", &junit);

    // `graph --run`: the recovered attempts are not painted as faulted.
    let id = run_id(&ran.stderr);
    let graph = Ran::of(journaled(AREA).args(["graph", "--run", &id]).arg(&file));
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    let faulted_class = graph
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("class ") && line.ends_with(" faulted"));
    assert_eq!(faulted_class, None, "{}", graph.stdout);
    assert!(graph.stdout.contains(" recovered\n"), "{}", graph.stdout);
}

#[test]
fn an_invalid_document_writes_a_junit_file_with_one_failing_case() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "broken.yaml",
        &document(
            "ci",
            "broken",
            "1.0.0",
            "do:\n  - a:\n      then: nowhere\n      set:\n        x: 1\n",
        ),
    );
    let junit = dir.path().join("report.xml");
    let ran = Ran::of(
        journaled(AREA)
            .args(["run", "--junit"])
            .arg(&junit)
            .arg(&file),
    );
    assert_eq!(
        ran.code,
        workflow::exit_code::ExitCode::Invalid.code(),
        "{}",
        ran.stderr
    );
    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("{e}"));
    let parsed = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let cases: Vec<_> = parsed
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1, "{xml}");
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("a failure: {xml}"));
    assert!(
        failure
            .attribute("message")
            .unwrap_or_default()
            .contains("nowhere"),
        "{xml}"
    );
    validate_junit("ci_view::an_invalid_document_writes_a_junit_file", &junit);
}

/// Validates `path` with the Python `xmlschema` peer against `tests/peers/junit.xsd`.
fn validate_junit(test: &str, path: &Path) {
    if !services::ready(test, &[Need::python("xmlschema")]) {
        return;
    }
    let script = services::peers_dir().join("validate_junit.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// Under a real pseudo-terminal (`script` from util-linux): a task printing a screen clear,
/// carriage returns and colour codes cannot reach the terminal raw; the cursor is hidden while
/// the view draws and shown again at the end; the final tree stays on screen.
#[test]
fn task_output_cannot_garble_the_live_view() {
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !services::ready(
        "ci_view::task_output_cannot_garble_the_live_view",
        &[Need::program("script")],
    ) || !has_script
    {
        return;
    }
    let dir = tempdir();
    let body = r#"do:
  - noisy:
      run:
        shell:
          command: 'printf "\033[2J\033[H\033[31mRED-TEXT\033[0m\n"; sleep 0.4; printf "AAA-10%%\rBBB-99%%\n"; sleep 0.6'
  - quiet:
      set:
        ok: true
"#;
    let file = write(
        dir.path(),
        "noisy.yaml",
        &document("ci", "noisy", "1.0.0", body),
    );
    let shell_command = format!(
        "stty cols 100 rows 40; exec '{}' run --color never --progress tty '{}'",
        crate::support::BINARY,
        file.display()
    );
    let output = std::process::Command::new("script")
        .args(["-qfec", &shell_command, "/dev/null"])
        .env("TERM", "xterm")
        .env("WORKFLOW_STATE_DIR", crate::support::state_dir(AREA))
        .output()
        .unwrap_or_else(|error| panic!("script: {error}"));
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{transcript:?}");
    assert!(
        transcript.contains("RED-TEXT"),
        "the task's line is shown: {transcript:?}"
    );
    for raw in [
        "\u{1b}[2J",
        "\u{1b}[31m",
        "\u{1b}[H",
        "AAA-10%\r",
        "AAA-10%",
    ] {
        assert!(
            !transcript.contains(raw),
            "{raw:?} reached the terminal: {transcript:?}"
        );
    }
    assert!(transcript.contains("BBB-99%"), "{transcript:?}");
    let hidden = transcript.find("\u{1b}[?25l");
    let shown = transcript.rfind("\u{1b}[?25h");
    assert!(
        hidden.is_some() && shown > hidden,
        "the cursor is hidden while drawing and shown at the end: {transcript:?}"
    );
    // The final tree: both tasks, after the last frame, then the summary.
    let tail = &transcript[shown.unwrap_or(0)..];
    let noisy = tail.find("✓ noisy  ").unwrap_or(usize::MAX);
    let summary = tail.find("✓ ci/noisy:1.0.0 completed").unwrap_or(0);
    assert!(noisy < summary, "{tail:?}");
}

#[test]
fn a_faulted_run_is_told_once_and_ends_with_the_retry_command() {
    let dir = tempdir();
    let body = "do:\n  - prepare:\n      set:\n        a: 1\n  - upload:\n      raise:\n        error:\n          type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime\n          status: 500\n          title: Upload refused\n          detail: no quota left\n";
    let file = write(
        dir.path(),
        "fails.yaml",
        &document("ci", "fails", "1.0.0", body),
    );
    let ran = Ran::of(
        journaled(AREA)
            .args(["run", "--progress", "none", "--color", "never"])
            .arg(&file),
    );
    assert_eq!(
        ran.code,
        workflow::exit_code::ExitCode::Faulted.code(),
        "{}",
        ran.stderr
    );
    let err = &ran.stderr;
    assert_eq!(
        err.matches("Upload refused").count(),
        1,
        "the error once: {err}"
    );
    assert_eq!(err.matches("no quota left").count(), 1, "{err}");
    assert!(!err.contains("help: error type"), "{err}");
    let id = run_id(err);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "next: workflow retry {id} (starts again at `upload`"
        )),
        "{err}"
    );
    // The command it gives works.
    let retried = Ran::of(journaled(AREA).args(["retry", &id, "--progress", "none"]));
    assert_eq!(retried.code, workflow::exit_code::ExitCode::Faulted.code());
    assert!(
        retried.stderr.contains("Upload refused"),
        "{}",
        retried.stderr
    );
}

#[test]
fn an_interrupted_run_ends_with_the_resume_command() {
    let dir = tempdir();
    let marker = dir.path().join("started");
    let body = format!(
        "do:\n  - wait:\n      run:\n        shell:\n          command: 'touch {}; sleep 30'\n",
        marker.display()
    );
    let file = write(
        dir.path(),
        "long.yaml",
        &document("ci", "long", "1.0.0", &body),
    );
    let child = std::process::Command::new(crate::support::BINARY)
        .env("WORKFLOW_STATE_DIR", crate::support::state_dir(AREA))
        .args(["run", "--progress", "none", "--color", "never"])
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !marker.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the task never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .is_ok_and(|status| status.success());
    assert!(killed);
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&output.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("next: workflow resume ") && last.contains("(continues where it stopped)"),
        "{err}"
    );
}
