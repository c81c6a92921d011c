//! `call: asyncapi` against the real brokers with independent peers on the other side
//! (`tests/peers/events/`: nats-py, paho-mqtt): a publish seen by the peer, messages published
//! by the peer consumed with a filter, an amount and `foreach`; `validate` reading a local
//! document.
#![cfg(unix)]

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::events::{finish, run_to_end, start, unique, workflow};
use crate::support::services::{self, Need, peers_dir};
use crate::support::{document, tempdir, write};

const SUCCESS: i32 = 0;
const INVALID: i32 = 3;

/// An AsyncAPI 3.0 document: an MQTT and a NATS server, a parameterised readings channel
/// (`BASE/{sensorId}/temperature`) and an alerts channel whose parameter has a default.
fn sensors_v3(base: &str) -> String {
    format!(
        r#"asyncapi: 3.0.0
info: {{title: sensors, version: 1.0.0}}
servers:
  edge:
    host: "127.0.0.1:{{port}}"
    protocol: mqtt
    variables:
      port: {{default: "1883"}}
  bus:
    host: 127.0.0.1:4222
    protocol: nats
channels:
  readings:
    address: "{base}/{{sensorId}}/temperature"
    parameters:
      sensorId: {{}}
    servers: [{{$ref: '#/servers/edge'}}]
    messages:
      reading: {{$ref: '#/components/messages/reading'}}
  alerts:
    address: "{base}/alerts/{{level}}"
    parameters:
      level: {{default: high}}
operations:
  receiveReadings:
    action: receive
    channel: {{$ref: '#/channels/readings'}}
  sendAlert:
    action: send
    channel: {{$ref: '#/channels/alerts'}}
components:
  messages:
    reading:
      contentType: application/json
      correlationId: {{location: '$message.payload#/sensor'}}
"#
    )
}

fn mqtt_peer(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(peers_dir().join("events/mqtt_peer.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_mqtt_subscription_consumes_peer_messages_with_filter_amount_and_foreach() {
    let test =
        "asyncapi::an_mqtt_subscription_consumes_peer_messages_with_filter_amount_and_foreach";
    if !services::ready(test, &[Need::mosquitto(), Need::python("paho.mqtt")]) {
        return;
    }
    let base = unique("aa").replace('.', "/");
    let dir = tempdir();
    write(dir.path(), "sensors.yaml", &sensors_v3(&base));
    let body = r#"do:
  - readings:
      call: asyncapi
      with:
        document:
          endpoint: file://sensors.yaml
        operation: receiveReadings
        protocol: mqtt
        subscription:
          filter: ${ .payload.celsius > -100 }
          consume:
            amount: 2
          foreach:
            item: reading
            output:
              as: '${ {sensor: .correlationId, celsius: .payload.celsius} }'
"#;
    let file = write(
        dir.path(),
        "w.yaml",
        &document("test", "sub", "0.1.0", body),
    );
    let child = start(dir.path(), &file, &[]);
    let publish = |sensor: &str, celsius: f64, routed: bool| {
        let topic = format!("{base}/{sensor}/temperature").replace('/', ".");
        let message = json!({"sensor": sensor, "celsius": celsius}).to_string();
        let mut args = vec!["publish", topic.as_str(), message.as_str()];
        if routed {
            // Again until the runner's subscription took it: the runner is listening.
            args.extend(["--until-routed", "60"]);
        }
        let out = mqtt_peer(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // A broken sensor's reading is filtered out; the next two are consumed, in order.
    publish("s0", -999.0, true);
    publish("s1", 21.5, false);
    publish("s2", 22.0, false);
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!([
            {"sensor": "s1", "celsius": 21.5},
            {"sensor": "s2", "celsius": 22.0}
        ])
    );
}

#[test]
fn a_nats_publish_is_seen_by_the_peer_with_its_headers() {
    let test = "asyncapi::a_nats_publish_is_seen_by_the_peer_with_its_headers";
    if !services::ready(test, &[Need::nats(), Need::python("nats")]) {
        return;
    }
    let subject = unique("aa");
    let dir = tempdir();
    // An AsyncAPI 2.6 document: the channel's key is the subject.
    let api = format!(
        r#"asyncapi: 2.6.0
info: {{title: greetings, version: 1.0.0}}
servers:
  local: {{url: "127.0.0.1:{{port}}", protocol: nats, variables: {{port: {{default: "1"}}}}}}
channels:
  {subject}:
    publish:
      operationId: sendGreeting
      message: {{contentType: application/json}}
"#
    );
    write(dir.path(), "greetings.yaml", &api);
    let body = r#"do:
  - greet:
      call: asyncapi
      with:
        document:
          endpoint: file://greetings.yaml
        operation: sendGreeting
        server:
          name: local
          variables:
            port: '4222'
        message:
          payload:
            greeting: ${ "hello " + .name }
          headers:
            source: workflow
"#;
    let file = write(
        dir.path(),
        "w.yaml",
        &document("test", "pub", "0.1.0", body),
    );
    let mut consumer = Command::new("python3")
        .arg(peers_dir().join("events/nats_peer.py"))
        .args(["consume", &subject, "1", "--headers"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = consumer
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok);
    assert_eq!(lines.next().as_deref(), Some("ready"));
    let ran = run_to_end(workflow(dir.path()).arg("run").arg(&file).args([
        "--format",
        "json",
        "--progress",
        "none",
        "--input",
        r#"{"name": "Ada"}"#,
    ]));
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!({"payload": {"greeting": "hello Ada"}, "headers": {"source": "workflow"}})
    );
    let seen: Value =
        serde_json::from_str(&lines.next().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let _ = consumer.wait();
    assert_eq!(seen["body"], r#"{"greeting":"hello Ada"}"#);
    assert_eq!(seen["headers"]["source"], "workflow");
    assert_eq!(seen["headers"]["content-type"], "application/json");
}

#[test]
fn an_mqtt_publish_completes_after_the_puback_and_reaches_the_peer() {
    let test = "asyncapi::an_mqtt_publish_completes_after_the_puback_and_reaches_the_peer";
    if !services::ready(test, &[Need::mosquitto(), Need::python("paho.mqtt")]) {
        return;
    }
    let base = unique("aa").replace('.', "/");
    let dir = tempdir();
    write(dir.path(), "sensors.yaml", &sensors_v3(&base));
    let body = r#"do:
  - alert:
      call: asyncapi
      with:
        document:
          endpoint: file://sensors.yaml
        operation: sendAlert
        server:
          name: edge
        message:
          payload:
            too_hot: ${ .celsius }
"#;
    let file = write(
        dir.path(),
        "w.yaml",
        &document("test", "alert", "0.1.0", body),
    );
    // The peer's topic argument is an event type: `.` becomes `/`.
    let topic = format!("{base}/alerts/high").replace('/', ".");
    let mut consumer = Command::new("python3")
        .arg(peers_dir().join("events/mqtt_peer.py"))
        .args(["consume", &topic, "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = consumer
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok);
    assert_eq!(lines.next().as_deref(), Some("ready"));
    let ran = run_to_end(workflow(dir.path()).arg("run").arg(&file).args([
        "--format",
        "json",
        "--progress",
        "none",
        "--input",
        r#"{"celsius": 41}"#,
    ]));
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(ran.output()["payload"], json!({"too_hot": 41}));
    assert_eq!(lines.next().as_deref(), Some(r#"{"too_hot":41}"#));
    let _ = consumer.wait();
}

#[test]
fn validate_names_an_unknown_operation_and_server_with_a_did_you_mean() {
    let dir = tempdir();
    write(dir.path(), "sensors.yaml", &sensors_v3("x"));
    let body = r#"do:
  - alert:
      call: asyncapi
      with:
        document:
          endpoint: file://sensors.yaml
        operation: sendAlerts
        server:
          name: egde
        message:
          payload: {a: 1}
"#;
    let file = write(
        dir.path(),
        "w.yaml",
        &document("test", "bad", "0.1.0", body),
    );
    let ran = run_to_end(
        workflow(dir.path())
            .args(["--color", "never", "validate"])
            .arg(&file),
    );
    assert_eq!(ran.code, INVALID, "{}", ran.stderr);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(all.contains("asyncapi::call"), "{all}");
    assert!(all.contains("did you mean `sendAlert`?"), "{all}");
    assert!(all.contains("did you mean `edge`?"), "{all}");
    assert!(!all.contains("runtime::unsupported"), "{all}");
}

#[test]
fn an_amqp_publish_goes_to_the_bound_exchange_with_basic_credentials() {
    let test = "asyncapi::an_amqp_publish_goes_to_the_bound_exchange_with_basic_credentials";
    if !services::ready(test, &[Need::rabbitmq(), Need::python("pika")]) {
        return;
    }
    let key = unique("aa");
    let dir = tempdir();
    // 2.6 with the AMQP channel binding: the peer's exchange, the channel key as routing key.
    let api = format!(
        r#"asyncapi: 2.6.0
info: {{title: orders, version: 1.0.0}}
servers:
  rabbit: {{url: "amqp://127.0.0.1:5672/%2f", protocol: amqp}}
channels:
  {key}:
    bindings:
      amqp:
        is: routingKey
        exchange: {{name: cloudevents, type: topic}}
    publish:
      operationId: placeOrder
"#
    );
    write(dir.path(), "orders.yaml", &api);
    let body = r#"do:
  - order:
      call: asyncapi
      with:
        document:
          endpoint: file://orders.yaml
        operation: placeOrder
        protocol: amqp
        authentication:
          basic: {username: guest, password: guest}
        message:
          payload:
            item: ${ .item }
"#;
    let file = write(
        dir.path(),
        "w.yaml",
        &document("test", "order", "0.1.0", body),
    );
    let mut consumer = Command::new("python3")
        .arg(peers_dir().join("events/amqp_peer.py"))
        .args(["consume", &key, "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = consumer
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok);
    assert_eq!(lines.next().as_deref(), Some("ready"));
    let ran = run_to_end(workflow(dir.path()).arg("run").arg(&file).args([
        "--format",
        "json",
        "--progress",
        "none",
        "--input",
        r#"{"item": "lamp"}"#,
    ]));
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(lines.next().as_deref(), Some(r#"{"item":"lamp"}"#));
    let _ = consumer.wait();
}
