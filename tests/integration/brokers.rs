//! Events over MQTT (Mosquitto) and AMQP (RabbitMQ) next to independent clients (paho-mqtt,
//! pika: `tests/peers/events/`), and the `--receive` HTTP receiver: publish, consume,
//! correlation, structured and binary mode, a broker that is down, and kill -9 while listening
//! with an event sent while the runner is down, then `resume` consuming it exactly once.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::events::{
    cloudevent, finish, kill_resume_document, run_to_end, run_with_consumed, start, unique,
    workflow,
};
use crate::support::services::{self, Need, peers_dir};
use crate::support::{document, parse_json, tempdir, write};

const SUCCESS: i32 = 0;
const USAGE: i32 = 2;

const MQTT: &str = "mqtt://127.0.0.1:1883";
const MQTT5: &str = "mqtt://127.0.0.1:1883?version=5";
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Which broker a test talks to, and through which peer.
#[derive(Clone, Copy)]
enum Peer {
    Mqtt,
    Amqp,
}

impl Peer {
    fn script(self) -> PathBuf {
        peers_dir().join(match self {
            Peer::Mqtt => "events/mqtt_peer.py",
            Peer::Amqp => "events/amqp_peer.py",
        })
    }

    fn ready(self, test: &str) -> bool {
        match self {
            Peer::Mqtt => services::ready(test, &[Need::mosquitto(), Need::python("paho.mqtt")]),
            Peer::Amqp => services::ready(test, &[Need::rabbitmq(), Need::python("pika")]),
        }
    }

    /// Publishes one event; with `routed`, again and again until the broker says a runner's
    /// subscription took it (the runner is listening), for up to a minute.
    fn publish(self, event_type: &str, data: Value, binary: bool, routed: bool) {
        let event = cloudevent(event_type, data);
        let mut command = Command::new("python3");
        command
            .arg(self.script())
            .args(["publish", event_type, &event]);
        if binary {
            command.arg("--binary");
        }
        if routed {
            command.args(["--until-routed", "60"]);
        }
        let published = command.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            published.status.success(),
            "{}",
            String::from_utf8_lossy(&published.stderr)
        );
    }

    /// A consumer of `event_type`, subscribed once this returns; then the next line of it.
    fn consumer(self, event_type: &str) -> (std::process::Child, impl Iterator<Item = String>) {
        let mut child = Command::new("python3")
            .arg(self.script())
            .args(["consume", event_type, "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines =
            std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok);
        assert_eq!(lines.next().as_deref(), Some("ready"));
        (child, lines)
    }
}

/// Waits (generously) until the run's journal holds `count` consumed events; its id.
fn consumed(dir: &Path, count: i64) -> String {
    let db = dir.join("state/journal.db");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(id) = run_with_consumed(&db, count) {
            return id;
        }
        assert!(
            Instant::now() < deadline,
            "{count} events were never consumed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn correlation(peer: Peer, broker: &str, test: &str) {
    if !peer.ready(test) {
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
        "c.yaml",
        &document("test", "corr", "0.1.0", &body),
    );
    let input = r#"{"orderId": "A-1"}"#;
    let child = start(dir.path(), &file, &["--broker", broker, "--input", input]);
    // Another order's events are not this run's.
    peer.publish(&paid, json!({"orderId": "B-2"}), false, true);
    peer.publish(&shipped, json!({"orderId": "B-2"}), true, true);
    peer.publish(
        &paid,
        json!({"orderId": "A-1", "mode": "structured"}),
        false,
        true,
    );
    peer.publish(
        &shipped,
        json!({"orderId": "A-1", "mode": "binary"}),
        true,
        true,
    );
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
fn mqtt5_listen_consumes_structured_and_binary_events_with_correlation() {
    correlation(
        Peer::Mqtt,
        MQTT5,
        "brokers::mqtt5_listen_consumes_structured_and_binary_events_with_correlation",
    );
}

#[test]
fn amqp_listen_consumes_structured_and_binary_events_with_correlation() {
    correlation(
        Peer::Amqp,
        AMQP,
        "brokers::amqp_listen_consumes_structured_and_binary_events_with_correlation",
    );
}

fn emit_reaches_peer(peer: Peer, broker: &str, test: &str) {
    if !peer.ready(test) {
        return;
    }
    let event_type = unique("emitted");
    let (mut consumer, mut lines) = peer.consumer(&event_type);
    let dir = tempdir();
    let body = format!(
        "do:\n  - send:\n      emit: {{event: {{with: {{type: {event_type}, source: https://s.example, orderid: A-1, data: {{n: 1}}}}}}}}\n"
    );
    let file = write(
        dir.path(),
        "e.yaml",
        &document("test", "emit", "0.1.0", &body),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--format", "json", "-q", "--broker", broker]),
    );
    assert_eq!(ran.code, SUCCESS, "{}{}", ran.stdout, ran.stderr);
    let received = lines.next().unwrap_or_default();
    let _ = consumer.wait();
    let event = parse_json(&received, "");
    assert_eq!(event, ran.output());
    assert_eq!(event["orderid"], "A-1");
    assert_eq!(event["data"], json!({"n": 1}));
}

#[test]
fn mqtt_peers_receive_what_emit_publishes() {
    for broker in [MQTT, MQTT5] {
        emit_reaches_peer(
            Peer::Mqtt,
            broker,
            "brokers::mqtt_peers_receive_what_emit_publishes",
        );
    }
}

#[test]
fn amqp_peers_receive_what_emit_publishes() {
    emit_reaches_peer(
        Peer::Amqp,
        AMQP,
        "brokers::amqp_peers_receive_what_emit_publishes",
    );
}

/// kill -9 while the second listen waits, an event published while the runner is down, then
/// `resume`: the run ends with both events, the step between ran once.
fn kill_and_resume(peer: Peer, broker: &str, test: &str) {
    if !peer.ready(test) {
        return;
    }
    let paid = unique("kpaid");
    let shipped = unique("kshipped");
    let dir = tempdir();
    let file = write(
        dir.path(),
        "k.yaml",
        &kill_resume_document("kill", &paid, &shipped),
    );
    let mut child = start(dir.path(), &file, &["--broker", broker]);
    peer.publish(&paid, json!({"n": 0}), false, true);
    peer.publish(&shipped, json!({"n": 1}), false, true);
    let run_id = consumed(dir.path(), 2);
    let _ = child.kill();
    let _ = child.wait();
    // Published while nobody runs: the listen's session (queue) keeps it for the resume.
    // Binary mode where the protocol has it (MQTT 3.1.1 has no message properties).
    let binary = broker != MQTT;
    peer.publish(&format!("{shipped}.late"), json!({"n": 2}), binary, false);
    let resumed = run_to_end(workflow(dir.path()).args([
        "resume",
        &run_id,
        "--broker",
        broker,
        "--format",
        "json",
        "--progress",
        "none",
    ]));
    assert_eq!(resumed.code, SUCCESS, "{}", resumed.stderr);
    assert_eq!(resumed.output(), json!({"shipped": [1, 2]}));
    let runs = std::fs::read_to_string(dir.path().join("runs.txt")).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1);
    // Consumed exactly once: the journal holds three consumed events, no more.
    assert_eq!(
        run_with_consumed(&dir.path().join("state/journal.db"), 3).as_deref(),
        Some(run_id.as_str())
    );
}

#[test]
fn mqtt_listen_survives_kill_9_and_resumes_with_events_published_while_down() {
    kill_and_resume(
        Peer::Mqtt,
        MQTT,
        "brokers::mqtt_listen_survives_kill_9_and_resumes_with_events_published_while_down",
    );
}

#[test]
fn mqtt5_listen_survives_kill_9_and_resumes_with_events_published_while_down() {
    kill_and_resume(
        Peer::Mqtt,
        MQTT5,
        "brokers::mqtt5_listen_survives_kill_9_and_resumes_with_events_published_while_down",
    );
}

#[test]
fn amqp_listen_survives_kill_9_and_resumes_with_events_published_while_down() {
    kill_and_resume(
        Peer::Amqp,
        AMQP,
        "brokers::amqp_listen_survives_kill_9_and_resumes_with_events_published_while_down",
    );
}

#[test]
fn mqtt_and_amqp_brokers_that_are_down_are_catchable_communication_errors() {
    let dir = tempdir();
    let (_socket, port) = crate::support::refusing_port();
    let body = r#"do:
  - guard:
      try:
        - send:
            emit: {event: {with: {type: x.y, source: https://s.example}}}
        - wait:
            listen: {to: {one: {with: {type: x.y}}}}
      catch:
        errors:
          with: {type: 'https://serverlessworkflow.io/spec/1.0.0/errors/communication'}
        as: e
        do:
          - note:
              set: {caught: '${ $e.title }', detail: '${ $e.detail }'}
"#;
    let file = write(
        dir.path(),
        "d.yaml",
        &document("test", "down", "0.1.0", body),
    );
    for broker in [
        format!("mqtt://127.0.0.1:{port}"),
        format!("mqtt://127.0.0.1:{port}?version=5"),
        format!("amqp://guest:s3cret@127.0.0.1:{port}/%2f"),
    ] {
        let ran = run_to_end(
            workflow(dir.path())
                .arg("run")
                .arg(&file)
                .args(["--format", "json", "-q", "--broker", &broker]),
        );
        assert_eq!(ran.code, SUCCESS, "{broker}: {}", ran.stderr);
        let output = ran.output();
        let caught = output["caught"].as_str().unwrap_or_default();
        assert!(caught.starts_with("Cannot"), "{broker}: {output}");
        assert!(!output.to_string().contains("s3cret"), "{output}");
    }
    // amqps:// is refused up front, naming what to use instead.
    let ran = run_to_end(
        workflow(dir.path())
            .arg("run")
            .arg(&file)
            .args(["--broker", "amqps://guest:s3cret@127.0.0.1:5671/%2f"]),
    );
    assert_eq!(ran.code, USAGE, "{}", ran.stderr);
    assert!(ran.stderr.contains("amqp://"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("s3cret"), "{}", ran.stderr);
}

#[test]
fn events_send_publishes_over_mqtt_to_the_bundled_sensor_flow() {
    if !Peer::Mqtt.ready("brokers::events_send_publishes_over_mqtt_to_the_bundled_sensor_flow") {
        return;
    }
    let dir = tempdir();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/sensor-readings.yaml");
    // The room is this test's own: other runs of the example may listen on the same topics.
    let room = unique("room");
    let input = json!({"room": room, "threshold": 30}).to_string();
    let child = start(dir.path(), &bundled, &["--broker", MQTT, "--input", &input]);
    let send = |event_type: &str, data: Option<&str>| {
        let mut command = workflow(dir.path());
        command.args([
            "events",
            "send",
            "--broker",
            MQTT,
            "--type",
            event_type,
            "--source",
            "https://sensor.example",
            "--ext",
            &format!("room={room}"),
        ]);
        if let Some(data) = data {
            command.args(["--data", data]);
        }
        let sent = run_to_end(&mut command);
        assert_eq!(sent.code, SUCCESS, "{}", sent.stderr);
    };
    // The first reading is sent by the peer until the run's subscription took it.
    Peer::Mqtt.publish_with_room(
        "com.example.sensor.reading",
        &room,
        json!({"celsius": 21.5}),
    );
    send("com.example.sensor.reading", Some(r#"{"celsius": 31}"#));
    send("com.example.sensor.done", None);
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(ran.output(), json!({"readings": [21.5, 31], "max": 31}));
}

impl Peer {
    /// A reading with the `room` extension, published until a subscription took it.
    fn publish_with_room(self, event_type: &str, room: &str, data: Value) {
        let mut event: Value = parse_json(&cloudevent(event_type, data), "");
        event["room"] = json!(room);
        let published = Command::new("python3")
            .arg(self.script())
            .args([
                "publish",
                event_type,
                &event.to_string(),
                "--until-routed",
                "60",
            ])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            published.status.success(),
            "{}",
            String::from_utf8_lossy(&published.stderr)
        );
    }
}
