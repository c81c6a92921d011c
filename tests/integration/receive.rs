//! `workflow run --receive ADDR`: CloudEvents POSTed in binary, structured and batch mode reach
//! `listen`; malformed events are a 400 with a problem body, events nobody waits for a 503; an
//! event answered 202 survives kill -9 and is consumed once by `resume --receive ADDR`.
#![cfg(unix)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::events::{finish, run_to_end, run_with_consumed, start, unique, workflow};
use crate::support::{document, tempdir, write};

const SUCCESS: i32 = 0;
const USAGE: i32 = 2;

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One POST: the status and the body.
fn post(addr: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value, Option<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = client.post(format!("http://{addr}/")).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let text = response.text().await.unwrap_or_default();
                (
                    status,
                    serde_json::from_str(&text).unwrap_or(Value::Null),
                    content_type,
                )
            }
            // Not listening yet.
            Err(_) => (0, Value::Null, None),
        }
    })
}

/// POSTs until the runner answers 202 (a listen waits for it), for up to a minute.
fn post_accepted(addr: &str, headers: &[(&str, &str)], body: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, problem, _) = post(addr, headers, body);
        if status == 202 {
            return;
        }
        assert!(
            status == 0 || status == 503,
            "unexpected answer {status}: {problem}"
        );
        assert!(
            Instant::now() < deadline,
            "never accepted: {status} {problem}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn structured(event_type: &str, id: &str, data: Value) -> String {
    json!({
        "specversion": "1.0", "id": id, "source": "https://sender.example",
        "type": event_type, "data": data,
    })
    .to_string()
}

const STRUCTURED: (&str, &str) = ("content-type", "application/cloudevents+json");

#[test]
fn binary_structured_and_batch_posts_reach_listen_and_bad_ones_are_refused() {
    let kind = unique("rcv");
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|n| format!("{kind}.{n}"));
    let dir = tempdir();
    let body = format!(
        r#"do:
  - wait:
      listen:
        to:
          all:
            - with: {{type: {a}}}
            - with: {{type: {b}}}
            - with: {{type: {c}}}
            - with: {{type: {d}}}
"#
    );
    let file = write(
        dir.path(),
        "r.yaml",
        &document("test", "receive", "0.1.0", &body),
    );
    let addr = format!("127.0.0.1:{}", free_port());
    let child = start(dir.path(), &file, &["--receive", &addr]);
    post_accepted(
        &addr,
        &[
            ("ce-specversion", "1.0"),
            ("ce-id", "1"),
            ("ce-source", "https://sender.example"),
            ("ce-type", &a),
            ("content-type", "application/json"),
        ],
        r#"{"mode": "binary"}"#,
    );
    // Missing `id`: a 400 with a problem body.
    let broken = json!({"specversion": "1.0", "source": "s", "type": b}).to_string();
    let (status, problem, content_type) = post(&addr, &[STRUCTURED], &broken);
    assert_eq!(status, 400, "{problem}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert!(
        problem["detail"].as_str().is_some_and(|d| d.contains("id")),
        "{problem}"
    );
    let (status, _, _) = post(&addr, &[("content-type", "text/plain")], "hello");
    assert_eq!(status, 400);
    // Nobody waits for this type: 503, and it is not kept.
    let (status, problem, _) = post(
        &addr,
        &[STRUCTURED],
        &structured("nobody.wants", "9", json!(1)),
    );
    assert_eq!(status, 503, "{problem}");
    let (status, _, _) = post(
        &addr,
        &[STRUCTURED],
        &structured(&b, "2", json!({"mode": "structured"})),
    );
    assert_eq!(status, 202);
    let batch = format!(
        "[{}, {}]",
        structured(&c, "3", json!({"mode": "batch"})),
        structured(&d, "4", json!({"mode": "batch", "n": 2}))
    );
    let (status, _, _) = post(
        &addr,
        &[("content-type", "application/cloudevents-batch+json")],
        &batch,
    );
    assert_eq!(status, 202);
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!([
            {"mode": "binary"},
            {"mode": "structured"},
            {"mode": "batch"},
            {"mode": "batch", "n": 2}
        ])
    );
}

#[test]
fn an_accepted_event_survives_kill_9_and_is_consumed_once_after_resume() {
    let kind = unique("rkill");
    let [first, second, third] = ["first", "second", "third"].map(|n| format!("{kind}.{n}"));
    let dir = tempdir();
    let body = format!(
        r#"do:
  - first:
      listen:
        to:
          one:
            with: {{type: {first}}}
  - count:
      run:
        shell:
          command: echo x >> runs.txt
  - second:
      listen:
        to:
          all:
            - with: {{type: {second}}}
            - with: {{type: {third}}}
  - out:
      set: '${{ [.[].n] }}'
"#
    );
    let file = write(
        dir.path(),
        "k.yaml",
        &document("test", "rkill", "0.1.0", &body),
    );
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = start(dir.path(), &file, &["--receive", &addr]);
    post_accepted(
        &addr,
        &[STRUCTURED],
        &structured(&first, "1", json!({"n": 1})),
    );
    post_accepted(
        &addr,
        &[STRUCTURED],
        &structured(&second, "2", json!({"n": 2})),
    );
    // Killed right after the 202, journaled or not yet: either way the event is not lost.
    let _ = child.kill();
    let _ = child.wait();
    let db = dir.path().join("state/journal.db");
    let run_id = run_with_consumed(&db, 1)
        .or_else(|| run_with_consumed(&db, 2))
        .unwrap_or_else(|| panic!("the first event was never consumed"));
    let resumed = start_resume(dir.path(), &run_id, &addr);
    post_accepted(
        &addr,
        &[STRUCTURED],
        &structured(&third, "3", json!({"n": 3})),
    );
    let ran = finish(resumed);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(ran.output(), json!([2, 3]));
    let runs = std::fs::read_to_string(dir.path().join("runs.txt")).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1);
    assert_eq!(run_with_consumed(&db, 3).as_deref(), Some(run_id.as_str()));
}

fn start_resume(dir: &Path, run_id: &str, addr: &str) -> std::process::Child {
    workflow(dir)
        .args([
            "resume",
            run_id,
            "--receive",
            addr,
            "--format",
            "json",
            "--progress",
            "none",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_receive_address_that_is_taken_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = taken
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempdir();
    let file = write(
        dir.path(),
        "t.yaml",
        &document("test", "taken", "0.1.0", "do:\n  - a:\n      set: {x: 1}\n"),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--receive", &addr]),
    );
    assert_eq!(ran.code, USAGE, "{}", ran.stderr);
    assert!(ran.stderr.contains("--receive"), "{}", ran.stderr);
}
