//! Test helpers for the engine: documents from YAML text, a recording event sink, a scripted
//! process runner, and one-call runs.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::Value;

use super::error::WorkflowError;
use super::event::{EventKind, EventSink, LifecycleEvent, NoEvents};
use super::{Outcome, RunOptions, run};
use crate::compile::{Machine, compile};
use crate::host::Executors;
use crate::source::Source;

/// Compiles a YAML document, panicking with the diagnostics when it does not compile.
pub(crate) fn machine(yaml: &str) -> Arc<Machine> {
    let checked = crate::test_support::check_source(Source::new("test.yaml", yaml));
    let Some(document) = checked.valid_document() else {
        panic!("the test document is invalid: {:#?}", checked.diagnostics);
    };
    match compile(document) {
        Ok(machine) => Arc::new(machine),
        Err(diagnostics) => panic!("the test document does not compile: {diagnostics:#?}"),
    }
}

/// Compiles a YAML document that skips the schema and analyzer (to reach what they reject, such
/// as the 1.0.0 map form of run arguments).
pub(crate) fn machine_unchecked(yaml: &str) -> Arc<Machine> {
    let loaded = crate::yaml::load(&Source::new("test.yaml", yaml))
        .unwrap_or_else(|d| panic!("the test document is not YAML: {d:#?}"));
    let document = crate::parse::parse(&loaded.value)
        .unwrap_or_else(|d| panic!("the test document does not parse: {d:#?}"));
    match compile(&document) {
        Ok(machine) => Arc::new(machine),
        Err(diagnostics) => panic!("the test document does not compile: {diagnostics:#?}"),
    }
}

pub(crate) use crate::test_support::FakeProcesses;

/// Executors whose processes always fail to start (tests that must not start any).
pub(crate) fn no_processes() -> Executors {
    Executors {
        processes: FakeProcesses::new(|_| {
            Err(WorkflowError::new(
                super::error::ErrorKind::Runtime,
                "no process expected in this test",
            ))
        }),
        http: Arc::new(NoHttp),
        grpc: Arc::new(crate::host::effects::grpc::NoGrpc),
        asyncapi: Arc::new(crate::exec::asyncapi::NoAsyncApi),
        events: Arc::new(crate::exec::events::InProcessBus::default()),
        mcp: Arc::new(NoCalls),
        a2a: Arc::new(NoCalls),
        clock: Arc::new(crate::host::TokioClock),
        ids: Arc::new(crate::host::RandomIds),
        loader: Arc::new(crate::loader::LocalLoader::default()),
        container_engine: None,
    }
}

/// An MCP and A2A client that refuses every call (tests that must not make any).
pub(crate) struct NoCalls;

impl crate::host::effects::mcp::McpClient for NoCalls {
    fn call(
        &self,
        _request: crate::host::effects::mcp::McpRequest,
    ) -> BoxFuture<'static, Result<serde_json::Value, WorkflowError>> {
        Box::pin(async {
            Err(WorkflowError::new(
                super::error::ErrorKind::Runtime,
                "no MCP call expected in this test",
            ))
        })
    }
}

impl crate::host::effects::a2a::A2aClient for NoCalls {
    fn call(
        &self,
        _request: crate::host::effects::a2a::A2aRequest,
    ) -> BoxFuture<'static, Result<serde_json::Value, WorkflowError>> {
        Box::pin(async {
            Err(WorkflowError::new(
                super::error::ErrorKind::Runtime,
                "no A2A call expected in this test",
            ))
        })
    }
}

/// An HTTP client that refuses every request (tests that must not make any).
pub(crate) struct NoHttp;

impl crate::host::effects::http::HttpClient for NoHttp {
    fn send(
        &self,
        _request: crate::host::effects::http::HttpRequest,
    ) -> BoxFuture<'static, Result<crate::host::effects::http::HttpResponse, WorkflowError>> {
        Box::pin(async {
            Err(WorkflowError::new(
                super::error::ErrorKind::Communication,
                "no HTTP request expected in this test",
            ))
        })
    }
}

/// Records every event with the paused clock's elapsed time at which it was published.
#[derive(Default)]
pub(crate) struct Recorder {
    pub events: Mutex<Vec<(std::time::Duration, LifecycleEvent)>>,
    start: Mutex<Option<tokio::time::Instant>>,
}

impl Recorder {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Recorder::default())
    }

    /// `(type name, task pointer)` of every event, in order.
    pub(crate) fn names(&self) -> Vec<(String, String)> {
        self.events
            .lock()
            .map(|events| {
                events
                    .iter()
                    .map(|(_, e)| {
                        (
                            e.kind.name().to_owned(),
                            e.task.as_deref().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Elapsed times of the events matching `pick`.
    pub(crate) fn times(&self, pick: impl Fn(&EventKind) -> bool) -> Vec<std::time::Duration> {
        self.events
            .lock()
            .map(|events| {
                events
                    .iter()
                    .filter(|(_, e)| pick(&e.kind))
                    .map(|(at, _)| *at)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: LifecycleEvent) {
        let now = tokio::time::Instant::now();
        let start = match self.start.lock() {
            Ok(mut start) => *start.get_or_insert(now),
            Err(_) => now,
        };
        if let Ok(mut events) = self.events.lock() {
            events.push((now - start, event));
        }
    }
}

/// Runs a document on `input` with default options, no processes and no listener.
pub(crate) async fn outcome(yaml: &str, input: Value) -> Outcome {
    run(
        machine(yaml),
        input,
        RunOptions::default(),
        no_processes(),
        Arc::new(NoEvents),
    )
    .await
    .outcome
}

/// The output of a run that must complete.
pub(crate) async fn output(yaml: &str, input: Value) -> Value {
    match outcome(yaml, input).await {
        Outcome::Completed(output) => output,
        other => panic!("expected completion, got {other:?}"),
    }
}

/// The error of a run that must fault.
pub(crate) async fn fault(yaml: &str, input: Value) -> WorkflowError {
    match outcome(yaml, input).await {
        Outcome::Faulted(error) => error,
        other => panic!("expected a fault, got {other:?}"),
    }
}

/// A document header followed by `body` (which starts with `do:` or other top-level keys).
pub(crate) fn doc(body: &str) -> String {
    format!("document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\n{body}")
}
