//! `run: workflow` on Temporal: each sub-workflow run is a Temporal child workflow of the type
//! `ServerlessWorkflow`, on the parent's task queue. The sub-workflow's document (found by an
//! activity, `loader.rs`) travels in the child's input with the input the task computed; the
//! child's workflow id is the id the engine draws for it, `PARENT-N` (deterministic: the
//! parent's id and the order of its draws).

use futures::channel::oneshot;
use futures::future::{Either, select};
use serde_json::Value;
use temporalio_sdk::{CancellableFuture, ChildWorkflowOptions, WorkflowContext};

use super::payload::RunRequest;
use super::workflow::ServerlessWorkflow;
use crate::problem::{ErrorKind, WorkflowError};

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
