//! `call: asyncapi` over `ws` and `http` against independent servers started by each test
//! (`tests/peers/asyncapi/web_peer.py`: the `websockets` package, Python's http.server): a
//! WebSocket publish seen by the server with the binding's query and headers, frames pushed by
//! the server consumed with filter, amount and foreach, a dropped connection caught as a
//! `communication` error; an HTTP publish with the binding's method and a refused one; HTTP
//! subscriptions over Server-Sent Events (asked again with `Last-Event-ID`), long-polled JSON
//! batches and NDJSON.
#![cfg(unix)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::asyncapi_brokers::kill_and_resume_after;
use crate::events::{finish, run_to_end, start, workflow};
use crate::support::services::{self, Need, peers_dir};
use crate::support::{Ran, document, tempdir, write};

const SUCCESS: i32 = 0;

/// A web_peer.py server: its port and the JSON lines it prints; killed when dropped.
struct WebPeer {
    child: Child,
    port: u16,
    lines: Receiver<Value>,
}

impl WebPeer {
    /// `web_peer.py MODE` with `--FLAG MESSAGE` per message of each `(flag, messages)`.
    fn start(mode: &str, messages: &[(&str, &[String])]) -> WebPeer {
        WebPeer::start_with(&[mode], messages)
    }

    /// `web_peer.py ARGS...`, then the messages as [`WebPeer::start`] does.
    fn start_with(first: &[&str], messages: &[(&str, &[String])]) -> WebPeer {
        let mut args: Vec<String> = first.iter().map(|a| (*a).to_owned()).collect();
        for (flag, list) in messages {
            for message in *list {
                args.extend([format!("--{flag}"), message.clone()]);
            }
        }
        let mut child = Command::new("python3")
            .arg(peers_dir().join("asyncapi/web_peer.py"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut reader = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok);
        let first = reader.next().unwrap_or_default();
        let port = first
            .strip_prefix("port ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the peer said {first:?}"));
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in reader {
                if let Ok(value) = serde_json::from_str(&line) {
                    let _ = send.send(value);
                }
            }
        });
        WebPeer { child, port, lines }
    }

    /// The lines printed until `count` of them match `wanted` (generous bound).
    fn wait_for(&self, count: usize, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut matching = Vec::new();
        while matching.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => matching.push(line),
                Ok(_) => {}
                Err(_) => panic!("the peer printed {} of {count} lines", matching.len()),
            }
        }
        matching
    }
}

impl Drop for WebPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ready(test: &str, module: &'static str) -> bool {
    services::ready(test, &[Need::python(module)])
}

/// An AsyncAPI 3.0 document with one server and, per `(name, address, bindings, message
/// content type)`, a channel with a send and a receive operation (`send<Name>`,
/// `receive<Name>`).
fn api(host: &str, protocol: &str, channels: &[(&str, &str, &str, &str)]) -> String {
    let mut text = format!(
        "asyncapi: 3.0.0\ninfo: {{title: web, version: 1.0.0}}\nservers:\n  \
         web: {{host: \"{host}\", protocol: {protocol}}}\nchannels:\n"
    );
    for (name, address, bindings, content_type) in channels {
        text.push_str(&format!(
            "  {name}:\n    address: \"{address}\"\n    bindings: {bindings}\n    messages:\n      \
             m:\n        contentType: {content_type}\n        correlationId: {{location: \
             '$message.payload#/sensor'}}\n"
        ));
    }
    text.push_str("operations:\n");
    for (name, _, _, _) in channels {
        let upper = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
        text.push_str(&format!(
            "  send{upper}: {{action: send, channel: {{$ref: '#/channels/{name}'}}}}\n  \
             receive{upper}: {{action: receive, channel: {{$ref: '#/channels/{name}'}}}}\n"
        ));
    }
    text
}

/// A directory with `api.yaml` describing `peer`'s server (see [`api`]).
fn with_api(peer: &WebPeer, protocol: &str, channels: &[(&str, &str, &str, &str)]) -> TempDir {
    let dir = tempdir();
    let host = format!("127.0.0.1:{}", peer.port);
    write(dir.path(), "api.yaml", &api(&host, protocol, channels));
    dir
}

/// A directory whose `api.yaml` has one JSON channel `readings` at `address` on `peer`.
fn readings_api(peer: &WebPeer, protocol: &str, address: &str) -> TempDir {
    with_api(
        peer,
        protocol,
        &[("readings", address, "{}", "application/json")],
    )
}

/// Runs the workflow `body` in `dir` to its end.
fn run(dir: &Path, body: &str) -> Ran {
    let file = write(dir, "w.yaml", &document("test", "web", "0.1.0", body));
    finish(start(dir, &file, &[]))
}

/// A workflow of one subscription to `operation`, `subscription` in YAML flow style.
fn subscribing(operation: &str, subscription: &str) -> String {
    format!(
        "do:\n  - readings:\n      call: asyncapi\n      with:\n        document: {{endpoint: \
         file://api.yaml}}\n        operation: {operation}\n        subscription: {subscription}\n"
    )
}

/// JSON readings `{sensor, celsius}`.
fn readings(values: &[(&str, f64)]) -> Vec<String> {
    values
        .iter()
        .map(|(sensor, celsius)| json!({"sensor": sensor, "celsius": celsius}).to_string())
        .collect()
}

#[test]
fn a_websocket_publish_is_one_frame_with_the_binding_query_headers_and_authorization() {
    let test = "asyncapi_web::a_websocket_publish_is_one_frame_with_the_binding_query_headers_and_authorization";
    if !ready(test, "websockets") {
        return;
    }
    let peer = WebPeer::start("ws", &[]);
    let bindings = "{ws: {method: GET, query: {type: object, properties: {v: {const: '2'}, \
                    free: {type: string}}}, headers: {type: object, properties: \
                    {X-Site: {const: north}}}}}";
    let dir = with_api(
        &peer,
        "ws",
        &[
            ("readings", "/sink/readings", bindings, "application/json"),
            ("raw", "/sink/raw", "{}", "application/octet-stream"),
        ],
    );
    let body = r#"do:
  - json:
      call: asyncapi
      with: {document: {endpoint: file://api.yaml}, operation: sendReadings, authentication: {bearer: {token: t0k}}, message: {payload: {sensor: s1, celsius: 21.5}}}
  - bytes:
      call: asyncapi
      with: {document: {endpoint: file://api.yaml}, operation: sendRaw, message: {payload: {raw: abc}}}
"#;
    let ran = run(dir.path(), body);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    let seen = peer.wait_for(4, |_| true);
    assert_eq!(seen[0]["kind"], "connect", "{seen:?}");
    assert_eq!(seen[0]["path"], "/sink/readings?v=2");
    assert_eq!(seen[0]["headers"]["authorization"], "Bearer t0k");
    assert_eq!(seen[0]["headers"]["x-site"], "north");
    assert_eq!(seen[1]["kind"], "text");
    let sent: Value = serde_json::from_str(seen[1]["data"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {seen:?}"));
    assert_eq!(sent, json!({"sensor": "s1", "celsius": 21.5}));
    // A non-text content type travels as a binary frame.
    assert_eq!(seen[2]["path"], "/sink/raw");
    let hex: String = br#"{"raw":"abc"}"#.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(seen[3], json!({"kind": "binary", "hex": hex}));
    validate_is_quiet(dir.path());
}

/// `validate` has nothing to say about `w.yaml`'s WebSocket or HTTP calls any more.
fn validate_is_quiet(dir: &Path) {
    let checked = run_to_end(workflow(dir).args(["--color", "never", "validate", "w.yaml"]));
    let said = format!("{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.code == SUCCESS && !said.contains("runtime::unsupported"),
        "{said}"
    );
}

#[test]
fn a_websocket_subscription_consumes_pushed_frames_with_filter_amount_and_foreach() {
    let test = "asyncapi_web::a_websocket_subscription_consumes_pushed_frames_with_filter_amount_and_foreach";
    if !ready(test, "websockets") {
        return;
    }
    let feed = readings(&[("s0", -999.0), ("s1", 21.5), ("s2", 22.0), ("s3", 23.0)]);
    let peer = WebPeer::start("ws", &[("feed", &feed)]);
    let dir = readings_api(&peer, "ws", "/feed");
    let body = subscribing(
        "receiveReadings",
        "{filter: '${ .payload.celsius > -100 }', consume: {amount: 2, for: {seconds: 60}}, \
         foreach: {item: reading, output: {as: '${ {sensor: .correlationId, celsius: \
         .payload.celsius, headers: .headers} }'}}}",
    );
    let ran = run(dir.path(), &body);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!([
            {"sensor": "s1", "celsius": 21.5, "headers": {}},
            {"sensor": "s2", "celsius": 22.0, "headers": {}}
        ])
    );
}

#[test]
fn a_dropped_websocket_connection_is_a_communication_error_the_workflow_catches() {
    let test = "asyncapi_web::a_dropped_websocket_connection_is_a_communication_error_the_workflow_catches";
    if !ready(test, "websockets") {
        return;
    }
    let peer = WebPeer::start("ws", &[("feed", &readings(&[("s1", 1.0)]))]);
    let dir = readings_api(&peer, "ws", "/drop");
    let body = r#"do:
  - guarded:
      try:
        - readings:
            call: asyncapi
            with: {document: {endpoint: file://api.yaml}, operation: receiveReadings, subscription: {consume: {amount: 3}}}
      catch:
        errors: {with: {type: 'https://serverlessworkflow.io/spec/1.0.0/errors/communication'}}
        as: lost
        do: [{note: {set: {caught: '${ $lost.title }'}}}]
"#;
    let ran = run(dir.path(), body);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    let caught = ran.output()["caught"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(caught.contains("WebSocket connection"), "{caught}");
}

#[test]
fn an_http_publish_uses_the_binding_method_and_a_refusal_is_a_communication_error() {
    let test = "asyncapi_web::an_http_publish_uses_the_binding_method_and_a_refusal_is_a_communication_error";
    if !ready(test, "json") {
        return;
    }
    let peer = WebPeer::start("http", &[]);
    let dir = with_api(
        &peer,
        "http",
        &[
            ("readings", "/sink/readings", "{}", "application/json"),
            ("rejected", "/sink/reject", "{}", "application/json"),
        ],
    );
    // The HTTP operation binding of the send operation: PUT.
    let text = std::fs::read_to_string(dir.path().join("api.yaml")).unwrap_or_default();
    let text = text.replace(
        "sendReadings: {action: send,",
        "sendReadings: {bindings: {http: {method: PUT}}, action: send,",
    );
    write(dir.path(), "api.yaml", &text);
    let body = r#"do:
  - put:
      call: asyncapi
      with: {document: {endpoint: file://api.yaml}, operation: sendReadings, authentication: {basic: {username: u, password: p}}, message: {payload: {sensor: s1}, headers: {trace: t-1}}}
  - guarded:
      try:
        - refused:
            call: asyncapi
            with: {document: {endpoint: file://api.yaml}, operation: sendRejected, message: {payload: {sensor: s2}}}
      catch:
        errors: {with: {type: 'https://serverlessworkflow.io/spec/1.0.0/errors/communication', status: 503}}
        as: refusal
        do: [{note: {set: {status: '${ $refusal.status }'}}}]
"#;
    let ran = run(dir.path(), body);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(ran.output(), json!({"status": 503}));
    let seen = peer.wait_for(2, |line| line["kind"] == "request");
    assert_eq!(seen[0]["method"], "PUT", "{seen:?}");
    assert_eq!(seen[0]["path"], "/sink/readings");
    assert_eq!(seen[0]["headers"]["authorization"], "Basic dTpw");
    assert_eq!(seen[0]["headers"]["trace"], "t-1");
    assert_eq!(seen[0]["body"], r#"{"sensor":"s1"}"#);
    assert_eq!(seen[1]["method"], "POST");
}

#[test]
fn an_http_subscription_reads_server_sent_events_and_asks_again_with_the_last_event_id() {
    let test = "asyncapi_web::an_http_subscription_reads_server_sent_events_and_asks_again_with_the_last_event_id";
    if !ready(test, "json") {
        return;
    }
    let events = readings(&[("s1", 21.0), ("s2", 22.0), ("s3", 23.0), ("s4", 24.0)]);
    let peer = WebPeer::start("http", &[("sse", &events)]);
    let dir = readings_api(&peer, "http", "/sse");
    let body = subscribing(
        "receiveReadings",
        "{filter: '${ .payload.sensor != \"s2\" }', consume: {amount: 2}, foreach: {item: r, \
         output: {as: '${ {sensor: .correlationId, event: .headers.event, celsius: \
         .payload.celsius} }'}}}",
    );
    let ran = run(dir.path(), &body);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!([
            {"sensor": "s1", "event": "reading", "celsius": 21.0},
            {"sensor": "s3", "event": "reading", "celsius": 23.0}
        ])
    );
    validate_is_quiet(dir.path());
    // The first response ended after two events: the runner asked again from the last id.
    let asked = peer.wait_for(2, |line| line["kind"] == "request");
    assert_eq!(asked[0]["headers"].get("last-event-id"), None, "{asked:?}");
    assert_eq!(asked[1]["headers"]["last-event-id"], "2", "{asked:?}");
}

#[test]
fn an_http_subscription_long_polls_json_batches_and_streams_ndjson() {
    let test = "asyncapi_web::an_http_subscription_long_polls_json_batches_and_streams_ndjson";
    if !ready(test, "json") {
        return;
    }
    let polls = [r#"[{"n": 1}, {"n": 2}]"#, r#"{"n": 3}"#, r#"[{"n": 4}]"#].map(String::from);
    let lines = [r#"{"line": 1}"#, r#"{"line": 2}"#, r#"{"line": 3}"#].map(String::from);
    let peer = WebPeer::start("http", &[("poll", &polls), ("sse", &lines)]);
    let dir = with_api(
        &peer,
        "http",
        &[
            ("batches", "/poll", "{}", "application/json"),
            ("lines", "/ndjson", "{}", "application/json"),
        ],
    );
    let body = r#"do:
  - batches:
      call: asyncapi
      with: {document: {endpoint: file://api.yaml}, operation: receiveBatches, subscription: {consume: {until: '${ length >= 3 }'}}}
      export: {as: '${ {batches: [.[].payload.n]} }'}
  - lines:
      call: asyncapi
      with: {document: {endpoint: file://api.yaml}, operation: receiveLines, subscription: {consume: {amount: 2}}}
      output: {as: '${ {batches: $context.batches, lines: [.[].payload.line]} }'}
"#;
    let ran = run(dir.path(), body);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(ran.output(), json!({"batches": [1, 2, 3], "lines": [1, 2]}));
    // Two polls for three messages: a batch of two, then a single value.
    let asked = peer.wait_for(2, |line| line["path"] == "/poll");
    assert_eq!(asked.len(), 2);
}

#[test]
fn a_resumed_websocket_subscription_replays_the_journal_and_reconnects_for_new_frames_only() {
    let test = "asyncapi_web::a_resumed_websocket_subscription_replays_the_journal_and_reconnects_for_new_frames_only";
    if !ready(test, "websockets") {
        return;
    }
    // One frame on the first connection, the two others on the next one.
    let feed = readings(&[("s1", 1.0), ("s2", 2.0), ("s3", 3.0)]);
    let peer = WebPeer::start_with(&["ws", "--first", "1"], &[("feed", &feed)]);
    let dir = readings_api(&peer, "ws", "/feed");
    let body = subscribing(
        "receiveReadings",
        "{consume: {amount: 3}, foreach: {item: r, output: {as: '${ .correlationId }'}}}",
    );
    let file = write(
        dir.path(),
        "w.yaml",
        &document("test", "web", "0.1.0", &body),
    );
    let child = start(dir.path(), &file, &[]);
    let resumed = kill_and_resume_after(dir.path(), child, 1, 3, || {});
    // s1 from the journal, then the frames of a new connection: consumed once each.
    assert_eq!(resumed.output(), json!(["s1", "s2", "s3"]));
    let connects = peer.wait_for(2, |line| line["kind"] == "connect");
    assert_eq!(connects.len(), 2);
}

#[test]
fn the_bundled_dashboard_example_watches_server_sent_events_and_pushes_a_websocket_alert() {
    let test = "asyncapi_web::the_bundled_dashboard_example_watches_server_sent_events_and_pushes_a_websocket_alert";
    if !ready(test, "websockets") {
        return;
    }
    let events = readings(&[
        ("s1", 21.0),
        ("s2", 35.5),
        ("s3", 22.0),
        ("s4", 23.0),
        ("s5", 24.0),
    ]);
    let gateway = WebPeer::start("http", &[("sse", &events)]);
    let dashboard = WebPeer::start("ws", &[]);
    // The example as bundled, its servers moved to the peers' ports (and the gateway's event
    // stream to the peer's path).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_default();
    let api = read("asyncapi/dashboard.yaml")
        .replace(":8080", &format!(":{}", gateway.port))
        .replace(":8081", &format!(":{}", dashboard.port))
        .replace("address: /readings", "address: /sse");
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("asyncapi")).unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "asyncapi/dashboard.yaml", &api);
    let file = write(dir.path(), "w.yaml", &read("dashboard-asyncapi.yaml"));
    let ran = finish(start(dir.path(), &file, &[]));
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    let alert = json!({"sensor": "s2", "celsius": 35.5, "readings": 5});
    assert_eq!(ran.output()["payload"], alert);
    let seen = dashboard.wait_for(2, |_| true);
    assert_eq!(seen[0]["headers"]["x-site"], "lab", "{seen:?}");
    let pushed: Value = serde_json::from_str(seen[1]["data"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {seen:?}"));
    assert_eq!(pushed, alert);
}

/// A certificate authority and a certificate it signed for 127.0.0.1, made by the openssl CLI
/// in `dir`: `(ca.pem, cert.pem, key.pem)`.
fn certificates(dir: &Path) -> (String, String, String) {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl: {e}"));
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
    ]);
    write(
        dir,
        "ext.cnf",
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "cert.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    (path("ca.pem"), path("cert.pem"), path("key.pem"))
}

#[test]
fn a_wss_subscription_verifies_the_server_against_the_trusted_roots() {
    let test = "asyncapi_web::a_wss_subscription_verifies_the_server_against_the_trusted_roots";
    if !services::ready(
        test,
        &[Need::python("websockets"), Need::program("openssl")],
    ) {
        return;
    }
    let keys = tempdir();
    let (ca, cert, key) = certificates(keys.path());
    let feed = readings(&[("s1", 20.0), ("s2", 21.0)]);
    let peer = WebPeer::start_with(&["ws", "--tls", &cert, &key], &[("feed", &feed)]);
    let dir = readings_api(&peer, "wss", "/feed/readings");
    let file = write(
        dir.path(),
        "w.yaml",
        &document(
            "test",
            "web",
            "0.1.0",
            &subscribing("receiveReadings", "{consume: {amount: 2}}"),
        ),
    );
    // The roots come from the system's certificate store, which SSL_CERT_FILE replaces.
    let run_trusting = |roots: &str| {
        finish(
            workflow(dir.path())
                .env("SSL_CERT_FILE", roots)
                .arg("run")
                .arg(&file)
                .args(["--format", "json", "--progress", "none"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}")),
        )
    };
    let trusted = run_trusting(&ca);
    assert_eq!(trusted.code, SUCCESS, "{}", trusted.stderr);
    let output: Value = serde_json::from_str(&trusted.stdout).unwrap_or_else(|e| panic!("{e}"));
    let sensors: Vec<&Value> = output["output"]
        .as_array()
        .map(|messages| messages.iter().map(|m| &m["payload"]["sensor"]).collect())
        .unwrap_or_default();
    assert_eq!(sensors, [&json!("s1"), &json!("s2")], "{output}");
    // Without the test CA among the roots, the same server is refused.
    let refused = run_trusting(&cert);
    assert_ne!(refused.code, SUCCESS, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("communication") || refused.stderr.contains("communication"),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
}
