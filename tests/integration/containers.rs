//! `run: container` through the real binary against a fake engine: a shell script named `docker`
//! (or `podman`) on PATH that records every argv it receives and answers with canned output.

use std::path::{Path, PathBuf};

use crate::support::procs::{self, Run, executable, wait_for};
use crate::support::{document, tempdir, write};
use serde_json::json;
use workflow::exit_code::ExitCode;

/// Records `argv: [a] [b] ...` per call (and `stdin: ...` when given `-i`) to `$FAKE_LOG`;
/// `run` prints one line on each stream, sleeps `$FAKE_SLEEP` seconds if set, and exits with
/// `$FAKE_EXIT` (0 by default).
const FAKE_ENGINE: &str = r#"#!/bin/sh
{ printf 'argv:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\n'; } >> "$FAKE_LOG"
case "$1" in
  --version) echo "Fake engine 1.0"; exit 0 ;;
  run)
    for a in "$@"; do
      if [ "$a" = "-i" ]; then printf 'stdin: %s\n' "$(cat)" >> "$FAKE_LOG"; fi
    done
    if [ -n "$FAKE_SLEEP" ]; then sleep "$FAKE_SLEEP"; fi
    echo "hello from the container"
    echo "a warning" >&2
    exit "${FAKE_EXIT:-0}" ;;
  *) exit 0 ;;
esac
"#;

/// A directory holding the fake engine under `name`, and the log it writes.
struct Fake {
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Fake {
    fn new(name: &str) -> Fake {
        let dir = tempdir();
        let engine = write(&dir.path().join("bin"), name, FAKE_ENGINE);
        executable(&engine);
        let log = dir.path().join("argv.log");
        Fake { dir, log }
    }

    /// PATH with the fake first and only the system directories after it, so that no real
    /// engine (as in /usr/local/bin) is found.
    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display())
    }

    fn workflow(&self, body: &str) -> PathBuf {
        write(
            self.dir.path(),
            "flow.yaml",
            &document("test", "boxes", "1.0.0", body),
        )
    }

    fn run(&self, file: &Path, args: &[&str]) -> Run {
        Run::new(file, args)
            .env("PATH", self.path())
            .env("FAKE_LOG", &self.log)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[test]
fn every_field_maps_to_the_engine_command_line() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        r#"do:
  - box:
      run:
        container:
          image: alpine:3.20
          name: ${ "greeter-" + .id }
          command: |
            input=$(cat)
            echo "STDIN was: $input and $1"
          ports:
            8080: 80
            '127.0.0.1:9090': '9000'
          volumes:
            ./data: /data
            /var/cache: /cache
          environment:
            GREETING: ${ .greeting }
            EMPTY: ''
          stdin: ${ .message }
          arguments:
            - ${ .id }
            - '$(not run here)'
          pullPolicy: always
          lifetime:
            cleanup: always
"#,
    );
    let ran = fake
        .run(
            &file,
            &[
                "--input",
                r#"{"id": "42", "greeting": "hi there", "message": "Hello World"}"#,
            ],
        )
        .go();
    assert_eq!(ran.output(), json!("hello from the container\n"));
    let data = fake.dir.path().join("data");
    let expected = format!(
        "argv: [--version]\n\
         argv: [run] [--rm] [-i] [--name=greeter-42] [--publish=8080:80] \
         [--publish=127.0.0.1:9090:9000] [--volume={}:/data] [--volume=/var/cache:/cache] \
         [--env=GREETING=hi there] [--env=EMPTY=] [--pull=always] [alpine:3.20] [sh] [-c] \
         [input=$(cat)\necho \"STDIN was: $input and $1\"\n] [sh] [42] [$(not run here)]\n\
         stdin: Hello World\n",
        data.display()
    );
    assert_eq!(fake.log(), expected);
}

#[test]
fn a_bare_image_gets_a_generated_name_and_the_default_pull_policy() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        "do:\n  - say hello:\n      run:\n        container:\n          image: hello-world\n          arguments: [one]\n",
    );
    let ran = fake.run(&file, &[]).go();
    assert_eq!(ran.output(), json!("hello from the container\n"));
    let log = fake.log();
    let run_line = log.lines().nth(1).unwrap_or_default();
    let (before, after) = run_line
        .split_once("[--name=workflow-say-hello-")
        .unwrap_or_else(|| panic!("no generated name: {run_line}"));
    assert_eq!(before, "argv: [run] ");
    let (unique, rest) = after.split_once(']').unwrap_or_default();
    assert_eq!(unique.len(), 12, "{run_line}");
    assert!(unique.chars().all(|c| c.is_ascii_hexdigit()), "{run_line}");
    assert_eq!(rest, " [--pull=missing] [hello-world] [one]");
}

#[test]
fn return_modes_and_exit_codes_work_as_for_shell_commands() {
    let fake = Fake::new("docker");
    let body = |mode: &str| {
        format!(
            "do:\n  - box:\n      run:\n        return: {mode}\n        container:\n          image: alpine\n"
        )
    };
    let all = fake.workflow(&body("all"));
    let ran = fake.run(&all, &[]).env("FAKE_EXIT", "3").go();
    assert_eq!(
        ran.output(),
        json!({"code": 3, "stdout": "hello from the container\n", "stderr": "a warning\n"})
    );
    let code = fake.workflow(&body("code"));
    assert_eq!(
        fake.run(&code, &[]).env("FAKE_EXIT", "7").go().output(),
        json!(7)
    );
    let stderr = fake.workflow(&body("stderr"));
    assert_eq!(fake.run(&stderr, &[]).go().output(), json!("a warning\n"));
    let none = fake.workflow(&body("none"));
    assert_eq!(fake.run(&none, &[]).go().output(), json!(null));
    // The default return mode: a non-zero exit is a runtime error with the stderr tail.
    let stdout = fake.workflow(&body("stdout"));
    let ran = fake.run(&stdout, &[]).env("FAKE_EXIT", "2").go();
    assert_eq!(ran.code, ExitCode::Faulted as i32);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/runtime"
    );
    assert_eq!(error["title"], "Process exited with code 2");
    assert_eq!(error["detail"], "exit code 2; stderr ends with:\na warning");
    assert_eq!(error["instance"], "/do/0/box");
}

#[test]
fn an_engine_failure_is_an_error_whatever_the_return_mode() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        "do:\n  - box:\n      run:\n        return: code\n        container:\n          image: alpine\n",
    );
    let ran = fake.run(&file, &[]).env("FAKE_EXIT", "125").go();
    let error = ran.error();
    assert_eq!(error["title"], "Container engine failed");
    assert_eq!(error["detail"], "`docker` exited with code 125: a warning");
}

#[test]
fn podman_answers_when_docker_is_absent_and_the_variable_overrides_both() {
    let fake = Fake::new("podman");
    let file =
        fake.workflow("do:\n  - box:\n      run:\n        container:\n          image: alpine\n");
    let ran = fake.run(&file, &[]).go();
    assert_eq!(ran.output(), json!("hello from the container\n"));
    // docker was tried first (not found), then podman answered and ran the container.
    let log = fake.log();
    assert!(log.starts_with("argv: [--version]\nargv: [run] "), "{log}");

    let custom = Fake::new("my-engine");
    let file =
        custom.workflow("do:\n  - box:\n      run:\n        container:\n          image: alpine\n");
    let engine = custom.dir.path().join("bin/my-engine");
    let ran = custom
        .run(&file, &[])
        .env("WORKFLOW_CONTAINER_ENGINE", &engine)
        .go();
    assert_eq!(ran.output(), json!("hello from the container\n"));
    let ran = custom
        .run(&file, &[])
        .env("WORKFLOW_CONTAINER_ENGINE", "no-such-engine")
        .go();
    let error = ran.error();
    assert_eq!(error["title"], "Container engine not usable");
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("WORKFLOW_CONTAINER_ENGINE names `no-such-engine`"),
        "{error}"
    );
}

#[test]
fn without_an_engine_the_error_says_to_install_docker_or_podman() {
    let fake = Fake::new("docker");
    let empty = fake.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
    let file =
        fake.workflow("do:\n  - box:\n      run:\n        container:\n          image: alpine\n");
    let ran = Run::new(&file, &[]).env("PATH", &empty).go();
    assert_eq!(ran.code, ExitCode::Faulted as i32);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
    );
    assert_eq!(error["status"], 400);
    assert_eq!(error["title"], "No container engine found");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("needs Docker or Podman: install one of them"),
        "{detail}"
    );
}

#[test]
fn a_timeout_removes_the_container_not_only_the_engine_cli() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        "do:\n  - slow:\n      timeout:\n        after:\n          milliseconds: 500\n      run:\n        container:\n          image: alpine\n          name: slowpoke\n          lifetime:\n            cleanup: always\n",
    );
    let started = std::time::Instant::now();
    let ran = fake.run(&file, &[]).env("FAKE_SLEEP", "60").go();
    assert!(
        started.elapsed() < procs::SOON,
        "the timeout did not cut the run short"
    );
    assert_eq!(ran.error()["title"], "Task timed out");
    let log = wait_for(&fake.log, |log| log.contains("argv: [rm]"));
    assert!(log.contains("argv: [rm] [-f] [--] [slowpoke]\n"), "{log}");
}

#[test]
fn a_kept_container_is_killed_on_timeout() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        "do:\n  - slow:\n      timeout:\n        after:\n          milliseconds: 500\n      run:\n        container:\n          image: alpine\n          name: keeper\n",
    );
    let ran = fake.run(&file, &[]).env("FAKE_SLEEP", "60").go();
    assert_eq!(ran.error()["title"], "Task timed out");
    let log = wait_for(&fake.log, |log| log.contains("argv: [kill]"));
    assert!(
        log.contains("argv: [kill] [--signal=KILL] [--] [keeper]\n"),
        "{log}"
    );
    assert!(!log.contains("argv: [rm]"), "{log}");
}

#[test]
fn eventually_removes_the_container_after_the_duration() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        "do:\n  - box:\n      run:\n        container:\n          image: alpine\n          name: later\n          lifetime:\n            cleanup: eventually\n            after:\n              seconds: 1\n",
    );
    let ran = fake.run(&file, &[]).go();
    assert_eq!(ran.output(), json!("hello from the container\n"));
    // No `--rm`: the container is kept until the scheduled removal, which outlives the run.
    let log = fake.log();
    assert!(
        log.contains("argv: [run] [--name=later] [--pull=missing] [alpine]\n"),
        "{log}"
    );
    let log = wait_for(&fake.log, |log| log.contains("argv: [rm]"));
    assert!(log.ends_with("argv: [rm] [-f] [--] [later]\n"), "{log}");
}

#[test]
fn a_container_that_is_not_awaited_outputs_the_task_input() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        "do:\n  - box:\n      run:\n        await: false\n        container:\n          image: alpine\n          name: background\n",
    );
    let ran = fake.run(&file, &["--input", r#"{"kept": true}"#]).go();
    assert_eq!(ran.output(), json!({"kept": true}));
    wait_for(&fake.log, |log| log.contains("[--name=background]"));
}

#[test]
fn bad_port_mappings_are_configuration_errors() {
    let fake = Fake::new("docker");
    let file = fake.workflow(
        "do:\n  - box:\n      run:\n        container:\n          image: alpine\n          ports:\n            8080: '${ {a: 1} }'\n",
    );
    let error = fake.run(&file, &[]).go().error();
    assert_eq!(error["title"], "Invalid port mapping");
    assert_eq!(error["status"], 400);
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("`/do/0/box/run/container/ports`"),
        "{error}"
    );
    assert!(!fake.log().contains("[run]"), "nothing should have run");
}
