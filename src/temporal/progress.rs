//! `workflow run FILE --temporal --events PATH`: while the client waits for the run, it polls the
//! run's `workflow.view` query and appends the new lifecycle events to PATH as CloudEvents, one
//! per line, the same lines a local run writes (and `runs events --temporal` prints).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use temporalio_client::{Client, WorkflowQueryOptions};

use super::record::ViewRequest;
use super::workflow::ServerlessWorkflow;
use crate::journal::{RunRecord, RunStatus};

/// How often the query is asked while the run goes on.
pub(crate) const POLL_EVERY: Duration = Duration::from_millis(500);

/// The events file of one run and how far it got.
pub(crate) struct EventsFile {
    path: PathBuf,
    file: std::fs::File,
    after: ViewRequest,
    record: RunRecord,
}

impl EventsFile {
    pub(crate) fn create(path: &Path, id: &str) -> std::io::Result<EventsFile> {
        Ok(EventsFile {
            path: path.to_path_buf(),
            file: std::fs::File::create(path)?,
            after: ViewRequest::default(),
            record: RunRecord {
                id: id.to_string(),
                namespace: String::new(),
                name: String::new(),
                version: String::new(),
                document_path: String::new(),
                document_hash: String::new(),
                input: serde_json::Value::Null,
                status: RunStatus::Running,
                started_at: chrono::DateTime::default(),
                ended_at: None,
                output: None,
                error: None,
                parent: None,
                pid: None,
            },
        })
    }

    /// Appends the events the run has made since the last call. A query that fails (no worker
    /// has the run yet) is tried again at the next call.
    pub(crate) async fn catch_up(&mut self, client: &Client) -> Result<(), String> {
        let handle = client.get_workflow_handle::<ServerlessWorkflow>(self.record.id.clone());
        loop {
            let query = handle.query(
                ServerlessWorkflow::view,
                ViewRequest {
                    events_after: self.after.events_after,
                    // Lines are not wanted here: always past the end.
                    lines_after: usize::MAX,
                },
                WorkflowQueryOptions::default(),
            );
            let Ok(Ok(page)) = tokio::time::timeout(Duration::from_secs(10), query).await else {
                return Ok(());
            };
            if !page.name.is_empty() {
                self.record.namespace = page.namespace;
                self.record.name = page.name;
                self.record.version = page.version;
            }
            let mut text = String::new();
            for event in &page.events {
                self.after.events_after += 1;
                let stored = event.stored(self.after.events_after as u64);
                text.push_str(&stored.to_cloudevent(&self.record).to_string());
                text.push('\n');
            }
            self.file
                .write_all(text.as_bytes())
                .and_then(|()| self.file.flush())
                .map_err(|error| {
                    format!("cannot write events to {}: {error}", self.path.display())
                })?;
            if !page.more {
                return Ok(());
            }
        }
    }
}

/// The live view of `run --temporal` (`--progress plain|tty|auto`): the run's events and output
/// lines, polled from the query, turned back into the lifecycle events the local reporters
/// draw from, in the order of their times.
pub(crate) struct LiveView {
    sinks: Vec<std::sync::Arc<dyn crate::runtime::event::EventSink>>,
    after: ViewRequest,
    run: Option<std::sync::Arc<crate::runtime::event::RunIdentity>>,
    id: String,
}

impl LiveView {
    pub(crate) fn new(
        id: &str,
        sinks: Vec<std::sync::Arc<dyn crate::runtime::event::EventSink>>,
    ) -> LiveView {
        LiveView {
            sinks,
            after: ViewRequest::default(),
            run: None,
            id: id.to_string(),
        }
    }

    /// Feeds the reporters what the run did since the last call; a failed query is tried again.
    pub(crate) async fn catch_up(&mut self, client: &Client) {
        use crate::runtime::event::{LifecycleEvent, RunIdentity};
        let handle = client.get_workflow_handle::<ServerlessWorkflow>(self.id.clone());
        loop {
            let query = handle.query(
                ServerlessWorkflow::view,
                self.after,
                WorkflowQueryOptions::default(),
            );
            let Ok(Ok(page)) = tokio::time::timeout(Duration::from_secs(10), query).await else {
                return;
            };
            if self.run.is_none() && !page.name.is_empty() {
                self.run = Some(std::sync::Arc::new(RunIdentity {
                    run_id: self.id.clone(),
                    qualified_name: format!("{}.{}:{}", page.name, page.namespace, page.version),
                    namespace: page.namespace.clone(),
                    name: page.name.clone(),
                    version: page.version.clone(),
                }));
            }
            let Some(run) = self.run.clone() else {
                return;
            };
            self.after.events_after += page.events.len();
            self.after.lines_after += page.lines.len();
            // Lines first: a process's lines get the time its activity returned, which is also
            // the time of its task's `completed`, and a live view shows lines of running tasks.
            let mut events: Vec<LifecycleEvent> = page
                .lines
                .iter()
                .map(|line| output(line, &run))
                .chain(
                    page.events
                        .iter()
                        .filter_map(|event| lifecycle(event, &run)),
                )
                .collect();
            // Stable: events of the same instant keep their order.
            events.sort_by_key(|event| event.time);
            for event in events {
                for sink in &self.sinks {
                    sink.emit(event.clone());
                }
            }
            if !page.more {
                return;
            }
        }
    }
}

fn task_of(text: &Option<String>) -> Option<std::sync::Arc<str>> {
    text.as_deref().map(std::sync::Arc::from)
}

/// A recorded event as the engine emitted it; `None` for kinds no live view draws.
fn lifecycle(
    event: &super::record::RecordedEvent,
    run: &std::sync::Arc<crate::runtime::event::RunIdentity>,
) -> Option<crate::runtime::event::LifecycleEvent> {
    use crate::runtime::event::{EventKind, LifecycleEvent, Next};
    let error = || {
        event
            .data
            .get("error")
            .and_then(|error| serde_json::from_value(error.clone()).ok())
            .unwrap_or_else(|| {
                crate::problem::WorkflowError::new(crate::problem::ErrorKind::Runtime, "Error")
            })
    };
    let output =
        || crate::expr::from_json(event.data.get("output").unwrap_or(&serde_json::Value::Null));
    let kind = match (event.task_event, event.kind.as_str()) {
        (false, "started") => EventKind::WorkflowStarted,
        (false, "completed") => EventKind::WorkflowCompleted { output: output() },
        (false, "faulted") => EventKind::WorkflowFaulted { error: error() },
        (false, "cancelled") => EventKind::WorkflowCancelled,
        (true, "created") => EventKind::TaskCreated,
        (true, "started") => EventKind::TaskStarted,
        (true, "completed") => EventKind::TaskCompleted {
            output: output(),
            next: Next::from_directive(event.data.get("then").and_then(serde_json::Value::as_str)),
            replayed: event.data.get("replayed").is_some(),
            masked: event.data.get("masked").is_some(),
        },
        (true, "faulted") => EventKind::TaskFaulted { error: error() },
        (true, "cancelled") => EventKind::TaskCancelled,
        (true, "skipped") => EventKind::TaskSkipped,
        (true, "retried") => EventKind::TaskRetried {
            attempt: event
                .data
                .get("attempt")
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1),
            delay: Duration::from_secs_f64(
                event
                    .data
                    .get("delay")
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or_default()
                    .max(0.0),
            ),
            error: error(),
        },
        _ => return None,
    };
    let id = uuid::Uuid::parse_str(&event.id).unwrap_or_default();
    Some(
        LifecycleEvent::stamped(
            event.time,
            id,
            std::sync::Arc::clone(run),
            task_of(&event.task),
            kind,
        )
        .at_step(task_of(&event.step))
        .within(task_of(&event.parent)),
    )
}

/// An output line as the engine emitted it.
fn output(
    line: &super::record::RecordedLine,
    run: &std::sync::Arc<crate::runtime::event::RunIdentity>,
) -> crate::runtime::event::LifecycleEvent {
    use crate::runtime::event::{EventKind, LifecycleEvent};
    let stream = line.output_line(0).stream;
    LifecycleEvent::stamped(
        line.time,
        uuid::Uuid::nil(),
        std::sync::Arc::clone(run),
        Some(std::sync::Arc::from(line.task.as_str())),
        EventKind::TaskOutput {
            stream,
            line: line.line.clone(),
        },
    )
    .at_step(task_of(&line.step))
}
