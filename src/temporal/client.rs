//! The client side: the Temporal server a command talks to, and `workflow run FILE --temporal`:
//! the document (checked here first, exactly as a local run checks it) is started as a Temporal
//! workflow and waited for; what is printed and the exit code are those of a local run.

use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::{Value, json};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
    WorkflowStartOptions, errors::WorkflowGetResultError,
};

use super::ops::{DocumentMemo, MEMO_DOCUMENT};
use super::payload::RunRequest;
use super::progress::{EventsFile, LiveView, POLL_EVERY};
use super::workflow::ServerlessWorkflow;
use crate::exit_code::ExitCode;
use crate::problem::{ErrorKind, WorkflowError};
use crate::runtime::event::EventSink;
use crate::runtime::{Outcome, RunResult};
use crate::source::Source;
use std::sync::Arc;
use temporalio_common::MemoValues;

/// Where the Temporal server is and which part of it a command uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `HOST:PORT` (or a whole `http://` URL).
    pub address: String,
    pub namespace: String,
    pub task_queue: String,
}

/// The server could not be reached or refused us.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("--temporal {address}: not a server address ({detail})")]
    Address { address: String, detail: String },
    #[error("cannot connect to Temporal at {address}: {detail}")]
    Connect { address: String, detail: String },
    #[error("Temporal refused the run: {detail}")]
    Start { detail: String },
    #[error("lost track of run {id} on Temporal: {detail}")]
    Wait { id: String, detail: String },
    #[error("cannot signal the event: {detail}")]
    Signal { detail: String },
}

impl Endpoint {
    fn url(&self) -> Result<Url, ClientError> {
        let text = if self.address.contains("://") {
            self.address.clone()
        } else {
            format!("http://{}", self.address)
        };
        Url::from_str(&text).map_err(|error| ClientError::Address {
            address: self.address.clone(),
            detail: error.to_string(),
        })
    }

    /// A client of the endpoint's namespace.
    pub(crate) async fn connect(&self) -> Result<Client, ClientError> {
        let connect = |detail: String| ClientError::Connect {
            address: self.address.clone(),
            detail,
        };
        let options = ConnectionOptions::new(self.url()?)
            .identity(format!("workflow@{}", std::process::id()))
            .build();
        let connection = Connection::connect(options)
            .await
            .map_err(|error| connect(error.to_string()))?;
        Client::new(
            connection,
            ClientOptions::new(self.namespace.clone()).build(),
        )
        .map_err(|error| connect(error.to_string()))
    }
}

/// A document to run on Temporal, checked by the caller.
pub struct SubmitConfig {
    pub endpoint: Endpoint,
    pub file: PathBuf,
    /// The document's text, as read and checked.
    pub document: String,
    pub input: Value,
    /// Print the run's id and return at once.
    pub detach: bool,
    /// `--events PATH`: the run's lifecycle events, appended while waiting (`progress.rs`).
    pub events: Option<PathBuf>,
    /// The live view's sinks (plain lines, the tree), fed from the run's query while waiting.
    pub live: Vec<Arc<dyn EventSink>>,
    pub json: bool,
}

/// Starts the run and, unless detached, waits for its end; prints as a local run prints.
pub fn submit(config: SubmitConfig, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let json_output = config.json;
    let detach = config.detach;
    let Some(runtime) = runtime(stderr) else {
        return ExitCode::Faulted;
    };
    let submitted = runtime.block_on(start_and_wait(config));
    report(submitted, json_output, detach, stdout, stderr)
}

/// Prints a submitted run's end (or its id when detached) as a local run prints it.
pub(crate) fn report(
    submitted: Result<Submitted, ClientError>,
    json_output: bool,
    detach: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    match submitted {
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            match error {
                ClientError::Address { .. } | ClientError::Connect { .. } => ExitCode::Usage,
                ClientError::Start { .. }
                | ClientError::Wait { .. }
                | ClientError::Signal { .. } => ExitCode::Faulted,
            }
        }
        Ok(Submitted::Detached(id)) => {
            if json_output || detach {
                let _ = writeln!(stdout, "{}", json!({"id": id, "status": "running"}));
            }
            ExitCode::Success
        }
        Ok(Submitted::Ended(result)) => {
            if json_output {
                let _ = writeln!(stdout, "{}", crate::runner::result_json(&result));
            } else {
                match &result.outcome {
                    Outcome::Completed(output) => {
                        let text = serde_json::to_string_pretty(output)
                            .unwrap_or_else(|_| output.to_string());
                        let _ = writeln!(stdout, "{text}");
                    }
                    Outcome::Faulted(error) => {
                        let _ = writeln!(stderr, "faulted: run {}: {}", result.id, error.to_json());
                    }
                    Outcome::Cancelled => {
                        let _ = writeln!(stderr, "cancelled: run {}", result.id);
                    }
                }
            }
            match result.outcome {
                Outcome::Completed(_) => ExitCode::Success,
                Outcome::Faulted(_) => ExitCode::Faulted,
                Outcome::Cancelled => ExitCode::Cancelled,
            }
        }
    }
}

pub(crate) enum Submitted {
    Detached(String),
    Ended(RunResult),
}

async fn start_and_wait(config: SubmitConfig) -> Result<Submitted, ClientError> {
    let client = config.endpoint.connect().await?;
    let name = config.file.file_name().map_or_else(
        || "workflow.yaml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let request = RunRequest::new(name, config.document, config.input);
    let id = uuid::Uuid::now_v7().to_string();
    start(
        &client,
        &config.endpoint,
        id,
        request,
        config.detach,
        config.events.as_deref(),
        config.live,
    )
    .await
}

/// The memo that names a run's document in listings (`runs --temporal`): its identity, read
/// from the document the run carries.
pub(crate) fn memo_of(request: &RunRequest) -> MemoValues {
    let mut checked =
        crate::frontend::check_source(Source::new(request.name.clone(), request.document.as_str()));
    let mut document = DocumentMemo {
        document: request.name.clone(),
        sha256: request.hash.clone(),
        ..DocumentMemo::default()
    };
    if let Some(machine) = checked.compile() {
        document.namespace = machine.namespace().to_string();
        document.name = machine.name().to_string();
        document.version = machine.version().to_string();
    }
    let mut memo = MemoValues::new();
    memo.insert(MEMO_DOCUMENT, document);
    memo
}

/// Starts `request` as run `id` and, unless `detach`, waits for its end.
pub(crate) async fn start(
    client: &Client,
    endpoint: &Endpoint,
    id: String,
    request: RunRequest,
    detach: bool,
    events: Option<&std::path::Path>,
    live: Vec<Arc<dyn EventSink>>,
) -> Result<Submitted, ClientError> {
    let options = WorkflowStartOptions::new(endpoint.task_queue.clone(), id.clone())
        .memo(memo_of(&request))
        .build();
    let handle = client
        .start_workflow(ServerlessWorkflow::run, request, options)
        .await
        .map_err(|error| ClientError::Start {
            detail: error.to_string(),
        })?;
    if detach {
        return Ok(Submitted::Detached(id));
    }
    let ended = handle.get_result(WorkflowGetResultOptions::default());
    let ended = if events.is_none() && live.is_empty() {
        ended.await
    } else {
        let mut file = match events {
            None => None,
            Some(path) => {
                Some(
                    EventsFile::create(path, &id).map_err(|error| ClientError::Wait {
                        id: id.clone(),
                        detail: format!("cannot write events to {}: {error}", path.display()),
                    })?,
                )
            }
        };
        let mut view = (!live.is_empty()).then(|| LiveView::new(&id, live));
        futures::pin_mut!(ended);
        loop {
            let tick = tokio::time::sleep(POLL_EVERY);
            futures::pin_mut!(tick);
            let over = match futures::future::select(ended.as_mut(), tick).await {
                futures::future::Either::Left((result, _)) => Some(result),
                futures::future::Either::Right(_) => None,
            };
            // At the end too: the worker that ran it still has the last events.
            if let Some(view) = &mut view {
                view.catch_up(client).await;
            }
            if let Some(file) = &mut file {
                file.catch_up(client)
                    .await
                    .map_err(|detail| ClientError::Wait {
                        id: id.clone(),
                        detail,
                    })?;
            }
            if let Some(result) = over {
                break result;
            }
        }
    };
    let outcome = match ended {
        Ok(output) => Outcome::Completed(output),
        Err(WorkflowGetResultError::Failed(failure)) => {
            Outcome::Faulted(fault_of(&failure.failure().message))
        }
        Err(WorkflowGetResultError::Cancelled { .. }) => Outcome::Cancelled,
        Err(WorkflowGetResultError::Terminated { .. }) => Outcome::Faulted(
            WorkflowError::new(ErrorKind::Runtime, "Run terminated")
                .with_detail("the run was terminated on Temporal"),
        ),
        Err(WorkflowGetResultError::TimedOut) => Outcome::Faulted(
            WorkflowError::new(ErrorKind::Timeout, "Run timed out")
                .with_detail("the run's Temporal execution timeout passed"),
        ),
        Err(error) => {
            return Err(ClientError::Wait {
                id,
                detail: error.to_string(),
            });
        }
    };
    Ok(Submitted::Ended(RunResult { id, outcome }))
}

/// The problem-details object a faulted run's failure carries in its message (see
/// `workflow::faulted`); any other failure is a `runtime` error with Temporal's message.
fn fault_of(message: &str) -> WorkflowError {
    serde_json::from_str::<WorkflowError>(message).unwrap_or_else(|_| {
        WorkflowError::new(ErrorKind::Runtime, "Run failed on Temporal")
            .with_detail(message.to_string())
    })
}

/// The single-threaded runtime of a client command; `None` (said on `stderr`) when it cannot
/// be made.
pub(crate) fn runtime(stderr: &mut dyn Write) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot start the async runtime: {error}");
            None
        }
    }
}
