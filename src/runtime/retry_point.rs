//! Where `workflow retry` starts a run again: the chosen task (by default the one whose fault
//! ended the recorded run), and the replay of everything that completed before it started.
//!
//! The cut is made in the recorded order of events: a step that completed before the chosen
//! execution started is reused; the chosen task, its descendants and its ancestors (which were
//! still running then) and everything after run again. Earlier executions of the chosen task
//! (previous loop iterations that succeeded) completed before the cut and are reused.

use serde_json::Value;
use thiserror::Error;

use super::replay::{RecordedEvent, Replay};
use crate::compile::Machine;
use crate::diagnostic::did_you_mean;

/// Why no retry point can be chosen.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RetryPointError {
    #[error("run {run} did not fault, so there is no failed task to retry from; pass --from TASK")]
    NoFault { run: String },
    #[error("no task `{given}` in the document{}", hint(.suggestion))]
    UnknownTask {
        given: String,
        suggestion: Option<String>,
    },
    #[error("several tasks are named `{name}`: {}; pass the JSON pointer of one", .pointers.join(", "))]
    AmbiguousName { name: String, pointers: Vec<String> },
    #[error("task {task} did not run in run {run}: retry from a task that ran")]
    NeverRan { task: String, run: String },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// The chosen task and what the new run takes from the recorded one.
#[derive(Debug)]
pub struct RetryPoint {
    /// The chosen task's JSON pointer.
    pub task: String,
    /// The execution the new run starts again from (its first event is the cut).
    pub step: Option<String>,
    pub replay: Replay,
}

/// Chooses where a retry of `run` (its recorded `events`, in order) starts: at the task `from`
/// (a JSON pointer, or a task name when only one task has it), else at the failed task.
pub fn retry_point(
    machine: &Machine,
    run: &str,
    events: &[RecordedEvent],
    from: Option<&str>,
) -> Result<RetryPoint, RetryPointError> {
    let (task, cut) = match from {
        Some(given) => {
            let task = resolve_task(machine, given)?;
            let cut = events
                .iter()
                .position(|e| e.step.is_some() && e.task.as_deref() == Some(task.as_str()))
                .ok_or_else(|| RetryPointError::NeverRan {
                    task: task.clone(),
                    run: run.to_owned(),
                })?;
            (task, cut)
        }
        None => {
            let failed = failed_step(events).ok_or_else(|| RetryPointError::NoFault {
                run: run.to_owned(),
            })?;
            let cut = events
                .iter()
                .position(|e| e.step.as_deref() == Some(failed.step.as_str()))
                .unwrap_or(events.len());
            (failed.task, cut)
        }
    };
    let step = events.get(cut).and_then(|e| e.step.clone());
    let kept = events.get(..cut).unwrap_or_default();
    Ok(RetryPoint {
        task,
        step,
        replay: Replay::from_events(kept),
    })
}

/// A faulted execution.
struct Failed {
    task: String,
    step: String,
}

/// The execution whose fault ended the run: the innermost task that faulted with the error the
/// workflow faulted with (the first such, so a `try` retries from its first attempt). Without
/// such a match (the workflow's own output failed), the innermost task that faulted at all.
fn failed_step(events: &[RecordedEvent]) -> Option<Failed> {
    let workflow_error = events
        .iter()
        .rev()
        .find(|e| e.kind == "faulted" && e.step.is_none())
        .and_then(|e| e.data.get("error"));
    let faulted: Vec<(&str, &str, Option<&Value>)> = events
        .iter()
        .filter(|e| e.kind == "faulted")
        .filter_map(|e| Some((e.task.as_deref()?, e.step.as_deref()?, e.data.get("error"))))
        .collect();
    let matching: Vec<_> = faulted
        .iter()
        .filter(|(_, _, error)| workflow_error.is_some() && *error == workflow_error)
        .copied()
        .collect();
    let candidates = if matching.is_empty() {
        faulted
    } else {
        matching
    };
    let innermost = |task: &str| {
        !candidates
            .iter()
            .any(|(other, _, _)| other.len() > task.len() && is_under(other, task))
    };
    candidates
        .iter()
        .find(|(task, _, _)| innermost(task))
        .map(|(task, step, _)| Failed {
            task: (*task).to_owned(),
            step: (*step).to_owned(),
        })
}

/// Whether the pointer `inner` is `outer` or inside it.
fn is_under(inner: &str, outer: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A task named by its pointer, or by its name when that is unique in the document.
fn resolve_task(machine: &Machine, given: &str) -> Result<String, RetryPointError> {
    let tasks = &machine.tasks;
    if given.starts_with('/') {
        if tasks.iter().any(|t| &*t.pointer == given) {
            return Ok(given.to_owned());
        }
        let suggestion = did_you_mean(given, tasks.iter().map(|t| &*t.pointer));
        return Err(RetryPointError::UnknownTask {
            given: given.to_owned(),
            suggestion: suggestion.map(str::to_owned),
        });
    }
    let named: Vec<String> = tasks
        .iter()
        .filter(|t| &*t.name == given)
        .map(|t| t.pointer.to_string())
        .collect();
    match named.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(RetryPointError::UnknownTask {
            given: given.to_owned(),
            suggestion: did_you_mean(given, tasks.iter().map(|t| &*t.name)).map(str::to_owned),
        }),
        _ => Err(RetryPointError::AmbiguousName {
            name: given.to_owned(),
            pointers: named,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::test_support::{doc, machine};
    use serde_json::json;

    fn event(kind: &str, step: Option<&str>, data: Value) -> RecordedEvent {
        RecordedEvent {
            kind: kind.into(),
            task: step.map(|s| s.replace("#2", "").replace("[1]", "").replace("[0]", "")),
            step: step.map(str::to_owned),
            data,
        }
    }

    const DOC: &str = r#"do:
  - first:
      set: { a: 1 }
  - each:
      for:
        in: ${ [1, 2] }
      do:
        - fetch:
            set: { b: 2 }
  - first2:
      do:
        - fetch:
            set: { c: 3 }
"#;

    /// `first` completed, `each` iteration 0 completed, iteration 1's `fetch` faulted.
    fn faulted_run() -> Vec<RecordedEvent> {
        let boom = json!({"type": "x", "status": 500, "instance": "/do/1/each/do/0/fetch"});
        vec![
            event("started", None, json!({})),
            event("started", Some("/do/0/first"), json!({})),
            event("completed", Some("/do/0/first"), json!({"output": 1})),
            event("started", Some("/do/1/each"), json!({})),
            event("started", Some("/do/1/each[0]/do/0/fetch"), json!({})),
            event(
                "completed",
                Some("/do/1/each[0]/do/0/fetch"),
                json!({"output": 2}),
            ),
            event("started", Some("/do/1/each[1]/do/0/fetch"), json!({})),
            event(
                "faulted",
                Some("/do/1/each[1]/do/0/fetch"),
                json!({"error": boom}),
            ),
            event("faulted", Some("/do/1/each"), json!({"error": boom})),
            event("faulted", None, json!({"error": boom})),
        ]
    }

    #[test]
    fn by_default_the_failed_execution_runs_again_and_what_completed_before_is_reused() {
        let point = retry_point(&machine(&doc(DOC)), "r1", &faulted_run(), None);
        let point = point.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(point.task, "/do/1/each/do/0/fetch");
        assert_eq!(point.step.as_deref(), Some("/do/1/each[1]/do/0/fetch"));
        assert!(point.replay.is_completed("/do/0/first"));
        assert!(point.replay.is_completed("/do/1/each[0]/do/0/fetch"));
        assert_eq!(point.replay.len(), 2);
    }

    #[test]
    fn from_a_task_cuts_at_its_first_execution() {
        let m = machine(&doc(DOC));
        let point = retry_point(&m, "r1", &faulted_run(), Some("/do/1/each"));
        let point = point.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(point.step.as_deref(), Some("/do/1/each"));
        assert_eq!(point.replay.len(), 1);
        let by_name = retry_point(&m, "r1", &faulted_run(), Some("first"));
        assert_eq!(by_name.map(|p| p.replay.len()).ok(), Some(0));
    }

    #[test]
    fn bad_choices_are_explained() {
        let m = machine(&doc(DOC));
        let events = faulted_run();
        let error = |from: Option<&str>, events: &[RecordedEvent]| {
            retry_point(&m, "r1", events, from)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            error(Some("fetch"), &events),
            "several tasks are named `fetch`: /do/1/each/do/0/fetch, /do/2/first2/do/0/fetch; \
             pass the JSON pointer of one"
        );
        assert_eq!(
            error(Some("frist"), &events),
            "no task `frist` in the document (did you mean `first`?)"
        );
        assert_eq!(
            error(Some("/do/0/frist"), &events),
            "no task `/do/0/frist` in the document (did you mean `/do/0/first`?)"
        );
        assert_eq!(
            error(Some("first2"), &events),
            "task /do/2/first2 did not run in run r1: retry from a task that ran"
        );
        let completed = [event("completed", None, json!({"output": 1}))];
        assert_eq!(
            error(None, &completed),
            "run r1 did not fault, so there is no failed task to retry from; pass --from TASK"
        );
    }

    #[test]
    fn a_caught_fault_is_not_the_failed_task() {
        let caught = json!({"type": "caught", "status": 400});
        let boom = json!({"type": "boom", "status": 500});
        let events = vec![
            event("started", Some("/do/0/first"), json!({})),
            event("faulted", Some("/do/0/first"), json!({"error": caught})),
            event("started", Some("/do/1/each"), json!({})),
            event("faulted", Some("/do/1/each"), json!({"error": boom})),
            event("faulted", None, json!({"error": boom})),
        ];
        let point = retry_point(&machine(&doc(DOC)), "r1", &events, None);
        assert_eq!(
            point.ok().and_then(|p| p.step),
            Some("/do/1/each".to_owned())
        );
        assert!(is_under("/do/1/each/do/0/x", "/do/1/each"));
        assert!(!is_under("/do/1/eachother", "/do/1/each"));
    }
}
