//! Validation that tells the truth about running (issue 21 items 6 to 8), with the real binary:
//! warnings for what this runtime cannot execute, cron expressions, URI template variables the
//! input cannot provide (at validate and at run time), `--strict`, `validate DIR` skipping
//! files that are not workflows, `run --format github` annotations, `init` and the man page.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::Uri;
use axum::routing::get;
use serde_json::json;
use workflow::exit_code::ExitCode;

use crate::support::http_server::serve;
use crate::support::{self, BINARY, Ran, document, tempdir, write};

fn workflow(args: &[&str]) -> Ran {
    let mut command = assert_cmd::Command::new(BINARY);
    command
        .args(["--color", "never"])
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .env("WORKFLOW_STATE_DIR", support::state_dir("truth"))
        .timeout(std::time::Duration::from_secs(120));
    Ran::of(&mut command)
}

fn path(file: &Path) -> String {
    file.display().to_string()
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in {text}"))
}

const ASYNCAPI: &str = "do:\n  - publish:\n      call: asyncapi\n      with:\n        document:\n          endpoint: https://example.com/asyncapi.json\n        operation: sendGreeting\n        server:\n          name: greetingsServer\n        message:\n          payload: {hello: world}\n";

#[test]
fn what_the_runtime_cannot_execute_is_a_warning_naming_it_and_strict_refuses_it() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "asyncapi.yaml",
        &document("t", "asyncapi", "1.0.0", ASYNCAPI),
    );
    let ran = workflow(&["validate", &path(&file)]);
    assert_eq!(ran.code, ExitCode::Success.code(), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("runtime::unsupported"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("`call: asyncapi`"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "asyncapi.yaml:{}",
            line_of(
                &document("t", "asyncapi", "1.0.0", ASYNCAPI),
                "call: asyncapi"
            )
        )),
        "{}",
        ran.stderr
    );
    let strict = workflow(&["validate", "--strict", &path(&file)]);
    assert_eq!(strict.code, ExitCode::Invalid.code(), "{}", strict.stderr);
    let run = workflow(&["run", "--strict", "--no-journal", &path(&file)]);
    assert_eq!(run.code, ExitCode::Invalid.code(), "{}", run.stderr);
    assert!(
        run.stderr.contains("runtime::unsupported"),
        "{}",
        run.stderr
    );
}

#[test]
fn schedule_cron_must_be_a_cron_expression() {
    let dir = tempdir();
    let body = |cron: &str| {
        document(
            "t",
            "cron",
            "1.0.0",
            &format!("schedule:\n  cron: '{cron}'\ndo:\n  - a:\n      set: {{x: 1}}\n"),
        )
    };
    let good = write(dir.path(), "good.yaml", &body("0 0 * * *"));
    let ran = workflow(&["validate", &path(&good)]);
    assert_eq!(ran.code, ExitCode::Success.code(), "{}", ran.stderr);
    assert!(!ran.stderr.contains("schedule::cron"), "{}", ran.stderr);
    for (name, cron, says) in [
        ("hour.yaml", "0 25 * * *", "not a valid cron expression"),
        ("six.yaml", "0 0 0 * * *", "6 fields"),
    ] {
        let file = write(dir.path(), name, &body(cron));
        let ran = workflow(&["validate", &path(&file)]);
        assert_eq!(ran.code, ExitCode::Invalid.code(), "{name}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("schedule::cron"),
            "{name}: {}",
            ran.stderr
        );
        assert!(ran.stderr.contains(says), "{name}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!("{name}:7:")),
            "{name}: {}",
            ran.stderr
        );
    }
}

/// A server answering every GET with `{}` and recording the paths asked for.
fn recording_server() -> (support::http_server::TestServer, Arc<Mutex<Vec<String>>>) {
    let paths: Arc<Mutex<Vec<String>>> = Arc::default();
    let server = serve(
        axum::Router::new()
            .fallback(get(
                |State(paths): State<Arc<Mutex<Vec<String>>>>, uri: Uri| async move {
                    if let Ok(mut paths) = paths.lock() {
                        paths.push(uri.path().to_string());
                    }
                    axum::Json(json!({}))
                },
            ))
            .with_state(paths.clone()),
    );
    (server, paths)
}

#[test]
fn a_loop_variable_in_a_uri_template_warns_at_validate_and_at_run() {
    let (server, paths) = recording_server();
    let dir = tempdir();
    let text = document(
        "t",
        "users",
        "1.0.0",
        &format!(
            "do:\n  - each:\n      for:\n        each: uid\n        in: ${{ [1, 2, 3] }}\n      do:\n        - getUser:\n            call: http\n            with:\n              method: get\n              endpoint: {}\n",
            server.url("/users/{uid}")
        ),
    );
    let file = write(dir.path(), "users.yaml", &text);
    let ran = workflow(&["validate", &path(&file)]);
    assert_eq!(ran.code, ExitCode::Success.code(), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("http::template-variable"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("loop variable `$uid`"),
        "{}",
        ran.stderr
    );
    let line = line_of(&text, "endpoint:");
    assert!(
        ran.stderr.contains(&format!("users.yaml:{line}:")),
        "{}",
        ran.stderr
    );

    // At run time: the calls go out (RFC 6570), and each says the variable was undefined.
    let run = workflow(&["run", "--no-journal", "--progress", "plain", &path(&file)]);
    assert_eq!(run.code, ExitCode::Success.code(), "{}", run.stderr);
    let warned = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning: the endpoint's `{uid}` is not defined by the task input"))
        .count();
    assert_eq!(warned, 3, "{}", run.stderr);
    assert_eq!(
        paths.lock().map(|p| p.clone()).unwrap_or_default(),
        ["/users/", "/users/", "/users/"]
    );
    // `--strict` refuses the document for its warning.
    let strict = workflow(&["run", "--strict", "--no-journal", &path(&file)]);
    assert_eq!(strict.code, ExitCode::Invalid.code(), "{}", strict.stderr);
}

#[test]
fn an_undefined_variable_only_known_at_run_time_is_a_warning_or_under_strict_a_fault() {
    let (server, paths) = recording_server();
    let dir = tempdir();
    // The workflow's input is not declared: nothing is known statically.
    let text = document(
        "t",
        "pet",
        "1.0.0",
        &format!(
            "do:\n  - getPet:\n      call: http\n      with:\n        method: get\n        endpoint: {}\n",
            server.url("/pets/{petId}")
        ),
    );
    let file = write(dir.path(), "pet.yaml", &text);
    let ran = workflow(&["validate", "--strict", &path(&file)]);
    assert_eq!(ran.code, ExitCode::Success.code(), "{}", ran.stderr);
    let journaled = workflow(&[
        "run",
        "--progress",
        "plain",
        "--format",
        "json",
        &path(&file),
    ]);
    assert_eq!(
        journaled.code,
        ExitCode::Success.code(),
        "{}",
        journaled.stderr
    );
    assert!(
        journaled
            .stderr
            .contains("getPet warning: the endpoint's `{petId}` is not defined"),
        "{}",
        journaled.stderr
    );
    // The task's log keeps the warning.
    let id = journaled.json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let logs = workflow(&["runs", "logs", &id]);
    assert!(
        logs.stdout
            .contains("getPet warning: the endpoint's `{petId}`"),
        "{}",
        logs.stdout
    );
    let strict = workflow(&[
        "run",
        "--strict",
        "--no-journal",
        "--format",
        "json",
        &path(&file),
    ]);
    assert_eq!(strict.code, ExitCode::Faulted.code(), "{}", strict.stderr);
    let error = strict.error();
    assert_eq!(error["title"], "Undefined URI template variable", "{error}");
    assert_eq!(error["instance"], "/do/0/getPet", "{error}");
    // Only the non-strict run called the server.
    assert_eq!(paths.lock().map(|p| p.len()).unwrap_or_default(), 1);
}

#[test]
fn validate_dir_skips_yaml_that_is_not_a_workflow_unless_all() {
    let dir = tempdir();
    write(
        dir.path(),
        "docker-compose.yml",
        "services:\n  db:\n    image: postgres:16\n",
    );
    write(
        dir.path(),
        "Taskfile.yml",
        "version: '3'\ntasks:\n  build:\n    cmds: [cargo build]\n",
    );
    write(
        dir.path(),
        "flows/hello.yaml",
        &document("t", "hello", "1.0.0", "do:\n  - a:\n      set: {x: 1}\n"),
    );
    let ran = workflow(&["validate", &path(dir.path())]);
    assert_eq!(ran.code, ExitCode::Success.code(), "{}", ran.stderr);
    assert!(ran.stderr.contains("1 file checked"), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("skipped 2 files without a top-level `document` key"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("docker-compose.yml"), "{}", ran.stderr);
    let all = workflow(&["validate", "--all", &path(dir.path())]);
    assert_eq!(all.code, ExitCode::Invalid.code(), "{}", all.stderr);
    assert!(all.stderr.contains("3 files checked"), "{}", all.stderr);
    // A directory holding no workflow at all is a usage error that says why.
    let other = tempdir();
    write(other.path(), "docker-compose.yml", "services: {}\n");
    let none = workflow(&["validate", &path(other.path())]);
    assert_eq!(none.code, ExitCode::Usage.code(), "{}", none.stderr);
    assert!(
        none.stderr.contains("no top-level `document` key"),
        "{}",
        none.stderr
    );
}

#[test]
fn run_format_github_annotates_the_fault_at_the_task_line() {
    let dir = tempdir();
    let text = document(
        "t",
        "boom",
        "1.0.0",
        "do:\n  - fine:\n      set: {x: 1}\n  - boom:\n      raise:\n        error:\n          type: https://example.com/errors/boom\n          status: 409\n          title: 'It, broke: badly'\n          detail: 100% broken\n",
    );
    let file = write(dir.path(), "boom.yaml", &text);
    let ran = workflow(&[
        "run",
        "--no-journal",
        "--progress",
        "none",
        "--format",
        "github",
        &path(&file),
    ]);
    assert_eq!(ran.code, ExitCode::Faulted.code(), "{}", ran.stderr);
    let line = line_of(&text, "- boom:");
    let expected = format!(
        "::error file={},line={line},col=5,title=boom%3A It%2C broke%3A badly (409)::100%25 broken%0Atype: https://example.com/errors/boom · status: 409 · instance: /do/1/boom",
        path(&file).replace(':', "%3A").replace(',', "%2C")
    );
    assert!(
        ran.stdout.lines().any(|l| l == expected),
        "{}\nexpected {expected}",
        ran.stdout
    );
    // The human summary is still on stderr.
    assert!(ran.stderr.contains("faulted"), "{}", ran.stderr);
}

#[test]
fn run_format_github_annotates_warnings_of_the_document_and_of_the_run() {
    let (server, _paths) = recording_server();
    let dir = tempdir();
    let text = document(
        "t",
        "warned",
        "1.0.0",
        &format!(
            "do:\n  - getPet:\n      call: http\n      with:\n        method: get\n        endpoint: {}\n  - after:\n      set: {{x: 1}}\n      then: end\n  - never:\n      set: {{y: 2}}\n",
            server.url("/pets/{petId}")
        ),
    );
    let file = write(dir.path(), "warned.yaml", &text);
    let ran = workflow(&[
        "run",
        "--no-journal",
        "--progress",
        "none",
        "--format",
        "github",
        &path(&file),
    ]);
    assert_eq!(ran.code, ExitCode::Success.code(), "{}", ran.stderr);
    let shown = path(&file).replace(':', "%3A").replace(',', "%2C");
    // The document's warning (`never` cannot run), at its line.
    let never = line_of(&text, "- never:");
    assert!(
        ran.stdout
            .contains(&format!("::warning file={shown},line={never},")),
        "{}",
        ran.stdout
    );
    // The run's warning, at the task's line.
    let get = line_of(&text, "- getPet:");
    assert!(
        ran.stdout.lines().any(|l| l.starts_with(&format!("::warning file={shown},line={get},col=5,title=getPet%3A warning::the endpoint's `{{petId}}`"))),
        "{}",
        ran.stdout
    );
    // The output follows the annotations.
    assert!(ran.stdout.trim_end().ends_with('}'), "{}", ran.stdout);
}

#[test]
fn init_writes_a_starter_that_validates_and_runs_offline() {
    let dir = tempdir();
    let file = dir.path().join("workflow.yaml");
    let init = workflow(&["init", &path(&file)]);
    assert_eq!(init.code, ExitCode::Success.code(), "{}", init.stderr);
    assert!(init.stderr.contains("workflow run"), "{}", init.stderr);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(text.starts_with("# A starter workflow"), "{text}");
    let validate = workflow(&["validate", &path(&file)]);
    assert_eq!(
        validate.code,
        ExitCode::Success.code(),
        "{}",
        validate.stderr
    );
    assert!(
        validate.stderr.contains("0 errors, 0 warnings"),
        "{}",
        validate.stderr
    );
    let run = workflow(&[
        "run",
        "--no-journal",
        "--progress",
        "plain",
        "--format",
        "json",
        &path(&file),
        "--input",
        r#"{"names": ["Ada", "Grace"]}"#,
    ]);
    assert_eq!(
        run.output(),
        json!({"greeted": 2, "names": ["Ada", "Grace"]})
    );
    assert!(run.stderr.contains("| Hello, Grace!"), "{}", run.stderr);
    let plain = workflow(&["run", "--no-journal", "--quiet", &path(&file)]);
    assert_eq!(plain.code, ExitCode::Success.code(), "{}", plain.stderr);
    assert!(plain.stdout.contains("\"greeted\": 1"), "{}", plain.stdout);
    // Never replaces a file without --force.
    let again = workflow(&["init", &path(&file)]);
    assert_eq!(again.code, ExitCode::Usage.code(), "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    let printed = workflow(&["init", "-"]);
    assert_eq!(printed.stdout, text);
}

#[test]
fn the_man_page_lists_every_command_its_options_and_the_exit_codes() {
    let ran = workflow(&["man"]);
    assert_eq!(ran.code, ExitCode::Success.code(), "{}", ran.stderr);
    let page = ran.stdout;
    for heading in [
        "workflow run",
        "workflow validate",
        "workflow init",
        "workflow runs logs",
    ] {
        assert!(page.contains(&format!(".SS \"{heading}\"")), "{heading}");
    }
    for option in [
        "\\-\\-strict",
        "\\-\\-all",
        "\\-\\-format",
        "\\-\\-junit",
        "\\-\\-secrets",
    ] {
        assert!(page.contains(option), "{option}");
    }
    let exit = page.split(".SH \"EXIT STATUS\"").nth(1).unwrap_or_default();
    for code in [0, 1, 2, 3, 130] {
        assert!(exit.contains(&format!("\\fB{code}\\fR")), "{code}: {exit}");
    }
}

#[test]
fn github_annotations_for_documents_that_do_not_validate() {
    let dir = tempdir();
    let text = document(
        "t",
        "cron",
        "1.0.0",
        "schedule:\n  cron: '0 25 * * *'\ndo:\n  - a:\n      set: {x: 1}\n",
    );
    let file = write(dir.path(), "cron.yaml", &text);
    let shown = path(&file).replace(':', "%3A").replace(',', "%2C");
    let validate = workflow(&["validate", "--format", "github", &path(&file)]);
    assert_eq!(
        validate.code,
        ExitCode::Invalid.code(),
        "{}",
        validate.stderr
    );
    assert!(
        validate
            .stdout
            .starts_with(&format!("::error file={shown},line=7,col=9,title=schedule%3A%3Acron::`0 25 * * *` is not a valid cron expression")),
        "{}",
        validate.stdout
    );
    // `run` refuses it the same way, with the annotation on stdout and nothing run.
    let run = workflow(&["run", "--no-journal", "--format", "github", &path(&file)]);
    assert_eq!(run.code, ExitCode::Invalid.code(), "{}", run.stderr);
    assert_eq!(run.stdout, validate.stdout);
    // A warning under `--strict` is an error annotation.
    let asyncapi = write(
        dir.path(),
        "asyncapi.yaml",
        &document("t", "asyncapi", "1.0.0", ASYNCAPI),
    );
    let strict = workflow(&[
        "validate",
        "--strict",
        "--format",
        "github",
        &path(&asyncapi),
    ]);
    assert_eq!(strict.code, ExitCode::Invalid.code(), "{}", strict.stderr);
    assert!(strict.stdout.starts_with("::error "), "{}", strict.stdout);
    assert!(
        strict.stdout.contains("title=runtime%3A%3Aunsupported"),
        "{}",
        strict.stdout
    );
}
