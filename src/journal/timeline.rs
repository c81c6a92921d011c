//! A run's stored events as task executions: when each started and ended, how it ended, how
//! many attempts it took. `runs show` prints them; `graph --run` colours tasks by them.
//!
//! An execution is keyed by its step name when the engine stamped one, else by its task pointer:
//! without steps, executions of one pointer (loop iterations, `then` jumps back) never overlap,
//! so a new `created` after the previous one ended starts the next execution.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::query::StoredEvent;

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
#[derive(Debug, Default)]
pub struct Timeline {
    executions: Vec<Execution>,
    /// Executions not ended yet, by step name (or task pointer).
    open: HashMap<String, usize>,
}

impl Timeline {
    /// Takes the next event of the run (in `seq` order).
    pub fn push(&mut self, event: &StoredEvent) {
        if !event.task_event {
            return;
        }
        let Some(task) = event.task.as_deref() else {
            return;
        };
        let key = event.step.as_deref().unwrap_or(task);
        let index = match (event.kind.as_str(), self.open.get(key)) {
            ("created", _) | (_, None) => {
                self.executions.push(Execution {
                    step: event.step.clone(),
                    task: task.to_string(),
                    parent: event.parent.clone(),
                    status: ExecutionStatus::Running,
                    created: event.time,
                    started: None,
                    ended: None,
                    attempts: 1,
                    error: None,
                    replayed: false,
                });
                let index = self.executions.len() - 1;
                self.open.insert(key.to_string(), index);
                index
            }
            (_, Some(&index)) => index,
        };
        let Some(execution) = self.executions.get_mut(index) else {
            return;
        };
        let ended = match event.kind.as_str() {
            "started" => {
                execution.started = Some(event.time);
                None
            }
            "retried" => {
                execution.attempts += 1;
                None
            }
            "completed" => {
                execution.replayed = event.data.get("replayed") == Some(&Value::Bool(true));
                Some(ExecutionStatus::Completed)
            }
            "faulted" => {
                execution.error = event.data.get("error").cloned();
                Some(ExecutionStatus::Faulted)
            }
            "skipped" => Some(ExecutionStatus::Skipped),
            "cancelled" => Some(ExecutionStatus::Cancelled),
            // `created`, and kinds recorded for other readers (context changes...).
            _ => None,
        };
        if let Some(status) = ended {
            execution.status = status;
            execution.ended = Some(event.time);
            self.open.remove(key);
        }
    }

    /// The executions, in the order they were created. A fault inside an execution of an
    /// enclosing task that completed was caught there: it is `Recovered`, not `Faulted`.
    /// Enclosing is the engine's nesting (each task's recorded parent); a run recorded before
    /// events carried it falls back to pointer containment.
    pub fn finish(mut self) -> Vec<Execution> {
        let parents: HashMap<String, String> = self
            .executions
            .iter()
            .filter_map(|e| Some((e.task.clone(), e.parent.clone()?)))
            .collect();
        let recorded = !parents.is_empty();
        let encloses = |outer: &str, task: &str| {
            if !recorded {
                return task.len() > outer.len()
                    && task.starts_with(outer)
                    && task.as_bytes().get(outer.len()) == Some(&b'/');
            }
            // Bounded by the number of tasks: a damaged journal cannot loop forever.
            let mut at = parents.get(task);
            for _ in 0..=parents.len() {
                match at {
                    Some(parent) if parent == outer => return true,
                    Some(parent) => at = parents.get(parent),
                    None => return false,
                }
            }
            false
        };
        let completed: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = self
            .executions
            .iter()
            .filter(|e| e.status == ExecutionStatus::Completed)
            .filter_map(|e| Some((e.task.clone(), e.created, e.ended?)))
            .collect();
        for execution in &mut self.executions {
            if execution.status != ExecutionStatus::Faulted {
                continue;
            }
            let task = execution.task.as_str();
            let recovered = completed.iter().any(|(outer, from, to)| {
                encloses(outer, task)
                    && *from <= execution.created
                    && execution.ended.is_some_and(|ended| ended <= *to)
            });
            if recovered {
                execution.status = ExecutionStatus::Recovered;
            }
        }
        self.executions
    }
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
        // Two steps of one task, interleaved (as a fork might): kept apart by step name.
        let stepped = vec![
            event(1, "created", "/do/0/x", Some("s1"), empty()),
            event(2, "created", "/do/0/x", Some("s2"), empty()),
            event(
                3,
                "completed",
                "/do/0/x",
                Some("s2"),
                json!({"replayed": true}),
            ),
            event(4, "completed", "/do/0/x", Some("s1"), empty()),
        ];
        let executions = timeline(&stepped);
        let steps: Vec<_> = executions
            .iter()
            .map(|e| (e.step.as_deref(), e.replayed))
            .collect();
        assert_eq!(steps, [(Some("s1"), false), (Some("s2"), true)]);
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
