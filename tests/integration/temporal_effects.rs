//! Side effects of runs on Temporal, against a real dev server (one per test) and real peers:
//! an HTTP call is a `workflow.call` activity whose 503 the engine's retry policy retries; an
//! OpenAPI call reads its document and sends its request as activities; gRPC (grpcio), MCP
//! (the reference server) and A2A (an a2a-sdk agent) calls; a `listen` fed by `workflow events
//! send --temporal` (signals); a `listen` fed from NATS by nats-py through a worker's
//! `--broker`, and an `emit` that nats-py receives; an emit heard in-run without a broker; an
//! AsyncAPI subscription on MQTT (paho-mqtt publishes) consumed one activity per step; a
//! cancelled run cancels its call. Each run's recorded history replays with this build.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::events::unique;
use crate::support::grpc_peer;
use crate::support::http_server;
use crate::support::services::{Need, peers_dir};
use crate::support::temporal::{self, Server, document};

/// Waits for a submitted run (a child printing `--format json`) to end, bounded.
fn finish(mut child: Child, while_waiting: impl Fn()) -> (i32, Value, String) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output();
            panic!("the run never ended: {output:?}");
        }
        while_waiting();
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json, stderr)
}

fn spawn(command: &mut Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The run's history (Temporal's CLI, JSON).
fn history(server: &Server, id: &str) -> String {
    let shown = server.cli(&["workflow", "show", "--workflow-id", id, "--output", "json"]);
    String::from_utf8_lossy(&shown.stdout).into_owned()
}

/// Submits `file` to `queue` and waits for its end: the `--format json` object of the run,
/// which must have completed.
fn completed(server: &Server, file: &Path, queue: &str, while_waiting: impl Fn()) -> Value {
    let (code, json, stderr) = finish(spawn(&mut server.submit(file, queue, &[])), while_waiting);
    assert_eq!(code, 0, "{json} {stderr}");
    json
}

fn assert_replays(server: &Server, id: &str) {
    let replayed = server.replay(id);
    let stderr = String::from_utf8_lossy(&replayed.stderr);
    assert!(replayed.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("replayed: run {id}")), "{stderr}");
}

#[test]
fn an_http_call_is_an_activity_and_its_503_is_retried_by_the_engine() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::an_http_call_is_an_activity_and_its_503_is_retried_by_the_engine",
        &[],
    ) else {
        return;
    };
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let router = axum::Router::new().route(
        "/stock",
        axum::routing::get(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n == 1 {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
                } else {
                    axum::Json(json!({"left": 7, "attempt": n})).into_response()
                }
            }
        }),
    );
    let web = http_server::serve(router);
    let file = document(
        dir.path(),
        "http.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: http, version: '0.1.0'}}\n\
             do:\n  - ask:\n      try:\n        - get:\n            call: http\n            with:\n              \
             method: get\n              endpoint: {}\n      catch:\n        errors:\n          with:\n            \
             status: 503\n        retry:\n          delay: PT1S\n          limit:\n            attempt:\n              \
             count: 3\n",
            web.url("/stock")
        ),
    );
    let _worker = server.worker("http", "a");
    let json = completed(&server, &file, "http", || {});
    assert_eq!(json["output"], json!({"left": 7, "attempt": 2}), "{json}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let id = json["id"].as_str().unwrap_or_default().to_string();
    let history = history(&server, &id);
    // Two attempts, two activities (the engine retried: Temporal did not), one backoff timer.
    assert_eq!(history.matches("\"workflow.call\"").count(), 2, "{history}");
    assert_eq!(
        history
            .matches("\"activityTaskFailedEventAttributes\"")
            .count(),
        0
    );
    assert_eq!(
        history.matches("\"timerStartedEventAttributes\"").count(),
        1
    );
    assert_replays(&server, &id);
}

#[test]
fn a_grpc_call_to_the_grpcio_peer_is_an_activity() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::a_grpc_call_to_the_grpcio_peer_is_an_activity",
        &[Need::python("grpc"), Need::python("grpc_tools")],
    ) else {
        return;
    };
    let peer = grpc_peer::shared();
    let proto = grpc_peer::peer_dir().join("greeter.proto");
    let file = document(
        dir.path(),
        "grpc.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: grpc, version: '0.1.0'}}\n\
             do:\n  - hello:\n      call: grpc\n      with:\n        proto:\n          endpoint: file://{}\n        \
             service:\n          name: interop.greeter.v1.Greeter\n          host: 127.0.0.1\n          \
             port: {}\n        method: SayHello\n        arguments:\n          name: Temporal\n",
            proto.display(),
            peer.port
        ),
    );
    let _worker = server.worker("grpc", "a");
    let json = completed(&server, &file, "grpc", || {});
    assert_eq!(json["output"]["message"], "Hello, Temporal!", "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    // Read by activities too: the proto and the one it imports; then the call.
    assert_eq!(
        history(&server, &id).matches("\"workflow.call\"").count(),
        3
    );
    assert_replays(&server, &id);
}

/// A run that waits for one `com.example.paid` event and ends with its data.
fn listening_document(dir: &Path, event_type: &str, emit_type: Option<&str>) -> std::path::PathBuf {
    let emit = emit_type.map_or_else(String::new, |emit| {
        format!(
            "  - announce:\n      emit:\n        event:\n          with:\n            type: {emit}\n            \
             source: https://shop.example\n            data: {{hello: nats}}\n"
        )
    });
    document(
        dir,
        "listen.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: listen, version: '0.1.0'}}\n\
             do:\n{emit}  - paid:\n      listen:\n        to:\n          one:\n            with:\n              \
             type: {event_type}\n  - out:\n      set: '${{ .[0] }}'\n"
        ),
    )
}

#[test]
fn a_listen_is_fed_by_events_send_temporal() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::a_listen_is_fed_by_events_send_temporal",
        &[],
    ) else {
        return;
    };
    let file = listening_document(dir.path(), "com.example.paid", None);
    let _worker = server.worker("signals", "a");
    // The same event (same id) again and again until the run ends: the signal reaches every
    // running run of the visibility list, and the run keeps one copy.
    let send = |event_type: &str, id: &str| {
        Command::new(crate::support::BINARY)
            .args(["events", "send", "--temporal", &server.address])
            .args([
                "--type",
                event_type,
                "--id",
                id,
                "--data",
                "{\"order\": 42}",
            ])
            .env_remove("WORKFLOW_BROKER")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let json = completed(&server, &file, "signals", || {
        // An event the listen does not want first: it is dropped, not consumed.
        let _ = send("com.example.other", "other-1");
        let sent = send("com.example.paid", "paid-1");
        assert!(
            sent.status.success(),
            "{}",
            String::from_utf8_lossy(&sent.stderr)
        );
    });
    assert_eq!(json["output"], json!({"order": 42}), "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    let history = history(&server, &id);
    assert!(history.contains("workflow.event"), "{history}");
    assert_replays(&server, &id);
    // To one run by its id: a run that does not exist is an error.
    let missing = Command::new(crate::support::BINARY)
        .args(["events", "send", "--temporal", &server.address])
        .args(["--workflow-id", "no-such-run", "--type", "t"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!missing.status.success());
}

#[test]
fn a_worker_broker_forwards_nats_events_to_a_listen_and_publishes_emits() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::a_worker_broker_forwards_nats_events_to_a_listen_and_publishes_emits",
        &[Need::nats(), Need::python("nats")],
    ) else {
        return;
    };
    let peer = peers_dir().join("events/nats_peer.py");
    let emitted = unique("temporal.emitted");
    let wanted = unique("temporal.paid");
    // nats-py waits for the emitted event first.
    let mut consumer = Command::new("python3")
        .arg(&peer)
        .args(["consume", &emitted, "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = BufReader::new(consumer.stdout.take().unwrap_or_else(|| panic!("stdout")))
        .lines()
        .map_while(Result::ok);
    assert_eq!(lines.next().as_deref(), Some("ready"));
    let file = listening_document(dir.path(), &wanted, Some(&emitted));
    let _worker = server.worker_with("brokers", "a", &["--broker", "nats://127.0.0.1:4222"]);
    let event = json!({
        "specversion": "1.0",
        "id": format!("nats-{wanted}"),
        "source": "https://peer.example/nats-py",
        "type": wanted,
        "data": {"order": 7},
    })
    .to_string();
    let json = completed(&server, &file, "brokers", || {
        let published = Command::new("python3")
            .arg(&peer)
            .args(["publish", &wanted, &event])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            published.status.success(),
            "{}",
            String::from_utf8_lossy(&published.stderr)
        );
    });
    assert_eq!(json["output"], json!({"order": 7}), "{json}");
    let received = lines.next().unwrap_or_default();
    let _ = consumer.wait();
    let received: Value = serde_json::from_str(&received).unwrap_or(Value::Null);
    assert_eq!(received["type"], emitted.as_str(), "{received}");
    assert_eq!(received["data"], json!({"hello": "nats"}), "{received}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    assert_replays(&server, &id);
}

#[test]
fn each_consumption_step_of_an_asyncapi_subscription_is_an_activity() {
    let test = "temporal_effects::each_consumption_step_of_an_asyncapi_subscription_is_an_activity";
    let Some((server, dir)) =
        temporal::setup(test, &[Need::mosquitto(), Need::python("paho.mqtt")])
    else {
        return;
    };
    let base = unique("temporal").replace('.', "/");
    let spec = document(
        dir.path(),
        "sensors.yaml",
        &format!(
            "asyncapi: 3.0.0\ninfo: {{title: sensors, version: 1.0.0}}\nservers:\n  edge:\n    \
             host: 127.0.0.1:1883\n    protocol: mqtt\nchannels:\n  readings:\n    address: \
             \"{base}/{{sensorId}}/temperature\"\n    parameters:\n      sensorId: {{}}\n    \
             messages:\n      reading:\n        contentType: application/json\n\
             operations:\n  receiveReadings:\n    action: receive\n    channel: {{$ref: \
             '#/channels/readings'}}\n"
        ),
    );
    let file = document(
        dir.path(),
        "sub.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: sub, version: '0.1.0'}}\n\
             do:\n  - readings:\n      call: asyncapi\n      with:\n        document:\n          \
             endpoint: file://{}\n        operation: receiveReadings\n        protocol: mqtt\n        \
             subscription:\n          filter: ${{ .payload.celsius > -100 }}\n          consume:\n            \
             amount: 2\n          foreach:\n            item: reading\n            output:\n              \
             as: '${{ .payload.celsius }}'\n",
            spec.display()
        ),
    );
    let _worker = server.worker("subscriptions", "a");
    let run = spawn(&mut server.submit(&file, "subscriptions", &[]));
    let publish = |sensor: &str, celsius: f64, routed: bool| {
        let topic = format!("{base}/{sensor}/temperature").replace('/', ".");
        let message = json!({"sensor": sensor, "celsius": celsius}).to_string();
        let mut args = vec!["publish", topic.as_str(), message.as_str()];
        if routed {
            // Again until the durable subscription exists: the run is listening.
            args.extend(["--until-routed", "90"]);
        }
        let out = Command::new("python3")
            .arg(peers_dir().join("events/mqtt_peer.py"))
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Filtered out, then two consumed: published while no step is running, they wait in the
    // persistent session for the next step.
    publish("s0", -999.0, true);
    publish("s1", 21.5, false);
    publish("s2", 22.0, false);
    let (code, json, stderr) = finish(run, || {});
    assert_eq!(code, 0, "{json} {stderr}");
    assert_eq!(json["output"], json!([21.5, 22.0]), "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    // The AsyncAPI document read, the subscription made, three steps (one message each), the
    // subscription removed.
    let history = history(&server, &id);
    assert_eq!(history.matches("\"workflow.call\"").count(), 6, "{history}");
    assert_replays(&server, &id);
}

#[test]
fn an_mcp_call_to_the_reference_server_is_an_activity() {
    let server_js =
        peers_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::an_mcp_call_to_the_reference_server_is_an_activity",
        &[
            Need::program("node"),
            Need::path(
                "the npm peer server-everything (npm ci in tests/peers)",
                server_js.display().to_string(),
            ),
        ],
    ) else {
        return;
    };
    let file = document(
        dir.path(),
        "mcp.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: mcp, version: '0.1.0'}}\n\
             do:\n  - echo:\n      call: mcp\n      with:\n        method: tools/call\n        \
             parameters:\n          name: echo\n          arguments:\n            message: from Temporal\n        \
             transport:\n          stdio:\n            command: node\n            arguments: ['{}', stdio]\n",
            server_js.display()
        ),
    );
    let _worker = server.worker("mcp", "a");
    let json = completed(&server, &file, "mcp", || {});
    assert_eq!(
        json["output"]["content"][0]["text"], "Echo: from Temporal",
        "{json}"
    );
    let id = json["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        history(&server, &id).matches("\"workflow.call\"").count(),
        1
    );
    assert_replays(&server, &id);
}

#[test]
fn without_a_broker_an_emit_reaches_a_listen_of_its_own_run() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::without_a_broker_an_emit_reaches_a_listen_of_its_own_run",
        &[],
    ) else {
        return;
    };
    let file = document(
        dir.path(),
        "fork.yaml",
        "document: {dsl: '1.0.0', namespace: test, name: fork, version: '0.1.0'}\n\
         do:\n  - both:\n      fork:\n        branches:\n          - wait:\n              listen:\n                \
         to:\n                  one:\n                    with: {type: com.example.shipped}\n          \
         - send:\n              emit:\n                event:\n                  with: {type: com.example.shipped, \
         source: https://shop.example, data: {carrier: ups}}\n  - out:\n      set: '${ .[0] }'\n",
    );
    let _worker = server.worker("own", "a");
    let json = completed(&server, &file, "own", || {});
    assert_eq!(json["output"], json!([{"carrier": "ups"}]), "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    // The emit is an activity even without a broker: the history does not depend on the worker.
    assert_eq!(
        history(&server, &id).matches("\"workflow.call\"").count(),
        1
    );
    assert_replays(&server, &id);
}

/// Counts the requests a handler dropped before answering (the client went away).
struct Abandoned(Arc<AtomicUsize>);

impl Drop for Abandoned {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancelling_a_run_cancels_its_call_activity() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::cancelling_a_run_cancels_its_call_activity",
        &[],
    ) else {
        return;
    };
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (hit, gone) = (Arc::clone(&started), Arc::clone(&dropped));
    let router = axum::Router::new().route(
        "/slow",
        axum::routing::get(move || {
            hit.fetch_add(1, Ordering::SeqCst);
            let guard = Abandoned(Arc::clone(&gone));
            async move {
                tokio::time::sleep(Duration::from_secs(300)).await;
                std::mem::forget(guard);
                "late"
            }
        }),
    );
    let web = http_server::serve(router);
    let file = document(
        dir.path(),
        "slow.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: slow, version: '0.1.0'}}\n\
             do:\n  - get:\n      call: http\n      with:\n        method: get\n        endpoint: {}\n",
            web.url("/slow")
        ),
    );
    let _worker = server.worker("cancel", "a");
    let detached = server
        .submit(&file, "cancel", &["--detach"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let json: Value = serde_json::from_slice(&detached.stdout).unwrap_or(Value::Null);
    let id = json["id"].as_str().unwrap_or_default().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while started.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the call never reached the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let cancelled = server.cli(&["workflow", "cancel", "--workflow-id", &id]);
    assert!(cancelled.status.success(), "{cancelled:?}");
    // The activity learns it on its next heartbeat and drops the request.
    let deadline = Instant::now() + Duration::from_secs(60);
    while dropped.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the request was never abandoned");
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let described = server.cli(&["workflow", "describe", "--workflow-id", &id]);
        let text = String::from_utf8_lossy(&described.stdout).to_lowercase();
        if text.contains("canceled") || text.contains("cancelled") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not end cancelled: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(started.load(Ordering::SeqCst), 1, "the call ran once");
}

#[test]
fn an_openapi_call_reads_its_document_and_sends_its_request_as_activities() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::an_openapi_call_reads_its_document_and_sends_its_request_as_activities",
        &[],
    ) else {
        return;
    };
    let router = axum::Router::new().route(
        "/v3/items/{id}",
        axum::routing::get(
            |axum::extract::Path(id): axum::extract::Path<u32>| async move {
                axum::Json(json!({"id": id, "name": "lamp"}))
            },
        ),
    );
    let web = http_server::serve(router);
    let spec = document(
        dir.path(),
        "items.yaml",
        &format!(
            "openapi: 3.0.3\ninfo: {{title: items, version: '1'}}\nservers:\n  - url: {}\npaths:\n  \
             /items/{{id}}:\n    get:\n      operationId: getItem\n      parameters:\n        - {{name: id, \
             in: path, required: true, schema: {{type: integer}}}}\n      responses:\n        '200': \
             {{description: ok}}\n",
            web.url("/v3")
        ),
    );
    let file = document(
        dir.path(),
        "openapi.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: openapi, version: '0.1.0'}}\n\
             do:\n  - item:\n      call: openapi\n      with:\n        document: {{endpoint: 'file://{}'}}\n        \
             operationId: getItem\n        parameters: {{id: 7}}\n",
            spec.display()
        ),
    );
    let _worker = server.worker("openapi", "a");
    let json = completed(&server, &file, "openapi", || {});
    assert_eq!(json["output"], json!({"id": 7, "name": "lamp"}), "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    // The document read by one activity, the request sent by another.
    assert_eq!(
        history(&server, &id).matches("\"workflow.call\"").count(),
        2
    );
    assert_replays(&server, &id);
}

#[test]
fn an_a2a_call_to_an_a2a_sdk_agent_is_an_activity() {
    let Some((server, dir)) = temporal::setup(
        "temporal_effects::an_a2a_call_to_an_a2a_sdk_agent_is_an_activity",
        &[
            Need::program("python3"),
            Need::python("a2a.server.apps"),
            Need::python("uvicorn"),
        ],
    ) else {
        return;
    };
    let agent = crate::support::peer::Peer::start(
        "python3",
        &[&peers_dir().join("a2a/report_agent.py")],
        &[],
    );
    let file = document(
        dir.path(),
        "a2a.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: a2a, version: '0.1.0'}}\n\
             do:\n  - send:\n      call: a2a\n      with:\n        method: message/send\n        agentCard:\n          \
             endpoint: {}/.well-known/agent-card.json\n        parameters:\n          message:\n            \
             parts:\n              - kind: text\n                text: Q1 sales\n",
            agent.base()
        ),
    );
    let _worker = server.worker("a2a", "a");
    let json = completed(&server, &file, "a2a", || {});
    assert_eq!(
        json["output"]["artifacts"][0]["parts"][0]["text"], "Report: Q1 sales",
        "{json}"
    );
    let id = json["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        history(&server, &id).matches("\"workflow.call\"").count(),
        1
    );
    assert_replays(&server, &id);
}
