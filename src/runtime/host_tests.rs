//! The engine on a scripted host, end to end: an HTTP call retried with backoff and jitter, a
//! shell task, an hour's wait and a sub-workflow, with every effect scripted, a manual clock,
//! counted ids and documents from memory: no socket, no process, no file. Two runs on the same
//! host script publish the same events, timestamps and ids included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::event::{EventKind, EventSink, LifecycleEvent};
use super::test_support::{FakeProcesses, machine, no_processes};
use super::{Outcome, RunOptions, run};
use crate::host::Executors;
use crate::host::effects::process::{ProcessOutput, Program};
use crate::host::fake::{CountedIds, ManualClock, MemoryLoader, ScriptedHttp, json_response};
use crate::problem::{ErrorKind, WorkflowError};

const PARENT: &str = r#"document: {dsl: '1.0.3', namespace: test, name: on-a-host, version: '1.0.0'}
do:
  - fetch:
      try:
        - get:
            call: http
            with:
              method: get
              endpoint: https://pets.test/pets/1
      catch:
        errors:
          with:
            status: 503
        retry:
          delay:
            seconds: 2
          backoff:
            exponential: {}
          jitter:
            from: {milliseconds: 0}
            to: {milliseconds: 500}
          limit:
            attempt:
              count: 4
      export:
        as: '${ {pet: .name} }'
  - greet:
      run:
        shell:
          command: echo hello
      export:
        as: '${ $context + {greeting: .} }'
  - pause:
      wait:
        hours: 1
  - child:
      run:
        workflow:
          namespace: test
          name: child
          version: '1.0.0'
          input:
            pet: '${ $context.pet }'
            greeting: '${ $context.greeting }'
"#;

const CHILD: &str = r#"document: {dsl: '1.0.3', namespace: test, name: child, version: '1.0.0'}
do:
  - say:
      set:
        said: '${ .greeting + ", " + .pet }'
        started: '${ $workflow.startedAt.iso8601 }'
"#;

/// What a host is scripted with: the same script gives every run the same answers.
struct FakeHost {
    http: Arc<ScriptedHttp>,
    processes: Arc<FakeProcesses>,
}

impl FakeHost {
    /// A fresh host from the script: its clock starts at the same calendar instant, its ids at
    /// one, its effects with no request seen.
    fn new() -> Self {
        let http = ScriptedHttp::new(Arc::new(|request, n| {
            // Unavailable twice, then the pet.
            let (status, body) = if n <= 2 {
                (503, json!({"title": "busy"}))
            } else {
                (200, json!({"name": "Rex"}))
            };
            Ok(json_response(request, status, &body))
        }));
        let processes = FakeProcesses::new(|request| match &request.program {
            Program::Shell { command } if command == "echo hello" => Ok(ProcessOutput {
                code: 0,
                stdout: "hello".into(),
                stderr: String::new(),
            }),
            other => Err(WorkflowError::new(
                ErrorKind::Runtime,
                format!("unexpected process {other:?}"),
            )),
        });
        FakeHost {
            http: Arc::new(http),
            processes,
        }
    }

    fn executors(&self) -> Executors {
        let loader = MemoryLoader {
            workflows: HashMap::from([("test/child:1.0.0".to_owned(), CHILD.to_owned())]),
            resources: HashMap::new(),
        };
        Executors {
            processes: self.processes.clone(),
            http: self.http.clone(),
            clock: Arc::new(ManualClock::new()),
            ids: Arc::new(CountedIds::default()),
            loader: Arc::new(loader),
            ..no_processes()
        }
    }
}

/// Keeps every event.
#[derive(Default)]
struct Collect(Mutex<Vec<LifecycleEvent>>);

impl EventSink for Collect {
    fn emit(&self, event: LifecycleEvent) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}

impl Collect {
    fn events(&self) -> Vec<LifecycleEvent> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// One run on a fresh host from the script: its outcome, its events as CloudEvents, the host.
async fn run_once() -> (Outcome, Vec<LifecycleEvent>, FakeHost) {
    let host = FakeHost::new();
    let sink = Arc::new(Collect::default());
    let result = run(
        machine(PARENT),
        json!({}),
        RunOptions::default(),
        host.executors(),
        sink.clone(),
    )
    .await;
    (result.outcome, sink.events(), host)
}

#[tokio::test(start_paused = true)]
async fn a_workflow_runs_end_to_end_on_a_scripted_host_and_repeats_exactly() {
    let wall = std::time::Instant::now();
    let (outcome, events, host) = run_once().await;

    // The pet came on the third request; the shell ran once; the child saw both, an hour and
    // the two retry delays after the run began.
    let Outcome::Completed(output) = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(output["said"], "hello, Rex");
    let started = output["started"].as_str().unwrap_or_default();
    assert!(started.starts_with("2026-01-01T01:00:0"), "{started}");
    assert_eq!(host.http.sent().len(), 3);
    assert_eq!(host.processes.requests().len(), 1);

    // Retried twice, with the exponential backoff and the host's jitter.
    let retries: Vec<Duration> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskRetried { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0] >= Duration::from_secs(2) && retries[0] < Duration::from_millis(2500));
    assert!(retries[1] >= Duration::from_secs(4) && retries[1] < Duration::from_millis(4500));

    // The clock moved by the waits only, and at once.
    let first = events.first().map(|e| e.time);
    let last = events.last().map(|e| e.time);
    let span = last
        .zip(first)
        .map(|(l, f)| (l - f).to_std().unwrap_or_default());
    let waited = Duration::from_secs(3600) + retries.iter().sum::<Duration>();
    // (tokio's timers round each wait up to the next millisecond)
    let span = span.unwrap_or_default();
    assert!(
        span >= waited && span < waited + Duration::from_millis(10),
        "{span:?}"
    );
    assert!(
        wall.elapsed() < Duration::from_secs(30),
        "{:?}",
        wall.elapsed()
    );

    // The child ran under the host's next run id, and every id came from the host.
    let runs: Vec<&str> = events.iter().map(|e| e.run.run_id.as_str()).collect();
    assert_eq!(runs.first(), Some(&"run-1"));
    assert!(runs.contains(&"run-2"), "{runs:?}");

    // The same script, the same events: ids, times and payloads.
    let (again, events_again, _) = run_once().await;
    assert_eq!(again, outcome);
    let cloud = |events: &[LifecycleEvent]| -> Vec<Value> {
        events.iter().map(LifecycleEvent::to_cloudevent).collect()
    };
    assert_eq!(cloud(&events_again), cloud(&events));
}

const DETACHING: &str = r#"document: {dsl: '1.0.3', namespace: test, name: detaching, version: '1.0.0'}
do:
  - start:
      run:
        workflow:
          namespace: test
          name: child
          version: '1.0.0'
          input: {greeting: hi, pet: Rex}
        await: false
  - after:
      set: {done: true}
"#;

/// The run's own future drives its `await: false` sub-workflows: polled by an executor that
/// is not tokio's (as a Temporal worker polls workflow code), the run still ends and its child
/// completes (handed to `tokio::spawn`, the child would never run and the run never end).
#[test]
fn background_sub_workflows_are_driven_by_the_run_itself() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // Entered but never driven: anything handed to tokio::spawn would never run.
    let _entered = runtime.enter();
    let host = FakeHost::new();
    let sink = Arc::new(Collect::default());
    let result = futures::executor::block_on(run(
        machine(DETACHING),
        json!({}),
        RunOptions::default(),
        host.executors(),
        sink.clone(),
    ));
    assert_eq!(result.outcome, Outcome::Completed(json!({"done": true})));
    let child_done = sink
        .events()
        .iter()
        .any(|e| e.run.run_id == "run-2" && matches!(e.kind, EventKind::WorkflowCompleted { .. }));
    assert!(child_done, "{:?}", sink.events());
}
