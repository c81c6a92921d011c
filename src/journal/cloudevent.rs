//! Stored rows back to the CloudEvents the run published: the same attributes, in the same
//! order, as `run --events` writes them, so `workflow runs events` can feed the same tools.

use serde_json::{Map, Value, json};

use super::query::{RunRecord, StoredEvent};
use super::stamp;

/// Prefix of workflow and task lifecycle event types (as `runtime::event` writes them).
const TYPE_PREFIX: &str = "io.serverlessworkflow.";

impl StoredEvent {
    /// The event in CloudEvents 1.0 structured JSON form; `run` is the run it belongs to.
    pub fn to_cloudevent(&self, run: &RunRecord) -> Value {
        let time = stamp(self.time);
        let scope = if self.task_event { "task" } else { "workflow" };
        let mut data = Map::new();
        if self.task_event {
            data.insert("workflow".into(), json!(run.qualified_name()));
            data.insert("task".into(), json!(self.task.as_deref().unwrap_or("")));
        } else {
            data.insert("name".into(), json!(run.qualified_name()));
        }
        data.insert(format!("{}At", self.kind), json!(time));
        if let Value::Object(payload) = &self.data {
            for (key, value) in payload {
                data.insert(key.clone(), value.clone());
            }
        }
        let mut event = Map::new();
        event.insert("specversion".into(), json!("1.0"));
        event.insert("id".into(), json!(self.id));
        event.insert("source".into(), json!(run.source()));
        event.insert(
            "type".into(),
            json!(format!("{TYPE_PREFIX}{scope}.{}.v1", self.kind)),
        );
        event.insert("time".into(), json!(time));
        event.insert("datacontenttype".into(), json!("application/json"));
        if let Some(task) = &self.task {
            event.insert("subject".into(), json!(task));
        }
        event.insert("data".into(), Value::Object(data));
        Value::Object(event)
    }
}

#[cfg(test)]
mod tests {
    use crate::expr::from_json;
    use crate::journal::sink::tests::start;
    use crate::journal::{Journal, JournalError};
    use crate::problem::{ErrorKind, WorkflowError};
    use crate::runtime::event::{EventKind, EventSink, LifecycleEvent, RunIdentity};
    use serde_json::json;
    use std::sync::Arc;

    /// Every kind of event, published and stored, comes back identical to its CloudEvent.
    #[test]
    fn rebuilt_events_equal_the_published_ones() -> Result<(), JournalError> {
        let dir = tempfile::tempdir().map_err(|e| JournalError::Writer(e.to_string()))?;
        let journal = Journal::open(dir.path())?;
        let recorder = journal.begin_run(start("run-ce"))?;
        let run = RunIdentity::for_tests("run-ce");
        let error = WorkflowError::new(ErrorKind::Communication, "down").with_detail("503");
        let task = Some(Arc::<str>::from("/do/0/get~1it"));
        let big = "y".repeat(70 * 1024);
        let kinds = vec![
            (None, EventKind::WorkflowStarted),
            (task.clone(), EventKind::TaskCreated),
            (task.clone(), EventKind::TaskStarted),
            (
                task.clone(),
                EventKind::TaskRetried {
                    attempt: 1,
                    delay: std::time::Duration::from_millis(250),
                    error: error.clone(),
                },
            ),
            (
                task.clone(),
                EventKind::TaskFaulted {
                    error: error.clone(),
                },
            ),
            (task.clone(), EventKind::TaskSkipped),
            (task.clone(), EventKind::TaskCancelled),
            (
                task.clone(),
                EventKind::completed(from_json(&json!({"big": big}))),
            ),
            (
                None,
                EventKind::WorkflowCompleted {
                    output: from_json(&json!({"done": true, "list": [1, "two"]})),
                },
            ),
        ];
        let mut published = Vec::new();
        for (task, kind) in kinds {
            let event = LifecycleEvent::new(run.clone(), task, kind);
            published.push(event.to_cloudevent());
            recorder.emit(event);
        }
        recorder.finish()?;
        let record = journal.run("run-ce")?;
        let rebuilt: Vec<_> = journal
            .events("run-ce")?
            .iter()
            .map(|event| event.to_cloudevent(&record))
            .collect();
        assert_eq!(rebuilt.len(), published.len());
        for (rebuilt, published) in rebuilt.iter().zip(&published) {
            // Same values and the same key order: the text is identical.
            assert_eq!(rebuilt.to_string(), published.to_string());
        }
        Ok(())
    }
}
