//! The activities a worker executes for the engine: a `run` task's process (shell, script,
//! container) and every other side effect (`workflow.call`: HTTP, gRPC, MCP, A2A, AsyncAPI,
//! `emit`), each with the worker's own executors. An activity heartbeats while its work runs,
//! so that a worker that dies is noticed within [`HEARTBEAT_TIMEOUT`] and the activity is given
//! to another worker; a cancelled activity drops its work (executors are cancel-safe).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use super::payload::{ProcessCall, ProcessDone};
use super::payload_calls::{CallDone, CallInput, CallRequest, ReceivedCall, TargetCall};
use super::secrets::Sealer;
use super::subscriptions::OpenSubscriptions;
use crate::host::Executors;
use crate::host::effects::asyncapi::Consumption;
use crate::host::effects::events::EventBus;
use crate::host::effects::process::ProcessRunner;
use crate::problem::{ErrorKind, WorkflowError};

/// How long Temporal waits for a heartbeat before it gives the activity to another worker.
pub(crate) const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running activity heartbeats.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// The side effects a worker performs, on this machine.
pub struct Effects {
    pub(crate) processes: Arc<dyn ProcessRunner>,
    /// The executors of a local run (HTTP, gRPC, MCP, A2A, AsyncAPI).
    pub(crate) executors: Executors,
    /// The worker's `--broker`s, where emitted events go; `None`: emits stay in their run.
    pub(crate) broker: Option<Arc<dyn EventBus>>,
    /// AsyncAPI subscriptions kept open between consumption steps.
    pub(crate) subscriptions: OpenSubscriptions,
}

#[activities]
impl Effects {
    /// Runs one process to its end. A process that fails to start is a result
    /// ([`ProcessDone::Failed`]), never an activity failure: only the engine retries.
    #[activity(name = "workflow.process")]
    pub async fn process(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: ProcessCall,
    ) -> Result<ProcessDone, ActivityError> {
        // The secrets' values come from this worker's files, never from the history.
        let sealer = Sealer::new(&super::secrets::for_run(&call.secrets));
        let call = match sealer.unseal_call(call) {
            Ok(call) => call,
            Err(error) => return Ok(ProcessDone::Failed { error }),
        };
        let work = self.processes.run(call.into_request());
        heartbeating(&ctx, work)
            .await
            .map(|output| sealer.seal_done(ProcessDone::from(output)))
    }

    /// Executes one call (or emit, or consumption step). A call that failed is a result
    /// ([`CallDone::Failed`]), never an activity failure: only the engine retries.
    #[activity(name = "workflow.call")]
    pub async fn call(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CallInput,
    ) -> Result<CallDone, ActivityError> {
        // The secrets' values come from this worker's files, never from the history; what
        // goes back into it is sealed again.
        let sealer = Sealer::new(&super::secrets::for_run(&input.secrets));
        let call = match sealer.unseal_payload(input.call) {
            Ok(call) => call,
            Err(error) => return Ok(CallDone::Failed { error }),
        };
        let work = self.execute(call);
        let done = heartbeating(&ctx, work)
            .await?
            .unwrap_or_else(CallDone::failed);
        Ok(sealer.seal_payload(done).unwrap_or_else(CallDone::failed))
    }
}

impl Effects {
    /// The subscription a previous step left open on this worker, else the durable one again.
    async fn reopen(
        &self,
        key: &str,
        target: TargetCall,
        name: String,
    ) -> Result<Consumption, WorkflowError> {
        match self.subscriptions.take(key) {
            Some(consumption) => Ok(consumption),
            None => {
                self.executors
                    .asyncapi
                    .subscribe(target.into_target(), name)
                    .await
            }
        }
    }

    async fn execute(&self, call: CallRequest) -> Result<CallDone, WorkflowError> {
        let executors = &self.executors;
        Ok(match call {
            CallRequest::Http(http) => {
                CallDone::Http(executors.http.send(http.into_request()).await?.into())
            }
            CallRequest::Grpc(grpc) => executors.grpc.call(grpc.into_request()).await?.into(),
            CallRequest::Mcp(mcp) => CallDone::Value {
                value: executors.mcp.call(mcp.into_request()).await?,
            },
            CallRequest::A2a(a2a) => CallDone::Value {
                value: executors.a2a.call(a2a.into_request()?).await?,
            },
            CallRequest::Publish { target, message } => {
                executors
                    .asyncapi
                    .publish(target.into_target(), message.into())
                    .await?;
                CallDone::Done
            }
            CallRequest::Subscribe { target, name } => {
                let key = subscription_key(&target, &name);
                let consumption = executors
                    .asyncapi
                    .subscribe(target.into_target(), name)
                    .await?;
                self.subscriptions.put(key, consumption);
                CallDone::Done
            }
            CallRequest::Receive { target, name } => {
                // The previous step's subscription when it ran here, else the durable
                // subscription again: one message, acknowledged, and the subscription kept.
                let key = subscription_key(&target, &name);
                let mut consumption = self.reopen(&key, target, name).await?;
                let received = match consumption.messages.next().await {
                    Some(received) => received?,
                    None => {
                        return Err(crate::host::effects::events::communication(
                            "The subscription ended",
                            "the broker closed the subscription before the consumption \
                             completed",
                        ));
                    }
                };
                let taken = ReceivedCall::from_received(&received);
                // The activity's result is what the engine records: acknowledged now, a lost
                // worker between here and the result loses the message (see docs/temporal.md).
                let _ = received.ack().await;
                self.subscriptions.put(key, consumption);
                CallDone::Received(taken)
            }
            CallRequest::Close { target, name } => {
                let key = subscription_key(&target, &name);
                let consumption = self.reopen(&key, target, name).await?;
                if let Some(close) = consumption.close {
                    close.await;
                }
                CallDone::Done
            }
            CallRequest::Fetch { location } => {
                let url = location.parse().map_err(|error| {
                    WorkflowError::new(ErrorKind::Configuration, "Invalid resource location")
                        .with_detail(format!("`{location}`: {error}"))
                })?;
                CallDone::Text {
                    text: crate::exec::resource::fetch(&url, &*executors.http, None).await?,
                }
            }
            CallRequest::FindWorkflow {
                caller,
                namespace,
                name,
                version,
            } => {
                let caller = caller.map(std::path::PathBuf::from);
                let found = executors
                    .loader
                    .workflow(caller.as_deref(), &namespace, &name, &version)
                    .await?;
                let text = tokio::fs::read_to_string(&found.path)
                    .await
                    .map_err(|error| {
                        WorkflowError::new(ErrorKind::Configuration, "Sub-workflow unreadable")
                            .with_detail(format!("cannot read {}: {error}", found.path.display()))
                    })?;
                CallDone::Document {
                    path: found.path.display().to_string(),
                    text,
                }
            }
            CallRequest::Emit { event } => {
                if let Some(broker) = &self.broker {
                    broker.publish(event).await?;
                }
                CallDone::Done
            }
        })
    }
}

/// Which open subscription a step of a run uses.
fn subscription_key(target: &TargetCall, name: &str) -> String {
    format!("{name}\u{0}{}\u{0}{}", target.url, target.address)
}

/// Runs `work`, heartbeating every [`HEARTBEAT_EVERY`] until it is done; a cancelled activity
/// drops the work (which stops it: the executors are cancel-safe).
async fn heartbeating<T>(
    ctx: &ActivityContext,
    work: impl Future<Output = T>,
) -> Result<T, ActivityError> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            output = &mut work => return Ok(output),
            () = ctx.cancelled() => return Err(ActivityError::cancelled()),
            () = tokio::time::sleep(HEARTBEAT_EVERY) => {
                // A heartbeat that cannot be sent is noticed by the server's timeout.
                let _ = ctx.record_heartbeat(()).await;
            }
        }
    }
}
