//! Engine tests of durable execution: the step name of every task execution, and replays of a
//! run cut short at various points (as a killed process leaves its journal), with a fake
//! process runner counting what actually ran again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::event::{EventKind, EventSink, LifecycleEvent};
use super::replay::{RecordedEvent, Replay};
use super::test_support::{FakeProcesses, Recorder, doc, machine};
use super::{Outcome, RunOptions, run};
use crate::host::Executors;
use crate::host::effects::process::{ProcessOutput, Program};

/// A fake runner printing each shell command back, so outputs tell which command ran.
fn echo() -> Arc<FakeProcesses> {
    FakeProcesses::new(|request| {
        let stdout = match &request.program {
            Program::Shell { command } => format!("{command}\n"),
            Program::Script { .. } | Program::Exec { .. } => String::new(),
        };
        Ok(ProcessOutput {
            code: 0,
            stdout,
            stderr: String::new(),
        })
    })
}

fn with_processes(fake: &Arc<FakeProcesses>) -> Executors {
    Executors {
        processes: fake.clone(),
        ..super::test_support::no_processes()
    }
}

/// The shell commands a fake ran, in order.
fn commands(fake: &FakeProcesses) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter_map(|request| match request.program {
            Program::Shell { command } => Some(command),
            Program::Script { .. } | Program::Exec { .. } => None,
        })
        .collect()
}

/// Runs `yaml` on `{}` with `fake`, recording every event, optionally replaying.
async fn record(
    yaml: &str,
    fake: &Arc<FakeProcesses>,
    replay: Option<Replay>,
) -> (Outcome, Vec<LifecycleEvent>) {
    let recorder = Recorder::new();
    let options = RunOptions {
        replay: replay.map(Arc::new),
        ..RunOptions::default()
    };
    let executors = with_processes(fake);
    let result = run(
        machine(yaml),
        json!({}),
        options,
        executors,
        recorder.clone(),
    )
    .await;
    let events = recorder
        .events
        .lock()
        .map(|events| events.iter().map(|(_, e)| e.clone()).collect())
        .unwrap_or_default();
    (result.outcome, events)
}

/// The events as the journal stores them: journaled kinds only, data from the CloudEvent.
fn stored(events: &[LifecycleEvent]) -> Vec<RecordedEvent> {
    events
        .iter()
        .filter(|event| event.is_journaled())
        .map(|event| RecordedEvent {
            kind: event.kind.name().to_owned(),
            task: event.task.as_deref().map(str::to_owned),
            step: event.step.as_deref().map(str::to_owned),
            data: event.to_cloudevent()["data"].clone(),
        })
        .collect()
}

/// The journal of a process killed while `step` ran: everything up to its start.
fn killed_during(events: &[LifecycleEvent], step: &str) -> Replay {
    let stored = stored(events);
    let end = stored
        .iter()
        .position(|e| e.kind == "started" && e.step.as_deref() == Some(step))
        .unwrap_or_else(|| panic!("step {step} never started"));
    Replay::from_events(stored.get(..=end).unwrap_or_default())
}

/// The step names of the completed events, in order.
fn completed_steps(events: &[LifecycleEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskCompleted { .. }))
        .filter_map(|e| e.step.as_deref().map(str::to_owned))
        .collect()
}

fn completed_output(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Completed(output) => output.clone(),
        other => panic!("expected completion, got {other:?}"),
    }
}

const LOOPS: &str = r#"do:
  - init:
      set: { n: 0 }
  - loop:
      for:
        in: ${ [10, 20] }
      do:
        - inc:
            set: { n: "${ .n + 1 }" }
  - again:
      switch:
        - more:
            when: ${ .n < 4 }
            then: loop
        - done:
            then: continue
  - both:
      fork:
        branches:
          - left:
              set: { side: left }
          - right:
              set: { side: right }
"#;

#[tokio::test]
async fn every_execution_has_its_own_step_name() {
    let (outcome, events) = record(&doc(LOOPS), &echo(), None).await;
    assert_eq!(
        completed_output(&outcome),
        json!([{"side": "left"}, {"side": "right"}])
    );
    let mut steps = completed_steps(&events);
    // The fork's branches complete in either order.
    if let Some(tail) = steps.get_mut(9..11) {
        tail.sort();
    }
    assert_eq!(
        steps,
        [
            "/do/0/init",
            "/do/1/loop[0]/do/0/inc",
            "/do/1/loop[1]/do/0/inc",
            "/do/1/loop",
            "/do/2/again",
            "/do/1/loop#2[0]/do/0/inc",
            "/do/1/loop#2[1]/do/0/inc",
            "/do/1/loop#2",
            "/do/2/again#2",
            "/do/3/both/fork/branches/0/left",
            "/do/3/both/fork/branches/1/right",
            "/do/3/both",
        ]
    );
    // Every journaled task event carries its step; workflow events carry none.
    for event in events.iter().filter(|e| e.is_journaled()) {
        assert_eq!(event.step.is_some(), event.task.is_some(), "{event:?}");
    }
    let switch = events.iter().find_map(|e| match &e.kind {
        EventKind::TaskCompleted { .. } if e.step.as_deref() == Some("/do/2/again") => {
            Some(e.to_cloudevent()["data"]["then"].clone())
        }
        _ => None,
    });
    assert_eq!(switch, Some(json!("loop")));
}

const FLAKY: &str = r#"do:
  - guard:
      try:
        - count:
            set: { done: true }
            export:
              as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
        - call:
            run:
              shell:
                command: ${ "attempt " + ($context.attempts | tostring) }
        - failTwice:
            if: ${ $context.attempts < 3 }
            raise:
              error:
                type: https://example.com/flaky
                status: 503
      catch:
        retry:
          delay:
            milliseconds: 1
          limit:
            attempt:
              count: 5
  - after:
      run:
        shell:
          command: after
"#;

#[tokio::test]
async fn retries_are_steps_of_their_own_and_a_resume_goes_on_with_the_last_attempt() {
    let fake = echo();
    let (outcome, events) = record(&doc(FLAKY), &fake, None).await;
    assert_eq!(completed_output(&outcome), json!("after\n"));
    let steps = completed_steps(&events);
    assert!(
        steps.contains(&"/do/0/guard/try/1/call".to_owned()),
        "{steps:?}"
    );
    assert!(
        steps.contains(&"/do/0/guard@1/try/1/call".to_owned()),
        "{steps:?}"
    );
    assert!(
        steps.contains(&"/do/0/guard@2/try/1/call".to_owned()),
        "{steps:?}"
    );
    let retried: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskRetried { .. }))
        .map(|e| e.step.as_deref().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(retried, ["/do/0/guard", "/do/0/guard"]);

    // Killed while the third attempt's process ran: only it and what follows run again, and
    // the restored `$context` still counts three attempts.
    let replay = killed_during(&events, "/do/0/guard@2/try/1/call");
    let again = echo();
    let (resumed, _) = record(&doc(FLAKY), &again, Some(replay)).await;
    assert_eq!(resumed, outcome);
    assert_eq!(commands(&again), ["attempt 3", "after"]);
}

const SHELLS: &str = r#"do:
  - first:
      run:
        shell:
          command: one
  - each:
      for:
        in: ${ ["a", "b", "c"] }
      do:
        - item:
            run:
              shell:
                command: ${ "item " + $item }
  - pair:
      fork:
        branches:
          - left:
              run:
                shell:
                  command: left
          - right:
              run:
                shell:
                  command: right
  - last:
      run:
        shell:
          command: last
      export:
        as: '${ { last: . } }'
      output:
        as: '${ { out: ., ctx: $context } }'
"#;

#[tokio::test]
async fn a_replay_runs_only_what_had_not_completed() {
    let fake = echo();
    let (outcome, events) = record(&doc(SHELLS), &fake, None).await;
    let all = ["one", "item a", "item b", "item c", "left", "right", "last"];
    let mut ran = commands(&fake);
    ran.sort();
    let mut sorted = all.to_vec();
    sorted.sort();
    assert_eq!(ran, sorted);
    // (killed during, what runs again, how many steps are replayed: a completed container is
    // replayed whole, without its children).
    let cases: [(&str, &[&str], usize); 4] = [
        ("/do/0/first", &all, 0),
        (
            "/do/1/each[1]/do/0/item",
            &["item b", "item c", "left", "right", "last"],
            2,
        ),
        ("/do/3/last", &["last"], 3),
        (
            "/do/1/each",
            &["item a", "item b", "item c", "left", "right", "last"],
            1,
        ),
    ];
    for (step, expected, replayed_steps) in cases {
        let again = echo();
        let (resumed, replayed_events) =
            record(&doc(SHELLS), &again, Some(killed_during(&events, step))).await;
        assert_eq!(resumed, outcome, "killed during {step}");
        let mut ran = commands(&again);
        ran.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(ran, expected, "killed during {step}");
        // Replayed steps say so.
        let replayed = replayed_events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::TaskCompleted { replayed: true, .. }))
            .count();
        assert_eq!(replayed, replayed_steps, "killed during {step}");
    }
}

#[tokio::test]
async fn a_fork_branch_that_completed_is_not_run_again() {
    let fake = echo();
    let (outcome, events) = record(&doc(SHELLS), &fake, None).await;
    // The journal holds `left` completed and `right` started, not completed.
    let stored = stored(&events);
    let kept: Vec<RecordedEvent> = stored
        .iter()
        .filter(|e| {
            let pair = e
                .task
                .as_deref()
                .is_some_and(|t| t.starts_with("/do/2/pair"));
            let right_done = e.kind == "completed"
                && e.task
                    .as_deref()
                    .is_some_and(|t| t.ends_with("right") || t == "/do/2/pair");
            let later = e.task.as_deref().is_some_and(|t| t.starts_with("/do/3"));
            !(later || (pair && right_done))
        })
        .cloned()
        .collect();
    let again = echo();
    let (resumed, _) = record(&doc(SHELLS), &again, Some(Replay::from_events(&kept))).await;
    assert_eq!(resumed, outcome);
    assert_eq!(commands(&again), ["right", "last"]);
}

#[tokio::test]
async fn a_recorded_jump_to_a_task_no_longer_there_is_a_clear_error() {
    let events = [RecordedEvent {
        kind: "completed".into(),
        task: Some("/do/0/init".into()),
        step: Some("/do/0/init".into()),
        data: json!({"output": {"n": 9}, "then": "vanished"}),
    }];
    let (outcome, _) = record(&doc(LOOPS), &echo(), Some(Replay::from_events(&events))).await;
    let Outcome::Faulted(error) = outcome else {
        panic!("expected a fault, got {outcome:?}");
    };
    assert_eq!(
        error.title.as_deref(),
        Some("Cannot replay the recorded run")
    );
    assert!(
        error
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("`vanished`")),
        "{error:?}"
    );
    assert_eq!(error.instance.as_deref(), Some("/do/0/init"));
}

#[tokio::test]
async fn a_replay_works_without_any_listener() {
    let fake = echo();
    let (outcome, events) = record(&doc(SHELLS), &fake, None).await;
    let again = echo();
    let options = RunOptions {
        replay: Some(Arc::new(killed_during(&events, "/do/3/last"))),
        ..RunOptions::default()
    };
    let executors = with_processes(&again);
    let result = run(
        machine(&doc(SHELLS)),
        json!({}),
        options,
        executors,
        Arc::new(super::event::NoEvents),
    )
    .await;
    assert_eq!(result.outcome, outcome);
    assert_eq!(commands(&again), ["last"]);
}

/// A sink that counts the durability barriers the engine waits for, and what had been emitted
/// at each.
#[derive(Default)]
struct Barriers {
    emitted: AtomicUsize,
    waits: Mutex<Vec<String>>,
    last: Mutex<String>,
}

impl EventSink for Barriers {
    fn emit(&self, event: LifecycleEvent) {
        self.emitted.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last.lock() {
            *last = format!(
                "{} {}",
                event.kind.name(),
                event.step.as_deref().unwrap_or("")
            );
        }
    }

    fn flushed(&self) -> Option<BoxFuture<'static, ()>> {
        let last = self.last.lock().map(|l| l.clone()).unwrap_or_default();
        if let Ok(mut waits) = self.waits.lock() {
            waits.push(last);
        }
        Some(Box::pin(async {}))
    }
}

#[tokio::test]
async fn tasks_with_side_effects_wait_until_their_completion_is_durable() {
    let yaml = doc(r#"do:
  - pure:
      set: { a: 1 }
  - group:
      do:
        - shell:
            run:
              shell:
                command: x
        - note:
            emit:
              event:
                with:
                  source: https://example.com
                  type: com.example.note
"#);
    let sink = Arc::new(Barriers::default());
    let executors = with_processes(&echo());
    let result = run(
        machine(&yaml),
        json!({}),
        RunOptions::default(),
        executors,
        sink.clone(),
    )
    .await;
    assert!(matches!(result.outcome, Outcome::Completed(_)));
    let waits = sink.waits.lock().map(|w| w.clone()).unwrap_or_default();
    assert_eq!(
        waits,
        [
            "completed /do/1/group/do/0/shell",
            "completed /do/1/group/do/1/note"
        ]
    );
    assert!(sink.emitted.load(Ordering::Relaxed) > 4);
}

#[tokio::test]
async fn context_changes_are_recorded_for_the_journal_only() {
    let (_, events) = record(&doc(SHELLS), &echo(), None).await;
    let changes: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ContextChanged { context, .. } => Some((
                e.step.as_deref().unwrap_or_default().to_owned(),
                crate::expr::to_json(context),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [(
            "/do/3/last".to_owned(),
            json!({"last": {"out": "last\n", "ctx": {}}})
        )]
    );
    assert!(events.iter().any(|e| !e.is_published()));
}

const POLL: &str = r#"do:
  - poll:
      run:
        shell:
          command: ${ "poll " + (($context.n // 0) | tostring) }
      export:
        as: '${ { n: (($context.n // 0) + 1) } }'
  - check:
      switch:
        - again:
            when: ${ $context.n < 3 }
            then: poll
        - done:
            then: continue
  - finish:
      run:
        shell:
          command: finish
"#;

#[tokio::test]
async fn a_replay_takes_the_recorded_jumps_back() {
    let fake = echo();
    let (outcome, events) = record(&doc(POLL), &fake, None).await;
    assert_eq!(commands(&fake), ["poll 0", "poll 1", "poll 2", "finish"]);
    assert_eq!(
        completed_steps(&events),
        [
            "/do/0/poll",
            "/do/1/check",
            "/do/0/poll#2",
            "/do/1/check#2",
            "/do/0/poll#3",
            "/do/1/check#3",
            "/do/2/finish"
        ]
    );
    let again = echo();
    let replay = killed_during(&events, "/do/0/poll#3");
    let (resumed, _) = record(&doc(POLL), &again, Some(replay)).await;
    assert_eq!(resumed, outcome);
    // The third poll sees the `$context` the second one exported.
    assert_eq!(commands(&again), ["poll 2", "finish"]);
}
