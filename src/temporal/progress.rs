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
