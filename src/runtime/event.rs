//! The lifecycle events the engine emits, and their CloudEvents (structured mode) form.
//! Reporters, the `--events` file and the journal all consume this one stream.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::expr::{Val, to_json};
use crate::problem::WorkflowError;

/// Prefix of every workflow lifecycle event type.
const WORKFLOW_EVENT_PREFIX: &str = "io.serverlessworkflow.workflow.";
/// Prefix of every task lifecycle event type.
const TASK_EVENT_PREFIX: &str = "io.serverlessworkflow.task.";
/// The name of [`EventKind::ContextChanged`], the journal-only kind a stored event is told by.
pub const CONTEXT_CHANGED: &str = "contextChanged";
/// The name of [`EventKind::EventConsumed`], the journal-only record of an event a `listen`
/// consumed.
pub const EVENT_CONSUMED: &str = "eventConsumed";

/// What happened.
#[derive(Debug, Clone)]
pub enum EventKind {
    WorkflowStarted,
    WorkflowCompleted {
        output: Val,
    },
    WorkflowFaulted {
        error: WorkflowError,
    },
    WorkflowCancelled,
    TaskCreated,
    TaskStarted,
    /// The task completed with `output`; `next` is where the flow went from it, so a replay
    /// takes the same way; `replayed` marks a step a resumed or retried run did not execute
    /// again but took from the journal; `masked` says a secret's value was masked in `output`
    /// (by the secrets redactor), so a replay cannot reuse it. See [`EventKind::completed`].
    TaskCompleted {
        output: Val,
        next: Next,
        replayed: bool,
        masked: bool,
    },
    TaskFaulted {
        error: WorkflowError,
    },
    /// A retry policy is about to run the task again after `delay`; `attempt` counts from 1 for
    /// the first retry.
    TaskRetried {
        attempt: u32,
        delay: std::time::Duration,
        error: WorkflowError,
    },
    /// The task's `if` was false. Not a spec event: published under the spec's prefix as an
    /// extension because progress views and the journal need it.
    TaskSkipped,
    TaskCancelled,
    /// A `for` task evaluated `in`: it will run at most `total` iterations (`while` may stop it
    /// sooner). Live views only: never published (see [`LifecycleEvent::is_published`]).
    TaskIterations {
        total: usize,
    },
    /// A line a `run` task's process printed on `stream`, as it printed it (control characters
    /// included). For logs and live views: never published, and kept by the journal apart from
    /// the events (its `task_output` table), not replayed.
    TaskOutput {
        stream: crate::host::effects::process::OutputStream,
        line: String,
    },
    /// The task's `export.as` replaced `$context` with `context`. Journal only: a replay restores
    /// it; never published (see [`EventKind::is_journaled`]).
    ContextChanged {
        context: Val,
        /// A secret's value was masked in `context`: a replay cannot restore it.
        masked: bool,
    },
    /// A `listen` task consumed `event` (a CloudEvent, structured form). Journal only: it is
    /// recorded before the broker is acknowledged, and a resumed run feeds it to the listen
    /// again instead of waiting for it (see [`EventKind::is_journaled`]).
    EventConsumed {
        event: Val,
        /// A secret's value was masked in `event`.
        masked: bool,
        /// The broker's identity of the delivery (an AsyncAPI message's stream sequence or
        /// entry id): a copy redelivered after a crash is recognised by it.
        delivery: Option<String>,
    },
}

/// Where the flow went after a task: recorded on `TaskCompleted` for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The next task of the list (the default, left out of the event data).
    Continue,
    /// `then: exit`.
    Exit,
    /// `then: end`, or a nested task ended the workflow.
    End,
    /// `then: <name>`: the task of that name in the same list.
    Goto(Arc<str>),
}

impl Next {
    /// The `then` value: `exit`, `end` or the target's name; `None` for `continue`.
    pub fn directive(&self) -> Option<&str> {
        match self {
            Next::Continue => None,
            Next::Exit => Some("exit"),
            Next::End => Some("end"),
            Next::Goto(name) => Some(name),
        }
    }

    /// Reads back a recorded `then` (absent: `continue`). The directives are reserved words of
    /// the DSL, so no task named `end` can be a target.
    pub fn from_directive(then: Option<&str>) -> Next {
        match then {
            None | Some("continue") => Next::Continue,
            Some("exit") => Next::Exit,
            Some("end") => Next::End,
            Some(name) => Next::Goto(Arc::from(name)),
        }
    }
}

impl EventKind {
    /// A plain `TaskCompleted`: the flow continues with the next task.
    pub fn completed(output: Val) -> EventKind {
        EventKind::TaskCompleted {
            output,
            next: Next::Continue,
            replayed: false,
            masked: false,
        }
    }

    /// The event name inside the type (`io.serverlessworkflow.task.<name>.v1`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::WorkflowStarted | EventKind::TaskStarted => "started",
            EventKind::WorkflowCompleted { .. } | EventKind::TaskCompleted { .. } => "completed",
            EventKind::WorkflowFaulted { .. } | EventKind::TaskFaulted { .. } => "faulted",
            EventKind::WorkflowCancelled | EventKind::TaskCancelled => "cancelled",
            EventKind::TaskCreated => "created",
            EventKind::TaskRetried { .. } => "retried",
            EventKind::TaskSkipped => "skipped",
            EventKind::TaskIterations { .. } => "iterations",
            EventKind::TaskOutput { .. } => "output",
            EventKind::ContextChanged { .. } => CONTEXT_CHANGED,
            EventKind::EventConsumed { .. } => EVENT_CONSUMED,
        }
    }

    /// Whether the event belongs to the published CloudEvents stream. The live-view kinds are
    /// engine-internal: the `--events` file and the record reporters never see them.
    pub fn is_published(&self) -> bool {
        !matches!(
            self,
            EventKind::TaskIterations { .. }
                | EventKind::TaskOutput { .. }
                | EventKind::ContextChanged { .. }
                | EventKind::EventConsumed { .. }
        )
    }

    /// Whether the journal keeps the event: every published kind, and the journal-only
    /// `ContextChanged` and `EventConsumed` a replay needs.
    pub fn is_journaled(&self) -> bool {
        self.is_published()
            || matches!(
                self,
                EventKind::ContextChanged { .. } | EventKind::EventConsumed { .. }
            )
    }

    pub fn is_task_event(&self) -> bool {
        !matches!(
            self,
            EventKind::WorkflowStarted
                | EventKind::WorkflowCompleted { .. }
                | EventKind::WorkflowFaulted { .. }
                | EventKind::WorkflowCancelled
        )
    }

    /// The CloudEvents `type` attribute.
    pub fn type_name(&self) -> String {
        let prefix = if self.is_task_event() {
            TASK_EVENT_PREFIX
        } else {
            WORKFLOW_EVENT_PREFIX
        };
        format!("{prefix}{}.v1", self.name())
    }

    /// The name of the timestamp field in the payload (`startedAt`, `completedAt`, ...).
    fn time_field(&self) -> String {
        format!("{}At", self.name())
    }
}

/// Identity of the workflow run an event belongs to; shared by all of a run's events.
#[derive(Debug)]
pub struct RunIdentity {
    pub run_id: String,
    /// `{name}.{namespace}:{version}` (CHECKLIST decision 10).
    pub qualified_name: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
}

#[cfg(test)]
impl RunIdentity {
    /// The identity tests give run `run_id`: workflow `flow`, namespace `ns`, version 1.0.0.
    pub(crate) fn for_tests(run_id: &str) -> Arc<RunIdentity> {
        Arc::new(RunIdentity {
            run_id: run_id.into(),
            qualified_name: "flow.ns:1.0.0".into(),
            namespace: "ns".into(),
            name: "flow".into(),
            version: "1.0.0".into(),
        })
    }
}

impl RunIdentity {
    /// `namespace/name:version`: the workflow's name in everything a person reads (summaries,
    /// plain lines, the live tree, JUnit, `runs`); events keep [`RunIdentity::qualified_name`].
    pub fn display_name(&self) -> String {
        format!("{}/{}:{}", self.namespace, self.name, self.version)
    }

    /// The CloudEvents `source`: a URI reference naming this run.
    pub fn source(&self) -> String {
        format!(
            "/workflows/{}/{}/{}/runs/{}",
            self.namespace, self.name, self.version, self.run_id
        )
    }
}

/// One lifecycle event.
#[derive(Debug, Clone)]
pub struct LifecycleEvent {
    /// The CloudEvent `id`, a UUID v7. Kept as the UUID itself: its text is only written when a
    /// consumer needs it, not on the engine's thread for every event.
    pub id: uuid::Uuid,
    pub time: DateTime<Utc>,
    pub run: Arc<RunIdentity>,
    /// JSON pointer of the task, for task events.
    pub task: Option<Arc<str>>,
    /// JSON pointer of the task it runs inside, on the events that start or end a task
    /// execution (`None` for a top-level task, for workflow events and for the annotations of a
    /// running task: its output lines, iterations, consumed events and context changes).
    pub parent: Option<Arc<str>>,
    /// The durable step this task event belongs to: one name per task execution (its pointer
    /// and loop iteration), stable across a resume. `None` for workflow events.
    pub step: Option<Arc<str>>,
    pub kind: EventKind,
}

impl LifecycleEvent {
    /// See [`EventKind::is_published`].
    pub fn is_published(&self) -> bool {
        self.kind.is_published()
    }

    /// See [`EventKind::is_journaled`].
    pub fn is_journaled(&self) -> bool {
        self.kind.is_journaled()
    }

    /// The event stamped with its durable step name.
    pub fn at_step(mut self, step: Option<Arc<str>>) -> Self {
        self.step = step;
        self
    }

    /// The event stamped with the pointer of its task's parent.
    pub fn within(mut self, parent: Option<Arc<str>>) -> Self {
        self.parent = parent;
        self
    }

    /// An event at `time` with the CloudEvent id `id` (both from the host).
    pub fn stamped(
        time: DateTime<Utc>,
        id: uuid::Uuid,
        run: Arc<RunIdentity>,
        task: Option<Arc<str>>,
        kind: EventKind,
    ) -> Self {
        LifecycleEvent {
            id,
            time,
            run,
            task,
            parent: None,
            step: None,
            kind,
        }
    }

    /// An event stamped now by the local host's clock and ids (tests of the consumers).
    #[cfg(test)]
    pub fn new(run: Arc<RunIdentity>, task: Option<Arc<str>>, kind: EventKind) -> Self {
        use crate::host::Ids as _;
        let time = Utc::now();
        let id = crate::host::RandomIds.event_id(time);
        Self::stamped(time, id, run, task, kind)
    }

    /// The event in CloudEvents 1.0 structured JSON form.
    pub fn to_cloudevent(&self) -> Value {
        let time = self.time.to_rfc3339_opts(SecondsFormat::Micros, true);
        let mut data = Map::new();
        if self.kind.is_task_event() {
            data.insert("workflow".into(), json!(self.run.qualified_name));
            data.insert("task".into(), json!(self.task.as_deref().unwrap_or("")));
        } else {
            data.insert("name".into(), json!(self.run.qualified_name));
        }
        data.insert(self.kind.time_field(), json!(time));
        match &self.kind {
            EventKind::WorkflowStarted => {
                data.insert(
                    "definition".into(),
                    json!({
                        "namespace": self.run.namespace,
                        "name": self.run.name,
                        "version": self.run.version,
                    }),
                );
            }
            EventKind::WorkflowCompleted { output } => {
                data.insert("output".into(), to_json(output));
            }
            EventKind::TaskCompleted {
                output,
                next,
                replayed,
                masked,
            } => {
                data.insert("output".into(), to_json(output));
                // Not in the spec's data: what a replay needs, only when it says something.
                if let Some(then) = next.directive() {
                    data.insert("then".into(), json!(then));
                }
                if *replayed {
                    data.insert("replayed".into(), json!(true));
                }
                if *masked {
                    data.insert("masked".into(), json!(true));
                }
            }
            EventKind::ContextChanged { context, masked } => {
                data.insert("context".into(), to_json(context));
                if *masked {
                    data.insert("masked".into(), json!(true));
                }
            }
            EventKind::EventConsumed {
                event,
                masked,
                delivery,
            } => {
                data.insert("event".into(), to_json(event));
                if let Some(delivery) = delivery {
                    data.insert("delivery".into(), json!(delivery));
                }
                if *masked {
                    data.insert("masked".into(), json!(true));
                }
            }
            EventKind::WorkflowFaulted { error } | EventKind::TaskFaulted { error } => {
                data.insert("error".into(), error.to_json());
            }
            EventKind::TaskRetried {
                attempt,
                delay,
                error,
            } => {
                data.insert("attempt".into(), json!(attempt));
                data.insert("delay".into(), json!(delay.as_secs_f64()));
                data.insert("error".into(), error.to_json());
            }
            _ => {}
        }
        let mut event = json!({
            "specversion": "1.0",
            "id": self.id.hyphenated().to_string(),
            "source": self.run.source(),
            "type": self.kind.type_name(),
            "time": time,
            "datacontenttype": "application/json",
        });
        if let (Some(task), Value::Object(object)) = (&self.task, &mut event) {
            object.insert("subject".into(), json!(task.as_ref()));
        }
        if let Value::Object(object) = &mut event {
            object.insert("data".into(), Value::Object(data));
        }
        event
    }
}

/// Where the engine sends its events. The engine builds an event only when `enabled()` says
/// someone listens, so an unobserved run pays nothing for them.
pub trait EventSink: Send + Sync {
    fn enabled(&self) -> bool {
        true
    }
    fn emit(&self, event: LifecycleEvent);
    /// Resolves once every event emitted so far is durable (the journal committed it). The
    /// engine awaits it after a task with side effects completes, so that task's output is
    /// on disk before the next task starts. Sinks that keep nothing return `None`.
    fn flushed(&self) -> Option<BoxFuture<'static, ()>> {
        None
    }
}

/// A sink that wants nothing.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn enabled(&self) -> bool {
        false
    }
    fn emit(&self, _event: LifecycleEvent) {}
}

/// Fans one stream out to several sinks (e.g. the `--events` file and the progress view).
pub struct EventFanout(pub Vec<Arc<dyn EventSink>>);

impl EventSink for EventFanout {
    fn enabled(&self) -> bool {
        self.0.iter().any(|sink| sink.enabled())
    }
    fn emit(&self, event: LifecycleEvent) {
        let listening: Vec<_> = self.0.iter().filter(|sink| sink.enabled()).collect();
        if let Some((last, rest)) = listening.split_last() {
            for sink in rest {
                sink.emit(event.clone());
            }
            last.emit(event);
        }
    }
    fn flushed(&self) -> Option<BoxFuture<'static, ()>> {
        let waits: Vec<_> = self.0.iter().filter_map(|sink| sink.flushed()).collect();
        if waits.is_empty() {
            return None;
        }
        Some(Box::pin(async move {
            futures::future::join_all(waits).await;
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Arc<RunIdentity> {
        RunIdentity::for_tests("r1")
    }

    #[test]
    fn task_events_carry_the_task_pointer_and_qualified_name() {
        let event = LifecycleEvent::new(
            identity(),
            Some("/do/0/greet".into()),
            EventKind::TaskStarted,
        );
        let ce = event.to_cloudevent();
        assert_eq!(ce["type"], "io.serverlessworkflow.task.started.v1");
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(ce["source"], "/workflows/ns/flow/1.0.0/runs/r1");
        assert_eq!(ce["data"]["task"], "/do/0/greet");
        assert_eq!(ce["data"]["workflow"], "flow.ns:1.0.0");
        assert!(ce["data"]["startedAt"].is_string());
        let id = uuid::Uuid::parse_str(ce["id"].as_str().unwrap_or_default()).expect("a UUID");
        assert_eq!(id, event.id);
        assert_eq!(id.get_version_num(), 7);
        let (seconds, _) = id.get_timestamp().expect("v7 has a timestamp").to_unix();
        assert_eq!(seconds, event.time.timestamp().unsigned_abs());
    }

    #[test]
    fn workflow_events_carry_definition_and_error() {
        let started =
            LifecycleEvent::new(identity(), None, EventKind::WorkflowStarted).to_cloudevent();
        assert_eq!(started["type"], "io.serverlessworkflow.workflow.started.v1");
        assert_eq!(started["data"]["definition"]["namespace"], "ns");
        let error = crate::problem::WorkflowError::new(crate::problem::ErrorKind::Runtime, "boom");
        let faulted = LifecycleEvent::new(identity(), None, EventKind::WorkflowFaulted { error })
            .to_cloudevent();
        assert_eq!(faulted["data"]["error"]["status"], 500);
        assert!(faulted["data"]["faultedAt"].is_string());
    }

    #[test]
    fn only_the_live_view_kinds_are_unpublished() {
        let live = [
            EventKind::TaskIterations { total: 3 },
            EventKind::TaskOutput {
                stream: crate::host::effects::process::OutputStream::Stdout,
                line: "hello".into(),
            },
        ];
        for kind in live {
            assert!(!LifecycleEvent::new(identity(), None, kind).is_published());
        }
        assert!(EventKind::TaskStarted.is_published());
        assert!(EventKind::WorkflowCancelled.is_published());
        assert!(EventKind::TaskIterations { total: 1 }.is_task_event());
    }

    #[test]
    fn context_changes_are_journaled_but_not_published() {
        let changed = EventKind::ContextChanged {
            context: crate::expr::from_json(&json!({"token": "t"})),
            masked: false,
        };
        assert!(!changed.is_published());
        assert!(changed.is_journaled());
        assert!(
            !EventKind::TaskOutput {
                stream: crate::host::effects::process::OutputStream::Stdout,
                line: "x".into()
            }
            .is_journaled()
        );
        assert!(EventKind::TaskSkipped.is_journaled());
        let event = LifecycleEvent::new(identity(), Some("/do/0/a".into()), changed)
            .at_step(Some("/do/0/a#2".into()));
        assert_eq!(event.step.as_deref(), Some("/do/0/a#2"));
        let ce = event.to_cloudevent();
        assert_eq!(ce["type"], "io.serverlessworkflow.task.contextChanged.v1");
        assert_eq!(ce["data"]["context"], json!({"token": "t"}));
    }

    #[test]
    fn completed_tasks_record_their_way_on_only_when_it_says_something() {
        let completed = |next: Next, replayed: bool| {
            let kind = EventKind::TaskCompleted {
                output: crate::expr::Val::from(1_usize),
                next,
                replayed,
                masked: replayed,
            };
            LifecycleEvent::new(identity(), Some("/do/0/a".into()), kind).to_cloudevent()["data"]
                .clone()
        };
        let plain = completed(Next::Continue, false);
        assert_eq!(plain["output"], 1);
        assert!(plain.get("then").is_none() && plain.get("replayed").is_none());
        assert!(plain.get("masked").is_none());
        let jumped = completed(Next::Goto("retry".into()), true);
        assert_eq!(jumped["then"], "retry");
        assert_eq!(jumped["replayed"], true);
        assert_eq!(jumped["masked"], true);
        assert_eq!(completed(Next::End, false)["then"], "end");
        for next in [
            Next::Continue,
            Next::Exit,
            Next::End,
            Next::Goto("x".into()),
        ] {
            assert_eq!(Next::from_directive(next.directive()), next);
        }
    }
}
