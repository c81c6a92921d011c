//! CloudEvents into runs on Temporal: `workflow events send --temporal` signals one run (by its
//! workflow id) or every running `ServerlessWorkflow` execution (Temporal's visibility list),
//! and a worker's `--broker` subscription forwards each broker event the same way. Each run
//! keeps only what its listens match and drops copies by CloudEvent id (`signals.rs`), so
//! forwarding is at-least-once and idempotent.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use temporalio_client::{Client, WorkflowListOptions, WorkflowSignalOptions};

use super::client::{ClientError, Endpoint};
use super::workflow::ServerlessWorkflow;
use crate::exit_code::ExitCode;
use crate::host::effects::events::{CloudEvent, EventBus, SubscribeRequest};

/// The visibility query of the runs an event without a target goes to.
const RUNNING: &str = "WorkflowType = 'ServerlessWorkflow' AND ExecutionStatus = 'Running'";

/// Signals `event` to the run `workflow_id`, or to every running run; returns the runs it
/// reached. A run that ended in between is skipped (it no longer listens).
pub(crate) async fn signal_runs(
    client: &Client,
    workflow_id: Option<&str>,
    event: &CloudEvent,
) -> Result<Vec<String>, ClientError> {
    let failed = |detail: String| ClientError::Signal { detail };
    let targets = match workflow_id {
        Some(id) => vec![id.to_string()],
        None => {
            let mut runs = client.list_workflows(RUNNING, WorkflowListOptions::default());
            let mut ids = Vec::new();
            while let Some(run) = runs.next().await {
                ids.push(
                    run.map_err(|error| failed(error.to_string()))?
                        .id()
                        .to_string(),
                );
            }
            ids
        }
    };
    let mut reached = Vec::new();
    for id in targets {
        let sent = client
            .get_workflow_handle::<ServerlessWorkflow>(&id)
            .signal(
                ServerlessWorkflow::event,
                event.clone(),
                WorkflowSignalOptions::default(),
            )
            .await;
        match sent {
            Ok(()) => reached.push(id),
            // The one run asked for must take it; of a listed set, one that just ended is
            // not an error.
            Err(error) if workflow_id.is_some() => {
                return Err(failed(format!("run {id}: {error}")));
            }
            Err(_) => {}
        }
    }
    Ok(reached)
}

/// `workflow events send --temporal`: signals the event; prints nothing itself.
pub fn send_event(
    endpoint: &Endpoint,
    workflow_id: Option<&str>,
    event: &CloudEvent,
    stderr: &mut dyn Write,
) -> ExitCode {
    let Some(runtime) = super::client::runtime(stderr) else {
        return ExitCode::Faulted;
    };
    let sent = runtime.block_on(async {
        let client = endpoint.connect().await?;
        signal_runs(&client, workflow_id, event).await
    });
    match sent {
        Ok(runs) => {
            let _ = writeln!(stderr, "signalled {} run(s)", runs.len());
            ExitCode::Success
        }
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            match error {
                ClientError::Address { .. } | ClientError::Connect { .. } => ExitCode::Usage,
                _ => ExitCode::Faulted,
            }
        }
    }
}

/// A worker's `--broker` subscription: every event is signalled to every running run, then
/// acknowledged; an event that could not be signalled is not acknowledged (the broker gives
/// it again where it can). Workers of one task queue share the subscription's name, so a
/// durable source (a JetStream consumer, a queue) hands each event to one of them.
pub(crate) async fn forward(client: Client, broker: Arc<dyn EventBus>, task_queue: String) {
    let request = SubscribeRequest {
        name: format!("workflow-worker-{task_queue}"),
        types: Vec::new(),
    };
    loop {
        match broker.subscribe(request.clone()).await {
            Ok(mut subscription) => {
                while let Some(delivery) = subscription.deliveries.next().await {
                    let Ok(delivery) = delivery else { break };
                    match signal_runs(&client, None, &delivery.event).await {
                        Ok(_) => {
                            let _ = delivery.ack().await;
                        }
                        Err(error) => eprintln!("worker: an event was not forwarded: {error}"),
                    }
                }
                eprintln!("worker: the --broker subscription ended; subscribing again");
            }
            Err(error) => eprintln!(
                "worker: cannot subscribe to --broker: {}; trying again",
                error.detail.unwrap_or_default()
            ),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
