//! The entry point of a run and its per-run state: options, outcome, the shared `Run` (context,
//! step budget, runtime arguments built once) and lifecycle event publishing. The workflow's own
//! data flow, timeout and cancellation are handled here; tasks are in `task.rs`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::background::Background;
use super::error::{ErrorKind, WorkflowError};
use super::event::{EventKind, EventSink, LifecycleEvent, RunIdentity};
use super::family::Family;
use super::replay::Replay;
use super::resources::Resources;
use super::step::StepScope;
use super::values::{self, obj, string};
use crate::compile::{
    BASE_VARS, BlockId, CONTEXT, INPUT, Machine, RUNTIME, SECRETS, TaskId, TaskNode, WORKFLOW,
};
use crate::expr::{Val, from_json, to_json};
use crate::host::Executors;
use crate::host::{Clock, Ids};

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Task executions allowed before the run faults (guards against endless `then` loops).
    pub max_steps: u64,
    /// `$secrets`: name → value (a string, or an object for secret-based authentication).
    /// Every secret the workflow declares must be here, or the run faults before its first task.
    pub secrets: BTreeMap<String, Value>,
    /// Cancelling it cancels the run: running tasks are dropped, the outcome is `Cancelled`.
    pub cancel: CancellationToken,
    /// The run's id (`$workflow.id`); a UUID v7 when absent.
    pub run_id: Option<String>,
    /// Where the document was read from: relative script sources and sub-workflows are found
    /// from its directory.
    pub document: Option<PathBuf>,
    /// Steps a resumed or retried run takes from the journal instead of executing them.
    pub replay: Option<Arc<Replay>>,
    /// `--strict`: an undefined URI template variable faults its task (a warning otherwise).
    pub strict: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_steps: 10_000_000,
            secrets: BTreeMap::new(),
            cancel: CancellationToken::new(),
            run_id: None,
            document: None,
            replay: None,
            strict: false,
        }
    }
}

/// What a run ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed(Value),
    Faulted(WorkflowError),
    Cancelled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub id: String,
    pub outcome: Outcome,
}

/// Runs `machine` on `input` to its end. Never prints; reports through `events` only when the
/// sink is enabled.
pub async fn run(
    machine: Arc<Machine>,
    input: Value,
    options: RunOptions,
    executors: Executors,
    events: Arc<dyn EventSink>,
) -> RunResult {
    let id = options
        .run_id
        .clone()
        .unwrap_or_else(|| executors.ids.run_id());
    let raw_input = from_json(&input);
    let mut family = Family::new(options.max_steps, options.secrets.clone());
    family.strict = options.strict;
    let family = Arc::new(family);
    let place = Place {
        family: Arc::clone(&family),
        depth: 0,
        document: options.document.as_deref().map(Arc::from),
    };
    let run = Run::new(
        &machine,
        &id,
        &raw_input,
        place,
        executors,
        events,
        options.replay.clone(),
    );
    run.workflow_event(|| EventKind::WorkflowStarted);

    let mut work = Box::pin(super::interrupt::watch_run(
        options.cancel.clone(),
        run.workflow(raw_input),
    ));
    let mut background = Background::default();
    let mut result = {
        let cancelled = options.cancel.cancelled();
        let mut cancelled = std::pin::pin!(cancelled);
        std::future::poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            if let Poll::Ready(result) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(result));
            }
            // After the main work: what its poll started runs in the same pass.
            let _ = background.poll_all(&family.background, cx);
            Poll::Pending
        })
        .await
    };
    // Dropping the unfinished work cancels its tasks (their guards publish `TaskCancelled`)
    // before the workflow's own event.
    drop(work);
    // Sub-workflows started with `await: false` end before the run does; cancelling stops them.
    if result.is_some() {
        tokio::select! {
            biased;
            () = options.cancel.cancelled() => result = None,
            () = background.join(&family.background) => {}
        }
    }
    // Whatever still runs in the background is cancelled with the run.
    drop(background);
    let outcome = match result {
        None => {
            run.workflow_event(|| EventKind::WorkflowCancelled);
            Outcome::Cancelled
        }
        Some(Ok(output)) => {
            run.workflow_event(|| EventKind::WorkflowCompleted {
                output: output.clone(),
            });
            Outcome::Completed(to_json(&output))
        }
        Some(Err(error)) => {
            run.workflow_event(|| EventKind::WorkflowFaulted {
                error: error.clone(),
            });
            Outcome::Faulted(error)
        }
    };
    RunResult { id, outcome }
}

/// Checks `input` against the workflow's `input.schema` exactly as a run begins, without
/// running anything: `run --dry-run` reports a bad input the way a real run would.
pub fn check_input(machine: &Machine, input: &Value) -> Result<(), WorkflowError> {
    match &machine.workflow.input_schema {
        Some(schema) => values::check_schema(schema, &from_json(input), "Workflow input")
            .map_err(|error| error.at_instance("/")),
        None => Ok(()),
    }
}

/// The state one run shares between all its tasks (and fork branches).
pub(crate) struct Run<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) executors: Executors,
    pub(super) events: Arc<dyn EventSink>,
    /// Present only when someone listens: no event is built otherwise.
    identity: Option<Arc<RunIdentity>>,
    /// `$context`, replaced by each `export.as`; shared with the runs of remote functions.
    context: Arc<Mutex<Val>>,
    /// Where this workflow sits among its family's (sub-)workflows.
    pub(super) place: Place,
    /// A declared secret without a value: the run faults before its first task.
    missing_secrets: Option<WorkflowError>,
    workflow: Val,
    runtime: Val,
    /// What a resumed or retried run does not execute again.
    pub(crate) replay: Option<Arc<Replay>>,
    /// The list holding each task, for naming `then` targets in events and replays; empty when
    /// neither events nor a replay need it.
    parents: Vec<BlockId>,
}

/// The list holding each task, indexed by task id: step names and `then` targets need it,
/// and only events and replays use them (empty otherwise).
fn parent_blocks(machine: &Machine, needed: bool) -> Vec<BlockId> {
    if !needed {
        return Vec::new();
    }
    let mut parents = vec![0; machine.tasks.len()];
    for (block_id, block) in machine.blocks.iter().enumerate() {
        for &task in &block.tasks {
            if let Some(parent) = parents.get_mut(task) {
                *parent = block_id;
            }
        }
    }
    parents
}

/// A workflow's place in a run: the family it shares state with, how deep a sub-workflow it is
/// (0 for the run's own), and the file it was read from.
#[derive(Clone)]
pub(crate) struct Place {
    pub(crate) family: Arc<Family>,
    pub(crate) depth: usize,
    pub(crate) document: Option<Arc<Path>>,
}

impl<'m> Run<'m> {
    pub(super) fn new(
        machine: &'m Machine,
        id: &str,
        raw_input: &Val,
        place: Place,
        executors: Executors,
        events: Arc<dyn EventSink>,
        replay: Option<Arc<Replay>>,
    ) -> Self {
        let wf = &machine.workflow;
        let identity = events.enabled().then(|| {
            Arc::new(RunIdentity {
                run_id: id.to_owned(),
                qualified_name: format!("{}.{}:{}", wf.name, wf.namespace, wf.version),
                namespace: wf.namespace.clone(),
                name: wf.name.clone(),
                version: wf.version.clone(),
            })
        });
        let workflow = obj([
            ("id", string(id)),
            ("definition", wf.definition.clone()),
            ("input", raw_input.clone()),
            ("startedAt", values::descriptor(executors.clock.now())),
        ]);
        let parents = parent_blocks(machine, identity.is_some() || replay.is_some());
        Run {
            machine,
            executors,
            events,
            identity,
            context: Arc::new(Mutex::new(obj([]))),
            missing_secrets: crate::secrets::require_declared(&wf.secrets, &place.family.provided)
                .err()
                .map(|error| super::subflow::missing_secret(error, place.depth)),
            place,
            workflow,
            runtime: values::runtime_var(),
            replay,
            parents,
        }
    }

    /// A run of another machine (a remote custom function) sharing everything of this run:
    /// context, step budget, events, caches and runtime arguments.
    pub(crate) fn child<'c>(&self, machine: &'c Machine) -> Run<'c> {
        Run {
            machine,
            executors: self.executors.clone(),
            events: Arc::clone(&self.events),
            identity: self.identity.clone(),
            context: Arc::clone(&self.context),
            place: self.place.clone(),
            // Checked once, when the calling run started.
            missing_secrets: None,
            workflow: self.workflow.clone(),
            runtime: self.runtime.clone(),
            // A function's steps are not journaled apart from its caller's: it runs again.
            replay: None,
            parents: parent_blocks(machine, self.identity.is_some()),
        }
    }

    /// Where relative resource paths are read from: the document's directory.
    pub(crate) fn document_dir(&self) -> Option<&Path> {
        self.place.document.as_deref().and_then(Path::parent)
    }

    /// Documents and functions loaded once per run (shared by its sub-workflows).
    pub(crate) fn resources(&self) -> &Resources {
        &self.place.family.resources
    }

    /// The list holding `task` (empty lookups give none).
    pub(crate) fn parent_block(&self, task: TaskId) -> Option<BlockId> {
        self.parents.get(task).copied()
    }

    /// Where the workflow's top-level list runs: step names are made when someone listens or
    /// a replay looks them up.
    fn root_scope(&self) -> StepScope {
        StepScope::root(self.identity.is_some() || self.replay.is_some())
    }

    /// The workflow's data flow around its top-level task list, under its timeout.
    pub(super) async fn workflow(&self, raw: Val) -> Result<Val, WorkflowError> {
        let wf = &self.machine.workflow;
        let mut vars = self.vars(&[]);
        vars[INPUT] = raw.clone();
        let body = async {
            if let Some(error) = &self.missing_secrets {
                return Err(error.clone());
            }
            if let Some(schema) = &wf.input_schema {
                values::check_schema(schema, &raw, "Workflow input")?;
            }
            let input = match &wf.input_from {
                Some(from) => values::transform(from, raw.clone(), &vars)?,
                None => raw.clone(),
            };
            let last = self
                .run_block(wf.root, input, &[], &self.root_scope())
                .await?
                .into_value();
            let mut vars = vars.clone();
            vars[CONTEXT] = self.context();
            let output = match &wf.output_as {
                Some(as_) => values::transform(as_, last, &vars)?,
                None => last,
            };
            if let Some(schema) = &wf.output_schema {
                values::check_schema(schema, &output, "Workflow output")?;
            }
            Ok(output)
        };
        let result = match &wf.timeout {
            None => body.await,
            Some(timeout) => {
                let after = values::duration(&timeout.after, &raw, &vars)?;
                let clock = &self.executors.clock;
                match super::interrupt::within(clock, clock.deadline(after), body).await {
                    Some(result) => result,
                    None => Err(timeout_error("Workflow", after)),
                }
            }
        };
        result.map_err(|error| error.at_instance("/"))
    }

    /// The variable vector of an expression: the runtime arguments (`$input`, `$output`, `$task`
    /// and `$authorization` still null) followed by the loop and catch variables in scope.
    pub(crate) fn vars(&self, frame: &[Val]) -> Vec<Val> {
        let mut vars = Vec::with_capacity(BASE_VARS.len() + frame.len());
        vars.resize(BASE_VARS.len(), Val::Null);
        vars[CONTEXT] = self.context();
        vars[SECRETS] = self.place.family.secrets.clone();
        vars[WORKFLOW] = self.workflow.clone();
        vars[RUNTIME] = self.runtime.clone();
        vars.extend_from_slice(frame);
        vars
    }

    pub(crate) fn context(&self) -> Val {
        match self.context.lock() {
            Ok(context) => context.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn set_context(&self, value: Val) {
        match self.context.lock() {
            Ok(mut context) => *context = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }

    /// Counts one task execution against the budget, which sub-workflows share.
    pub(crate) fn step(&self) -> Result<(), WorkflowError> {
        self.place.family.step()
    }

    pub(crate) fn events_enabled(&self) -> bool {
        self.identity.is_some()
    }

    pub(super) fn workflow_event(&self, kind: impl FnOnce() -> EventKind) {
        if let Some(identity) = &self.identity {
            let event = stamp(&self.executors, identity, None, kind());
            self.events.emit(event);
        }
    }

    /// A detached publisher of `pointer`'s events, for work that reports from outside the
    /// engine's own tasks (a process's output lines); `None` when nobody listens.
    pub(crate) fn task_publisher(
        &self,
        pointer: &Arc<str>,
        step: Option<&Arc<str>>,
    ) -> Option<TaskPublisher> {
        self.identity.as_ref().map(|identity| TaskPublisher {
            events: Arc::clone(&self.events),
            clock: Arc::clone(&self.executors.clock),
            ids: Arc::clone(&self.executors.ids),
            run: Arc::clone(identity),
            task: Arc::clone(pointer),
            step: step.cloned(),
        })
    }

    /// Publishes a task event stamped with its step name; `kind` is only called when someone
    /// listens.
    pub(crate) fn step_event(
        &self,
        pointer: &Arc<str>,
        step: Option<&Arc<str>>,
        kind: impl FnOnce() -> EventKind,
    ) {
        if let Some(identity) = &self.identity {
            let event = stamp(&self.executors, identity, Some(pointer.clone()), kind());
            self.events.emit(event.at_step(step.cloned()));
        }
    }

    /// Publishes an event that starts or ends an execution of `node` (created, started,
    /// skipped, retried, completed, faulted, cancelled): stamped with its step name and its
    /// parent's pointer, so that readers see nesting as the engine ran it.
    pub(crate) fn task_event(
        &self,
        node: &TaskNode,
        step: Option<&Arc<str>>,
        kind: impl FnOnce() -> EventKind,
    ) {
        if let Some(identity) = &self.identity {
            let event = stamp(
                &self.executors,
                identity,
                Some(node.pointer.clone()),
                kind(),
            );
            self.events
                .emit(event.at_step(step.cloned()).within(node.parent.clone()));
        }
    }

    /// Waits until every event so far is durable, when a sink keeps them (the journal): a task
    /// with side effects is recorded before the next one starts.
    pub(crate) async fn durable(&self) {
        if self.identity.is_some()
            && let Some(flushed) = self.events.flushed()
        {
            flushed.await;
        }
    }
}

/// An event now, by the host's clock and ids.
fn stamp(
    host: &Executors,
    run: &Arc<RunIdentity>,
    task: Option<Arc<str>>,
    kind: EventKind,
) -> LifecycleEvent {
    let time = host.clock.now();
    LifecycleEvent::stamped(time, host.ids.event_id(time), Arc::clone(run), task, kind)
}

/// Publishes one task's events from anywhere (it owns what it needs).
pub(crate) struct TaskPublisher {
    events: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
    run: Arc<RunIdentity>,
    task: Arc<str>,
    /// The execution's durable step name, which tells a loop's iterations apart in the log.
    step: Option<Arc<str>>,
}

impl TaskPublisher {
    pub(crate) fn emit(&self, kind: EventKind) {
        let task = Some(Arc::clone(&self.task));
        let time = self.clock.now();
        let id = self.ids.event_id(time);
        let event = LifecycleEvent::stamped(time, id, Arc::clone(&self.run), task, kind);
        self.events.emit(event.at_step(self.step.clone()));
    }
}

/// The error of an expired timeout.
pub(crate) fn timeout_error(what: &str, after: std::time::Duration) -> WorkflowError {
    WorkflowError::new(ErrorKind::Timeout, format!("{what} timed out"))
        .with_detail(format!("it did not finish within {after:?}"))
}

/// Publishes `TaskCancelled` if the task's future is dropped before it finished: when the run is
/// cancelled, a timeout interrupts an enclosing task, or a competing branch wins.
pub(crate) struct RunningGuard<'r, 'm> {
    run: &'r Run<'m>,
    node: &'m TaskNode,
    step: Option<Arc<str>>,
    armed: bool,
}

impl<'r, 'm> RunningGuard<'r, 'm> {
    /// A guard only when events are observed; `None` costs nothing.
    pub(crate) fn new(
        run: &'r Run<'m>,
        node: &'m TaskNode,
        step: Option<&Arc<str>>,
    ) -> Option<Self> {
        run.events_enabled().then(|| RunningGuard {
            run,
            node,
            step: step.cloned(),
            armed: true,
        })
    }

    pub(crate) fn disarm(guard: &mut Option<Self>) {
        if let Some(guard) = guard {
            guard.armed = false;
        }
    }
}

impl Drop for RunningGuard<'_, '_> {
    fn drop(&mut self) {
        if self.armed {
            self.run
                .task_event(self.node, self.step.as_ref(), || EventKind::TaskCancelled);
        }
    }
}
