//! Engine tests that involve time, on tokio's paused clock so every delay is exact: retries and
//! their backoff, catch filters, timeouts, waits, fork competition and cancellation.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::event::EventKind;
use super::test_support::{Recorder, doc, fault, machine, no_processes, output};
use super::{Outcome, RunOptions, run};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Runs with a recorder; returns the outcome and the recorder.
async fn observed(yaml: &str, input: serde_json::Value) -> (Outcome, Arc<Recorder>) {
    let recorder = Recorder::new();
    let result = run(
        machine(yaml),
        input,
        RunOptions::default(),
        no_processes(),
        recorder.clone(),
    )
    .await;
    (result.outcome, recorder)
}

const ALWAYS_FAILS: &str = r#"do:
  - attempt:
      try:
        - fail:
            raise:
              error:
                type: https://example.com/flaky
                status: 503
      catch:
        errors:
          with:
            status: 503
        retry:
          delay:
            milliseconds: 100
          backoff:
            BACKOFF: {}
          limit:
            attempt:
              count: 3
"#;

#[tokio::test(start_paused = true)]
async fn retries_follow_the_backoff_exactly_then_the_error_propagates() {
    for (backoff, expected) in [
        ("constant", [0, 100, 200, 300]),
        ("linear", [0, 100, 300, 600]),
        ("exponential", [0, 100, 300, 700]),
    ] {
        let yaml = doc(&ALWAYS_FAILS.replace("BACKOFF", backoff));
        let (outcome, recorder) = observed(&yaml, json!({"kept": 1})).await;
        // Retries exhausted: the task never succeeded, so the last error propagates
        // (decision 6, revised).
        let Outcome::Faulted(error) = outcome else {
            panic!("{backoff}: expected a fault, got {outcome:?}");
        };
        assert_eq!(error.status, 503, "{backoff}");
        assert_eq!(error.instance.as_deref(), Some("/do/0/attempt/try/0/fail"));
        assert!(
            recorder
                .names()
                .contains(&("faulted".into(), "/do/0/attempt".into())),
            "{backoff}"
        );
        let starts = recorder.times(|k| matches!(k, EventKind::TaskStarted));
        // Workflow-level `started` is not a task event; task starts: `attempt` once, then `fail`
        // once per attempt.
        let fail_starts: Vec<u128> = starts.iter().skip(1).map(|d| d.as_millis()).collect();
        assert_eq!(fail_starts, expected, "{backoff}");
        let retried = recorder.times(|k| matches!(k, EventKind::TaskRetried { .. }));
        assert_eq!(retried.len(), 3, "{backoff}");
    }
}

#[tokio::test(start_paused = true)]
async fn retried_events_carry_attempt_and_delay() {
    let yaml = doc(&ALWAYS_FAILS.replace("BACKOFF", "exponential"));
    let (_, recorder) = observed(&yaml, json!({})).await;
    let events = recorder
        .events
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    let retries: Vec<(u32, Duration, String)> = events
        .iter()
        .filter_map(|(_, e)| match &e.kind {
            EventKind::TaskRetried { attempt, delay, .. } => {
                Some((*attempt, *delay, e.task.as_deref().unwrap_or("").to_owned()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        [
            (1, ms(100), "/do/0/attempt".to_owned()),
            (2, ms(200), "/do/0/attempt".to_owned()),
            (3, ms(400), "/do/0/attempt".to_owned()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_succeeds_keeps_the_successful_output() {
    let yaml = doc(r#"do:
  - flaky:
      try:
        - count:
            set: { done: true }
            export:
              as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
        - failTwice:
            if: ${ $context.attempts < 3 }
            raise:
              error:
                type: https://example.com/flaky
                status: 503
      catch:
        retry:
          delay:
            seconds: 1
          limit:
            attempt:
              count: 5
      output:
        as: '${ . + { attempts: $context.attempts } }'
"#);
    assert_eq!(
        output(&yaml, json!({})).await,
        json!({"done": true, "attempts": 3})
    );
}

#[tokio::test(start_paused = true)]
async fn retry_when_and_except_when_see_the_error() {
    let base = doc(r#"do:
  - guarded:
      try:
        - fail:
            raise:
              error:
                type: https://example.com/x
                status: 500
                title: boom
      catch:
        as: oops
        retry:
          CONDITION
          limit:
            attempt:
              count: 2
        do:
          - report:
              set:
                title: ${ $oops.title }
"#);
    // `.` is the error (decision 12) and the `as` variable is bound too.
    for (condition, retries) in [
        ("when: ${ .status == 500 and $oops.title == \"boom\" }", 2),
        ("when: ${ .status == 404 }", 0),
        ("when: ${ .missing }", 0),
        ("exceptWhen: ${ .title == \"boom\" }", 0),
        ("exceptWhen: ${ $oops.title == \"other\" }", 2),
    ] {
        let yaml = base.replace("CONDITION", condition);
        let (outcome, recorder) = observed(&yaml, json!({})).await;
        // The policy gives up at once or after two retries: either way the error propagates.
        let Outcome::Faulted(error) = outcome else {
            panic!("{condition}: expected a fault, got {outcome:?}");
        };
        assert_eq!(error.title.as_deref(), Some("boom"), "{condition}");
        let retried = recorder.times(|k| matches!(k, EventKind::TaskRetried { .. }));
        assert_eq!(retried.len(), retries, "{condition}");
        // `catch.do` handled every caught error, the retried ones included.
        let reports = recorder
            .names()
            .iter()
            .filter(|(name, task)| name == "completed" && task.ends_with("/report"))
            .count();
        assert_eq!(reports, retries + 1, "{condition}");
    }
}

#[tokio::test(start_paused = true)]
async fn catch_conditions_see_the_error_as_dot() {
    let yaml = doc(r#"do:
  - guarded:
      try:
        - fail:
            raise:
              error:
                type: https://example.com/x
                status: 409
                title: conflict
      catch:
        when: ${ .status == 409 and $error.title == "conflict" and $input.keep }
        exceptWhen: ${ .title == "fatal" }
        do:
          - handled:
              set: { handled: '${ $error.status }' }
"#);
    assert_eq!(
        output(&yaml, json!({"keep": true})).await,
        json!({"handled": 409})
    );
    // `when` is false: the catch does not take the error.
    assert_eq!(fault(&yaml, json!({"keep": false})).await.status, 409);
    let excepted = yaml.replace("\"fatal\"", "\"conflict\"");
    assert_eq!(fault(&excepted, json!({"keep": true})).await.status, 409);
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_retry_is_caught_by_an_outer_try_and_retries_use_the_try_input() {
    let yaml = doc(r#"do:
  - outer:
      try:
        - inner:
            try:
              - fail:
                  raise:
                    error:
                      type: https://example.com/flaky
                      status: 503
                      detail: ${ "input n=\(.n)" }
            catch:
              retry:
                limit:
                  attempt:
                    count: 2
              do:
                - changed:
                    set: { n: 99 }
      catch:
        errors:
          with:
            status: 503
        do:
          - recovered:
              set:
                detail: ${ $error.detail }
"#);
    let (outcome, recorder) = observed(&yaml, json!({"n": 1})).await;
    // Every attempt ran on the try's own input (catch.do's output is not fed back).
    assert_eq!(outcome, Outcome::Completed(json!({"detail": "input n=1"})));
    let names = recorder.names();
    assert_eq!(
        names.iter().filter(|(name, _)| name == "retried").count(),
        2
    );
    assert!(names.contains(&("faulted".into(), "/do/0/outer/try/0/inner".into())));
}

#[tokio::test(start_paused = true)]
async fn without_a_retry_policy_a_caught_error_is_handled() {
    let yaml = doc(r#"do:
  - guarded:
      try:
        - fail:
            raise:
              error:
                type: https://example.com/x
                status: 500
      catch: {}
  - after:
      set: { after: true }
"#);
    assert_eq!(output(&yaml, json!({})).await, json!({"after": true}));
}

#[tokio::test(start_paused = true)]
async fn uncaught_errors_keep_the_innermost_instance() {
    let yaml = doc(r#"do:
  - outer:
      try:
        - loop:
            for:
              in: ${ [1] }
            do:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                      status: 404
      catch:
        errors:
          with:
            status: 503
"#);
    let error = fault(&yaml, json!({})).await;
    assert_eq!(
        error.instance.as_deref(),
        Some("/do/0/outer/try/0/loop/do/0/fail")
    );
    assert_eq!(error.status, 404);
}

#[tokio::test(start_paused = true)]
async fn legacy_error_types_are_caught_and_catch_when_filters() {
    let yaml = doc(r#"do:
  - guarded:
      try:
        - fail:
            raise:
              error:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                status: 404
      catch:
        errors:
          with:
            type: https://serverlessworkflow.io/dsl/errors/types/communication
        when: ${ $error.status == 404 }
        do:
          - handled:
              set: { handled: '${ $error.instance }' }
"#);
    assert_eq!(
        output(&yaml, json!({})).await,
        json!({"handled": "/do/0/guarded/try/0/fail"})
    );
    let refused = yaml.replace("$error.status == 404", "$error.status == 500");
    assert_eq!(fault(&refused, json!({})).await.status, 404);
}

#[tokio::test(start_paused = true)]
async fn a_task_timeout_interrupts_at_once_and_can_be_caught() {
    let yaml = doc(r#"do:
  - guarded:
      try:
        - slow:
            wait: PT10S
            timeout:
              after:
                seconds: 1
      catch:
        errors:
          with:
            status: 408
        do:
          - note:
              set:
                caught: ${ $error.type }
                at: ${ $error.instance }
"#);
    let started = tokio::time::Instant::now();
    assert_eq!(
        output(&yaml, json!({})).await,
        json!({
            "caught": "https://serverlessworkflow.io/spec/1.0.0/errors/timeout",
            "at": "/do/0/guarded/try/0/slow"
        })
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn named_timeouts_and_a_workflow_timeout() {
    let yaml = doc(r#"use:
  timeouts:
    short:
      after: PT2S
timeout: short
do:
  - slow:
      wait:
        minutes: 1
"#);
    let error = fault(&yaml, json!({})).await;
    assert_eq!(error.status, 408);
    assert_eq!(error.instance.as_deref(), Some("/"));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_around_a_fork_cancels_its_branches() {
    let yaml = doc(r#"do:
  - both:
      timeout:
        after: PT1S
      fork:
        branches:
          - quick:
              wait: PT0.5S
          - slow:
              wait: PT5S
"#);
    let (outcome, recorder) = observed(&yaml, json!({})).await;
    let Outcome::Faulted(error) = outcome else {
        panic!("expected a fault, got {outcome:?}");
    };
    assert_eq!(error.status, 408);
    assert_eq!(error.instance.as_deref(), Some("/do/0/both"));
    let names = recorder.names();
    assert!(names.contains(&("cancelled".into(), "/do/0/both/fork/branches/1/slow".into())));
    assert!(names.contains(&(
        "completed".into(),
        "/do/0/both/fork/branches/0/quick".into()
    )));
    assert!(names.contains(&("faulted".into(), "/do/0/both".into())));
}

#[tokio::test(start_paused = true)]
async fn waits_accept_every_duration_form() {
    let yaml = doc(r#"do:
  - iso:
      wait: PT1.5S
  - inline:
      wait:
        seconds: 2
        milliseconds: 500
  - computed:
      wait: ${ .delay }
"#);
    let started = tokio::time::Instant::now();
    assert_eq!(
        output(&yaml, json!({"delay": "PT1S"})).await,
        json!({"delay": "PT1S"})
    );
    assert_eq!(started.elapsed(), ms(5_000));
    let error = fault(&yaml, json!({"delay": "soon"})).await;
    assert!(error.type_.ends_with("/expression"));
    assert_eq!(error.instance.as_deref(), Some("/do/2/computed"));
}

#[tokio::test(start_paused = true)]
async fn fork_compete_takes_the_first_to_finish_and_cancels_the_rest() {
    let yaml = doc(r#"do:
  - race:
      fork:
        compete: true
        branches:
          - slow:
              do:
                - pause:
                    wait: PT10S
                - mark:
                    set: { winner: slow }
          - fast:
              do:
                - pause:
                    wait: PT1S
                - mark:
                    set: { winner: fast }
"#);
    let started = tokio::time::Instant::now();
    let (outcome, recorder) = observed(&yaml, json!({})).await;
    assert_eq!(outcome, Outcome::Completed(json!({"winner": "fast"})));
    assert_eq!(started.elapsed(), ms(1_000));
    let names = recorder.names();
    assert!(names.contains(&("cancelled".into(), "/do/0/race/fork/branches/0/slow".into())));
    assert!(names.contains(&(
        "cancelled".into(),
        "/do/0/race/fork/branches/0/slow/do/0/pause".into()
    )));
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_run_cancels_its_running_tasks() {
    let yaml = doc(r#"do:
  - first:
      wait: PT1M
  - second:
      set: { wrong: true }
"#);
    let recorder = Recorder::new();
    let options = RunOptions::default();
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ms(1_500)).await;
        cancel.cancel();
    });
    let started = tokio::time::Instant::now();
    let result = run(
        machine(&yaml),
        json!({}),
        options,
        no_processes(),
        recorder.clone(),
    )
    .await;
    assert_eq!(result.outcome, Outcome::Cancelled);
    assert_eq!(started.elapsed(), ms(1_500));
    let names = recorder.names();
    let tail: Vec<_> = names.iter().rev().take(2).rev().cloned().collect();
    assert_eq!(
        tail,
        [
            ("cancelled".to_owned(), "/do/0/first".to_owned()),
            ("cancelled".to_owned(), String::new()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn attempt_and_total_limits_bound_retries() {
    let yaml = doc(r#"do:
  - bounded:
      try:
        - slow:
            wait: PT10S
      catch:
        retry:
          delay:
            seconds: 1
          limit:
            attempt:
              count: 10
              duration: PT2S
            duration: PT7S
"#);
    let started = tokio::time::Instant::now();
    let (outcome, recorder) = observed(&yaml, json!({"x": 1})).await;
    // Attempts end at 2 s, 5 s (after a 1 s delay); the third starts at 6 s and is cut by the
    // total limit at 7 s; no retry can start after that, so the timeout propagates.
    let Outcome::Faulted(error) = outcome else {
        panic!("expected a fault, got {outcome:?}");
    };
    assert_eq!(error.status, 408);
    assert_eq!(error.instance.as_deref(), Some("/do/0/bounded"));
    assert_eq!(started.elapsed(), ms(7_000));
    let retried = recorder.times(|k| matches!(k, EventKind::TaskRetried { .. }));
    assert_eq!(retried, [ms(2_000), ms(5_000)]);
}

#[tokio::test(start_paused = true)]
async fn enormous_delays_and_limits_do_not_overflow() {
    let yaml = doc(r#"do:
  - huge:
      try:
        - fail:
            raise:
              error:
                type: https://example.com/x
                status: 500
      catch:
        retry:
          delay:
            days: 100000000000
          backoff:
            exponential: {}
          limit:
            attempt:
              count: 3
            duration:
              days: 100000000000
"#);
    let (outcome, recorder) = observed(&yaml, json!({"k": true})).await;
    // The first delay reaches past the total limit: no retry starts, the error propagates.
    let Outcome::Faulted(error) = outcome else {
        panic!("expected a fault, got {outcome:?}");
    };
    assert_eq!(error.status, 500);
    assert!(
        recorder
            .times(|k| matches!(k, EventKind::TaskRetried { .. }))
            .is_empty()
    );
}
