//! What a run on Temporal keeps for `runs show/events/logs --temporal`: its lifecycle events (the
//! ones `run --events` writes, in the journal's stored form) and its `run` tasks' output lines
//! (capped per task execution as the local journal caps them), in the workflow's memory only.
//!
//! Nothing here is written to Temporal's history: the events are made by the engine from the
//! history itself (workflow time, ids seeded by the run's id), so a worker that replays the
//! history rebuilds them identically, and the `workflow.view` query reads them from there.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::effects::process::OutputStream;
use crate::journal::{OutputLine, StoredEvent};
use crate::runtime::event::{EventKind, EventSink, LifecycleEvent};

/// The most a query answer carries (events and lines together, as JSON); a client asks again
/// from where the answer stopped. Temporal refuses payloads of a few MiB.
const ANSWER_BUDGET: usize = 512 * 1024;

/// What the client asks: the events and lines after those it already has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRequest {
    pub events_after: usize,
    pub lines_after: usize,
}

/// The run as the workflow knows it, from `events_after`/`lines_after` on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    /// The document's `namespace`, `name` and `version`; empty before the run compiled.
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// The file name it was submitted from and the SHA-256 of its text.
    pub document: String,
    pub document_hash: String,
    pub input: Value,
    pub events: Vec<RecordedEvent>,
    pub lines: Vec<RecordedLine>,
    /// Whether more is kept after what this answer carries.
    pub more: bool,
}

/// One lifecycle event, as the journal stores it (see [`StoredEvent`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub id: String,
    pub kind: String,
    pub task_event: bool,
    pub task: Option<String>,
    pub step: Option<String>,
    pub parent: Option<String>,
    pub time: DateTime<Utc>,
    pub data: Value,
}

/// One output line (see [`OutputLine`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedLine {
    pub workflow: Option<String>,
    pub task: String,
    pub step: Option<String>,
    pub stream: String,
    pub time: DateTime<Utc>,
    pub line: String,
}

impl RecordedEvent {
    /// The stored form the journal's renderers take; `seq` counts from 1.
    pub(crate) fn stored(&self, seq: u64) -> StoredEvent {
        StoredEvent {
            seq,
            id: self.id.clone(),
            kind: self.kind.clone(),
            task_event: self.task_event,
            task: self.task.clone(),
            step: self.step.clone(),
            parent: self.parent.clone(),
            time: self.time,
            data: self.data.clone(),
        }
    }

    /// What the journal would store for `event`.
    fn of(event: &LifecycleEvent) -> RecordedEvent {
        let stored = crate::journal::stored_event(event, 0);
        RecordedEvent {
            id: stored.id,
            kind: stored.kind,
            task_event: stored.task_event,
            task: stored.task,
            step: stored.step,
            parent: stored.parent,
            time: stored.time,
            data: stored.data,
        }
    }
}

impl RecordedLine {
    /// The form `runs logs` prints; `num` counts from 1.
    pub(crate) fn output_line(&self, num: i64) -> OutputLine {
        OutputLine {
            num,
            workflow: self.workflow.clone(),
            task: self.task.clone(),
            step: self.step.clone(),
            stream: match self.stream.as_str() {
                "stderr" => OutputStream::Stderr,
                "warning" => OutputStream::Warning,
                _ => OutputStream::Stdout,
            },
            time: self.time,
            line: self.line.clone(),
        }
    }
}

/// The workflow's record of its run, shared by the event sink and the query.
#[derive(Default)]
pub(crate) struct Record {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    view: RunView,
    cap: crate::journal::OutputCap,
}

impl Record {
    /// What the run is, before its first event.
    pub(crate) fn begin(&self, document: &str, document_hash: &str, input: &Value) {
        let mut kept = self.lock();
        kept.view.document = document.to_string();
        kept.view.document_hash = document_hash.to_string();
        kept.view.input = input.clone();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer to the query: what follows `after`, up to [`ANSWER_BUDGET`] bytes.
    pub(crate) fn view(&self, after: ViewRequest) -> RunView {
        let kept = self.lock();
        let all = &kept.view;
        let mut budget = ANSWER_BUDGET;
        let mut more = false;
        let mut take = |size: usize| {
            // At least one item per answer, so a client always gets on.
            if size > budget && budget != ANSWER_BUDGET {
                more = true;
                return false;
            }
            budget = budget.saturating_sub(size);
            true
        };
        let mut events = Vec::new();
        for event in all.events.iter().skip(after.events_after) {
            if !take(event.data.to_string().len() + 200) {
                break;
            }
            events.push(event.clone());
        }
        let mut lines = Vec::new();
        for line in all.lines.iter().skip(after.lines_after) {
            if !take(line.line.len() + 150) {
                break;
            }
            lines.push(line.clone());
        }
        RunView {
            namespace: all.namespace.clone(),
            name: all.name.clone(),
            version: all.version.clone(),
            document: all.document.clone(),
            document_hash: all.document_hash.clone(),
            input: all.input.clone(),
            events,
            lines,
            more,
        }
    }
}

/// The event sink of a run on Temporal: its events and output lines go to its [`Record`].
pub(crate) struct RecordSink {
    pub(crate) record: Arc<Record>,
    pub(crate) run_id: String,
}

impl EventSink for RecordSink {
    fn emit(&self, event: LifecycleEvent) {
        let mut kept = self.record.lock();
        if let EventKind::TaskOutput { .. } = &event.kind {
            // Lines of sub-workflows too (named by their workflow), capped per execution.
            let line = kept.cap.row(&event, &self.run_id).map(|row| RecordedLine {
                workflow: row.workflow.clone(),
                task: row.task.to_string(),
                step: row.step.as_deref().map(str::to_string),
                stream: row.stream.name().to_string(),
                time: event.time,
                line: row.line.clone(),
            });
            kept.view.lines.extend(line);
            return;
        }
        // A sub-workflow's events are one step of this run, as in the journal.
        if event.run.run_id != self.run_id || !event.is_published() {
            return;
        }
        if let EventKind::WorkflowStarted = event.kind {
            kept.view.namespace = event.run.namespace.clone();
            kept.view.name = event.run.name.clone();
            kept.view.version = event.run.version.clone();
        }
        kept.view.events.push(RecordedEvent::of(&event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Val;
    use crate::runtime::event::RunIdentity;

    fn sink() -> RecordSink {
        RecordSink {
            record: Arc::new(Record::default()),
            run_id: "r1".into(),
        }
    }

    #[test]
    fn events_and_lines_are_kept_and_paged() {
        let sink = sink();
        let run = RunIdentity::for_tests("r1");
        sink.emit(LifecycleEvent::new(
            Arc::clone(&run),
            None,
            EventKind::WorkflowStarted,
        ));
        let task: Option<Arc<str>> = Some(Arc::from("/do/0/say"));
        for n in 0..3 {
            sink.emit(LifecycleEvent::new(
                Arc::clone(&run),
                task.clone(),
                EventKind::TaskOutput {
                    stream: OutputStream::Stdout,
                    line: format!("line {n}"),
                },
            ));
        }
        sink.emit(LifecycleEvent::new(
            Arc::clone(&run),
            task.clone(),
            EventKind::completed(Val::Null),
        ));
        let other = RunIdentity::for_tests("r2");
        sink.emit(LifecycleEvent::new(other, None, EventKind::WorkflowStarted));
        let all = sink.record.view(ViewRequest::default());
        assert_eq!(all.events.len(), 2);
        assert_eq!(all.events[0].kind, "started");
        assert_eq!(all.events[1].task.as_deref(), Some("/do/0/say"));
        assert_eq!(all.lines.len(), 3);
        assert!(!all.more);
        let rest = sink.record.view(ViewRequest {
            events_after: 1,
            lines_after: 2,
        });
        assert_eq!(rest.events.len(), 1);
        assert_eq!(rest.lines[0].line, "line 2");
        assert_eq!(rest.lines[0].output_line(3).stream, OutputStream::Stdout);
    }
}
