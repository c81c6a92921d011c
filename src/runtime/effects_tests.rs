//! Engine tests of what a run shows the outside: lifecycle events, and the process requests
//! `run` tasks hand to the executor (with a scripted fake runner).

use std::sync::Arc;

use serde_json::json;

use super::error::WorkflowError;
use super::event::{EventKind, EventSink, LifecycleEvent};
use super::test_support::{FakeProcesses, Recorder, doc, machine, machine_unchecked, no_processes};
use super::{Outcome, RunOptions, run};
use crate::host::Executors;
use crate::host::effects::process::{ProcessOutput, ProcessRequest, Program, ScriptLanguage};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn lifecycle_events_come_in_order_with_task_pointers() {
    let yaml = doc(r#"do:
  - maybe:
      if: ${ false }
      set: { a: 1 }
  - group:
      do:
        - inner:
            set: { b: 2 }
  - boom:
      raise:
        error:
          type: https://example.com/boom
          status: 500
"#);
    let recorder = Recorder::new();
    let result = run(
        machine(&yaml),
        json!({}),
        RunOptions::default(),
        no_processes(),
        recorder.clone(),
    )
    .await;
    assert!(matches!(result.outcome, Outcome::Faulted(_)));
    assert_eq!(
        recorder.names(),
        pairs(&[
            ("started", ""),
            ("created", "/do/0/maybe"),
            ("skipped", "/do/0/maybe"),
            ("created", "/do/1/group"),
            ("started", "/do/1/group"),
            ("created", "/do/1/group/do/0/inner"),
            ("started", "/do/1/group/do/0/inner"),
            ("completed", "/do/1/group/do/0/inner"),
            ("completed", "/do/1/group"),
            ("created", "/do/2/boom"),
            ("started", "/do/2/boom"),
            ("faulted", "/do/2/boom"),
            ("faulted", ""),
        ])
    );
}

/// A sink that is not listening must never receive anything.
struct Deaf;

impl EventSink for Deaf {
    fn enabled(&self) -> bool {
        false
    }
    fn emit(&self, event: LifecycleEvent) {
        panic!("an event was built although nobody listens: {event:?}");
    }
}

#[tokio::test]
async fn no_event_is_built_when_nobody_listens() {
    let yaml = doc(r#"do:
  - a:
      set: { a: 1 }
"#);
    let result = run(
        machine(&yaml),
        json!({}),
        RunOptions::default(),
        no_processes(),
        Arc::new(Deaf),
    )
    .await;
    assert_eq!(result.outcome, Outcome::Completed(json!({"a": 1})));
}

#[tokio::test]
async fn a_for_announces_its_total_once_for_live_views() {
    let yaml = doc(r#"do:
  - each:
      for:
        in: ${ [1, 2, 3] }
      do:
        - add:
            set: { n: 1 }
"#);
    let recorder = Recorder::new();
    let result = run(
        machine(&yaml),
        json!({}),
        RunOptions::default(),
        no_processes(),
        recorder.clone(),
    )
    .await;
    assert!(matches!(result.outcome, Outcome::Completed(_)));
    let totals: Vec<(usize, String)> = recorder
        .events
        .lock()
        .map(|events| {
            events
                .iter()
                .filter_map(|(_, event)| match event.kind {
                    EventKind::TaskIterations { total } => {
                        Some((total, event.task.as_deref().unwrap_or("").to_owned()))
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(totals, [(3, "/do/0/each".to_owned())]);
    let names = recorder.names();
    let at = |name: &str| {
        names
            .iter()
            .position(|(n, t)| n == name && t == "/do/0/each")
    };
    assert!(at("started") < at("iterations"), "{names:?}");
    assert_eq!(
        names.iter().filter(|(n, _)| n == "started").count(),
        5,
        "the workflow, the loop and three iterations"
    );
}

#[tokio::test]
async fn process_lines_become_output_events_only_when_someone_listens() {
    let yaml = doc(r#"do:
  - build:
      run:
        shell:
          command: make
"#);
    // The fake prints two lines through the observer the engine installed, if any.
    let fake = FakeProcesses::new(|request| {
        if let Some(observer) = &request.on_line {
            observer.call(
                crate::host::effects::process::OutputStream::Stdout,
                "compiling",
            );
            observer.call(
                crate::host::effects::process::OutputStream::Stderr,
                "linking",
            );
        }
        Ok(ProcessOutput::default())
    });
    let recorder = Recorder::new();
    let result = run(
        machine(&yaml),
        json!({}),
        RunOptions::default(),
        with_processes(&fake),
        recorder.clone(),
    )
    .await;
    assert!(matches!(result.outcome, Outcome::Completed(_)));
    let lines: Vec<String> = recorder
        .events
        .lock()
        .map(|events| {
            events
                .iter()
                .filter_map(|(_, event)| match &event.kind {
                    EventKind::TaskOutput { stream, line } => {
                        assert_eq!(event.task.as_deref(), Some("/do/0/build"));
                        Some(format!("{}:{line}", stream.name()))
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(lines, ["stdout:compiling", "stderr:linking"]);
    // Nobody listening: no observer is installed at all.
    assert_eq!(run_with(&yaml, json!({}), &fake).await, result.outcome);
    assert!(fake.requests().last().is_some_and(|r| r.on_line.is_none()));
    assert!(fake.requests().first().is_some_and(|r| r.on_line.is_some()));
}

fn with_processes(fake: &Arc<FakeProcesses>) -> Executors {
    Executors {
        processes: fake.clone(),
        ..super::test_support::no_processes()
    }
}

async fn run_with(yaml: &str, input: serde_json::Value, fake: &Arc<FakeProcesses>) -> Outcome {
    run(
        machine_unchecked(yaml),
        input,
        RunOptions {
            run_id: Some("run-1".into()),
            ..RunOptions::default()
        },
        with_processes(fake),
        Arc::new(super::event::NoEvents),
    )
    .await
    .outcome
}

#[tokio::test]
async fn shell_requests_are_evaluated_and_stdout_is_returned() {
    let yaml = doc(r#"do:
  - greet:
      run:
        shell:
          command: ${ "echo \"$1\" && cat" }
          arguments:
            - ${ .name }
            - literal; rm -rf /
            - ${ .count }
          environment:
            GREETING: ${ "hi " + .name }
            COUNT: ${ .count }
          stdin: ${ .name }
"#);
    let fake = FakeProcesses::new(|_| {
        Ok(ProcessOutput {
            code: 0,
            stdout: "Ada\n".into(),
            stderr: String::new(),
        })
    });
    let outcome = run_with(&yaml, json!({"name": "Ada", "count": 2}), &fake).await;
    assert_eq!(outcome, Outcome::Completed(json!("Ada\n")));
    assert_eq!(
        fake.requests(),
        [ProcessRequest {
            program: Program::Shell {
                command: "echo \"$1\" && cat".into()
            },
            arguments: vec!["Ada".into(), "literal; rm -rf /".into(), "2".into()],
            environment: vec![
                ("GREETING".into(), "hi Ada".into()),
                ("COUNT".into(), "2".into())
            ],
            stdin: Some("Ada".into()),
            detach: false,
            on_line: None,
        }]
    );
}

#[tokio::test]
async fn script_map_arguments_and_return_modes() {
    let yaml = doc(r#"do:
  - py:
      run:
        script:
          language: python
          code: print(1)
          arguments:
            name: ${ .name }
            flag: null
        return: all
"#);
    let fake = FakeProcesses::new(|_| {
        Ok(ProcessOutput {
            code: 3,
            stdout: "out".into(),
            stderr: "err".into(),
        })
    });
    let outcome = run_with(&yaml, json!({"name": "Ada"}), &fake).await;
    assert_eq!(
        outcome,
        Outcome::Completed(json!({"code": 3, "stdout": "out", "stderr": "err"}))
    );
    let requests = fake.requests();
    assert_eq!(
        requests.first().map(|r| (&r.program, &r.arguments)),
        Some((
            &Program::Script {
                language: ScriptLanguage::Python,
                code: "print(1)".into()
            },
            &vec!["name=Ada".to_owned(), "flag".to_owned()]
        ))
    );
}

#[tokio::test]
async fn a_failing_process_faults_unless_its_code_is_returned() {
    let yaml = doc(r#"do:
  - fails:
      run:
        shell:
          command: exit 4
"#);
    let fake = FakeProcesses::new(|_| {
        Ok(ProcessOutput {
            code: 4,
            stdout: String::new(),
            stderr: "bad thing\n".into(),
        })
    });
    let Outcome::Faulted(error) = run_with(&yaml, json!({}), &fake).await else {
        panic!("expected a fault");
    };
    assert_eq!(error.status, 500);
    assert_eq!(error.instance.as_deref(), Some("/do/0/fails"));
    assert!(error.detail.unwrap_or_default().contains("bad thing"));
    let code = yaml.replace("command: exit 4", "command: exit 4\n        return: code");
    assert_eq!(
        run_with(&code, json!({}), &fake).await,
        Outcome::Completed(json!(4))
    );
}

#[tokio::test]
async fn detached_processes_output_the_task_input() {
    let yaml = doc(r#"do:
  - background:
      input:
        from: ${ .keep }
      run:
        shell:
          command: sleep 100
        await: false
"#);
    let fake = FakeProcesses::new(|_| Ok(ProcessOutput::default()));
    assert_eq!(
        run_with(&yaml, json!({"keep": {"k": 1}}), &fake).await,
        Outcome::Completed(json!({"k": 1}))
    );
    assert!(fake.requests().first().is_some_and(|r| r.detach));
}

#[tokio::test]
async fn executor_errors_get_the_task_instance() {
    let yaml = doc(r#"do:
  - nope:
      run:
        script:
          language: javascript
          code: 'console.log(1)'
"#);
    let fake = FakeProcesses::new(|_| {
        Err(WorkflowError::new(
            super::error::ErrorKind::Configuration,
            "node is not installed",
        ))
    });
    let Outcome::Faulted(error) = run_with(&yaml, json!({}), &fake).await else {
        panic!("expected a fault");
    };
    assert_eq!(error.instance.as_deref(), Some("/do/0/nope"));
    assert_eq!(error.title.as_deref(), Some("node is not installed"));
}

#[tokio::test]
async fn the_run_id_is_the_workflow_id() {
    let yaml = doc(r#"do:
  - id:
      set: ${ $workflow.id }
"#);
    let fake = FakeProcesses::new(|_| Ok(ProcessOutput::default()));
    assert_eq!(
        run_with(&yaml, json!({}), &fake).await,
        Outcome::Completed(json!("run-1"))
    );
}

#[test]
fn the_run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let future = run(
        machine(&doc("do:\n  - a:\n      set: { a: 1 }\n")),
        json!({}),
        RunOptions::default(),
        no_processes(),
        Arc::new(super::event::NoEvents),
    );
    assert_send(&future);
}
