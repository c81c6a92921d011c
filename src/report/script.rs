//! Synthetic event sequences for reporter tests: a run told event by event, at chosen times
//! (milliseconds after a fixed epoch) with predictable ids, so rendered output is stable.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::problem::{ErrorKind, WorkflowError};
use crate::runtime::event::{EventKind, EventSink, LifecycleEvent, RunIdentity};

/// The instant every script starts from: 2026-01-02 10:00:00 UTC.
pub(crate) fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 10, 0, 0)
        .single()
        .unwrap_or_default()
}

pub(crate) fn identity(name: &str, run_id: &str) -> Arc<RunIdentity> {
    Arc::new(RunIdentity {
        run_id: run_id.into(),
        qualified_name: format!("{name}.default:1.0.0"),
        namespace: "default".into(),
        name: name.into(),
        version: "1.0.0".into(),
    })
}

/// The pointer of the task that `task` runs inside, as the compiler records it: the longest
/// proper prefix ending in a task name, which follows a list index (`/do/2/each` for
/// `/do/2/each/do/0/add`). Scripts have no document to ask.
fn parent_of(task: &str) -> Option<&str> {
    let segments: Vec<(usize, &str)> = task
        .match_indices('/')
        .map(|(at, _)| at)
        .zip(task.split('/').skip(1))
        .collect();
    // A task name is a segment after a numeric one; the task's own name is the last segment.
    let names = segments.len().saturating_sub(1);
    (1..names)
        .rev()
        .find(|&i| segments[i - 1].1.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|i| segments.get(i + 1).map(|&(end, _)| &task[..end]))
}

/// An error as a task would raise it, with `instance` set to the task.
pub(crate) fn error_at(kind: ErrorKind, title: &str, task: &str) -> WorkflowError {
    WorkflowError::new(kind, title).at_instance(task)
}

pub(crate) struct Script {
    run: Arc<RunIdentity>,
    events: Vec<LifecycleEvent>,
}

impl Script {
    pub(crate) fn new(name: &str) -> Script {
        Script {
            run: identity(name, "run-1"),
            events: Vec::new(),
        }
    }

    pub(crate) fn with_run(run: Arc<RunIdentity>) -> Script {
        Script {
            run,
            events: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, ms: i64, task: Option<&str>, kind: EventKind) -> &mut Script {
        // Numbered, so scripted streams are the same on every run.
        let id = uuid::Uuid::from_u128(self.events.len() as u128 + 1);
        self.events.push(LifecycleEvent {
            id,
            time: epoch() + chrono::Duration::milliseconds(ms),
            run: Arc::clone(&self.run),
            task: task.map(Arc::from),
            parent: task.and_then(parent_of).map(Arc::from),
            step: None,
            kind,
        });
        self
    }

    /// An event of `task` that names its parent explicitly (the engine's word, whatever the
    /// pointers look like).
    pub(crate) fn push_within(
        &mut self,
        ms: i64,
        task: &str,
        parent: Option<&str>,
        kind: EventKind,
    ) -> &mut Script {
        self.push(ms, Some(task), kind);
        if let Some(last) = self.events.last_mut() {
            last.parent = parent.map(Arc::from);
        }
        self
    }

    pub(crate) fn workflow_started(&mut self, ms: i64) -> &mut Script {
        self.push(ms, None, EventKind::WorkflowStarted)
    }

    pub(crate) fn workflow_completed(&mut self, ms: i64) -> &mut Script {
        let output = crate::expr::Val::Null;
        self.push(ms, None, EventKind::WorkflowCompleted { output })
    }

    pub(crate) fn workflow_faulted(&mut self, ms: i64, error: WorkflowError) -> &mut Script {
        self.push(ms, None, EventKind::WorkflowFaulted { error })
    }

    pub(crate) fn workflow_cancelled(&mut self, ms: i64) -> &mut Script {
        self.push(ms, None, EventKind::WorkflowCancelled)
    }

    pub(crate) fn started(&mut self, ms: i64, task: &str) -> &mut Script {
        self.push(ms, Some(task), EventKind::TaskCreated);
        self.push(ms, Some(task), EventKind::TaskStarted)
    }

    pub(crate) fn completed(&mut self, ms: i64, task: &str) -> &mut Script {
        let output = crate::expr::Val::Null;
        self.push(ms, Some(task), EventKind::completed(output))
    }

    /// A step a resumed run took from the journal: only its completion, marked replayed.
    pub(crate) fn replayed(&mut self, ms: i64, task: &str) -> &mut Script {
        let kind = EventKind::TaskCompleted {
            output: crate::expr::Val::Null,
            next: crate::runtime::event::Next::Continue,
            replayed: true,
            masked: false,
        };
        self.push(ms, Some(task), kind)
    }

    pub(crate) fn faulted(&mut self, ms: i64, task: &str, error: WorkflowError) -> &mut Script {
        self.push(ms, Some(task), EventKind::TaskFaulted { error })
    }

    pub(crate) fn retried(
        &mut self,
        ms: i64,
        task: &str,
        attempt: u32,
        delay_ms: u64,
        error: WorkflowError,
    ) -> &mut Script {
        let delay = Duration::from_millis(delay_ms);
        let kind = EventKind::TaskRetried {
            attempt,
            delay,
            error,
        };
        self.push(ms, Some(task), kind)
    }

    pub(crate) fn skipped(&mut self, ms: i64, task: &str) -> &mut Script {
        self.push(ms, Some(task), EventKind::TaskSkipped)
    }

    pub(crate) fn cancelled(&mut self, ms: i64, task: &str) -> &mut Script {
        self.push(ms, Some(task), EventKind::TaskCancelled)
    }

    /// A `for` task's loop total (a live-view event).
    pub(crate) fn iterations(&mut self, ms: i64, task: &str, total: usize) -> &mut Script {
        self.push(ms, Some(task), EventKind::TaskIterations { total })
    }

    /// A line a `run` task printed on stdout.
    pub(crate) fn output(&mut self, ms: i64, task: &str, line: &str) -> &mut Script {
        self.output_on(
            ms,
            task,
            crate::host::effects::process::OutputStream::Stdout,
            line,
        )
    }

    /// A line a `run` task printed on `stream`.
    pub(crate) fn output_on(
        &mut self,
        ms: i64,
        task: &str,
        stream: crate::host::effects::process::OutputStream,
        line: &str,
    ) -> &mut Script {
        let line = line.to_string();
        self.push(ms, Some(task), EventKind::TaskOutput { stream, line })
    }

    pub(crate) fn events(&self) -> Vec<LifecycleEvent> {
        self.events.clone()
    }

    /// Sends every event to `sink`, in order.
    pub(crate) fn play(&self, sink: &dyn EventSink) {
        for event in &self.events {
            sink.emit(event.clone());
        }
    }
}

/// The run the reporter snapshots share: a fetch retried twice, a skipped check, a two-item
/// loop, a fork of two branches, and a final task that faults the workflow.
pub(crate) fn eventful_run() -> Script {
    let mut s = Script::new("pipeline");
    let unavailable = || {
        error_at(
            ErrorKind::Communication,
            "Service Unavailable",
            "/do/0/fetch",
        )
    };
    s.workflow_started(0)
        .started(1, "/do/0/fetch")
        .retried(120, "/do/0/fetch", 1, 1000, unavailable().with_status(503))
        .started(1120, "/do/0/fetch")
        .retried(1250, "/do/0/fetch", 2, 2000, unavailable().with_status(503))
        .started(3250, "/do/0/fetch")
        .completed(3700, "/do/0/fetch")
        .skipped(3701, "/do/1/check")
        .started(3702, "/do/2/each")
        .started(3703, "/do/2/each/do/0/add")
        .completed(3710, "/do/2/each/do/0/add")
        .started(3711, "/do/2/each/do/0/add")
        .completed(3760, "/do/2/each/do/0/add")
        .completed(3761, "/do/2/each")
        .started(3800, "/do/3/both")
        .started(3801, "/do/3/both/fork/branches/0/left")
        .started(3801, "/do/3/both/fork/branches/1/right")
        .completed(4300, "/do/3/both/fork/branches/1/right")
        .completed(5100, "/do/3/both/fork/branches/0/left")
        .completed(5101, "/do/3/both");
    let boom = error_at(ErrorKind::Runtime, "Upload failed", "/do/4/upload")
        .with_detail("exit code 2: permission denied <bucket> & \"quota\"");
    s.started(5200, "/do/4/upload")
        .faulted(5900, "/do/4/upload", boom.clone())
        .workflow_faulted(5901, boom);
    s
}

/// A resume of a run killed in the second iteration of a loop: `fetch` and the first `add` are
/// taken from the journal, the loop is entered again, the second `add` and `upload` execute.
pub(crate) fn resumed_run() -> Script {
    let mut s = Script::new("pipeline");
    s.workflow_started(0)
        .replayed(1, "/do/0/fetch")
        .started(2, "/do/2/each")
        .replayed(3, "/do/2/each/do/0/add")
        .started(4, "/do/2/each/do/0/add")
        .completed(24, "/do/2/each/do/0/add")
        .completed(25, "/do/2/each")
        .started(26, "/do/4/upload")
        .completed(126, "/do/4/upload")
        .workflow_completed(127);
    s
}

/// What the parser would say about the eventful run's document: `each` is a `for`.
pub(crate) fn eventful_outline() -> crate::report::outline::Outline {
    let mut outline = crate::report::outline::Outline::default();
    outline.insert("/do/0/fetch", "call http", false);
    outline.insert("/do/1/check", "wait", false);
    outline.insert("/do/2/each", "for", true);
    outline.insert("/do/2/each/do/0/add", "set", false);
    outline.insert("/do/3/both", "fork", false);
    outline.insert("/do/3/both/fork/branches/0/left", "run", false);
    outline.insert("/do/3/both/fork/branches/1/right", "run", false);
    outline.insert("/do/4/upload", "run", false);
    outline
}
