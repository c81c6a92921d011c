//! Engine tests of `call: grpc` with a scripted executor: what the engine evaluates into the
//! request (arguments, credentials, deadline, where to connect), how it shapes the output, that a
//! proto is read once per run, and that a failing call is caught and retried like any error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::error::{ErrorKind, WorkflowError};
use super::test_support::{doc, machine};
use super::{Outcome, RunOptions, run};
use crate::host::Executors;
use crate::host::effects::credentials::Credentials;
use crate::host::effects::grpc::{GrpcClient, GrpcReply, GrpcRequest};

type Answer = Box<dyn Fn(&GrpcRequest, usize) -> Result<GrpcReply, WorkflowError> + Send + Sync>;

/// Answers from a script (given the request and how many came before it) and keeps every
/// request.
struct FakeGrpc {
    requests: Mutex<Vec<GrpcRequest>>,
    answer: Answer,
}

impl GrpcClient for FakeGrpc {
    fn call(&self, request: GrpcRequest) -> BoxFuture<'static, Result<GrpcReply, WorkflowError>> {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let answer = (self.answer)(&request, requests.len());
        requests.push(request);
        Box::pin(async move { answer })
    }
}

fn fake(
    answer: impl Fn(&GrpcRequest, usize) -> Result<GrpcReply, WorkflowError> + Send + Sync + 'static,
) -> Arc<FakeGrpc> {
    Arc::new(FakeGrpc {
        requests: Mutex::new(Vec::new()),
        answer: Box::new(answer),
    })
}

/// A proto file on disk (the engine reads it; the fake never compiles it).
fn proto_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("api.proto");
    std::fs::write(&path, "syntax = \"proto3\";\npackage demo;\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let uri = format!("file://{}", path.display());
    (dir, uri)
}

async fn run_on(yaml: &str, input: Value, grpc: &Arc<FakeGrpc>) -> Outcome {
    let executors = Executors {
        grpc: grpc.clone(),
        ..super::test_support::no_processes()
    };
    run(
        machine(yaml),
        input,
        RunOptions::default(),
        executors,
        Arc::new(super::event::NoEvents),
    )
    .await
    .outcome
}

fn call(uri: &str, extra: &str) -> String {
    format!(
        "      call: grpc\n      with:\n        proto:\n          endpoint: {uri}\n        service:\n          name: demo.Greeter\n          host: api.example\n          port: 9000\n{extra}        method: SayHello\n"
    )
}

#[tokio::test]
async fn requests_are_evaluated_and_replies_become_the_output() {
    let (_dir, uri) = proto_file();
    let grpc = fake(|_, _| Ok(GrpcReply::Unary(json!({"message": "hi"}))));
    let yaml = doc(&format!(
        "do:\n  - greet:\n      timeout:\n        after: PT7S\n{}        arguments:\n          name: ${{ .who }}\n          tags: [a, '${{ .tag }}']\n",
        call(
            &uri,
            "          authentication:\n            bearer:\n              token: ${ .token }\n"
        )
    ));
    let outcome = run_on(
        &yaml,
        json!({"who": "Ada", "tag": "b", "token": "tok"}),
        &grpc,
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Completed(output) if *output == json!({"message": "hi"})),
        "{outcome:?}"
    );
    let requests = grpc.requests.lock().map(|r| r.clone()).unwrap_or_default();
    let [request] = requests.as_slice() else {
        panic!("{requests:?}")
    };
    assert_eq!(request.service, "demo.Greeter");
    assert_eq!(request.method, "SayHello");
    assert_eq!(
        (request.host.as_str(), request.port, request.tls),
        ("api.example", 9000, false)
    );
    assert_eq!(
        request.arguments,
        json!({"name": "Ada", "tags": ["a", "b"]})
    );
    assert_eq!(
        request.credentials,
        Some(Credentials::Bearer {
            token: "tok".into()
        })
    );
    assert_eq!(request.deadline, Some(Duration::from_secs(7)));
    assert_eq!(request.proto.root, "api.proto");
    assert!(request.proto.files[0].1.contains("package demo;"));
}

#[tokio::test]
async fn streams_are_arrays_and_a_proto_is_read_once_per_run() {
    let (_dir, uri) = proto_file();
    let grpc = fake(|_, n| {
        Ok(GrpcReply::Stream(vec![
            json!({"value": n}),
            json!({"value": n + 1}),
        ]))
    });
    let inner: String = call(&uri, "")
        .lines()
        .map(|line| format!("      {line}\n"))
        .collect();
    let yaml = doc(&format!(
        "do:\n  - each:\n      for:\n        each: item\n        in: ${{ [1, 2, 3] }}\n      do:\n        - count:\n{inner}"
    ));
    let outcome = run_on(&yaml, json!({}), &grpc).await;
    assert!(
        matches!(&outcome, Outcome::Completed(output) if *output == json!([{"value": 2}, {"value": 3}])),
        "{outcome:?}"
    );
    let requests = grpc.requests.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .windows(2)
            .all(|pair| Arc::ptr_eq(&pair[0].proto, &pair[1].proto)),
        "every call of the run shares the one read of the proto"
    );
    assert_eq!(
        requests[0].arguments,
        json!({}),
        "no arguments: an empty message"
    );
}

#[tokio::test]
async fn failed_calls_are_caught_and_retried() {
    let (_dir, uri) = proto_file();
    let grpc = fake(|_, n| {
        if n < 2 {
            Err(
                WorkflowError::new(ErrorKind::Communication, "gRPC call failed")
                    .with_status(503)
                    .with_detail("UNAVAILABLE: busy"),
            )
        } else {
            Ok(GrpcReply::Unary(json!({"ok": true})))
        }
    });
    let inner: String = call(&uri, "")
        .lines()
        .map(|line| format!("      {line}\n"))
        .collect();
    let yaml = doc(&format!(
        "do:\n  - guarded:\n      try:\n        - greet:\n{inner}      catch:\n        errors:\n          with:\n            status: 503\n        retry:\n          delay: {{ milliseconds: 1 }}\n          limit:\n            attempt:\n              count: 3\n"
    ));
    let outcome = run_on(&yaml, json!({}), &grpc).await;
    assert!(
        matches!(&outcome, Outcome::Completed(output) if *output == json!({"ok": true})),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_missing_proto_is_a_clear_error_and_nothing_is_called() {
    let grpc = fake(|_, _| Ok(GrpcReply::Unary(json!({}))));
    let yaml = doc(&format!(
        "do:\n  - greet:\n{}",
        call("file:///nonexistent/dir/api.proto", "")
    ));
    let outcome = run_on(&yaml, json!({}), &grpc).await;
    let Outcome::Faulted(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        format!("{error:?}").contains("/nonexistent/dir/api.proto"),
        "{error:?}"
    );
    assert!(grpc.requests.lock().map(|r| r.is_empty()).unwrap_or(false));
}
