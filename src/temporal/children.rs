//! `run: workflow` on Temporal: each sub-workflow run is a Temporal child workflow of the type
//! `ServerlessWorkflow`, on the parent's task queue. The sub-workflow's document is found and
//! read by the parent's workflow code (from its worker's disk, as locally) and travels in the
//! child's input with the input the task computed; the child's workflow id is the id the engine
//! draws for it, `PARENT-N` (deterministic: the parent's id and the order of its draws).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use futures::channel::oneshot;
use futures::future::{BoxFuture, Either, select};
use reqwest::Url;
use serde_json::Value;
use temporalio_sdk::{CancellableFuture, ChildWorkflowOptions, WorkflowContext};

use super::host::{Request, Requests};
use super::host_calls::ActivityLoader;
use super::payload::RunRequest;
use super::payload_calls::{CallDone, CallRequest};
use super::secrets::Sealer;
use super::workflow::{ServerlessWorkflow, compile};
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::HttpClient;
use crate::host::{ChildWorkflow, Loader};
use crate::problem::{ErrorKind, WorkflowError};

/// The loader of a run on Temporal: resources read by activities (`host_calls.rs`), and
/// sub-workflows handed to the workflow code as children.
pub(crate) struct ChildLoader {
    pub(crate) resources: ActivityLoader,
    pub(crate) requests: Requests,
    /// The text of every sub-workflow document found, by path: what a child's input carries.
    pub(crate) documents: Mutex<HashMap<PathBuf, String>>,
    /// Seals the run's secret values out of a child's input.
    pub(crate) sealer: Arc<Sealer>,
}

impl Loader for ChildLoader {
    fn locate(&self, written: &str, base_dir: Option<&Path>) -> Result<Url, WorkflowError> {
        self.resources.locate(written, base_dir)
    }

    fn fetch<'a>(
        &'a self,
        location: &'a Url,
        http: &'a dyn HttpClient,
        credentials: Option<Credentials>,
    ) -> BoxFuture<'a, Result<String, WorkflowError>> {
        self.resources.fetch(location, http, credentials)
    }

    fn workflow<'a>(
        &'a self,
        caller: Option<&'a Path>,
        namespace: &'a str,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<ChildWorkflow, WorkflowError>> {
        // Found by an activity: its result (the document's text) is in the history, so every
        // replay compiles the same document, on any worker, whatever its disk holds now.
        let found = self.resources.calls.send(CallRequest::FindWorkflow {
            caller: caller.map(|path| path.display().to_string()),
            namespace: namespace.to_string(),
            name: name.to_string(),
            version: version.to_string(),
        });
        Box::pin(async move {
            let (path, text) = match found.await? {
                CallDone::Document { path, text } => (path, text),
                _ => return Err(CallDone::unexpected("sub-workflow lookup")),
            };
            let file = Path::new(&path)
                .file_name()
                .map_or_else(|| path.clone(), |name| name.to_string_lossy().into_owned());
            let machine = compile(&RunRequest::new(file, text.clone(), Value::Null))?;
            self.documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(PathBuf::from(&path), text);
            Ok(ChildWorkflow {
                machine: Arc::new(machine),
                path: PathBuf::from(path),
            })
        })
    }

    fn function(
        &self,
        text: &str,
        location: &str,
        name: &str,
        caller_use: Option<&Value>,
    ) -> Result<Value, WorkflowError> {
        self.resources.function(text, location, name, caller_use)
    }

    fn run_elsewhere(
        &self,
        child: &ChildWorkflow,
        id: &str,
        input: Value,
    ) -> Option<BoxFuture<'static, Result<Value, WorkflowError>>> {
        let document = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&child.path)
            .cloned()
            .ok_or("its document was not found by the lookup activity");
        let name = child.path.file_name().map_or_else(
            || "workflow.yaml".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let input = match self.sealer.seal_payload(input) {
            Ok(input) => input,
            Err(error) => return Some(Box::pin(std::future::ready(Err(error)))),
        };
        let (done, finished) = oneshot::channel();
        let mut request = RunRequest::new(name, document.clone().unwrap_or_default(), input);
        request.sealed = self.sealer.names().to_vec();
        let sent = document.as_ref().is_ok()
            && self
                .requests
                .unbounded_send(Request::Child {
                    id: id.to_string(),
                    request,
                    done,
                })
                .is_ok();
        let path = child.path.display().to_string();
        Some(Box::pin(async move {
            if let Err(error) = document {
                return Err(WorkflowError::new(
                    ErrorKind::Configuration,
                    "Sub-workflow unreadable",
                )
                .with_detail(format!("cannot read {path}: {error}")));
            }
            if !sent {
                return Err(lost());
            }
            finished.await.map_err(|_| lost())?
        }))
    }
}

fn lost() -> WorkflowError {
    WorkflowError::new(ErrorKind::Runtime, "Child workflow lost")
        .with_detail("the workflow ended before its child workflow did")
}

/// Starts the child workflow and answers with its output or its error; a child whose answer
/// is no longer awaited (the task was cancelled or timed out) is cancelled in Temporal too.
pub(crate) async fn serve_child(
    ctx: WorkflowContext<ServerlessWorkflow>,
    id: String,
    request: RunRequest,
    mut done: oneshot::Sender<Result<Value, WorkflowError>>,
) {
    let options = ChildWorkflowOptions::builder()
        .workflow_id(id.clone())
        .build();
    let start = ctx.start_child_workflow(ServerlessWorkflow::run, request, options);
    let abandoned = done.cancellation();
    futures::pin_mut!(start, abandoned);
    let started = match select(start, abandoned).await {
        Either::Left((Ok(started), _)) => started,
        Either::Left((Err(error), _)) => {
            let _ = done.send(Err(WorkflowError::new(
                ErrorKind::Runtime,
                "Child workflow not started",
            )
            .with_detail(format!("child workflow {id}: {error}"))));
            return;
        }
        Either::Right(_) => return,
    };
    let result = {
        let result = started.result();
        let abandoned = done.cancellation();
        futures::pin_mut!(result, abandoned);
        match select(result, abandoned).await {
            Either::Left((result, _)) => Some(result),
            Either::Right(((), result)) => {
                result.cancel();
                None
            }
        }
    };
    let Some(result) = result else {
        return;
    };
    let answer = result.map_err(|error| {
        let mut failure = error.failure();
        while let Some(current) = failure {
            if let Ok(fault) = serde_json::from_str::<WorkflowError>(&current.message) {
                return fault;
            }
            failure = current.cause.as_deref();
        }
        WorkflowError::new(ErrorKind::Runtime, "Child workflow failed")
            .with_detail(format!("child workflow {id}: {error}"))
    });
    let _ = done.send(answer);
}
