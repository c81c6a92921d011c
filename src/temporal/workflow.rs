//! The one Temporal workflow type that runs every document: it compiles the document it was
//! given, runs the engine on the Temporal host (`host.rs`) and turns the engine's requests into
//! Temporal commands (timers, activities), and the CloudEvents signalled to the run
//! (`workflow.event`) into its event bus (`signals.rs`). A faulted run fails the Temporal workflow with the
//! problem-details object as its message; a cancelled one ends cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures::channel::mpsc;
use futures::future::{Either, LocalBoxFuture, select};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use serde_json::Value;
use temporalio_common::ActivityDefinition;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ApplicationFailure, CancellableFuture,
    SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult, WorkflowTermination,
};

use super::activities::{Effects, HEARTBEAT_TIMEOUT};
use super::children::serve_child;
use super::host::{ActivityProcesses, Request, TemporalClock, TemporalIds, WorkflowTime};
use super::host_calls::ActivityCalls;
use super::loader::TemporalLoader;
use super::payload::RunRequest;
use super::payload_calls::CallDone;
use super::record::{Record, RecordSink, RunView, ViewRequest};
use super::secrets::Sealer;
use super::signals::SignalBus;
use crate::compile::Machine;
use crate::host::Executors;
use crate::host::effects::events::CloudEvent;
use crate::problem::{ErrorKind, WorkflowError};
use crate::runtime::{Outcome, RunOptions};
use crate::secrets::{RedactingSink, Redactor};
use crate::source::Source;

/// The `type` of the application failure a faulted run ends with.
pub(crate) const FAULTED: &str = "workflow.faulted";

/// A run of a Serverless Workflow document. Its state is what the `workflow.view` query
/// answers (`record.rs`): rebuilt by replay, never written to the history.
#[workflow]
#[derive(Default)]
pub struct ServerlessWorkflow {
    /// Events signalled since the run code last took them (in history order).
    events: Vec<CloudEvent>,
    record: Arc<Record>,
}

#[workflow_methods]
impl ServerlessWorkflow {
    #[run(name = "ServerlessWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        mut request: RunRequest,
    ) -> WorkflowResult<Value> {
        let machine = match compile(&request) {
            Ok(machine) => Arc::new(machine),
            Err(error) => return Err(faulted(&error).into()),
        };
        let run_id = ctx.workflow_id().to_string();
        // `use.secrets` from this worker's files: values stay here, sealed out of activities.
        let secrets = super::secrets::for_run(machine.secret_names());
        // A child's input may hold its parent's secret values, sealed: opened from this
        // worker's files, and kept sealed and masked in everything this run sends or shows.
        let mut guarded = secrets.clone();
        if !request.sealed.is_empty() {
            let parents = super::secrets::for_run(&request.sealed);
            match Sealer::new(&parents).unseal_payload(request.input.clone()) {
                Ok(input) => request.input = input,
                Err(error) => return Err(faulted(&error).into()),
            }
            guarded.extend(parents);
        }
        let sealer = Arc::new(Sealer::new(&guarded));
        let redactor = Arc::new(Redactor::new(guarded.values()));
        let record = ctx.state(|state| Arc::clone(&state.record));
        let mut shown_input = request.input.clone();
        redactor.json(&mut shown_input);
        record.begin(&request.name, &request.hash, &shown_input);
        let started = workflow_now(ctx.workflow_time());
        let time = WorkflowTime::new(started);
        let (requests, mut incoming) = mpsc::unbounded();
        let calls = ActivityCalls {
            requests: requests.clone(),
            sealer: Arc::clone(&sealer),
        };
        let bus = SignalBus::new(calls.clone());
        let executors = Executors {
            processes: Arc::new(ActivityProcesses {
                requests: requests.clone(),
                sealer: Arc::clone(&sealer),
            }),
            http: Arc::new(calls.clone()),
            grpc: Arc::new(calls.clone()),
            mcp: Arc::new(calls.clone()),
            a2a: Arc::new(calls.clone()),
            asyncapi: Arc::new(calls.clone()),
            events: Arc::new(bus.clone()),
            clock: Arc::new(TemporalClock {
                time: Arc::clone(&time),
                requests: requests.clone(),
            }),
            ids: Arc::new(TemporalIds::new(&run_id)),
            // Resources are read by activities; sub-workflow documents from this worker's
            // disk (the same on every worker only when they share it, see docs/temporal.md);
            // each sub-workflow run is a child workflow carrying its document (`children.rs`).
            loader: Arc::new(TemporalLoader {
                local: crate::loader::LocalLoader::default(),
                calls: calls.clone(),
                requests: requests.clone(),
                documents: Default::default(),
                sealer: Arc::clone(&sealer),
            }),
            container_engine: None,
        };
        let options = RunOptions {
            run_id: Some(run_id.clone()),
            secrets,
            ..RunOptions::default()
        };
        let cancel = options.cancel.clone();
        // Unconstrained: tokio's cooperative budget would make the engine yield, and only an
        // activation polls workflow code again (see `Rewake`).
        let mut engine = tokio::task::unconstrained(crate::runtime::run(
            machine,
            request.input,
            options,
            executors,
            // The query keeps events masked, as the journal does.
            RedactingSink::wrap(
                Arc::new(RecordSink {
                    record,
                    run_id: run_id.clone(),
                }),
                &redactor,
            ),
        ))
        .boxed();
        let mut serving: FuturesUnordered<LocalBoxFuture<'static, ()>> = FuturesUnordered::new();
        let watcher = ctx.clone();
        let mut cancelled = async move { watcher.cancelled().await }.boxed_local();
        let driver = ctx.clone();
        let result = std::future::poll_fn(|cx| {
            time.set(workflow_now(driver.workflow_time()));
            if !cancel.is_cancelled() && cancelled.poll_unpin(cx).is_ready() {
                cancel.cancel();
            }
            // Signals are applied before the run code is polled: the same events at the same
            // point of the history on every replay.
            if driver.state(|s| !s.events.is_empty()) {
                for event in driver.state_mut(|s| std::mem::take(&mut s.events)) {
                    bus.signalled(event);
                }
            }
            loop {
                // Requests become commands in the order the engine made them: the same order
                // on every replay.
                while let Poll::Ready(Some(request)) = incoming.poll_next_unpin(cx) {
                    serving.push(serve(driver.clone(), request).boxed_local());
                }
                while let Poll::Ready(Some(())) = serving.poll_next_unpin(cx) {}
                let rewake = Arc::new(Rewake {
                    woken: AtomicBool::new(false),
                    outer: cx.waker().clone(),
                });
                let waker = Waker::from(Arc::clone(&rewake));
                if let Poll::Ready(result) = engine.poll_unpin(&mut Context::from_waker(&waker)) {
                    return Poll::Ready(result);
                }
                // The engine's poll may have made new requests: serve them before yielding.
                match incoming.poll_next_unpin(cx) {
                    Poll::Ready(Some(request)) => {
                        serving.push(serve(driver.clone(), request).boxed_local());
                    }
                    // A part of the engine woke another during the poll (an emit heard by a
                    // listen of the run, a signal handed to it): poll again now.
                    _ if rewake.woken.load(Ordering::SeqCst) => {}
                    _ => return Poll::Pending,
                }
            }
        })
        .await;
        let mut result = result;
        // The result goes into the history: masked as a local run's printed result is.
        redactor.outcome(&mut result.outcome);
        match result.outcome {
            Outcome::Completed(output) => Ok(output),
            Outcome::Faulted(error) => Err(faulted(&error).into()),
            Outcome::Cancelled => Err(WorkflowTermination::cancelled()),
        }
    }

    /// One CloudEvent for the run's listens (`workflow events send --temporal`, a worker's
    /// `--broker`): kept until the run code takes it.
    #[signal(name = "workflow.event")]
    pub fn event(&mut self, _ctx: &mut SyncWorkflowContext<Self>, event: CloudEvent) {
        self.events.push(event);
    }

    /// The run's events and output lines after those the client has (`record.rs`).
    #[query(name = "workflow.view")]
    pub fn view(&self, _ctx: &WorkflowContextView, after: ViewRequest) -> RunView {
        self.record.view(after)
    }
}

/// The engine's waker: the SDK polls workflow code only on an activation, never because a
/// waker fired, so a wake from inside the engine's own poll is noted here and the engine is
/// polled again before the workflow code yields.
struct Rewake {
    woken: AtomicBool,
    outer: Waker,
}

impl Wake for Rewake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.outer.wake_by_ref();
    }
}

/// Turns one request into its Temporal command and answers it. A request whose answer is no
/// longer awaited (a timeout's timer after the work finished) is cancelled in Temporal too.
async fn serve(ctx: WorkflowContext<ServerlessWorkflow>, request: Request) {
    match request {
        Request::Child { id, request, done } => serve_child(ctx, id, request, done).await,
        Request::Sleep { after, mut done } => {
            let timer = ctx.timer(after);
            let fired = {
                let abandoned = done.cancellation();
                futures::pin_mut!(timer, abandoned);
                match select(timer, abandoned).await {
                    Either::Left(_) => true,
                    Either::Right(((), timer)) => {
                        timer.cancel();
                        false
                    }
                }
            };
            if fired {
                let _ = done.send(());
            }
        }
        Request::Process { call, done } => {
            activity(&ctx, Effects::process, call, done, |error| {
                super::payload::ProcessDone::Failed { error }
            })
            .await;
        }
        Request::Call { call, done } => {
            activity(&ctx, Effects::call, call, done, CallDone::failed).await;
        }
    }
}

/// Executes one activity and answers with its result; an activity that failed in Temporal
/// (not the effect: that is a result) answers `failed`.
async fn activity<AD>(
    ctx: &WorkflowContext<ServerlessWorkflow>,
    definition: AD,
    input: AD::Input,
    mut done: futures::channel::oneshot::Sender<AD::Output>,
    failed: fn(WorkflowError) -> AD::Output,
) where
    AD: ActivityDefinition,
{
    let options =
        ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::StartToClose(ACTIVITY_LIMIT))
            .heartbeat_timeout(HEARTBEAT_TIMEOUT)
            // Through the task queue, not eagerly by the worker that ran the workflow task:
            // workflow tasks stick to one worker, and the effects should spread over all.
            .do_not_eagerly_execute(true)
            // Only a lost worker makes Temporal run the activity again (its heartbeat timed
            // out): an effect that failed is a result, and the engine's retry policy decides.
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(Duration::from_secs(1))
                    .maximum_interval(Duration::from_secs(10))
                    .build(),
            )
            .build();
    let execution = ctx.execute_activity(definition, input, options);
    let result = {
        let abandoned = done.cancellation();
        futures::pin_mut!(execution, abandoned);
        match select(execution, abandoned).await {
            Either::Left((result, _)) => Some(result),
            Either::Right(((), execution)) => {
                execution.cancel();
                None
            }
        }
    };
    if let Some(result) = result {
        let answer = result.unwrap_or_else(|error| {
            failed(
                WorkflowError::new(ErrorKind::Runtime, "Activity failed")
                    .with_detail(error.to_string()),
            )
        });
        let _ = done.send(answer);
    }
}

/// The longest a single process may run as an activity: the engine's own `timeout` is the
/// limit users set; this one only has to be there.
const ACTIVITY_LIMIT: Duration = Duration::from_secs(86_400 * 365);

fn workflow_now(time: Option<SystemTime>) -> DateTime<Utc> {
    time.map(DateTime::<Utc>::from).unwrap_or_default()
}

/// The document the run carries, compiled: the same text compiles to the same machine on
/// every worker and every replay.
pub(super) fn compile(request: &RunRequest) -> Result<Machine, WorkflowError> {
    let mut checked =
        crate::frontend::check_source(Source::new(request.name.clone(), request.document.as_str()));
    let problems: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::diagnostic::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    match checked.compile() {
        Some(machine) if problems.is_empty() => Ok(machine),
        _ => Err(
            WorkflowError::new(ErrorKind::Validation, "Invalid document").with_detail(format!(
                "{}: {}",
                request.name,
                problems.join("; ")
            )),
        ),
    }
}

/// The failure a faulted run ends with: its message is the problem-details object (JSON),
/// which `workflow run --temporal` prints as a local run would.
fn faulted(error: &WorkflowError) -> ApplicationFailure {
    ApplicationFailure::builder(Fault(error.to_json().to_string()))
        .type_name(FAULTED.to_string())
        .non_retryable(true)
        .build()
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Fault(String);
