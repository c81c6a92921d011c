//! A lifecycle event turned into the row the journal stores. Runs on the writer thread, never on
//! the engine's: the engine only hands the event over.

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

#[cfg(feature = "temporal")]
use super::query::StoredEvent;
use super::stamp;
use crate::expr::to_json;
use crate::runtime::event::{EventKind, LifecycleEvent, Next};

/// Payloads larger than this are stored once in `blobs` and referenced by their hash.
pub(crate) const BLOB_THRESHOLD: usize = 64 * 1024;

/// One stored event (the run, the sequence number and the task's number are the writer's).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventRow {
    pub id: uuid::Uuid,
    pub scope: &'static str,
    pub kind: &'static str,
    pub task: Option<Arc<str>>,
    pub step: Option<Arc<str>>,
    /// The pointer of the task it runs inside (see `LifecycleEvent::parent`).
    pub parent: Option<Arc<str>>,
    /// Microseconds since the Unix epoch.
    pub time: i64,
    /// The payload as JSON text, when small enough to sit in the row.
    pub data: Option<String>,
    /// `(sha-256 hex, JSON text)` of a payload too large for the row.
    pub blob: Option<(String, String)>,
    /// Set by the events that end a run: what the `runs` row records.
    pub end: Option<RunEnd>,
}

/// How a run ended, from its last workflow event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunEnd {
    /// When (the `runs.ended_at` text).
    pub at: String,
    pub status: &'static str,
    pub output: Option<String>,
    pub error: Option<String>,
}

/// Whether the journal keeps events of this kind: everything but the live-view kinds (loop
/// totals, process output lines), which describe progress, not what happened. Kinds added for
/// the journal alone are kept without a change here.
pub(crate) fn is_journaled(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::TaskIterations { .. } | EventKind::TaskOutput { .. }
    )
}

/// The row for `event`, which it consumes (its id and names move into the row).
pub(crate) fn row(event: LifecycleEvent) -> EventRow {
    let kind = event.kind.name();
    let scope = if event.kind.is_task_event() {
        "task"
    } else {
        "workflow"
    };
    let (payload, mut end) = payload(&event);
    if let Some(end) = &mut end {
        end.at = stamp(event.time);
    }
    let (data, blob) = match payload {
        Some(text) if text.len() > BLOB_THRESHOLD => {
            let hash = hex(&Sha256::digest(text.as_bytes()));
            (None, Some((hash, text)))
        }
        other => (other, None),
    };
    EventRow {
        time: event.time.timestamp_micros(),
        id: event.id,
        scope,
        kind,
        task: event.task,
        step: event.step,
        parent: event.parent,
        data,
        blob,
        end,
    }
}

/// The event as the journal reads it back from its row (`seq` counts from 1): the form the
/// renderers of stored runs take, for a host that keeps events elsewhere (a Temporal query).
#[cfg(feature = "temporal")]
pub(crate) fn stored(event: &LifecycleEvent, seq: u64) -> StoredEvent {
    let (payload, _) = payload(event);
    let text = |pointer: &Option<Arc<str>>| pointer.as_deref().map(str::to_string);
    StoredEvent {
        seq,
        id: event.id.to_string(),
        kind: event.kind.name().to_string(),
        task_event: event.kind.is_task_event(),
        task: text(&event.task),
        step: text(&event.step),
        parent: text(&event.parent),
        time: event.time,
        data: payload
            .and_then(|payload| serde_json::from_str(&payload).ok())
            .unwrap_or_else(|| Value::Object(Default::default())),
    }
}

/// The payload as JSON text (the CloudEvent's `data` minus what the row's columns already
/// hold; `None` when nothing is left), and how the run ended when the event ends it.
///
/// The common kinds are written directly: building whole CloudEvents for the hundreds of
/// thousands of events of a long loop cost more than storing them. The patterns name every
/// field, so a field added to one of these kinds stops the build here instead of being lost;
/// any other kind goes through its CloudEvent. A test checks both ways agree.
fn payload(event: &LifecycleEvent) -> (Option<String>, Option<RunEnd>) {
    let ended = |status, output, error| {
        Some(RunEnd {
            at: String::new(),
            status,
            output,
            error,
        })
    };
    match &event.kind {
        EventKind::TaskCreated
        | EventKind::TaskStarted
        | EventKind::TaskSkipped
        | EventKind::TaskCancelled => (None, None),
        EventKind::WorkflowCancelled => (None, ended("cancelled", None, None)),
        // The common case; a `then`, a replay or a mask goes through the CloudEvent below.
        EventKind::TaskCompleted {
            output,
            next: Next::Continue,
            replayed: false,
            masked: false,
        } => (Some(wrap("output", &to_text(&to_json(output)))), None),
        EventKind::WorkflowCompleted { output } => {
            let output = to_text(&to_json(output));
            (
                Some(wrap("output", &output)),
                ended("completed", Some(output), None),
            )
        }
        EventKind::TaskFaulted { error } => (Some(wrap("error", &to_text(&error.to_json()))), None),
        EventKind::WorkflowFaulted { error } => {
            let error = to_text(&error.to_json());
            (
                Some(wrap("error", &error)),
                ended("faulted", None, Some(error)),
            )
        }
        _ => (cloudevent_payload(event), None),
    }
}

/// `{"key":json}`.
fn wrap(key: &str, json: &str) -> String {
    format!("{{\"{key}\":{json}}}")
}

/// The payload of any kind, cut from its CloudEvent.
fn cloudevent_payload(event: &LifecycleEvent) -> Option<String> {
    let Value::Object(mut cloudevent) = event.to_cloudevent() else {
        return None;
    };
    let Some(Value::Object(mut data)) = cloudevent.remove("data") else {
        return None;
    };
    for key in implied_keys(event.kind.name(), event.kind.is_task_event()) {
        data.shift_remove(&key);
    }
    (!data.is_empty()).then(|| to_text(&Value::Object(data)))
}

/// The `data` fields every event of a kind has and the journal rebuilds from its columns.
pub(crate) fn implied_keys(kind: &str, task_event: bool) -> [String; 3] {
    let time = format!("{kind}At");
    if task_event {
        ["workflow".into(), "task".into(), time]
    } else {
        // Workflow events have no `task`; the empty key never occurs in a CloudEvent's data.
        ["name".into(), String::new(), time]
    }
}

fn to_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::from_json;
    use crate::problem::{ErrorKind, WorkflowError};
    use crate::runtime::event::RunIdentity;
    use serde_json::json;

    fn identity() -> Arc<RunIdentity> {
        RunIdentity::for_tests("r1")
    }

    fn task(kind: EventKind) -> LifecycleEvent {
        let mut event = LifecycleEvent::new(identity(), Some("/do/0/a".into()), kind);
        event.step = Some("/do/0/a".into());
        event
    }

    #[test]
    fn payloadless_events_store_no_data() {
        let row = row(task(EventKind::TaskStarted));
        assert_eq!((row.scope, row.kind), ("task", "started"));
        assert_eq!(row.task.as_deref(), Some("/do/0/a"));
        assert_eq!(row.step.as_deref(), Some("/do/0/a"));
        assert_eq!(row.data, None);
        assert_eq!(row.end, None);
        assert!(row.time > 1_600_000_000_000_000, "{}", row.time);
        assert_eq!(row.id.get_version_num(), 7);
    }

    #[test]
    fn outputs_and_errors_are_the_payload() {
        let completed = row(task(EventKind::completed(from_json(&json!({"n": 1})))));
        assert_eq!(completed.data.as_deref(), Some(r#"{"output":{"n":1}}"#));
        let retried = row(task(EventKind::TaskRetried {
            attempt: 2,
            delay: std::time::Duration::from_millis(1500),
            error: WorkflowError::new(ErrorKind::Timeout, "slow"),
        }));
        let data: Value =
            serde_json::from_str(retried.data.as_deref().unwrap_or("null")).unwrap_or_default();
        assert_eq!(data["attempt"], 2);
        assert_eq!(data["delay"], 1.5);
        assert_eq!(data["error"]["title"], "slow");
        assert!(data.get("task").is_none() && data.get("retriedAt").is_none());
    }

    #[test]
    fn workflow_ends_carry_the_runs_outcome() {
        let run = identity();
        let done = row(LifecycleEvent::new(
            run.clone(),
            None,
            EventKind::WorkflowCompleted {
                output: from_json(&json!([1, 2])),
            },
        ));
        assert_eq!(done.scope, "workflow");
        let end = done.end.unwrap_or_else(|| panic!("an end"));
        assert_eq!(
            (end.status, end.output.as_deref()),
            ("completed", Some("[1,2]"))
        );
        let faulted = row(LifecycleEvent::new(
            run.clone(),
            None,
            EventKind::WorkflowFaulted {
                error: WorkflowError::new(ErrorKind::Runtime, "boom"),
            },
        ));
        let end = faulted.end.unwrap_or_else(|| panic!("an end"));
        assert!(end.error.unwrap_or_default().contains("boom"));
        let started = row(LifecycleEvent::new(run, None, EventKind::WorkflowStarted));
        assert_eq!(started.end, None);
        assert_eq!(
            started.data.as_deref(),
            Some(r#"{"definition":{"namespace":"ns","name":"flow","version":"1.0.0"}}"#)
        );
    }

    /// The direct payloads are exactly what the CloudEvent would give.
    #[test]
    fn direct_payloads_agree_with_the_cloudevents() {
        let error = WorkflowError::new(ErrorKind::Validation, "bad \"input\"").with_detail("x");
        let output = from_json(&json!({"a": [1, 2.5, "é\n", null, {"b": true}]}));
        let kinds = [
            (true, EventKind::TaskCreated),
            (true, EventKind::TaskStarted),
            (true, EventKind::TaskSkipped),
            (true, EventKind::TaskCancelled),
            (true, EventKind::completed(output.clone())),
            (
                true,
                EventKind::TaskFaulted {
                    error: error.clone(),
                },
            ),
            (false, EventKind::WorkflowCancelled),
            (false, EventKind::WorkflowCompleted { output }),
            (false, EventKind::WorkflowFaulted { error }),
        ];
        for (is_task, kind) in kinds {
            let task = is_task.then(|| Arc::<str>::from("/do/0/a"));
            let event = LifecycleEvent::new(identity(), task, kind);
            assert_eq!(
                payload(&event).0,
                cloudevent_payload(&event),
                "{:?}",
                event.kind
            );
        }
    }

    #[test]
    fn large_payloads_become_blobs() {
        let big = "x".repeat(BLOB_THRESHOLD);
        let row = row(task(EventKind::completed(from_json(&json!(big)))));
        assert_eq!(row.data, None);
        let (hash, text) = row.blob.unwrap_or_default();
        assert_eq!(hash.len(), 64);
        assert!(text.starts_with(r#"{"output":"xxx"#));
    }

    #[test]
    fn live_view_kinds_are_not_journaled() {
        assert!(!is_journaled(&EventKind::TaskIterations { total: 3 }));
        assert!(!is_journaled(&EventKind::TaskOutput {
            stream: crate::host::effects::process::OutputStream::Stdout,
            line: "x".into()
        }));
        assert!(is_journaled(&EventKind::TaskSkipped));
        assert!(is_journaled(&EventKind::WorkflowCancelled));
    }
}
