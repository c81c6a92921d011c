//! Engine tests of `call: asyncapi` with a scripted client: what a publish sends and outputs,
//! and how a subscription filters, stops on `amount`/`while`/`until`, ends on `for` with what
//! it has, and runs `foreach`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::StreamExt;
use serde_json::{Value, json};

use super::error::WorkflowError;
use super::test_support::{doc, machine};
use super::{Outcome, RunOptions, run};
use crate::host::Executors;
use crate::host::effects::asyncapi::{
    AsyncApiClient, Consumption, Inbound, Message, Received, Target,
};
use crate::host::effects::events::Ack;

/// Keeps what was published; a subscription delivers `inbound` then stays open forever.
struct FakeBroker {
    published: Mutex<Vec<(Target, Message)>>,
    inbound: Vec<Value>,
    /// How many inbound messages were acknowledged.
    acks: Arc<AtomicUsize>,
}

impl AsyncApiClient for FakeBroker {
    fn publish(
        &self,
        target: Target,
        message: Message,
    ) -> BoxFuture<'static, Result<(), WorkflowError>> {
        if let Ok(mut published) = self.published.lock() {
            published.push((target, message));
        }
        Box::pin(async { Ok(()) })
    }

    fn subscribe(
        &self,
        target: Target,
        _name: String,
    ) -> BoxFuture<'static, Result<Consumption, WorkflowError>> {
        let items: Vec<Inbound> = self
            .inbound
            .iter()
            .map(|payload| {
                let mut received = Received::new(
                    Message {
                        payload: payload.to_string().into_bytes(),
                        content_type: "application/json".into(),
                        headers: vec![("correlationId".into(), "c-1".into())],
                    },
                    target.address.clone(),
                );
                // A payload's `key` plays the broker's identity of the delivery.
                received.key = payload
                    .get("key")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let acks = Arc::clone(&self.acks);
                let ack: Ack = Box::new(move || {
                    acks.fetch_add(1, Ordering::SeqCst);
                    Box::pin(async { Ok(()) })
                });
                Ok(received.with_ack(ack))
            })
            .collect();
        let stream = futures::stream::iter(items).chain(futures::stream::pending());
        Box::pin(async move { Ok(Consumption::new(stream.boxed())) })
    }
}

const API: &str = r#"asyncapi: 3.0.0
info: {title: t, version: 1.0.0}
servers:
  bus: {host: 127.0.0.1:4222, protocol: nats}
channels:
  readings:
    address: sensors.{id}.temperature
    parameters: {id: {}}
  alerts:
    address: alerts
operations:
  receive: {action: receive, channel: {$ref: '#/channels/readings'}}
  send: {action: send, channel: {$ref: '#/channels/alerts'}}
"#;

async fn run_on(task: &str, broker: &Arc<FakeBroker>) -> (Outcome, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("api.yaml");
    std::fs::write(&path, API).unwrap_or_else(|e| panic!("{e}"));
    let yaml = doc(&format!(
        "do:\n  - call:\n      call: asyncapi\n      with:\n        document:\n          endpoint: file://{}\n{task}",
        path.display()
    ));
    let executors = Executors {
        asyncapi: broker.clone(),
        ..super::test_support::no_processes()
    };
    let outcome = run(
        machine(&yaml),
        json!({"limit": 20}),
        RunOptions::default(),
        executors,
        Arc::new(super::event::NoEvents),
    )
    .await
    .outcome;
    (outcome, dir)
}

fn broker(inbound: Vec<Value>) -> Arc<FakeBroker> {
    Arc::new(FakeBroker {
        published: Mutex::new(Vec::new()),
        inbound,
        acks: Arc::default(),
    })
}

fn output(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Completed(output) => output.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_publish_sends_the_serialised_payload_and_outputs_the_message() {
    let fake = broker(Vec::new());
    let (outcome, _dir) = run_on(
        "        operation: send\n        message:\n          payload:\n            limit: ${ .limit }\n          headers:\n            kind: alert\n",
        &fake,
    )
    .await;
    assert_eq!(
        output(&outcome),
        json!({"payload": {"limit": 20}, "headers": {"kind": "alert"}})
    );
    let published = fake.published.lock().map(|p| p.clone()).unwrap_or_default();
    let [(target, message)] = published.as_slice() else {
        panic!("{published:?}")
    };
    assert_eq!(
        (
            target.protocol.as_str(),
            target.url.as_str(),
            target.address.as_str()
        ),
        ("nats", "nats://127.0.0.1:4222", "alerts")
    );
    assert_eq!(message.payload, br#"{"limit":20}"#);
    assert_eq!(message.headers, [("kind".to_owned(), "alert".to_owned())]);
}

#[tokio::test]
async fn a_subscription_filters_and_stops_on_amount_while_and_until() {
    let readings = || {
        broker(vec![
            json!({"c": 10}),
            json!({"c": -999}),
            json!({"c": 30}),
            json!({"c": 25}),
        ])
    };
    let subscribe = |consume: &str| {
        format!(
            "        operation: receive\n        subscription:\n          filter: ${{ .payload.c > -100 }}\n          consume:\n{consume}"
        )
    };
    let (outcome, _dir) = run_on(&subscribe("            amount: 2\n"), &readings()).await;
    assert_eq!(
        output(&outcome),
        json!([
            {"payload": {"c": 10}, "headers": {"correlationId": "c-1"}, "correlationId": "c-1"},
            {"payload": {"c": 30}, "headers": {"correlationId": "c-1"}, "correlationId": "c-1"}
        ])
    );
    // `while` and `until` see the messages consumed so far.
    let (outcome, _dir) = run_on(
        &subscribe("            while: ${ length < 3 }\n"),
        &readings(),
    )
    .await;
    assert_eq!(output(&outcome).as_array().map(Vec::len), Some(3));
    let (outcome, _dir) = run_on(
        &subscribe("            until: ${ any(.[]; .payload.c >= 30) }\n"),
        &readings(),
    )
    .await;
    assert_eq!(output(&outcome).as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_subscription_ending_on_for_completes_with_what_it_has_and_foreach_shapes_it() {
    let fake = broker(vec![json!({"c": 10}), json!({"c": 12})]);
    let (outcome, _dir) = run_on(
        "        operation: receive\n        subscription:\n          consume:\n            amount: 5\n            for:\n              milliseconds: 200\n          foreach:\n            item: m\n            output:\n              as: ${ .payload.c * 2 }\n",
        &fake,
    )
    .await;
    assert_eq!(output(&outcome), json!([20, 24]));
}

#[tokio::test]
async fn an_unknown_operation_is_a_configuration_error_with_a_did_you_mean() {
    let fake = broker(Vec::new());
    let (outcome, _dir) = run_on(
        "        operation: sned\n        message:\n          payload: {a: 1}\n",
        &fake,
    )
    .await;
    let Outcome::Faulted(error) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(error.type_.ends_with("/configuration"), "{error:?}");
    assert!(
        error
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("did you mean `send`"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_redelivered_copy_is_acknowledged_and_skipped_and_filtered_messages_are_acknowledged() {
    let fake = broker(vec![
        json!({"key": "s:1", "c": 1}),
        json!({"key": "s:1", "c": 1}),
        json!({"key": "s:2", "c": -999}),
        json!({"key": "s:3", "c": 3}),
    ]);
    let (outcome, _dir) = run_on(
        "        operation: receive\n        subscription:\n          filter: ${ .payload.c > -100 }\n          consume:\n            amount: 2\n          foreach:\n            item: m\n            output:\n              as: ${ .payload.c }\n",
        &fake,
    )
    .await;
    assert_eq!(output(&outcome), json!([1, 3]));
    // Every delivery is acknowledged: the consumed ones, the copy, the filtered one.
    assert_eq!(fake.acks.load(Ordering::SeqCst), 4);
}
