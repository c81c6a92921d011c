//! Events end to end: `emit` and `listen` over the in-process bus (fork branches), over a real
//! NATS server with JetStream next to an independent client (nats-py, `tests/peers/events/`),
//! structured and binary mode, correlation, a broker that is down, kill -9 while listening and
//! `resume`, HTTP sinks, `events send`, and `validate` of filter expressions.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::services::{self, Need, peers_dir};
use crate::support::{BINARY, Ran, document, parse_json, tempdir, write};

const SUCCESS: i32 = 0;
const USAGE: i32 = 2;
const INVALID: i32 = 3;

/// A subject no other test (or earlier run of this one) uses.
pub(crate) fn unique(prefix: &str) -> String {
    format!("wftest.{prefix}.{}", uuid_like())
}

pub(crate) fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}x{nanos}", std::process::id())
}

fn peer() -> PathBuf {
    peers_dir().join("events/nats_peer.py")
}

pub(crate) fn workflow(dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env("WORKFLOW_STATE_DIR", dir.join("state"))
        .env_remove("WORKFLOW_BROKER")
        .env_remove("K_SINK")
        .stdin(Stdio::null());
    command
}

pub(crate) fn run_to_end(command: &mut Command) -> Ran {
    Ran::from(command.output().unwrap_or_else(|e| panic!("{e}")))
}

/// Starts `workflow run FILE --format json --progress none ARGS` in the background.
pub(crate) fn start(dir: &Path, file: &Path, args: &[&str]) -> Child {
    workflow(dir)
        .arg("run")
        .arg(file)
        .args(["--format", "json", "--progress", "none"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits for the run to end; a run still waiting after two minutes is killed and fails the test.
pub(crate) fn finish(mut child: Child) -> Ran {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output();
            panic!("the run never ended: {output:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ran::from(child.wait_with_output().unwrap_or_else(|e| panic!("{e}")))
}

/// The nats-py peer.
fn nats_peer(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(peer())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits (generously) until the runner's JetStream consumer filters on `subject`.
pub(crate) fn wait_for_listener(subject: &str) {
    let waited = nats_peer(&["wait-consumer", subject, "60"]);
    assert!(
        waited.status.success(),
        "no JetStream consumer for {subject}: {}",
        String::from_utf8_lossy(&waited.stderr)
    );
}

pub(crate) fn cloudevent(subject: &str, data: Value) -> String {
    json!({
        "specversion": "1.0",
        "id": format!("peer-{}", uuid_like()),
        "source": "https://peer.example/test",
        "type": subject,
        "datacontenttype": "application/json",
        "data": data,
    })
    .to_string()
}

pub(crate) fn publish(subject: &str, data: Value, binary: bool) {
    let event = cloudevent(subject, data);
    let mut args = vec!["publish", subject, event.as_str()];
    if binary {
        args.push("--binary");
    }
    let published = nats_peer(&args);
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
}

/// The run whose journal holds `count` consumed events, once it does.
pub(crate) fn run_with_consumed(db: &Path, count: i64) -> Option<String> {
    let connection =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    connection
        .query_row(
            "SELECT run_id FROM events WHERE kind = 'eventConsumed'
             GROUP BY run_id HAVING count(*) = ?1",
            [count],
            |row| row.get(0),
        )
        .ok()
}

pub(crate) fn nats_ready(test: &str) -> bool {
    services::ready(test, &[Need::nats(), Need::python("nats")])
}

#[test]
fn an_emit_in_one_fork_branch_reaches_a_correlated_listen_in_another() {
    let dir = tempdir();
    let body = r#"do:
  - both:
      fork:
        branches:
          - wait:
              listen:
                to:
                  all:
                    - with: {type: com.example.order.paid}
                      correlate: {orderId: {from: .data.orderId}}
                    - with: {type: com.example.order.shipped}
                      correlate: {orderId: {from: .data.orderId}}
          - send:
              do:
                - paidB:
                    emit: {event: {with: {type: com.example.order.paid, source: https://shop.example, data: {orderId: B}}}}
                - shippedC:
                    emit: {event: {with: {type: com.example.order.shipped, source: https://shop.example, data: {orderId: C}}}}
                - shippedB:
                    emit: {event: {with: {type: com.example.order.shipped, source: https://shop.example, data: {orderId: B, carrier: ups}}}}
  - out:
      set: '${ .[0] }'
"#;
    let file = write(
        dir.path(),
        "fork.yaml",
        &document("test", "fork-bus", "0.1.0", body),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--format", "json", "-q"]),
    );
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!([{"orderId": "B"}, {"orderId": "B", "carrier": "ups"}])
    );
}

#[test]
fn until_foreach_and_read_modes_follow_the_dsl() {
    let dir = tempdir();
    let body = r#"do:
  - both:
      fork:
        branches:
          - collect:
              listen:
                to:
                  any:
                    - with: {type: reading, data: '${ .value > 10 }'}
                  until: '${ length >= 2 }'
                read: envelope
              foreach:
                item: ev
                at: i
                do:
                  - pick:
                      set: {n: '${ $ev.data.value }', at: '${ $i }'}
                output:
                  as: '${ .n * 100 + .at }'
                export:
                  as: '${ $context + {last: .} }'
          - send:
              do:
                - low:
                    emit: {event: {with: {type: reading, source: https://s.example, data: {value: 5}}}}
                - high1:
                    emit: {event: {with: {type: reading, source: https://s.example, data: {value: 11}}}}
                - other:
                    emit: {event: {with: {type: noise, source: https://s.example, data: {value: 99}}}}
                - high2:
                    emit: {event: {with: {type: reading, source: https://s.example, data: {value: 12}}}}
  - out:
      set: '${ {items: .[0], last: $context.last} }'
"#;
    let file = write(
        dir.path(),
        "f.yaml",
        &document("test", "until-foreach", "0.1.0", body),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--format", "json", "-q"]),
    );
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(ran.output(), json!({"items": [1100, 1201], "last": 1201}));
}

#[test]
fn a_listen_that_times_out_raises_a_catchable_timeout() {
    let dir = tempdir();
    let body = r#"do:
  - guard:
      try:
        - wait:
            listen:
              to:
                one:
                  with: {type: never.comes}
            timeout:
              after: PT0.3S
      catch:
        errors:
          with: {type: 'https://serverlessworkflow.io/spec/1.0.0/errors/timeout', status: 408}
        as: e
        do:
          - note:
              set: {caught: '${ $e.status }'}
"#;
    let file = write(
        dir.path(),
        "t.yaml",
        &document("test", "listen-timeout", "0.1.0", body),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--format", "json", "-q"]),
    );
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(ran.output(), json!({"caught": 408}));
}

#[test]
fn a_broker_that_is_down_is_a_catchable_communication_error() {
    let dir = tempdir();
    let (_socket, port) = crate::support::refusing_port();
    let body = r#"do:
  - guard:
      try:
        - send:
            emit: {event: {with: {type: x.y, source: https://s.example}}}
      catch:
        errors:
          with: {type: 'https://serverlessworkflow.io/spec/1.0.0/errors/communication'}
        as: e
        do:
          - note:
              set: {caught: '${ $e.title }'}
"#;
    let file = write(
        dir.path(),
        "d.yaml",
        &document("test", "broker-down", "0.1.0", body),
    );
    for broker in [
        format!("nats://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}/sink"),
    ] {
        let ran = run_to_end(
            workflow(dir.path())
                .arg("run")
                .arg(&file)
                .args(["--format", "json", "-q", "--broker", &broker]),
        );
        assert_eq!(ran.code, SUCCESS, "{broker}: {}", ran.stderr);
        let caught = ran.output()["caught"].as_str().map(str::to_owned);
        assert!(caught.is_some_and(|t| t.starts_with("Cannot")), "{broker}");
    }
}

#[test]
fn kafka_and_unknown_brokers_are_clear_usage_errors() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "k.yaml",
        &document("test", "kafka", "0.1.0", "do:\n  - a:\n      set: {x: 1}\n"),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--broker", "kafka://user:pw@127.0.0.1:9092"]),
    );
    assert_eq!(ran.code, USAGE);
    assert!(
        ran.stderr.contains("Kafka is not supported"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("NATS"), "{}", ran.stderr);
    assert!(
        !ran.stderr.contains("pw"),
        "the password leaked: {}",
        ran.stderr
    );
}

#[test]
fn validate_locates_filter_and_correlation_expressions_that_do_not_compile() {
    let dir = tempdir();
    let body = r#"do:
  - wait:
      listen:
        to:
          one:
            with: {type: t, data: '${ .value >>> 1 }'}
            correlate: {k: {from: '${ .data.( }'}}
"#;
    let file = write(
        dir.path(),
        "v.yaml",
        &document("test", "bad-filter", "0.1.0", body),
    );
    let ran = run_to_end(workflow(dir.path()).arg("validate").arg(&file));
    assert_eq!(ran.code, INVALID, "{}\n{}", ran.stdout, ran.stderr);
    let shown = format!("{}{}", ran.stdout, ran.stderr);
    assert!(shown.contains("v.yaml:11"), "{shown}");
    assert!(shown.contains("v.yaml:12"), "{shown}");
}

#[test]
fn emitted_events_are_posted_to_http_sinks_in_structured_mode() {
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let recorded = Arc::clone(&seen);
    let router = axum::Router::new().route(
        "/sink",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let recorded = Arc::clone(&recorded);
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let body = serde_json::from_str(&body).unwrap_or(Value::Null);
                if let Ok(mut seen) = recorded.lock() {
                    seen.push((content_type, body));
                }
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let server = crate::support::http_server::serve(router);
    let dir = tempdir();
    let body = r#"do:
  - send:
      emit: {event: {with: {type: com.example.audit, source: https://ledger.example, data: {amount: 5}}}}
"#;
    let file = write(
        dir.path(),
        "h.yaml",
        &document("test", "http-sink", "0.1.0", body),
    );
    // Through K_SINK, as a Knative SinkBinding sets it.
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--format", "json", "-q"])
            .env("K_SINK", server.url("/sink")),
    );
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    let output = ran.output();
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "application/cloudevents+json");
    assert_eq!(seen[0].1, output);
    assert_eq!(seen[0].1["data"], json!({"amount": 5}));
    assert_eq!(seen[0].1["specversion"], "1.0");
}

#[test]
fn nats_listen_consumes_structured_and_binary_events_with_correlation() {
    if !nats_ready("events::nats_listen_consumes_structured_and_binary_events_with_correlation") {
        return;
    }
    let paid = unique("paid");
    let shipped = unique("shipped");
    let dir = tempdir();
    let body = format!(
        r#"do:
  - wait:
      listen:
        to:
          all:
            - with: {{type: {paid}}}
              correlate: {{orderId: {{from: .data.orderId, expect: '${{ $input.orderId }}'}}}}
            - with: {{type: {shipped}}}
              correlate: {{orderId: {{from: .data.orderId}}}}
"#
    );
    let file = write(
        dir.path(),
        "n.yaml",
        &document("test", "nats-corr", "0.1.0", &body),
    );
    let child = start(
        dir.path(),
        &file,
        &[
            "--broker",
            "nats://127.0.0.1:4222",
            "--input",
            r#"{"orderId": "A-1"}"#,
        ],
    );
    wait_for_listener(&paid);
    // Another order's events are not this run's.
    publish(&paid, json!({"orderId": "B-2"}), false);
    publish(&shipped, json!({"orderId": "B-2"}), true);
    publish(
        &paid,
        json!({"orderId": "A-1", "mode": "structured"}),
        false,
    );
    publish(&shipped, json!({"orderId": "A-1", "mode": "binary"}), true);
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!([
            {"orderId": "A-1", "mode": "structured"},
            {"orderId": "A-1", "mode": "binary"}
        ])
    );
}

#[test]
fn nats_peers_receive_what_emit_publishes() {
    if !nats_ready("events::nats_peers_receive_what_emit_publishes") {
        return;
    }
    let subject = unique("emitted");
    let mut consumer = Command::new("python3")
        .arg(peer())
        .args(["consume", &subject, "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        consumer
            .stdout
            .take()
            .unwrap_or_else(|| panic!("no stdout")),
    ));
    let ready = lines.next().and_then(Result::ok);
    assert_eq!(ready.as_deref(), Some("ready"));
    let dir = tempdir();
    let body = format!(
        "do:\n  - send:\n      emit: {{event: {{with: {{type: {subject}, source: https://s.example, orderid: A-1, data: {{n: 1}}}}}}}}\n"
    );
    let file = write(
        dir.path(),
        "e.yaml",
        &document("test", "nats-emit", "0.1.0", &body),
    );
    let ran = run_to_end(workflow(dir.path()).arg("run").arg(&file).args([
        "--format",
        "json",
        "-q",
        "--broker",
        "nats://127.0.0.1:4222",
    ]));
    assert_eq!(ran.code, SUCCESS, "{}{}", ran.stdout, ran.stderr);
    let received = lines.next().and_then(Result::ok).unwrap_or_default();
    let _ = consumer.wait();
    let event = parse_json(&received, "");
    assert_eq!(event, ran.output());
    assert_eq!(event["orderid"], "A-1");
    assert_eq!(event["data"], json!({"n": 1}));
}

#[test]
fn nats_listen_survives_kill_9_and_resumes_with_events_published_while_down() {
    if !nats_ready(
        "events::nats_listen_survives_kill_9_and_resumes_with_events_published_while_down",
    ) {
        return;
    }
    let paid = unique("kpaid");
    let shipped = unique("kshipped");
    let dir = tempdir();
    let file = write(
        dir.path(),
        "k.yaml",
        &kill_resume_document("nats-kill", &paid, &shipped),
    );
    let mut child = start(dir.path(), &file, &["--broker", "nats://127.0.0.1:4222"]);
    wait_for_listener(&paid);
    publish(&paid, json!({"n": 0}), false);
    wait_for_listener(&shipped);
    publish(&shipped, json!({"n": 1}), false);
    // The first shipped event is consumed (journaled) before the kill: wait until the journal
    // says so.
    let db = dir.path().join("state/journal.db");
    let deadline = Instant::now() + Duration::from_secs(60);
    let run_id = loop {
        if let Some(id) = run_with_consumed(&db, 2) {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "the shipped event was never consumed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    // Published while nobody runs: JetStream keeps it for the durable consumer.
    publish(&format!("{shipped}.late"), json!({"n": 2}), false);
    let resumed = run_to_end(workflow(dir.path()).args([
        "resume",
        &run_id,
        "--broker",
        "nats://127.0.0.1:4222",
        "--format",
        "json",
        "--progress",
        "none",
    ]));
    assert_eq!(resumed.code, SUCCESS, "{}", resumed.stderr);
    assert_eq!(resumed.output(), json!({"shipped": [1, 2]}));
    // The shell step ran once: it completed before the kill.
    let runs = std::fs::read_to_string(dir.path().join("runs.txt")).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1);
}

#[test]
fn events_send_publishes_to_a_listening_run() {
    if !nats_ready("events::events_send_publishes_to_a_listening_run") {
        return;
    }
    let subject = unique("sent");
    let dir = tempdir();
    let body = format!(
        "do:\n  - wait:\n      listen:\n        to:\n          one:\n            with: {{type: {subject}, tenant: acme}}\n"
    );
    let file = write(
        dir.path(),
        "s.yaml",
        &document("test", "events-send", "0.1.0", &body),
    );
    let child = start(dir.path(), &file, &["--broker", "nats://127.0.0.1:4222"]);
    wait_for_listener(&subject);
    let sent = run_to_end(workflow(dir.path()).args([
        "events",
        "send",
        "--broker",
        "nats://127.0.0.1:4222",
        "--type",
        &subject,
        "--source",
        "https://cli.example",
        "--ext",
        "tenant=acme",
        "--data",
        r#"{"ok": true}"#,
    ]));
    assert_eq!(sent.code, SUCCESS, "{}", sent.stderr);
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(ran.output(), json!([{"ok": true}]));
}

#[test]
fn lifecycle_events_are_published_on_a_broker_with_secrets_masked() {
    if !nats_ready("events::lifecycle_events_are_published_on_a_broker_with_secrets_masked") {
        return;
    }
    let mut consumer = Command::new("python3")
        .arg(peer())
        .args(["consume", "io.serverlessworkflow.>", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        consumer
            .stdout
            .take()
            .unwrap_or_else(|| panic!("no stdout")),
    ));
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ready"));
    let dir = tempdir();
    let body = "use:\n  secrets: [token]\ndo:\n  - a:\n      set: {t: '${ $secrets.token }'}\n";
    let file = write(
        dir.path(),
        "l.yaml",
        &document("test", "audit", "0.1.0", body),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args([
                "--format",
                "json",
                "-q",
                "--events",
                "nats://127.0.0.1:4222",
            ])
            .env("WORKFLOW_SECRET_TOKEN", "s3cr3t-value"),
    );
    assert_eq!(ran.code, SUCCESS, "{}{}", ran.stdout, ran.stderr);
    let received: Vec<Value> = lines
        .take(5)
        .map_while(Result::ok)
        .map(|line| parse_json(&line, ""))
        .collect();
    let _ = consumer.wait();
    let types: Vec<&str> = received.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "io.serverlessworkflow.workflow.started.v1",
            "io.serverlessworkflow.task.created.v1",
            "io.serverlessworkflow.task.started.v1",
            "io.serverlessworkflow.task.completed.v1",
            "io.serverlessworkflow.workflow.completed.v1",
        ]
    );
    let all = serde_json::to_string(&received).unwrap_or_default();
    assert!(!all.contains("s3cr3t-value"), "{all}");
    assert!(all.contains("***"), "{all}");
}

#[test]
fn the_bundled_order_flow_completes_with_correlated_events() {
    if !nats_ready("events::the_bundled_order_flow_completes_with_correlated_events") {
        return;
    }
    let dir = tempdir();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/order-events.yaml");
    let order = format!("order-{}", uuid_like());
    let input = json!({"orderId": order}).to_string();
    // The subject is the example's own: other runs may listen on it too, so wait for one more
    // consumer than there was.
    let counted = nats_peer(&["count-consumers", "com.example.order.paid"]);
    let before: usize = String::from_utf8_lossy(&counted.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let child = start(
        dir.path(),
        &bundled,
        &["--broker", "nats://127.0.0.1:4222", "--input", &input],
    );
    let wanted = (before + 1).to_string();
    let waited = nats_peer(&["wait-consumer", "com.example.order.paid", "60", &wanted]);
    assert!(waited.status.success(), "the order flow never listened");
    publish(
        "com.example.order.shipped",
        json!({"orderId": order, "carrier": "ups"}),
        true,
    );
    publish(
        "com.example.order.paid",
        json!({"orderId": "someone-else", "amount": 1}),
        false,
    );
    publish(
        "com.example.order.paid",
        json!({"orderId": order, "amount": 42}),
        false,
    );
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}{}", ran.stdout, ran.stderr);
    let output = ran.output();
    assert_eq!(output["type"], "com.example.order.done");
    assert_eq!(
        output["data"],
        json!({"orderId": order, "amount": 42, "carrier": "ups"})
    );
}

#[test]
fn a_listen_with_only_an_http_sink_is_a_configuration_error() {
    let dir = tempdir();
    let body =
        "do:\n  - wait:\n      listen:\n        to:\n          one:\n            with: {type: t}\n";
    let file = write(
        dir.path(),
        "h.yaml",
        &document("test", "http-listen", "0.1.0", body),
    );
    let ran = run_to_end(workflow(dir.path()).arg("run").arg(&file).args([
        "--format",
        "json",
        "-q",
        "--broker",
        "http://127.0.0.1:9/sink",
    ]));
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    let error = ran.error();
    assert_eq!(error["status"], 400);
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nats://")),
        "{error}"
    );
}

/// Two listens with a shell step between (it appends to `runs.txt`): the workflow the kill -9
/// and resume tests of every transport run. The output is the `n` of the shipped events.
pub(crate) fn kill_resume_document(name: &str, paid: &str, shipped: &str) -> String {
    let body = format!(
        r#"do:
  - first:
      listen:
        to:
          one:
            with: {{type: {paid}}}
  - count:
      run:
        shell:
          command: echo x >> runs.txt
  - second:
      listen:
        to:
          all:
            - with: {{type: {shipped}}}
            - with: {{type: {shipped}.late}}
  - out:
      set: '${{ {{shipped: [.[].n]}} }}'
"#
    );
    document("test", name, "0.1.0", &body)
}
