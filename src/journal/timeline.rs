//! A run's stored events as task executions: when each started and ended, how it ended, how
//! many attempts it took. `runs show` prints them; `graph --run` and `serve` colour tasks by them.
//!
//! The stored events are read back into lifecycle events and folded by the same tracker and
//! run record the live reporters use (`report::tracker`, `report::record`): tasks nest by the
//! parent the engine recorded, a fault is recovered when the enclosing task that caught it
//! completed, and a task still open at the end of the events is running (or was interrupted
//! there).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::query::StoredEvent;
use crate::problem::{ErrorKind, WorkflowError};
use crate::report::record::RunRecorder;
use crate::report::tracker::{self, Node, Outcome};
use crate::runtime::event::{EventKind, EventSink, LifecycleEvent, Next, RunIdentity};

/// How a task execution stands at the end of the recorded events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExecutionStatus {
    /// Its `if` was false.
    Skipped,
    Completed,
    /// Faulted, but an enclosing task that caught the error (a `try`, retried or not)
    /// completed: the run recovered from it.
    Recovered,
    /// Started and never ended: the run was interrupted there (or is still there).
    Running,
    Cancelled,
    Faulted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Skipped => "skipped",
            ExecutionStatus::Completed => "completed",
            ExecutionStatus::Recovered => "recovered",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Cancelled => "cancelled",
            ExecutionStatus::Faulted => "faulted",
        }
    }
}

/// One execution of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub step: Option<String>,
    pub task: String,
    /// The pointer of the task it ran inside, as the engine recorded it.
    pub parent: Option<String>,
    pub status: ExecutionStatus,
    /// When the task was created (its first event).
    pub created: DateTime<Utc>,
    /// When its body started (absent when skipped or faulted before starting).
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// 1 plus the retries.
    pub attempts: u32,
    /// The error it faulted with.
    pub error: Option<Value>,
    /// Its output was replayed from an earlier run instead of being computed again.
    pub replayed: bool,
}

impl Execution {
    /// From start (or creation) to end, for an execution that ended.
    pub fn duration(&self) -> Option<std::time::Duration> {
        let ended = self.ended?;
        let from = self.started.unwrap_or(self.created);
        Some((ended - from).to_std().unwrap_or_default())
    }

    /// The title of its error, else the error's type.
    pub fn error_title(&self) -> Option<String> {
        let error = self.error.as_ref()?;
        error
            .get("title")
            .or_else(|| error.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// The task executions of a run, in the order they were created.
pub fn timeline(events: &[StoredEvent]) -> Vec<Execution> {
    let mut builder = Timeline::default();
    for event in events {
        builder.push(event);
    }
    builder.finish()
}

/// Builds a timeline one event at a time, so a long run's events need not all be in memory.
pub struct Timeline {
    recorder: RunRecorder,
    /// The events are one run's: which one does not matter to the fold.
    run: Arc<RunIdentity>,
}

impl Default for Timeline {
    fn default() -> Self {
        let recorder = RunRecorder::new(None, true);
        recorder.with_tracker(|tracker| tracker.count_from_creation());
        Timeline {
            recorder,
            run: Arc::new(RunIdentity {
                run_id: String::new(),
                qualified_name: String::new(),
                namespace: String::new(),
                name: String::new(),
                version: String::new(),
            }),
        }
    }
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timeline")
    }
}

impl Timeline {
    /// Takes the next event of the run (in `seq` order).
    pub fn push(&mut self, event: &StoredEvent) {
        if let Some(event) = lifecycle(event, &self.run) {
            self.recorder.emit(event);
        }
    }

    /// The executions, in the order they began: the finished ones as the run record has them
    /// (a fault caught by an enclosing task that completed is `Recovered`), then those still
    /// open at the end of the events (`Running`).
    pub fn finish(self) -> Vec<Execution> {
        let mut open: Vec<(u64, Execution)> = self.recorder.with_tracker(|tracker| {
            tracker
                .runs()
                .iter()
                .flat_map(|run| run.open_tasks())
                .map(|node| (node.opened, running(node)))
                .collect()
        });
        let record = self.recorder.take();
        // The run record marks the execution that raised a caught fault; those the fault only
        // passed through on its way to the catcher (in the order executions ended, the raiser
        // first) are recovered with it.
        let mut raised_recovered: HashMap<Arc<str>, bool> = HashMap::new();
        for execution in record.executions {
            let mut recovered = execution.recovered_by.is_some();
            if let Outcome::Faulted(error) = &execution.outcome {
                match error.instance.as_deref() {
                    Some(instance)
                        if instance != &*execution.task
                            && tracker::is_within(instance, &execution.task) =>
                    {
                        recovered |= raised_recovered.get(instance).copied().unwrap_or(false);
                    }
                    _ => {
                        raised_recovered.insert(Arc::clone(&execution.task), recovered);
                    }
                }
            }
            open.push((execution.opened, finished(execution, recovered)));
        }
        open.sort_by_key(|(opened, _)| *opened);
        open.into_iter().map(|(_, execution)| execution).collect()
    }
}

/// A task still open at the end of the events.
fn running(node: &Node) -> Execution {
    Execution {
        step: node.step.as_deref().map(str::to_string),
        task: node.task.to_string(),
        parent: node.parent().map(|parent| parent.to_string()),
        status: ExecutionStatus::Running,
        created: node.started,
        started: node.body_started,
        ended: None,
        attempts: attempts(node.retries.len()),
        error: None,
        replayed: false,
    }
}

fn finished(execution: tracker::Execution, recovered: bool) -> Execution {
    let (status, error) = match &execution.outcome {
        Outcome::Completed | Outcome::Replayed => (ExecutionStatus::Completed, None),
        Outcome::Faulted(error) if recovered => (ExecutionStatus::Recovered, Some(error.to_json())),
        Outcome::Faulted(error) => (ExecutionStatus::Faulted, Some(error.to_json())),
        Outcome::Skipped => (ExecutionStatus::Skipped, None),
        Outcome::Cancelled => (ExecutionStatus::Cancelled, None),
    };
    Execution {
        step: execution.step.as_deref().map(str::to_string),
        task: execution.task.to_string(),
        parent: execution.parent.as_deref().map(str::to_string),
        status,
        created: execution.started,
        started: execution.body_started,
        ended: Some(execution.ended),
        attempts: attempts(execution.retries.len()),
        error,
        replayed: execution.outcome == Outcome::Replayed,
    }
}

fn attempts(retries: usize) -> u32 {
    u32::try_from(retries).unwrap_or(u32::MAX).saturating_add(1)
}

/// A stored event read back as the lifecycle event it was, as far as the fold needs it:
/// outputs are left out (`null`), errors and retries are read back. Kinds the fold does not
/// use (context changes, consumed events...) give `None`.
fn lifecycle(event: &StoredEvent, run: &Arc<RunIdentity>) -> Option<LifecycleEvent> {
    let error = || recorded_error(event.data.get("error"));
    let output = crate::expr::Val::Null;
    let kind = match (event.task_event, event.kind.as_str()) {
        (false, "started") => EventKind::WorkflowStarted,
        (false, "completed") => EventKind::WorkflowCompleted { output },
        (false, "faulted") => EventKind::WorkflowFaulted { error: error() },
        (false, "cancelled") => EventKind::WorkflowCancelled,
        (true, "created") => EventKind::TaskCreated,
        (true, "started") => EventKind::TaskStarted,
        (true, "completed") => EventKind::TaskCompleted {
            output,
            next: Next::Continue,
            replayed: event.data.get("replayed") == Some(&Value::Bool(true)),
            masked: false,
        },
        (true, "faulted") => EventKind::TaskFaulted { error: error() },
        (true, "retried") => EventKind::TaskRetried {
            attempt: event
                .data
                .get("attempt")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1),
            delay: event
                .data
                .get("delay")
                .and_then(Value::as_f64)
                .and_then(|seconds| std::time::Duration::try_from_secs_f64(seconds).ok())
                .unwrap_or_default(),
            error: error(),
        },
        (true, "skipped") => EventKind::TaskSkipped,
        (true, "cancelled") => EventKind::TaskCancelled,
        _ => return None,
    };
    let task = |text: &Option<String>| text.as_deref().map(Arc::from);
    Some(LifecycleEvent {
        id: uuid::Uuid::parse_str(&event.id).unwrap_or_default(),
        time: event.time,
        run: Arc::clone(run),
        task: task(&event.task),
        parent: task(&event.parent),
        step: task(&event.step),
        kind,
    })
}

/// The error a stored event recorded; one a damaged journal holds in another shape keeps what
/// can be read of it (its title, detail and status).
fn recorded_error(recorded: Option<&Value>) -> WorkflowError {
    let Some(recorded) = recorded else {
        return WorkflowError::new(ErrorKind::Runtime, "Unrecorded error");
    };
    if let Ok(error) = serde_json::from_value::<WorkflowError>(recorded.clone()) {
        return error;
    }
    let text = |key: &str| recorded.get(key).and_then(Value::as_str);
    let mut error = WorkflowError::new(
        ErrorKind::Runtime,
        text("title").unwrap_or("Unrecorded error"),
    );
    error.detail = text("detail").map(str::to_string);
    if let Some(status) = recorded
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|status| u16::try_from(status).ok())
    {
        error.status = status;
    }
    error
}

/// What happened to each task pointer in the run: its most telling execution wins (faulted over
/// cancelled over running over recovered over completed over skipped), so a loop whose one iteration faulted
/// shows as faulted. Tasks absent from the map were never reached.
pub fn states_by_task(executions: &[Execution]) -> BTreeMap<String, ExecutionStatus> {
    let mut states: BTreeMap<String, ExecutionStatus> = BTreeMap::new();
    for execution in executions {
        let state = states
            .entry(execution.task.clone())
            .or_insert(execution.status);
        *state = (*state).max(execution.status);
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(seq: u64, kind: &str, task: &str, step: Option<&str>, data: Value) -> StoredEvent {
        StoredEvent {
            seq,
            id: format!("e{seq}"),
            kind: kind.into(),
            task_event: !task.is_empty(),
            task: (!task.is_empty()).then(|| task.to_string()),
            step: step.map(str::to_string),
            parent: None,
            time: DateTime::<Utc>::from_timestamp(1_700_000_000 + seq as i64, 0)
                .unwrap_or_default(),
            data,
        }
    }

    #[test]
    fn executions_follow_created_to_their_end() {
        let empty = || json!({});
        let events = vec![
            event(1, "started", "", None, empty()),
            event(2, "created", "/do/0/a", None, empty()),
            event(3, "started", "/do/0/a", None, empty()),
            event(4, "retried", "/do/0/a", None, json!({"attempt": 1})),
            event(5, "completed", "/do/0/a", None, json!({"output": 1})),
            event(6, "created", "/do/1/b", None, empty()),
            event(7, "skipped", "/do/1/b", None, empty()),
            event(8, "created", "/do/2/c", None, empty()),
            event(9, "started", "/do/2/c", None, empty()),
            event(
                10,
                "faulted",
                "/do/2/c",
                None,
                json!({"error": {"title": "Boom"}}),
            ),
            event(11, "created", "/do/3/d", None, empty()),
            event(12, "started", "/do/3/d", None, empty()),
        ];
        let executions = timeline(&events);
        let summary: Vec<_> = executions
            .iter()
            .map(|e| {
                (
                    e.task.as_str(),
                    e.status,
                    e.attempts,
                    e.duration().map(|d| d.as_secs()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("/do/0/a", ExecutionStatus::Completed, 2, Some(2)),
                ("/do/1/b", ExecutionStatus::Skipped, 1, Some(1)),
                ("/do/2/c", ExecutionStatus::Faulted, 1, Some(1)),
                ("/do/3/d", ExecutionStatus::Running, 1, None),
            ]
        );
        assert_eq!(executions[2].error_title().as_deref(), Some("Boom"));
    }

    #[test]
    fn iterations_without_steps_and_with_steps() {
        let empty = || json!({});
        let looped = vec![
            event(1, "created", "/do/0/l/do/0/x", None, empty()),
            event(2, "completed", "/do/0/l/do/0/x", None, empty()),
            event(3, "created", "/do/0/l/do/0/x", None, empty()),
            event(4, "faulted", "/do/0/l/do/0/x", None, empty()),
        ];
        let executions = timeline(&looped);
        assert_eq!(executions.len(), 2);
        let states = states_by_task(&executions);
        assert_eq!(
            states.get("/do/0/l/do/0/x"),
            Some(&ExecutionStatus::Faulted)
        );
        // Steps are carried through: replayed ones are marked.
        let stepped = vec![
            event(1, "created", "/do/0/x", Some("s1"), empty()),
            event(
                2,
                "completed",
                "/do/0/x",
                Some("s1"),
                json!({"replayed": true}),
            ),
            event(3, "created", "/do/0/x", Some("s2"), empty()),
            event(4, "completed", "/do/0/x", Some("s2"), empty()),
        ];
        let executions = timeline(&stepped);
        let steps: Vec<_> = executions
            .iter()
            .map(|e| (e.step.as_deref(), e.replayed))
            .collect();
        assert_eq!(steps, [(Some("s1"), true), (Some("s2"), false)]);
    }

    #[test]
    fn a_fault_is_recovered_by_the_recorded_parent_that_completed() {
        let empty = || json!({});
        let within = |mut event: StoredEvent, parent: &str| {
            event.parent = Some(parent.to_string());
            event
        };
        // A function's task has its own document's pointer: only the recorded parent says it
        // ran inside `/do/1/call`, which caught its fault and completed.
        let events = vec![
            event(1, "created", "/do/1/call", None, empty()),
            within(
                event(2, "created", "/do/0/greet", None, empty()),
                "/do/1/call",
            ),
            within(
                event(3, "faulted", "/do/0/greet", None, empty()),
                "/do/1/call",
            ),
            event(4, "completed", "/do/1/call", None, empty()),
            event(5, "created", "/do/2/other", None, empty()),
            within(
                event(6, "created", "/do/2/other/do/0/x", None, empty()),
                "/do/2/other",
            ),
            within(
                event(7, "faulted", "/do/2/other/do/0/x", None, empty()),
                "/do/2/other",
            ),
            event(8, "faulted", "/do/2/other", None, empty()),
        ];
        let statuses: Vec<_> = timeline(&events)
            .iter()
            .map(|e| (e.task.clone(), e.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("/do/1/call".to_string(), ExecutionStatus::Completed),
                ("/do/0/greet".to_string(), ExecutionStatus::Recovered),
                ("/do/2/other".to_string(), ExecutionStatus::Faulted),
                ("/do/2/other/do/0/x".to_string(), ExecutionStatus::Faulted),
            ]
        );
    }
}
