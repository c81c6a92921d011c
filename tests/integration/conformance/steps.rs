//! Step definitions: the official CTK phrasing (as `ctk.py` reads it) plus our own steps for
//! cancellation, retries and their delays, wall time, exit codes, error instances, the step budget
//! and task lifecycle events.

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::{Value, json};

use super::WorkflowWorld;
use super::support::{self, Launch};

/// Event timestamps may be truncated to the millisecond and sleeps never end early, so a gap may
/// fall short of its delay only by this much.
const EARLY_MS: f64 = 10.0;
/// Sleeps overshoot on a loaded machine (two cores, other builds running): be generous.
const LATE_MS: f64 = 400.0;
/// `data.delay` is computed, not measured: it must match the policy almost exactly.
const DELAY_FIELD_TOLERANCE_S: f64 = 0.002;

#[given(regex = r"^a workflow with definition:?$")]
fn definition(world: &mut WorkflowWorld, step: &Step) {
    world.definition = Some(support::docstring(step));
}

#[given(regex = r"^(?:given )?the workflow input is:?$")]
fn input(world: &mut WorkflowWorld, step: &Step) {
    world.input = Some(support::yaml(&support::docstring(step)));
}

#[when(regex = r"^the workflow is executed$")]
async fn executed(world: &mut WorkflowWorld) {
    launch(world, Launch::default()).await;
}

#[when(regex = r"^the workflow is executed with --max-steps (\d+)$")]
async fn executed_with_budget(world: &mut WorkflowWorld, steps: u64) {
    let extra_args = vec!["--max-steps".to_owned(), steps.to_string()];
    launch(
        world,
        Launch {
            extra_args,
            ..Launch::default()
        },
    )
    .await;
}

#[when(
    regex = r"^the workflow is executed and interrupted with (SIGINT|SIGTERM) (\d+) milliseconds after its first task started$"
)]
async fn executed_and_interrupted(world: &mut WorkflowWorld, signal: String, after: u64) {
    let signal = if signal == "SIGINT" {
        libc::SIGINT
    } else {
        libc::SIGTERM
    };
    let signal = Some((signal, Duration::from_millis(after)));
    launch(
        world,
        Launch {
            signal,
            ..Launch::default()
        },
    )
    .await;
}

async fn launch(world: &mut WorkflowWorld, launch: Launch) {
    let definition = world
        .definition
        .as_deref()
        .expect("no definition: add `Given a workflow with definition:`");
    let input = world.input.clone().unwrap_or_else(|| json!({}));
    world.run = Some(support::execute(definition, &input, &launch).await);
}

#[then(regex = r"^the workflow should complete$")]
fn completes(world: &mut WorkflowWorld) {
    assert_status(world, "completed", 0);
}

#[then(regex = r"^the workflow should complete with output:$")]
fn completes_with_output(world: &mut WorkflowWorld, step: &Step) {
    assert_status(world, "completed", 0);
    let expected = support::yaml(&support::docstring(step));
    let output = world.result().get("output").unwrap_or(&Value::Null);
    assert!(
        same(output, &expected),
        "output {output} != expected {expected}"
    );
}

#[then(regex = r"^the workflow should fault$")]
fn faults(world: &mut WorkflowWorld) {
    assert_status(world, "faulted", 1);
}

#[then(regex = r"^the workflow should fault with error:$")]
fn faults_with_error(world: &mut WorkflowWorld, step: &Step) {
    assert_status(world, "faulted", 1);
    let expected = support::yaml(&support::docstring(step));
    let error = world.result().get("error").unwrap_or(&Value::Null);
    let expected = expected.as_object().expect("the expected error is a map");
    for (key, want) in expected {
        let got = error.get(key).unwrap_or(&Value::Null);
        assert!(
            same(got, want),
            "error.{key} = {got}, expected {want}\nerror: {error}"
        );
    }
}

#[then(regex = r"^the workflow should be cancelled$")]
fn cancelled(world: &mut WorkflowWorld) {
    assert_status(world, "cancelled", 130);
}

/// Status on stdout and the matching exit code, both promised by the contract.
fn assert_status(world: &WorkflowWorld, status: &str, code: i32) {
    let result = world.result();
    let got = result.get("status").and_then(Value::as_str);
    assert_eq!(
        got,
        Some(status),
        "expected {status}, got {result}\n{}",
        world.describe()
    );
    assert_eq!(
        world.run().exit_code,
        Some(code),
        "a {status} run exits {code}\n{}",
        world.describe()
    );
}

#[then(regex = r"^the workflow output should have properties (.+)$")]
fn has_properties(world: &mut WorkflowWorld, names: String) {
    let output = world.result().get("output").unwrap_or(&Value::Null);
    for name in support::quoted_names(&names) {
        assert!(
            support::lookup(output, &name).is_some(),
            "output lacks property {name:?}: {output}"
        );
    }
}

#[then(regex = r"^the workflow output should have a '([^']+)' property with value:$")]
fn property_value(world: &mut WorkflowWorld, step: &Step, name: String) {
    let expected = support::yaml(&support::docstring(step));
    let output = world.result().get("output").unwrap_or(&Value::Null);
    let got = support::lookup(output, &name)
        .unwrap_or_else(|| panic!("output lacks property {name:?}: {output}"));
    assert!(same(got, &expected), "{name} = {got}, expected {expected}");
}

#[then(regex = r"^the workflow output should have a '([^']+)' property containing (\d+) items?$")]
fn property_items(world: &mut WorkflowWorld, name: String, count: usize) {
    let output = world.result().get("output").unwrap_or(&Value::Null);
    let got = support::lookup(output, &name)
        .unwrap_or_else(|| panic!("output lacks property {name:?}: {output}"));
    let len = got.as_array().map(Vec::len);
    assert_eq!(len, Some(count), "{name} = {got}, expected {count} items");
}

#[then(regex = r"^(\S+) should run (first|last)$")]
fn runs_first_or_last(world: &mut WorkflowWorld, name: String, place: String) {
    let order = support::start_order(&world.run().events);
    let at = if place == "first" {
        order.first()
    } else {
        order.last()
    };
    assert_eq!(
        at,
        Some(&name.as_str()),
        "{name} should run {place}; order: {order:?}"
    );
}

#[then(regex = r"^(\S+) should run after (\S+)$")]
fn runs_after(world: &mut WorkflowWorld, later: String, earlier: String) {
    let order = support::start_order(&world.run().events);
    let at = |name: &str| order.iter().position(|started| *started == name);
    match (at(&earlier), at(&later)) {
        (Some(first), Some(second)) if first < second => {}
        _ => panic!("{later} should run after {earlier}; order: {order:?}"),
    }
}

#[then(regex = r"^task (\S+) should have been retried (\d+) times?$")]
fn retried(world: &mut WorkflowWorld, name: String, count: usize) {
    check_retries(world, &name, count, count);
}

#[then(regex = r"^task (\S+) should have been retried between (\d+) and (\d+) times$")]
fn retried_between(world: &mut WorkflowWorld, name: String, low: usize, high: usize) {
    check_retries(world, &name, low, high);
}

/// Counts task.retried events for the try task and the attempts it made (starts of its first
/// inner task): retries within `low..=high`, attempts one more than retries.
fn check_retries(world: &WorkflowWorld, name: &str, low: usize, high: usize) {
    let events = &world.run().events;
    let retried_events = support::task_events(events, "retried", name);
    let numbers: Vec<Option<u64>> = retried_events
        .iter()
        .map(|event| event.pointer("/data/attempt").and_then(Value::as_u64))
        .collect();
    let consecutive = numbers.windows(2).all(|pair| match pair {
        [Some(a), Some(b)] => b.checked_sub(*a) == Some(1),
        _ => false,
    });
    assert!(
        numbers.iter().all(Option::is_some) && consecutive,
        "task.retried events must carry consecutive data.attempt numbers: {numbers:?}"
    );
    let retried = retried_events.len();
    assert!(
        (low..=high).contains(&retried),
        "{retried} task.retried events for {name}, expected {low}..={high}; events: {}",
        kinds(events)
    );
    let pointer =
        support::pointer_of(events, name).unwrap_or_else(|| panic!("no event names a task {name}"));
    let attempts = support::attempt_starts(events, pointer).len();
    assert_eq!(
        attempts,
        retried + 1,
        "attempts of {name} (starts of its first inner task)"
    );
}

#[then(regex = r"^the delays between attempts of (\S+) should be about ([\d, ]+) milliseconds$")]
fn delays_about(world: &mut WorkflowWorld, name: String, list: String) {
    let expected: Vec<f64> = list
        .split(',')
        .map(|item| item.trim().parse().expect("a delay in milliseconds"))
        .collect();
    let ranges: Vec<(f64, f64)> = expected.iter().map(|ms| (*ms, *ms)).collect();
    check_delays(world, &name, &ranges);
}

#[then(
    regex = r"^the delays between attempts of (\S+) should be between (\d+) and (\d+) milliseconds$"
)]
fn delays_between(world: &mut WorkflowWorld, name: String, low: f64, high: f64) {
    let count = support::task_events(&world.run().events, "retried", &name).len();
    assert!(count > 0, "{name} was never retried");
    check_delays(world, &name, &vec![(low, high); count]);
}

/// Checks each gap between attempt starts against `[low - EARLY, high + LATE]` and each
/// `task.retried` event's `data.delay` (seconds) against `[low, high]`.
fn check_delays(world: &WorkflowWorld, name: &str, ranges: &[(f64, f64)]) {
    let events = &world.run().events;
    let pointer =
        support::pointer_of(events, name).unwrap_or_else(|| panic!("no event names {name}"));
    let gaps = support::gaps_ms(&support::attempt_starts(events, pointer));
    assert_eq!(
        gaps.len(),
        ranges.len(),
        "gaps between attempts of {name}: {gaps:?}"
    );
    for (gap, (low, high)) in gaps.iter().zip(ranges) {
        assert!(
            *gap >= low - EARLY_MS && *gap <= high + LATE_MS,
            "gap {gap} ms outside {low}..{high} ms; all gaps: {gaps:?}"
        );
    }
    let retried = support::task_events(events, "retried", name);
    assert_eq!(
        retried.len(),
        ranges.len(),
        "task.retried events for {name}"
    );
    for (event, (low, high)) in retried.iter().zip(ranges) {
        let delay = event
            .pointer("/data/delay")
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("task.retried without a numeric data.delay: {event}"));
        assert!(
            delay >= low / 1000.0 - DELAY_FIELD_TOLERANCE_S
                && delay <= high / 1000.0 + DELAY_FIELD_TOLERANCE_S,
            "data.delay {delay} s outside {low}..{high} ms: {event}"
        );
    }
}

#[then(regex = r"^the run should take less than (\d+(?:\.\d+)?) seconds?$")]
fn faster_than(world: &mut WorkflowWorld, seconds: f64) {
    let elapsed = world.run().elapsed;
    assert!(
        elapsed.as_secs_f64() < seconds,
        "the run took {elapsed:?}, limit {seconds} s"
    );
}

#[then(regex = r"^the run should take at least (\d+) milliseconds$")]
fn slower_than(world: &mut WorkflowWorld, millis: u64) {
    let elapsed = world.run().elapsed;
    assert!(
        elapsed >= Duration::from_millis(millis),
        "the run took {elapsed:?}, expected at least {millis} ms"
    );
}

#[then(regex = r"^the exit code should be (\d+)$")]
fn exit_code(world: &mut WorkflowWorld, code: i32) {
    assert_eq!(world.run().exit_code, Some(code), "{}", world.describe());
}

#[then(regex = r"^the error instance should be '([^']*)'$")]
fn error_instance(world: &mut WorkflowWorld, pointer: String) {
    let error = world.result().get("error").unwrap_or(&Value::Null);
    let instance = error.get("instance").and_then(Value::as_str);
    assert_eq!(instance, Some(pointer.as_str()), "error: {error}");
}

#[then(regex = r"^task (\S+) should not have run$")]
fn not_run(world: &mut WorkflowWorld, name: String) {
    let events = &world.run().events;
    assert!(
        !events.is_empty(),
        "no events recorded: {}",
        world.describe()
    );
    let order = support::start_order(events);
    assert!(
        !order.contains(&name.as_str()),
        "{name} ran; order: {order:?}"
    );
}

#[then(regex = r"^task (\S+) should have been (skipped|cancelled|started|completed|faulted)$")]
fn task_event(world: &mut WorkflowWorld, name: String, kind: String) {
    let events = &world.run().events;
    assert!(
        !support::task_events(events, &kind, &name).is_empty(),
        "no task.{kind} event for {name}; events: {}",
        kinds(events)
    );
}

#[then(regex = r"^task (\S+) should have emitted (.+) in this order$")]
fn task_lifecycle(world: &mut WorkflowWorld, name: String, list: String) {
    let expected: Vec<String> = list.split(',').map(|kind| kind.trim().to_owned()).collect();
    let events = &world.run().events;
    let got: Vec<&str> = events
        .iter()
        .filter(|event| support::task_of(event).is_some_and(|p| support::last_segment(p) == name))
        .map(|event| support::short_type(event).trim_start_matches("task."))
        .collect();
    assert_eq!(got, expected, "lifecycle of {name}");
}

#[then(regex = r"^the (first|last) event should be '([^']+)'$")]
fn first_or_last_event(world: &mut WorkflowWorld, place: String, kind: String) {
    let events = &world.run().events;
    let event = if place == "first" {
        events.first()
    } else {
        events.last()
    };
    let got = event
        .and_then(|event| event.get("type"))
        .and_then(Value::as_str);
    assert_eq!(got, Some(kind.as_str()), "events: {}", kinds(events));
}

/// `workflow.started, task.created /do/0/a, ...`: a compact event log for failure messages.
fn kinds(events: &[Value]) -> String {
    let list: Vec<String> = events
        .iter()
        .map(|event| match support::task_of(event) {
            Some(pointer) => format!("{} {pointer}", support::short_type(event)),
            None => support::short_type(event).to_owned(),
        })
        .collect();
    list.join(", ")
}

/// JSON equality where numbers compare by value, so `1` and `1.0` are the same number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(key, x)| ys.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}
