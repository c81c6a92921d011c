//! Bounded everywhere, with the real binary: `--input -` and `--secrets FILE` stop reading at
//! 64 MiB, `validate DIR` skips FIFOs, an `--events` FIFO nobody reads is an error at once, and
//! HTTP calls neither hang on a silent server nor carry the task's headers or body to another
//! origin on a redirect.
#![cfg(unix)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};

use crate::support::http_server::serve;
use crate::support::{BINARY, Ran, tempdir, write};

fn workflow(dir: &Path, body: &str) -> String {
    let text = format!(
        "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: bounds\n  version: '1.0.0'\n{body}"
    );
    write(dir, "flow.yaml", &text).display().to_string()
}

fn command() -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("run")
        .arg("--no-journal")
        .env_remove("WORKFLOW_STATE_DIR");
    command
}

#[test]
fn stdin_input_stops_at_64_mib() {
    let dir = tempdir();
    let file = workflow(dir.path(), "do:\n  - a:\n      set:\n        x: 1\n");
    let mut child = command()
        .arg(&file)
        .args(["--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        // More than the cap; the runner stops reading, so a write may fail with a broken pipe.
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..80 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 64 MiB"), "{stderr}");
}

#[test]
fn a_secrets_file_stops_at_64_mib() {
    let dir = tempdir();
    let file = workflow(dir.path(), "do:\n  - a:\n      set:\n        x: 1\n");
    let ran = Ran::from(
        command()
            .arg(&file)
            .args(["--secrets", "/dev/zero"])
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("larger than 64 MiB"), "{}", ran.stderr);
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
}

#[test]
fn validate_skips_fifos_in_a_directory() {
    let dir = tempdir();
    workflow(dir.path(), "do:\n  - a:\n      set:\n        x: 1\n");
    mkfifo(&dir.path().join("pipe.yaml"));
    let ran = Ran::from(
        Command::new(BINARY)
            .arg("validate")
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("1 file checked"), "{}", ran.stderr);
}

#[test]
fn an_events_fifo_without_a_reader_is_an_error_at_once() {
    let dir = tempdir();
    let file = workflow(dir.path(), "do:\n  - a:\n      set:\n        x: 1\n");
    let fifo = dir.path().join("events");
    mkfifo(&fifo);
    let started = Instant::now();
    let ran = Ran::from(
        command()
            .arg(&file)
            .arg("--events")
            .arg(&fifo)
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("no process is reading"),
        "{}",
        ran.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

fn echo_headers(headers: HeaderMap) -> impl IntoResponse {
    let names: Vec<String> = headers
        .keys()
        .map(|name| name.as_str().to_string())
        .collect();
    axum::Json(serde_json::json!({ "headers": names }))
}

#[test]
fn a_redirect_to_another_origin_carries_no_task_header_and_no_body() {
    let other = serve(axum::Router::new().route(
        "/landing",
        any(|headers: HeaderMap| async move { echo_headers(headers) }),
    ));
    let landing = other.url("/landing");
    let first = serve(axum::Router::new().route(
        "/jump",
        any(move || {
            let landing = landing.clone();
            async move {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, landing)],
                )
            }
        }),
    ));
    let dir = tempdir();
    let body = format!(
        r#"do:
  - jump:
      call: http
      with:
        method: get
        endpoint: {url}
        redirect: true
        headers:
          X-Api-Key: key-123
          Cookie: session=abc
          Authorization: Bearer hand-written
          Accept: application/json
"#,
        url = first.url("/jump")
    );
    let file = workflow(dir.path(), &body);
    let ran = Ran::from(
        command()
            .arg(&file)
            .args(["--format", "json"])
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let result: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap_or_default();
    let headers = result["output"]["headers"].to_string();
    assert!(headers.contains("accept"), "{headers}");
    for dropped in ["x-api-key", "cookie", "authorization"] {
        assert!(!headers.contains(dropped), "{dropped} followed: {headers}");
    }
    // A body is not sent to another origin: the 307 is not followed.
    let post = body.replace("method: get", "method: post\n        body: {secret: 1}");
    let file = workflow(dir.path(), &post);
    let ran = Ran::from(
        command()
            .arg(&file)
            .args(["--format", "json"])
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(ran.stdout.contains("another origin"), "{}", ran.stdout);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let silent = serve(axum::Router::new().route(
        "/never",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "late"
        }),
    ));
    let dir = tempdir();
    let body = format!(
        "do:\n  - wait:\n      call: http\n      with:\n        method: get\n        endpoint: {}\n",
        silent.url("/never")
    );
    let file = workflow(dir.path(), &body);
    let started = Instant::now();
    let ran = Ran::from(
        command()
            .arg(&file)
            .args(["--format", "json", "--http-timeout", "1"])
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(ran.stdout.contains("timeout"), "{}", ran.stdout);
    assert!(ran.stdout.contains("--http-timeout"), "{}", ran.stdout);
    assert!(started.elapsed() < Duration::from_secs(60));
}
