//! A lifecycle event turned into the row the journal stores. Runs on the writer thread, never on
//! the engine's: the engine only hands the event over.

use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::stamp;
use crate::runtime::event::{EventKind, LifecycleEvent};

/// Payloads larger than this are stored once in `blobs` and referenced by their hash.
pub(crate) const BLOB_THRESHOLD: usize = 64 * 1024;

/// One `events` row (the run id and sequence number are the writer's).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventRow {
    pub id: String,
    pub scope: &'static str,
    pub kind: &'static str,
    pub task: Option<Arc<str>>,
    pub step: Option<Arc<str>>,
    pub time: String,
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

/// The row for `event`.
pub(crate) fn row(event: &LifecycleEvent) -> EventRow {
    let kind = event.kind.name();
    let scope = if event.kind.is_task_event() {
        "task"
    } else {
        "workflow"
    };
    let payload = payload(event);
    let end = match (scope, &event.kind) {
        ("workflow", EventKind::WorkflowCompleted { .. }) => Some(RunEnd {
            status: "completed",
            output: payload.as_ref().and_then(|p| p.get("output")).map(to_text),
            error: None,
        }),
        ("workflow", EventKind::WorkflowFaulted { .. }) => Some(RunEnd {
            status: "faulted",
            output: None,
            error: payload.as_ref().and_then(|p| p.get("error")).map(to_text),
        }),
        ("workflow", EventKind::WorkflowCancelled) => Some(RunEnd {
            status: "cancelled",
            output: None,
            error: None,
        }),
        _ => None,
    };
    let text = payload.map(|payload| to_text(&Value::Object(payload)));
    let (data, blob) = match text {
        Some(text) if text.len() > BLOB_THRESHOLD => {
            let hash = hex(&Sha256::digest(text.as_bytes()));
            (None, Some((hash, text)))
        }
        other => (other, None),
    };
    EventRow {
        id: event.id.clone(),
        scope,
        kind,
        task: event.task.clone(),
        step: event.step.clone(),
        time: stamp(event.time),
        data,
        blob,
        end,
    }
}

/// The CloudEvent's `data` minus what the row's columns already hold; `None` when nothing is
/// left. The kinds that carry nothing skip building the CloudEvent at all: they are most of a
/// long loop's events.
fn payload(event: &LifecycleEvent) -> Option<Map<String, Value>> {
    if matches!(
        event.kind,
        EventKind::TaskCreated
            | EventKind::TaskStarted
            | EventKind::TaskSkipped
            | EventKind::TaskCancelled
            | EventKind::WorkflowCancelled
    ) {
        return None;
    }
    let Value::Object(mut cloudevent) = event.to_cloudevent() else {
        return None;
    };
    let Some(Value::Object(mut data)) = cloudevent.remove("data") else {
        return None;
    };
    for key in implied_keys(event.kind.name(), event.kind.is_task_event()) {
        data.shift_remove(&key);
    }
    (!data.is_empty()).then_some(data)
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
    use crate::runtime::error::{ErrorKind, WorkflowError};
    use crate::runtime::event::RunIdentity;
    use serde_json::json;

    fn identity() -> Arc<RunIdentity> {
        Arc::new(RunIdentity {
            run_id: "r1".into(),
            qualified_name: "flow.ns:1.0.0".into(),
            namespace: "ns".into(),
            name: "flow".into(),
            version: "1.0.0".into(),
        })
    }

    fn task(kind: EventKind) -> LifecycleEvent {
        let mut event = LifecycleEvent::new(identity(), Some("/do/0/a".into()), kind);
        event.step = Some("/do/0/a".into());
        event
    }

    #[test]
    fn payloadless_events_store_no_data() {
        let row = row(&task(EventKind::TaskStarted));
        assert_eq!((row.scope, row.kind), ("task", "started"));
        assert_eq!(row.task.as_deref(), Some("/do/0/a"));
        assert_eq!(row.step.as_deref(), Some("/do/0/a"));
        assert_eq!(row.data, None);
        assert_eq!(row.end, None);
        assert!(
            row.time.ends_with('Z') && row.time.len() == 27,
            "{}",
            row.time
        );
    }

    #[test]
    fn outputs_and_errors_are_the_payload() {
        let completed = row(&task(EventKind::completed(from_json(&json!({"n": 1})))));
        assert_eq!(completed.data.as_deref(), Some(r#"{"output":{"n":1}}"#));
        let retried = row(&task(EventKind::TaskRetried {
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
        let done = row(&LifecycleEvent::new(
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
        let faulted = row(&LifecycleEvent::new(
            run.clone(),
            None,
            EventKind::WorkflowFaulted {
                error: WorkflowError::new(ErrorKind::Runtime, "boom"),
            },
        ));
        let end = faulted.end.unwrap_or_else(|| panic!("an end"));
        assert!(end.error.unwrap_or_default().contains("boom"));
        let started = row(&LifecycleEvent::new(run, None, EventKind::WorkflowStarted));
        assert_eq!(started.end, None);
        assert_eq!(
            started.data.as_deref(),
            Some(r#"{"definition":{"namespace":"ns","name":"flow","version":"1.0.0"}}"#)
        );
    }

    #[test]
    fn large_payloads_become_blobs() {
        let big = "x".repeat(BLOB_THRESHOLD);
        let row = row(&task(EventKind::completed(from_json(&json!(big)))));
        assert_eq!(row.data, None);
        let (hash, text) = row.blob.unwrap_or_default();
        assert_eq!(hash.len(), 64);
        assert!(text.starts_with(r#"{"output":"xxx"#));
    }

    #[test]
    fn live_view_kinds_are_not_journaled() {
        assert!(!is_journaled(&EventKind::TaskIterations { total: 3 }));
        assert!(!is_journaled(&EventKind::TaskOutput { line: "x".into() }));
        assert!(is_journaled(&EventKind::TaskSkipped));
        assert!(is_journaled(&EventKind::WorkflowCancelled));
    }
}
