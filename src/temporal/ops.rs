//! Operating runs on Temporal from the command line: one run as the journal would show it (its
//! execution described, its events and output lines from the `workflow.view` query), the runs of
//! a namespace (the visibility API), cancelling one, and the recorded input of one (for retry).
//! The `command/` layer renders what these return with the same code as for local runs.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::Value;
use temporalio_client::{
    Client, Memo, WorkflowCancelOptions, WorkflowDescribeOptions, WorkflowExecutionStatus,
    WorkflowFetchHistoryOptions, WorkflowListOptions, WorkflowQueryOptions,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

use super::client::{ClientError, Endpoint};
use super::payload::RunRequest;
use super::record::{RunView, ViewRequest};
use super::workflow::ServerlessWorkflow;
use crate::journal::{OutputLine, RunRecord, RunStatus, StoredEvent};

/// The memo key a run's document identity is kept under (set when the run is started).
pub(crate) const MEMO_DOCUMENT: &str = "workflow.document";
/// How long the `workflow.view` query waits for a worker to answer.
const QUERY_WAIT: Duration = Duration::from_secs(15);

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpsError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("no run {id} on Temporal ({detail})")]
    NotFound { id: String, detail: String },
    #[error(
        "no worker answered for run {id} within {}s: its events and logs are rebuilt by a worker \
         replaying its history, even for a closed run; start `workflow worker --temporal ADDRESS \
         --task-queue {queue}` ({detail})",
        QUERY_WAIT.as_secs()
    )]
    NoWorker {
        id: String,
        queue: String,
        detail: String,
    },
    #[error("Temporal failed the request about run {id}: {detail}")]
    Request { id: String, detail: String },
}

/// The document identity a run's memo carries, for listings (see [`MEMO_DOCUMENT`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DocumentMemo {
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// The file name it was submitted from.
    pub document: String,
    pub sha256: String,
}

/// A run on Temporal as the journal's renderers take it.
pub struct RemoteRun {
    pub record: RunRecord,
    pub events: Vec<StoredEvent>,
    pub lines: Vec<OutputLine>,
}

/// `runs --temporal` filters.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<RunStatus>,
    pub name: Option<String>,
    /// 0: all.
    pub limit: usize,
}

/// A current-thread runtime for one command.
pub(crate) fn block_on<T>(
    work: impl std::future::Future<Output = Result<T, OpsError>>,
) -> Result<T, OpsError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            OpsError::Client(ClientError::Connect {
                address: String::new(),
                detail: format!("cannot start the async runtime: {error}"),
            })
        })?;
    runtime.block_on(work)
}

fn time(at: Option<SystemTime>) -> Option<DateTime<Utc>> {
    at.map(DateTime::<Utc>::from)
}

fn status_of(status: WorkflowExecutionStatus) -> RunStatus {
    match status {
        WorkflowExecutionStatus::Running | WorkflowExecutionStatus::Unspecified => {
            RunStatus::Running
        }
        WorkflowExecutionStatus::Completed | WorkflowExecutionStatus::ContinuedAsNew => {
            RunStatus::Completed
        }
        WorkflowExecutionStatus::Canceled => RunStatus::Cancelled,
        _ => RunStatus::Faulted,
    }
}

fn memo_of(memo: &Memo) -> DocumentMemo {
    memo.get::<DocumentMemo>(MEMO_DOCUMENT)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The record of a run from what Temporal says of its execution.
fn record_of(
    id: &str,
    memo: DocumentMemo,
    status: WorkflowExecutionStatus,
    started: Option<SystemTime>,
    closed: Option<SystemTime>,
) -> RunRecord {
    let error = match status {
        WorkflowExecutionStatus::Terminated => Some(
            serde_json::json!({"type": "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
                "status": 500, "title": "Run terminated", "detail": "the run was terminated on Temporal"}),
        ),
        WorkflowExecutionStatus::TimedOut => Some(
            serde_json::json!({"type": "https://serverlessworkflow.io/spec/1.0.0/errors/timeout",
                "status": 408, "title": "Run timed out", "detail": "the run's Temporal execution timeout passed"}),
        ),
        _ => None,
    };
    RunRecord {
        id: id.to_string(),
        namespace: memo.namespace,
        name: memo.name,
        version: memo.version,
        document_path: memo.document,
        document_hash: memo.sha256,
        input: Value::Null,
        status: status_of(status),
        started_at: time(started).unwrap_or_default(),
        ended_at: time(closed),
        output: None,
        error,
        parent: None,
        pid: None,
    }
}

/// One run: described, then its view queried page by page.
pub(crate) async fn remote_run(endpoint: &Endpoint, id: &str) -> Result<RemoteRun, OpsError> {
    let client = endpoint.connect().await?;
    let handle = client.get_workflow_handle::<ServerlessWorkflow>(id);
    let described = handle
        .describe(WorkflowDescribeOptions::default())
        .await
        .map_err(|error| OpsError::NotFound {
            id: id.to_string(),
            detail: error.to_string(),
        })?;
    let mut record = record_of(
        id,
        memo_of(&described.memo()),
        described.status(),
        described.start_time(),
        described.close_time(),
    );
    let mut view = RunView::default();
    let mut after = ViewRequest::default();
    loop {
        let query = handle.query(
            ServerlessWorkflow::view,
            after,
            WorkflowQueryOptions::default(),
        );
        let page = match tokio::time::timeout(QUERY_WAIT, query).await {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => {
                return Err(OpsError::NoWorker {
                    id: id.to_string(),
                    queue: described.task_queue().to_string(),
                    detail: error.to_string(),
                });
            }
            Err(_) => {
                return Err(OpsError::NoWorker {
                    id: id.to_string(),
                    queue: described.task_queue().to_string(),
                    detail: "the query timed out".into(),
                });
            }
        };
        after.events_after += page.events.len();
        after.lines_after += page.lines.len();
        let more = page.more;
        view.namespace = page.namespace;
        view.name = page.name;
        view.version = page.version;
        view.document = page.document;
        view.document_hash = page.document_hash;
        view.input = page.input;
        view.events.extend(page.events);
        view.lines.extend(page.lines);
        if !more {
            break;
        }
    }
    if !view.name.is_empty() {
        record.namespace = view.namespace;
        record.name = view.name;
        record.version = view.version;
    }
    if !view.document.is_empty() {
        record.document_path = view.document;
        record.document_hash = view.document_hash;
    }
    record.input = view.input;
    let events: Vec<StoredEvent> = (1..)
        .zip(&view.events)
        .map(|(seq, event)| event.stored(seq))
        .collect();
    // The run's end as its own events tell it (the journal's record takes it from there too).
    if let Some(last) = events.iter().rev().find(|event| !event.task_event) {
        match last.kind.as_str() {
            "completed" => record.output = last.data.get("output").cloned(),
            "faulted" => record.error = last.data.get("error").cloned(),
            _ => {}
        }
    }
    if let Some(first) = events.first() {
        record.started_at = first.time;
    }
    let lines = (1..)
        .zip(&view.lines)
        .map(|(num, line)| line.output_line(num))
        .collect();
    Ok(RemoteRun {
        record,
        events,
        lines,
    })
}

/// The visibility query for a filter: only our workflow type, the status when one maps.
fn visibility_query(filter: &ListFilter) -> String {
    let mut query = "WorkflowType = 'ServerlessWorkflow'".to_string();
    let statuses: &[&str] = match filter.status {
        None => &[],
        Some(RunStatus::Running) => &["Running"],
        Some(RunStatus::Completed) => &["Completed"],
        Some(RunStatus::Cancelled) => &["Canceled"],
        Some(RunStatus::Faulted) => &["Failed", "Terminated", "TimedOut"],
    };
    if !statuses.is_empty() {
        let any: Vec<String> = statuses
            .iter()
            .map(|status| format!("ExecutionStatus = '{status}'"))
            .collect();
        query.push_str(&format!(" AND ({})", any.join(" OR ")));
    }
    query
}

/// The runs of the namespace, most recent first. `--name` is matched on the memo (it is no
/// search attribute), so the limit applies after it.
pub(crate) async fn list_runs(
    endpoint: &Endpoint,
    filter: &ListFilter,
) -> Result<Vec<RunRecord>, OpsError> {
    let client = endpoint.connect().await?;
    let pushed_limit = (filter.name.is_none() && filter.limit > 0).then_some(filter.limit);
    let options = WorkflowListOptions::builder()
        .maybe_limit(pushed_limit)
        .build();
    let mut stream = client.list_workflows(visibility_query(filter), options);
    let mut runs = Vec::new();
    while let Some(execution) = stream.next().await {
        let execution = execution.map_err(|error| OpsError::Request {
            id: "*".into(),
            detail: error.to_string(),
        })?;
        let mut memo = memo_of(&execution.memo());
        if memo.name.is_empty()
            && let Some(scheduled) = scheduled_identity(execution.id())
        {
            memo = scheduled;
        }
        if filter.name.as_ref().is_some_and(|name| *name != memo.name) {
            continue;
        }
        runs.push(record_of(
            execution.id(),
            memo,
            execution.status(),
            execution.start_time(),
            execution.close_time(),
        ));
        if filter.limit > 0 && runs.len() >= filter.limit {
            break;
        }
    }
    Ok(runs)
}

/// The identity of a run a schedule started (they carry no memo): its id is the schedule id
/// `workflow.NAMESPACE.NAME.VERSION` (see `schedule.rs`; DSL names hold no dots) followed by
/// the time Temporal started it, `-2026-12-07T08:00:00Z`.
fn scheduled_identity(id: &str) -> Option<DocumentMemo> {
    const STAMP: usize = "-2026-12-07T08:00:00Z".len();
    let rest = id.strip_prefix("workflow.")?;
    let cut = rest.len().checked_sub(STAMP)?;
    let (head, stamp) = (rest.get(..cut)?, rest.get(cut..)?);
    if !stamp.starts_with('-') || !stamp.ends_with('Z') || stamp.as_bytes().get(11) != Some(&b'T') {
        return None;
    }
    let mut parts = head.splitn(3, '.');
    let (namespace, name, version) = (parts.next()?, parts.next()?, parts.next()?);
    Some(DocumentMemo {
        namespace: namespace.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        ..DocumentMemo::default()
    })
}

/// Asks Temporal to cancel the run: the workers cancel its running tasks and it ends
/// `cancelled`. Returns once the request is accepted.
pub(crate) async fn cancel(endpoint: &Endpoint, id: &str) -> Result<(), OpsError> {
    let client = endpoint.connect().await?;
    client
        .get_workflow_handle::<ServerlessWorkflow>(id)
        .cancel(
            WorkflowCancelOptions::builder()
                .reason("workflow cancel")
                .build(),
        )
        .await
        .map_err(|error| OpsError::Request {
            id: id.to_string(),
            detail: error.to_string(),
        })
}

/// The document and input a run was started with: the input of the first event of its history.
pub(crate) async fn recorded_request(client: &Client, id: &str) -> Result<RunRequest, OpsError> {
    let failed = |detail: String| OpsError::Request {
        id: id.to_string(),
        detail,
    };
    let events = client
        .get_workflow_handle::<ServerlessWorkflow>(id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .map_err(|error| OpsError::NotFound {
            id: id.to_string(),
            detail: error.to_string(),
        })?;
    let started = events.iter().find_map(|event| match &event.attributes {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) => Some(started),
        _ => None,
    });
    let payload = started
        .and_then(|started| started.input.as_ref())
        .and_then(|input| input.payloads.first())
        .ok_or_else(|| failed("its history has no start event with an input".into()))?;
    serde_json::from_slice(&payload.data)
        .map_err(|error| failed(format!("its input is not a run request: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_runs_are_named_by_their_id() {
        let memo = scheduled_identity("workflow.test.tick.0.1.0-rc1-2026-12-07T08:00:01Z");
        assert_eq!(
            memo.map(|m| (m.namespace, m.name, m.version)),
            Some(("test".into(), "tick".into(), "0.1.0-rc1".into()))
        );
        assert!(scheduled_identity("01a24f85-c3d9-7206-a86e-922fe4e03e5c").is_none());
        assert!(scheduled_identity("workflow.x").is_none());
    }

    #[test]
    fn filters_become_visibility_queries() {
        assert_eq!(
            visibility_query(&ListFilter::default()),
            "WorkflowType = 'ServerlessWorkflow'"
        );
        let faulted = ListFilter {
            status: Some(RunStatus::Faulted),
            ..ListFilter::default()
        };
        assert!(visibility_query(&faulted).ends_with(
            "AND (ExecutionStatus = 'Failed' OR ExecutionStatus = 'Terminated' OR \
             ExecutionStatus = 'TimedOut')"
        ));
    }
}
