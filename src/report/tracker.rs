//! Turns the engine's flat event stream into task executions: which task runs inside which, which
//! loop iteration it belongs to, when it started, how it ended. Every reporter (progress, plain
//! lines, summary, JUnit) reads a run through one of these.
//!
//! Nesting is the engine's: the events that start or end a task carry the pointer of the task it
//! runs inside (its parent), never guessed from pointers. A parent whose first child starts again
//! has begun a new iteration (a `for`, or a `then` jump back to the top).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::host::effects::process::OutputStream;
use crate::problem::WorkflowError;
use crate::report::outline::Outline;
use crate::report::sanitize;
use crate::runtime::event::{EventKind, LifecycleEvent, RunIdentity};

/// The key of the workflow itself among a run's open nodes.
const ROOT: &str = "";

/// Open nodes by task pointer.
type NodeMap = HashMap<Arc<str>, Node, Fnv>;

/// FNV-1a. Task pointers are short strings hashed several times per event; SipHash's defence
/// against crafted keys buys nothing here (the keys come from the document being run) and cost
/// a measurable share of a long loop's time.
#[derive(Debug, Default, Clone, Copy)]
struct Fnv;

struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl BuildHasher for Fnv {
    type Hasher = FnvHasher;

    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

/// How an execution (of a task, or of the workflow) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed,
    /// Completed in an earlier process: a resumed or retried run took the step's recorded
    /// output from the journal instead of executing it.
    Replayed,
    Faulted(WorkflowError),
    Skipped,
    Cancelled,
}

impl Outcome {
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Replayed => "replayed",
            Outcome::Faulted(_) => "faulted",
            Outcome::Skipped => "skipped",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// One retry of a task: announced at `at`, the next attempt starts after `delay`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// 1 for the first retry.
    pub attempt: u32,
    pub delay: Duration,
    pub at: DateTime<Utc>,
    pub error: WorkflowError,
}

/// One finished execution of a task.
#[derive(Debug, Clone)]
pub struct Execution {
    pub run: Arc<RunIdentity>,
    pub task: Arc<str>,
    /// The task it ran inside, as the engine said (`""`: the workflow itself).
    pub parent: Option<Arc<str>>,
    /// Its durable step name, when the engine stamped one (one per execution, stable across
    /// a resume).
    pub step: Option<Arc<str>>,
    /// Its place among the executions the tracker opened, 0 first: the order they began.
    pub opened: u64,
    /// When its body started (`TaskStarted`): never for a task skipped, or faulted before
    /// starting (its `input` did not validate).
    pub body_started: Option<DateTime<Utc>>,
    /// 0-based index of every enclosing loop iteration, outermost first (empty outside loops):
    /// the numbering of durable step names (`each[0]`), which `runs show` and `runs logs` print.
    pub iteration: Vec<u32>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    pub outcome: Outcome,
    pub retries: Vec<Retry>,
    /// Other tasks ran inside this one (`do`, `for`, `fork`, `try`).
    pub composite: bool,
    /// What the task printed, every attempt, when the tracker keeps output.
    pub log: Option<Box<TaskLog>>,
    /// Faulted, but the enclosing task named here caught the error and completed (set by the
    /// run record once that task completes).
    pub recovered_by: Option<Arc<str>>,
}

/// The output lines of one task execution, kept up to [`TaskLog::CAP`] bytes a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskLog {
    pub stdout: String,
    pub stderr: String,
    /// Lines not kept past the cap.
    pub omitted_lines: u64,
}

impl TaskLog {
    /// Bytes kept per stream of one execution (the JUnit report's `system-out`/`system-err`).
    pub const CAP: usize = 1024 * 1024;

    fn push(&mut self, stream: OutputStream, line: &str) {
        let text = match stream {
            OutputStream::Stdout => &mut self.stdout,
            // The runner's warnings go with what the task wrote on stderr (JUnit `system-err`).
            OutputStream::Stderr | OutputStream::Warning => &mut self.stderr,
        };
        let mark = if stream == OutputStream::Warning {
            "warning: "
        } else {
            ""
        };
        if text.len() + mark.len() + line.len() + 1 > Self::CAP {
            self.omitted_lines += 1;
            return;
        }
        text.push_str(mark);
        text.push_str(line);
        text.push('\n');
    }
}

impl Execution {
    pub fn duration(&self) -> Duration {
        between(self.started, self.ended)
    }

    /// The pointer with its iteration, `/do/0/loop/do/0/step [3]`.
    pub fn label(&self) -> String {
        task_label(&self.task, &self.iteration)
    }

    /// The task's name path with its iteration, `loop/step [3]`.
    pub fn name_label(&self) -> String {
        task_label(
            &crate::report::fmt::task_name_path(&self.task),
            &self.iteration,
        )
    }
}

/// `pointer [i][j]`: a task pointer and the loop iterations it ran in.
pub fn task_label(task: &str, iteration: &[u32]) -> String {
    let mut label = task.to_string();
    if !iteration.is_empty() {
        label.push(' ');
        for index in iteration {
            label.push_str(&format!("[{index}]"));
        }
    }
    label
}

/// The non-negative time between two instants.
pub fn between(start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
    (end - start).to_std().unwrap_or_default()
}

/// A finished child kept for display under its still-running parent.
#[derive(Debug, Clone)]
pub struct Finished {
    pub task: Arc<str>,
    pub outcome: Outcome,
    pub duration: Duration,
    /// Iterations the task ran, when it loops.
    pub iterations: Option<u32>,
}

/// A task (or the workflow, under the empty pointer) that has started and not ended.
#[derive(Debug, Clone)]
pub struct Node {
    pub task: Arc<str>,
    parent: Option<Arc<str>>,
    pub step: Option<Arc<str>>,
    /// See [`Execution::opened`].
    pub opened: u64,
    /// See [`Execution::body_started`].
    pub body_started: Option<DateTime<Utc>>,
    pub started: DateTime<Utc>,
    pub iteration: Vec<u32>,
    pub retries: Vec<Retry>,
    /// Set between a retry announcement and the next attempt's start.
    pub waiting_until: Option<DateTime<Utc>>,
    /// The current iteration of this node's children (0 before the first child starts).
    pub loop_index: u32,
    /// How many iterations there will be, when someone told us.
    pub loop_total: Option<u64>,
    /// Known to loop: a `for` in the outline, or a first child that started again.
    pub loops: bool,
    first_child: Option<Arc<str>>,
    /// Open children, in the order they started.
    pub children: Vec<Arc<str>>,
    /// The last few finished children of the current iteration, oldest first.
    pub recent: VecDeque<Finished>,
    /// Children finished in the current iteration (including those in `recent`).
    pub finished_children: u64,
    pub composite: bool,
    /// Last non-blank line of output of a `run` task, made printable (see `sanitize`).
    pub last_line: Option<String>,
    /// Everything it printed, when the tracker keeps output.
    log: Option<Box<TaskLog>>,
}

impl Node {
    /// The task it runs inside, as the engine said.
    pub fn parent(&self) -> Option<&Arc<str>> {
        self.parent.as_ref()
    }

    fn new(task: Arc<str>, parent: Option<Arc<str>>, started: DateTime<Utc>) -> Node {
        Node {
            task,
            parent,
            step: None,
            opened: 0,
            body_started: None,
            started,
            iteration: Vec::new(),
            retries: Vec::new(),
            waiting_until: None,
            loop_index: 0,
            loop_total: None,
            loops: false,
            first_child: None,
            children: Vec::new(),
            recent: VecDeque::new(),
            finished_children: 0,
            composite: false,
            last_line: None,
            log: None,
        }
    }
}

/// How a workflow run ended.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// One workflow run (the main one, or a sub-workflow it started).
#[derive(Debug)]
pub struct RunTrack {
    pub identity: Arc<RunIdentity>,
    pub started: DateTime<Utc>,
    pub end: Option<RunEnd>,
    nodes: NodeMap,
}

impl RunTrack {
    /// The workflow's own node (present until the run ends).
    pub fn root(&self) -> Option<&Node> {
        self.nodes.get(ROOT)
    }

    pub fn node(&self, task: &str) -> Option<&Node> {
        self.nodes.get(task)
    }

    /// The tasks still running (the workflow's own node left out), in no particular order.
    pub fn open_tasks(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(|node| &*node.task != ROOT)
    }
}

/// What one event meant, handed to a reporter as it happens.
// Handed over by value once per event and never stored: boxing the finished execution would
// cost an allocation per task for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<'a> {
    WorkflowStarted(&'a RunTrack),
    /// A task started, or started its next attempt after a retry (`node.retries` is not empty).
    TaskStarted(&'a RunTrack, &'a Node),
    TaskRetrying(&'a RunTrack, &'a Node, &'a Retry),
    /// A running task printed `line` (as the task wrote it: sanitise before showing it).
    TaskOutput(&'a RunTrack, &'a Node, OutputStream, &'a str),
    TaskFinished(Execution),
    WorkflowFinished(&'a RunTrack),
}

/// The state of every run seen so far.
#[derive(Debug, Default)]
pub struct Tracker {
    outline: Option<Arc<Outline>>,
    runs: Vec<RunTrack>,
    /// Finished children kept per open node for display.
    keep_recent: usize,
    /// Executions carry what their task printed ([`Execution::log`]).
    keep_output: bool,
    /// Executions opened so far (see [`Execution::opened`]).
    opened: u64,
    /// A task counts from its `TaskCreated` (the journal's timeline), not from its start.
    from_creation: bool,
}

impl Tracker {
    pub fn new(outline: Option<Arc<Outline>>, keep_recent: usize) -> Tracker {
        Tracker {
            outline,
            runs: Vec::new(),
            keep_recent,
            keep_output: false,
            opened: 0,
            from_creation: false,
        }
    }

    /// Counts each task from its creation, so that a task skipped or faulted before it started
    /// has the time it spent being prepared, and executions are ordered by creation (the
    /// journal's timeline). Live views count from the start.
    pub fn count_from_creation(&mut self) {
        self.from_creation = true;
    }

    /// Keeps what each task prints, for [`Execution::log`].
    pub fn keep_output(&mut self) {
        self.keep_output = true;
    }

    /// Every run, in the order it was first seen (the main run first).
    pub fn runs(&self) -> &[RunTrack] {
        &self.runs
    }

    /// Applies one event and tells `on` what it meant.
    pub fn observe(&mut self, event: &LifecycleEvent, on: &mut dyn FnMut(Step<'_>)) {
        if matches!(event.kind, EventKind::TaskCreated) && !self.from_creation {
            return; // a task counts from its start (or its end, when it never starts)
        }
        let time = event.time;
        let run = self.run_index(&event.run, time);
        let task: Arc<str> = match (&event.task, event.kind.is_task_event()) {
            (Some(task), true) => Arc::clone(task),
            (None, true) => Arc::from("/"),
            (_, false) => return self.observe_workflow(run, event, on),
        };
        match &event.kind {
            // Live-view facts: they annotate a running node and mean no step.
            EventKind::TaskIterations { total } => {
                if let Some(node) = self.runs[run].nodes.get_mut(&task) {
                    node.loop_total = Some(u64::try_from(*total).unwrap_or(u64::MAX));
                    node.loops = true;
                }
            }
            EventKind::TaskOutput { stream, line } => {
                let keep_output = self.keep_output;
                let track = &mut self.runs[run];
                let Some(node) = track.nodes.get_mut(&task) else {
                    return;
                };
                if !line.trim().is_empty() {
                    let kept = node.last_line.get_or_insert_with(String::new);
                    kept.clear();
                    if sanitize::is_printable(line) {
                        kept.push_str(line);
                    } else {
                        kept.push_str(&sanitize::printable(line));
                    }
                }
                if keep_output {
                    node.log
                        .get_or_insert_with(Box::default)
                        .push(*stream, line);
                }
                let track = &self.runs[run];
                if let Some(node) = track.nodes.get(&task) {
                    on(Step::TaskOutput(track, node, *stream, line));
                }
            }
            EventKind::TaskCreated if !self.runs[run].nodes.contains_key(&task) => {
                self.begin(run, &task, event, time);
            }
            EventKind::TaskStarted => {
                let track = &mut self.runs[run];
                if let Some(node) = track.nodes.get_mut(&task) {
                    node.body_started.get_or_insert(time);
                    if node.waiting_until.take().is_none() {
                        return; // a repeated start of a running task tells nothing new
                    }
                } else {
                    self.begin(run, &task, event, time);
                    if let Some(node) = self.runs[run].nodes.get_mut(&task) {
                        node.body_started = Some(time);
                    }
                }
                let track = &self.runs[run];
                if let Some(node) = track.nodes.get(&task) {
                    on(Step::TaskStarted(track, node));
                }
            }
            EventKind::TaskRetried {
                attempt,
                delay,
                error,
            } => {
                if !self.runs[run].nodes.contains_key(&task) {
                    self.begin(run, &task, event, time);
                }
                let reason = Outcome::Faulted(error.clone());
                self.close_children(run, &task, &reason, time, on);
                let track = &mut self.runs[run];
                if let Some(node) = track.nodes.get_mut(&task) {
                    node.retries.push(Retry {
                        attempt: *attempt,
                        delay: *delay,
                        at: time,
                        error: error.clone(),
                    });
                    node.waiting_until = Some(
                        chrono::Duration::from_std(*delay)
                            .ok()
                            .and_then(|delay| time.checked_add_signed(delay))
                            .unwrap_or(time),
                    );
                    // The next attempt runs the children again: that is not a new iteration.
                    node.first_child = None;
                    node.loop_index = 0;
                    node.recent.clear();
                    node.finished_children = 0;
                }
                let track = &self.runs[run];
                if let Some((node, retry)) = track
                    .nodes
                    .get(&task)
                    .and_then(|node| node.retries.last().map(|retry| (node, retry)))
                {
                    on(Step::TaskRetrying(track, node, retry));
                }
            }
            EventKind::TaskCompleted { .. }
            | EventKind::TaskFaulted { .. }
            | EventKind::TaskSkipped
            | EventKind::TaskCancelled => {
                let outcome = match &event.kind {
                    EventKind::TaskCompleted { replayed: true, .. } => Outcome::Replayed,
                    EventKind::TaskCompleted { .. } => Outcome::Completed,
                    EventKind::TaskFaulted { error } => Outcome::Faulted(error.clone()),
                    EventKind::TaskSkipped => Outcome::Skipped,
                    _ => Outcome::Cancelled,
                };
                if !self.runs[run].nodes.contains_key(&task) {
                    self.begin(run, &task, event, time);
                }
                self.finish(run, &task, outcome, time, on);
            }
            // Workflow events were handled above.
            _ => {}
        }
    }

    fn observe_workflow(
        &mut self,
        run: usize,
        event: &LifecycleEvent,
        on: &mut dyn FnMut(Step<'_>),
    ) {
        let time = event.time;
        let outcome = match &event.kind {
            EventKind::WorkflowStarted => {
                let track = &mut self.runs[run];
                track.started = time;
                track.end = None;
                track
                    .nodes
                    .entry(Arc::from(ROOT))
                    .or_insert_with(|| Node::new(Arc::from(ROOT), None, time))
                    .started = time;
                on(Step::WorkflowStarted(&self.runs[run]));
                return;
            }
            EventKind::WorkflowCompleted { .. } => Outcome::Completed,
            EventKind::WorkflowFaulted { error } => Outcome::Faulted(error.clone()),
            _ => Outcome::Cancelled,
        };
        // A graceful end (`then: end`) completes the tasks it leaves; a fault or cancellation
        // interrupts them.
        let reason = match &outcome {
            Outcome::Completed => Outcome::Completed,
            other => other.clone(),
        };
        self.close_children(run, ROOT, &reason, time, on);
        let track = &mut self.runs[run];
        track.nodes.remove(ROOT);
        track.end = Some(RunEnd { at: time, outcome });
        on(Step::WorkflowFinished(&self.runs[run]));
    }

    /// The index of the event's run, creating its track on first sight.
    fn run_index(&mut self, identity: &Arc<RunIdentity>, time: DateTime<Utc>) -> usize {
        if let Some(index) = self.runs.iter().position(|track| {
            Arc::ptr_eq(&track.identity, identity) || track.identity.run_id == identity.run_id
        }) {
            return index;
        }
        let mut nodes = NodeMap::default();
        nodes.insert(Arc::from(ROOT), Node::new(Arc::from(ROOT), None, time));
        self.runs.push(RunTrack {
            identity: Arc::clone(identity),
            started: time,
            end: None,
            nodes,
        });
        self.runs.len() - 1
    }

    /// Opens a node for `task` under its `parent` (the workflow's root when it has none, or when
    /// that parent is not open: its events came before the workflow started or after it ended).
    fn begin(&mut self, run: usize, task: &Arc<str>, event: &LifecycleEvent, time: DateTime<Utc>) {
        let parent = event.parent.as_deref();
        let opened = self.opened;
        self.opened += 1;
        let loops = self
            .outline
            .as_ref()
            .and_then(|outline| outline.get(task))
            .is_some_and(|info| info.loops);
        let track = &mut self.runs[run];
        if !track.nodes.contains_key(ROOT) {
            // Task events after the workflow ended (or before it started): keep them visible.
            track
                .nodes
                .insert(Arc::from(ROOT), Node::new(Arc::from(ROOT), None, time));
        }
        let parent_key = parent
            .filter(|parent| track.nodes.contains_key(*parent))
            .unwrap_or(ROOT);
        let mut iteration = Vec::new();
        let mut parent_task = None;
        if let Some(parent) = track.nodes.get_mut(parent_key) {
            parent_task = Some(Arc::clone(&parent.task));
            parent.composite = true;
            // A retried task (a `try`) does not start again: its next attempt begins when its
            // first child does.
            parent.waiting_until = None;
            match &parent.first_child {
                None => {
                    parent.first_child = Some(Arc::clone(task));
                    parent.loop_index = 1;
                }
                Some(first) if first == task => {
                    parent.loop_index = parent.loop_index.saturating_add(1);
                    parent.loops = true;
                    parent.recent.clear();
                    parent.finished_children = 0;
                }
                Some(_) => {}
            }
            iteration.clone_from(&parent.iteration);
            if parent.loops {
                // `loop_index` counts iterations from 1; people read indexes from 0, as the
                // durable step names and `$index` (`for.at`) number them.
                iteration.push(parent.loop_index.saturating_sub(1));
            }
            parent.children.push(Arc::clone(task));
        }
        let mut node = Node::new(Arc::clone(task), parent_task, time);
        node.step.clone_from(&event.step);
        node.opened = opened;
        node.iteration = iteration;
        node.loops = loops;
        track.nodes.insert(Arc::clone(task), node);
    }

    /// Ends `task`: its open children first, then the task itself.
    fn finish(
        &mut self,
        run: usize,
        task: &str,
        outcome: Outcome,
        time: DateTime<Utc>,
        on: &mut dyn FnMut(Step<'_>),
    ) {
        let reason = match &outcome {
            Outcome::Faulted(error) => Outcome::Faulted(error.clone()),
            _ => Outcome::Cancelled,
        };
        self.close_children(run, task, &reason, time, on);
        let keep_recent = self.keep_recent;
        let track = &mut self.runs[run];
        let Some(node) = track.nodes.remove(task) else {
            return;
        };
        let duration = between(node.started, time);
        if let Some(parent) = node
            .parent
            .as_ref()
            .and_then(|key| track.nodes.get_mut(key))
        {
            if let Some(position) = parent.children.iter().position(|c| **c == *node.task) {
                parent.children.remove(position);
            }
            parent.finished_children += 1;
            if keep_recent > 0 {
                if parent.recent.len() >= keep_recent {
                    parent.recent.pop_front();
                }
                parent.recent.push_back(Finished {
                    task: Arc::clone(&node.task),
                    outcome: outcome.clone(),
                    duration,
                    iterations: node.loops.then_some(node.loop_index),
                });
            }
        }
        on(Step::TaskFinished(Execution {
            run: Arc::clone(&track.identity),
            task: node.task,
            parent: node.parent,
            step: node.step,
            opened: node.opened,
            body_started: node.body_started,
            iteration: node.iteration,
            started: node.started,
            ended: time,
            outcome,
            retries: node.retries,
            composite: node.composite,
            log: node.log,
            recovered_by: None,
        }));
    }

    /// Ends the open children of `task` that the engine did not end itself. A fault ends the
    /// child it came from as faulted; the others were interrupted.
    fn close_children(
        &mut self,
        run: usize,
        task: &str,
        reason: &Outcome,
        time: DateTime<Utc>,
        on: &mut dyn FnMut(Step<'_>),
    ) {
        loop {
            // Popped here so that a child missing from the index cannot loop forever.
            let Some(child) = self.runs[run]
                .nodes
                .get_mut(task)
                .and_then(|node| node.children.pop())
            else {
                return;
            };
            let outcome = match reason {
                Outcome::Faulted(error)
                    if error
                        .instance
                        .as_deref()
                        .is_some_and(|instance| is_within(instance, &child)) =>
                {
                    Outcome::Faulted(error.clone())
                }
                Outcome::Completed => Outcome::Completed,
                _ => Outcome::Cancelled,
            };
            self.finish(run, &child, outcome, time, on);
        }
    }

    /// Records the last output line of a running `run` task (a hook for when the event stream
    /// carries process output).
    pub fn set_last_line(&mut self, run_id: &str, task: &str, line: &str) {
        if let Some(node) = self.node_mut(run_id, task) {
            node.last_line = Some(line.to_string());
        }
    }

    /// Records how many iterations a loop will run (a hook for when the engine tells).
    pub fn set_loop_total(&mut self, run_id: &str, task: &str, total: u64) {
        if let Some(node) = self.node_mut(run_id, task) {
            node.loop_total = Some(total);
            node.loops = true;
        }
    }

    fn node_mut(&mut self, run_id: &str, task: &str) -> Option<&mut Node> {
        self.runs
            .iter_mut()
            .find(|track| track.identity.run_id == run_id)
            .and_then(|track| track.nodes.get_mut(task))
    }
}

/// Whether pointer `inner` is `outer` or lies inside it.
pub fn is_within(inner: &str, outer: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ErrorKind;
    use crate::report::script::{Script, error_at, eventful_run};

    /// Every finished execution, as `label outcome duration-ms`.
    fn executions(script: &Script, outline: Option<Outline>) -> Vec<String> {
        let mut tracker = Tracker::new(outline.map(Arc::new), 0);
        let mut out = Vec::new();
        for event in script.events() {
            tracker.observe(&event, &mut |step| {
                if let Step::TaskFinished(execution) = step {
                    out.push(format!(
                        "{} {} {}ms{}",
                        execution.label(),
                        execution.outcome.word(),
                        execution.duration().as_millis(),
                        if execution.retries.is_empty() {
                            String::new()
                        } else {
                            format!(" retries={}", execution.retries.len())
                        }
                    ));
                }
            });
        }
        out
    }

    #[test]
    fn executions_carry_nesting_iterations_and_retries() {
        assert_eq!(
            executions(&eventful_run(), None),
            vec![
                "/do/0/fetch completed 3699ms retries=2",
                "/do/1/check skipped 0ms",
                "/do/2/each/do/0/add completed 7ms",
                "/do/2/each/do/0/add [1] completed 49ms",
                "/do/2/each completed 59ms",
                "/do/3/both/fork/branches/1/right completed 499ms",
                "/do/3/both/fork/branches/0/left completed 1299ms",
                "/do/3/both completed 1301ms",
                "/do/4/upload faulted 700ms",
            ]
        );
    }

    #[test]
    fn an_outline_labels_the_first_iteration_too() {
        let mut outline = Outline::default();
        outline.insert("/do/2/each", "for", true);
        let found = executions(&eventful_run(), Some(outline));
        assert_eq!(found[2], "/do/2/each/do/0/add [0] completed 7ms");
        assert_eq!(found[3], "/do/2/each/do/0/add [1] completed 49ms");
    }

    #[test]
    fn nested_loops_give_an_iteration_path() {
        let mut s = Script::new("nested");
        s.workflow_started(0).started(1, "/do/0/rows");
        for outer in 0..2 {
            let base = 2 + outer * 100;
            s.started(base, "/do/0/rows/do/0/cols");
            for inner in 0..2 {
                let t = base + 1 + inner * 10;
                s.started(t, "/do/0/rows/do/0/cols/do/0/cell")
                    .completed(t + 1, "/do/0/rows/do/0/cols/do/0/cell");
            }
            s.completed(base + 50, "/do/0/rows/do/0/cols");
        }
        s.completed(300, "/do/0/rows");
        let mut outline = Outline::default();
        outline.insert("/do/0/rows", "for", true);
        outline.insert("/do/0/rows/do/0/cols", "for", true);
        let cells: Vec<_> = executions(&s, Some(outline))
            .into_iter()
            .filter(|line| line.contains("cell"))
            .collect();
        assert_eq!(
            cells,
            vec![
                "/do/0/rows/do/0/cols/do/0/cell [0][0] completed 1ms",
                "/do/0/rows/do/0/cols/do/0/cell [0][1] completed 1ms",
                "/do/0/rows/do/0/cols/do/0/cell [1][0] completed 1ms",
                "/do/0/rows/do/0/cols/do/0/cell [1][1] completed 1ms",
            ]
        );
    }

    #[test]
    fn a_fault_closes_open_children_and_blames_the_one_it_came_from() {
        let mut s = Script::new("fault");
        let error = error_at(
            ErrorKind::Timeout,
            "Timed out",
            "/do/0/both/fork/branches/0/slow",
        );
        s.workflow_started(0)
            .started(1, "/do/0/both")
            .started(2, "/do/0/both/fork/branches/0/slow")
            .started(2, "/do/0/both/fork/branches/1/other")
            .workflow_faulted(500, error);
        let found = executions(&s, None);
        assert_eq!(
            found,
            vec![
                "/do/0/both/fork/branches/1/other cancelled 498ms",
                "/do/0/both/fork/branches/0/slow faulted 498ms",
                "/do/0/both faulted 499ms",
            ]
        );
    }

    #[test]
    fn a_cancelled_run_cancels_what_was_open() {
        let mut s = Script::new("stop");
        s.workflow_started(0)
            .started(1, "/do/0/a")
            .started(2, "/do/0/a/do/0/b")
            .cancelled(10, "/do/0/a/do/0/b")
            .workflow_cancelled(11);
        assert_eq!(
            executions(&s, None),
            vec!["/do/0/a/do/0/b cancelled 8ms", "/do/0/a cancelled 10ms"]
        );
    }

    #[test]
    fn end_events_without_a_start_are_instant_executions() {
        let mut s = Script::new("bare");
        s.skipped(5, "/do/0/a").completed(7, "/do/1/b");
        assert_eq!(
            executions(&s, None),
            vec!["/do/0/a skipped 0ms", "/do/1/b completed 0ms"]
        );
    }

    #[test]
    fn retried_children_start_a_new_attempt_not_an_iteration() {
        let mut s = Script::new("try");
        let error = error_at(ErrorKind::Runtime, "flaky", "/do/0/t/try/0/call");
        s.workflow_started(0)
            .started(1, "/do/0/t")
            .started(2, "/do/0/t/try/0/call")
            .faulted(3, "/do/0/t/try/0/call", error.clone())
            .retried(4, "/do/0/t", 1, 10, error)
            .started(15, "/do/0/t/try/0/call")
            .completed(16, "/do/0/t/try/0/call")
            .completed(17, "/do/0/t");
        let mut tracker = Tracker::new(None, 0);
        let mut waiting = Vec::new();
        for event in s.events() {
            tracker.observe(&event, &mut |_| {});
            let node = tracker.runs()[0].node("/do/0/t");
            waiting.push(node.is_some_and(|n| n.waiting_until.is_some()));
        }
        // Waiting from the retry (event 8) until the child's next start (event 10).
        assert_eq!(waiting.iter().filter(|w| **w).count(), 2, "{waiting:?}");
        assert_eq!(
            executions(&s, None),
            vec![
                "/do/0/t/try/0/call faulted 1ms",
                "/do/0/t/try/0/call completed 1ms",
                "/do/0/t completed 16ms retries=1",
            ]
        );
    }

    #[test]
    fn display_state_keeps_recent_children_and_counts_the_rest() {
        let mut s = Script::new("list");
        s.workflow_started(0);
        for i in 0..5 {
            let task = format!("/do/{i}/t{i}");
            s.started(i * 10, &task).completed(i * 10 + 5, &task);
        }
        s.started(60, "/do/5/t5");
        let mut tracker = Tracker::new(None, 2);
        for event in s.events() {
            tracker.observe(&event, &mut |_| {});
        }
        let root = tracker.runs()[0].root().expect("root open");
        assert_eq!(root.finished_children, 5);
        let recent: Vec<_> = root.recent.iter().map(|f| f.task.to_string()).collect();
        assert_eq!(recent, vec!["/do/3/t3", "/do/4/t4"]);
        assert_eq!(root.children.len(), 1);
        assert!(root.composite);
    }

    #[test]
    fn nesting_is_the_parent_the_events_name_not_a_pointer_prefix() {
        // A remote function's task has its own document's pointer, unrelated to its caller's.
        let mut s = Script::new("function");
        s.workflow_started(0).started(1, "/do/0/call");
        s.push_within(2, "/do/0/greet", Some("/do/0/call"), EventKind::TaskStarted);
        s.push_within(3, "/do/1/later", None, EventKind::TaskStarted);
        let mut tracker = Tracker::new(None, 0);
        for event in s.events() {
            tracker.observe(&event, &mut |_| {});
        }
        let track = &tracker.runs()[0];
        let children = |task: &str| -> Vec<String> {
            track
                .node(task)
                .map(|node| node.children.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default()
        };
        assert_eq!(children("/do/0/call"), ["/do/0/greet"]);
        assert_eq!(children(""), ["/do/0/call", "/do/1/later"]);
    }

    #[test]
    fn pointer_containment_respects_token_boundaries() {
        assert!(is_within("/do/0/a/do/1/b", "/do/0/a"));
        assert!(is_within("/do/0/a", "/do/0/a"));
        assert!(!is_within("/do/0/ab", "/do/0/a"));
    }

    #[test]
    fn a_replayed_completion_is_its_own_outcome() {
        let found = executions(&crate::report::script::resumed_run(), None);
        assert_eq!(
            found,
            vec![
                "/do/0/fetch replayed 0ms",
                "/do/2/each/do/0/add replayed 0ms",
                "/do/2/each/do/0/add [1] completed 20ms",
                "/do/2/each completed 23ms",
                "/do/4/upload completed 100ms",
            ]
        );
    }
}
