//! `call: asyncapi` subscriptions on durable sources against the real brokers, with the
//! independent plain-message peer (`tests/peers/asyncapi/plain_peer.py`: nats-py, paho-mqtt,
//! pika, redis-py) on the other side: kill -9 while subscribed, a message published while the
//! runner is down, then `resume` consuming it exactly once (a JetStream consumer, an MQTT
//! persistent session, an AMQP queue, a Redis stream consumer group); AMQP and Redis
//! subscriptions with `while`/`until` and a filter; Redis and MQTT 5 publishes with headers.
#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::events::{finish, run_to_end, run_with_consumed, start, unique, workflow};
use crate::support::services::{self, Need, peers_dir};
use crate::support::{document, tempdir, write};

const SUCCESS: i32 = 0;
const CONFIGURATION_FAULT: i32 = 1;

/// The correlation id in the `trace` header.
const TRACE: Option<&str> = Some("$message.header#/trace");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Broker {
    Nats,
    Mqtt,
    Mqtt5,
    Amqp,
    RedisStream,
}

impl Broker {
    /// The peer's protocol argument.
    fn peer(self) -> &'static str {
        match self {
            Broker::Nats => "nats",
            Broker::Mqtt | Broker::Mqtt5 => "mqtt",
            Broker::Amqp => "amqp",
            Broker::RedisStream => "redis",
        }
    }

    fn ready(self, test: &str) -> bool {
        match self {
            Broker::Nats => services::ready(test, &[Need::nats(), Need::python("nats")]),
            Broker::Mqtt | Broker::Mqtt5 => {
                services::ready(test, &[Need::mosquitto(), Need::python("paho.mqtt")])
            }
            Broker::Amqp => services::ready(test, &[Need::rabbitmq(), Need::python("pika")]),
            Broker::RedisStream => services::ready(test, &[Need::redis(), Need::python("redis")]),
        }
    }

    /// The server of the document: `host`, `protocol`.
    fn server(self) -> (&'static str, &'static str) {
        match self {
            Broker::Nats => ("127.0.0.1:4222", "nats"),
            Broker::Mqtt => ("127.0.0.1:1883", "mqtt"),
            Broker::Mqtt5 => ("127.0.0.1:1883", "mqtt5"),
            Broker::Amqp => ("127.0.0.1:5672", "amqp"),
            Broker::RedisStream => ("127.0.0.1:6379", "redis"),
        }
    }

    /// A channel address under `base`.
    fn address(self, base: &str, name: &str) -> String {
        match self {
            Broker::Mqtt | Broker::Mqtt5 => format!("{base}/{name}").replace('.', "/"),
            _ => format!("{base}.{name}"),
        }
    }

    /// The channel's bindings (an exchange, a stream), YAML flow style.
    fn bindings(self, exchange: &str) -> String {
        match self {
            Broker::Amqp => {
                format!("{{amqp: {{is: routingKey, exchange: {{name: {exchange}, type: topic}}}}}}")
            }
            Broker::RedisStream => "{redis: {type: stream}}".to_owned(),
            _ => "{}".to_owned(),
        }
    }

    /// The peer's extra arguments for an address of this broker.
    fn extra(self, exchange: &str) -> Vec<String> {
        match self {
            Broker::Amqp => vec!["--exchange".into(), exchange.into()],
            Broker::RedisStream => vec!["--stream".into()],
            _ => Vec::new(),
        }
    }
}

fn peer(args: &[&str]) -> Output {
    Command::new("python3")
        .arg(peers_dir().join("asyncapi/plain_peer.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn peer_ok(args: &[&str]) {
    let out = peer(args);
    assert!(
        out.status.success(),
        "peer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A peer consuming `count` messages, subscribed once this returns; then its lines.
fn consumer(args: &[&str]) -> (Child, impl Iterator<Item = String>) {
    let mut child = Command::new("python3")
        .arg(peers_dir().join("asyncapi/plain_peer.py"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok);
    assert_eq!(lines.next().as_deref(), Some("ready"));
    (child, lines)
}

/// Waits (generously) until the run's journal holds `count` consumed messages; its id.
fn consumed(dir: &Path, count: i64) -> String {
    let db = dir.join("state/journal.db");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(id) = run_with_consumed(&db, count) {
            return id;
        }
        assert!(
            Instant::now() < deadline,
            "{count} messages were never consumed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two channels, `paid` and `shipped`, each with a receive operation, on one server.
fn orders_api(broker: Broker, base: &str, exchange: &str) -> String {
    let (host, protocol) = broker.server();
    let bindings = broker.bindings(exchange);
    format!(
        r#"asyncapi: 3.0.0
info: {{title: orders, version: 1.0.0}}
servers:
  broker: {{host: "{host}", protocol: {protocol}}}
channels:
  paid:
    address: "{paid}"
    bindings: {bindings}
  shipped:
    address: "{shipped}"
    bindings: {bindings}
operations:
  receivePaid: {{action: receive, channel: {{$ref: '#/channels/paid'}}}}
  receiveShipped: {{action: receive, channel: {{$ref: '#/channels/shipped'}}}}
"#,
        paid = broker.address(base, "paid"),
        shipped = broker.address(base, "shipped"),
    )
}

/// Two subscriptions with a shell step between (it appends to `runs.txt`).
const KILL_RESUME: &str = r#"do:
  - first:
      call: asyncapi
      with:
        document: {endpoint: file://orders.yaml}
        operation: receivePaid
        subscription:
          consume: {amount: 1}
  - count:
      run:
        shell:
          command: echo x >> runs.txt
  - second:
      call: asyncapi
      with:
        document: {endpoint: file://orders.yaml}
        operation: receiveShipped
        subscription:
          consume: {amount: 2}
  - out:
      set: '${ {shipped: [.[].payload.n]} }'
"#;

fn kill_and_resume(broker: Broker, test: &str) {
    if !broker.ready(test) {
        return;
    }
    let base = unique("aak");
    let exchange = format!("{base}.x");
    let dir = tempdir();
    write(
        dir.path(),
        "orders.yaml",
        &orders_api(broker, &base, &exchange),
    );
    let file = write(
        dir.path(),
        "k.yaml",
        &document("test", "kill", "0.1.0", KILL_RESUME),
    );
    if broker == Broker::Nats {
        // The document's infrastructure: a stream stores the channels' subjects.
        peer_ok(&["nats", "make-stream", &format!("{base}.>")]);
    }
    if broker == Broker::Amqp {
        // The exchange of the channels' bindings exists (the runner does not declare it).
        peer_ok(&["amqp", "make-exchange", &exchange]);
    }
    let extra = broker.extra(&exchange);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let publish = |name: &str, n: u64, routed: bool| {
        let address = broker.address(&base, name);
        let payload = json!({"n": n}).to_string();
        let mut args = vec![broker.peer(), "publish", address.as_str(), payload.as_str()];
        args.extend(&extra);
        if routed {
            args.extend(["--until-routed", "60"]);
        }
        peer_ok(&args);
    };
    let child = start(dir.path(), &file, &[]);
    publish("paid", 0, true);
    publish("shipped", 1, true);
    // Published while nobody runs: the durable source keeps it for the resume.
    let resumed = kill_and_resume_after(dir.path(), child, 2, 3, || publish("shipped", 2, false));
    assert_eq!(resumed.output(), json!({"shipped": [1, 2]}));
    let runs = std::fs::read_to_string(dir.path().join("runs.txt")).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1);
}

/// Kills the run once its journal holds `consumed` messages, calls `meanwhile`, then resumes it
/// to a successful end, which must have consumed `total` messages in all: each exactly once.
pub(crate) fn kill_and_resume_after(
    dir: &Path,
    mut child: Child,
    consumed_before: i64,
    total: i64,
    meanwhile: impl FnOnce(),
) -> crate::support::Ran {
    let run_id = consumed(dir, consumed_before);
    let _ = child.kill();
    let _ = child.wait();
    meanwhile();
    let resumed = run_to_end(workflow(dir).args([
        "resume",
        &run_id,
        "--format",
        "json",
        "--progress",
        "none",
    ]));
    assert_eq!(resumed.code, SUCCESS, "{}", resumed.stderr);
    assert_eq!(
        run_with_consumed(&dir.join("state/journal.db"), total).as_deref(),
        Some(run_id.as_str())
    );
    resumed
}

#[test]
fn a_jetstream_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down() {
    kill_and_resume(
        Broker::Nats,
        "asyncapi_brokers::a_jetstream_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down",
    );
}

#[test]
fn an_mqtt_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down() {
    kill_and_resume(
        Broker::Mqtt,
        "asyncapi_brokers::an_mqtt_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down",
    );
}

#[test]
fn an_mqtt5_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down() {
    kill_and_resume(
        Broker::Mqtt5,
        "asyncapi_brokers::an_mqtt5_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down",
    );
}

#[test]
fn an_amqp_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down() {
    kill_and_resume(
        Broker::Amqp,
        "asyncapi_brokers::an_amqp_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down",
    );
}

#[test]
fn a_redis_stream_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down() {
    kill_and_resume(
        Broker::RedisStream,
        "asyncapi_brokers::a_redis_stream_subscription_survives_kill_9_and_resumes_with_messages_sent_while_down",
    );
}

/// One channel at `address` on one server, receive and send operations; its message's
/// correlation id is at `location` (else the protocol's own is used).
fn single_api(
    host: &str,
    protocol: &str,
    address: &str,
    bindings: &str,
    location: Option<&str>,
) -> String {
    let correlation = location
        .map(|l| format!("        correlationId: {{location: '{l}'}}\n"))
        .unwrap_or_default();
    format!(
        r#"asyncapi: 3.0.0
info: {{title: single, version: 1.0.0}}
servers:
  broker: {{host: "{host}", protocol: {protocol}}}
channels:
  things:
    address: "{address}"
    bindings: {bindings}
    messages:
      thing:
        contentType: application/json
{correlation}operations:
  receiveThings: {{action: receive, channel: {{$ref: '#/channels/things'}}}}
  sendThing: {{action: send, channel: {{$ref: '#/channels/things'}}}}
"#
    )
}

#[test]
fn a_redis_pubsub_subscription_consumes_until_a_condition_with_a_filter() {
    let test =
        "asyncapi_brokers::a_redis_pubsub_subscription_consumes_until_a_condition_with_a_filter";
    if !Broker::RedisStream.ready(test) {
        return;
    }
    let channel = unique("aaps");
    let dir = tempdir();
    write(
        dir.path(),
        "api.yaml",
        &single_api("127.0.0.1:6379", "redis", &channel, "{}", TRACE),
    );
    let body = r#"do:
  - read:
      call: asyncapi
      with:
        document: {endpoint: file://api.yaml}
        operation: receiveThings
        subscription:
          filter: ${ .payload.kind == "reading" }
          consume:
            until: ${ map(.payload.v) | add >= 10 }
"#;
    let file = write(dir.path(), "w.yaml", &document("test", "ps", "0.1.0", body));
    let child = start(dir.path(), &file, &[]);
    let send = |kind: &str, v: u64, routed: bool| {
        let payload = json!({"kind": kind, "v": v}).to_string();
        let mut args = vec!["redis", "publish", channel.as_str(), payload.as_str()];
        if routed {
            args.extend(["--until-routed", "60"]);
        }
        peer_ok(&args);
    };
    send("noise", 100, true);
    send("reading", 4, false);
    send("reading", 7, false);
    send("reading", 1, false);
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    let values: Vec<Value> = ran
        .output()
        .as_array()
        .map(|all| all.iter().map(|m| m["payload"]["v"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(values, vec![json!(4), json!(7)]);
}

#[test]
fn an_amqp_queue_subscription_consumes_while_a_condition_holds_with_correlation_ids() {
    let test = "asyncapi_brokers::an_amqp_queue_subscription_consumes_while_a_condition_holds_with_correlation_ids";
    if !Broker::Amqp.ready(test) {
        return;
    }
    // No exchange binding: the address names the queue (the default exchange).
    let queue = unique("aaq");
    let dir = tempdir();
    write(
        dir.path(),
        "api.yaml",
        &single_api("127.0.0.1:5672", "amqp", &queue, "{}", None),
    );
    let body = r#"do:
  - read:
      call: asyncapi
      with:
        document: {endpoint: file://api.yaml}
        operation: receiveThings
        authentication:
          basic: {username: guest, password: guest}
        subscription:
          consume:
            while: ${ length < 2 }
          foreach:
            item: m
            output:
              as: '${ {trace: .correlationId, v: .payload.v} }'
"#;
    let file = write(dir.path(), "w.yaml", &document("test", "q", "0.1.0", body));
    let child = start(dir.path(), &file, &[]);
    for v in 1..=3 {
        let payload = json!({"v": v}).to_string();
        // AMQP's own `correlation-id` property: the document names no location.
        let trace = format!("t{v}");
        let mut args = vec![
            "amqp",
            "publish",
            queue.as_str(),
            payload.as_str(),
            "--correlation-id",
            trace.as_str(),
        ];
        if v == 1 {
            args.extend(["--until-routed", "60"]);
        }
        peer_ok(&args);
    }
    let ran = finish(child);
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!([{"trace": "t1", "v": 1}, {"trace": "t2", "v": 2}])
    );
}

fn publish_is_seen(host: &str, protocol: &str, peer_protocol: &str, bindings: &str, stream: bool) {
    let address = unique("aapub");
    let dir = tempdir();
    write(
        dir.path(),
        "api.yaml",
        &single_api(host, protocol, &address, bindings, TRACE),
    );
    let body = r#"do:
  - send:
      call: asyncapi
      with:
        document: {endpoint: file://api.yaml}
        operation: sendThing
        message:
          payload:
            v: ${ .v }
          headers: {trace: t-9}
"#;
    let file = write(dir.path(), "w.yaml", &document("test", "p", "0.1.0", body));
    let mut args = vec![peer_protocol, "consume", address.as_str(), "1"];
    if stream {
        args.push("--stream");
    }
    let (mut child, mut lines) = consumer(&args);
    let ran = run_to_end(workflow(dir.path()).arg("run").arg(&file).args([
        "--format",
        "json",
        "--progress",
        "none",
        "--input",
        r#"{"v": 5}"#,
    ]));
    assert_eq!(ran.code, SUCCESS, "{}", ran.stderr);
    assert_eq!(
        ran.output(),
        json!({"payload": {"v": 5}, "headers": {"trace": "t-9"}})
    );
    let seen: Value =
        serde_json::from_str(&lines.next().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    assert_eq!(seen["payload"], r#"{"v":5}"#);
    assert_eq!(seen["headers"]["trace"], "t-9");
}

#[test]
fn a_redis_stream_publish_is_an_entry_the_peer_reads_with_its_headers() {
    let test =
        "asyncapi_brokers::a_redis_stream_publish_is_an_entry_the_peer_reads_with_its_headers";
    if !Broker::RedisStream.ready(test) {
        return;
    }
    publish_is_seen(
        "127.0.0.1:6379",
        "redis",
        "redis",
        "{redis: {type: stream}}",
        true,
    );
}

#[test]
fn an_mqtt5_publish_carries_its_headers_as_user_properties() {
    let test = "asyncapi_brokers::an_mqtt5_publish_carries_its_headers_as_user_properties";
    if !Broker::Mqtt5.ready(test) {
        return;
    }
    publish_is_seen("127.0.0.1:1883", "mqtt5", "mqtt", "{}", false);
}

#[test]
fn kafka_servers_are_configuration_errors_naming_the_protocol_and_validate_warns() {
    for (protocol, named) in [("kafka", "Kafka is not supported"), ("amqp1", "amqp1")] {
        let dir = tempdir();
        write(
            dir.path(),
            "api.yaml",
            &single_api("127.0.0.1:9", protocol, "things", "{}", None),
        );
        let body = r#"do:
  - send:
      call: asyncapi
      with:
        document: {endpoint: file://api.yaml}
        operation: sendThing
        message:
          payload: {v: 1}
"#;
        let file = write(dir.path(), "w.yaml", &document("test", "k", "0.1.0", body));
        let ran = run_to_end(workflow(dir.path()).arg("run").arg(&file).args([
            "--format",
            "json",
            "--progress",
            "none",
        ]));
        assert_eq!(ran.code, CONFIGURATION_FAULT, "{}", ran.stderr);
        let all = format!("{}{}", ran.stdout, ran.stderr);
        assert!(all.contains("configuration"), "{all}");
        assert!(all.contains(named), "{all}");
        // `validate` says so beforehand: a warning, as every feature the runtime lacks.
        let checked = run_to_end(
            workflow(dir.path())
                .args(["--color", "never", "validate"])
                .arg(&file),
        );
        assert_eq!(checked.code, SUCCESS, "{}", checked.stderr);
        let all = format!("{}{}", checked.stdout, checked.stderr);
        assert!(all.contains("runtime::unsupported"), "{all}");
        assert!(all.contains(named), "{all}");
    }
}
