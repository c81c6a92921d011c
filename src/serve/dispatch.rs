//! The runs of a server: each is recorded in the journal the moment it is asked for (so a
//! queued run survives a restart), waits for a slot (`--max-concurrent-runs`), then runs on the
//! hosted runner under its recorded id. New runs, resumes (asked for, or of runs a killed
//! server left) and retries all go through the same queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::catalog::Loaded;
use super::metrics::{Metrics, TaskTimer};
use crate::host::Executors;
use crate::journal::{Journal, JournalError, Relation, RunStatus};
use crate::problem::{ErrorKind, WorkflowError};
use crate::runner::hosted::{HostedRun, run_hosted};
use crate::runner::journal::{StartError, number_tasks, record_new, recorded_events};
use crate::runtime::retry_point::{RetryPointError, retry_point};
use crate::runtime::{Outcome, Replay};
use crate::secrets::Redactor;

/// How runs are made.
pub(crate) struct Settings {
    pub secrets: Vec<std::path::PathBuf>,
    pub max_steps: u64,
    pub max_concurrent: usize,
}

/// Why a run could not be started, resumed, retried or cancelled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DispatchError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    RetryPoint(#[from] RetryPointError),
    #[error("the server is stopping and starts no new run")]
    Stopping,
    #[error("{0}")]
    Conflict(String),
}

/// A run the server took: its id, where it stands, and its end (the `run --format json`
/// object) once it is over.
pub(crate) struct Admitted {
    pub id: String,
    pub done: watch::Receiver<Option<Value>>,
}

struct Live {
    cancel: CancellationToken,
    running: bool,
}

struct Job {
    id: String,
    loaded: Arc<Loaded>,
    input: Value,
    replay: Option<Arc<Replay>>,
}

/// The server's runs.
pub(crate) struct Dispatcher {
    journal: Mutex<Journal>,
    executors: Executors,
    settings: Settings,
    /// Every `WORKFLOW_SECRET_*` value, masked in every run.
    provided: Vec<Value>,
    slots: Arc<Semaphore>,
    live: Mutex<HashMap<String, Live>>,
    pub(crate) metrics: Arc<Metrics>,
    stop: CancellationToken,
    running: AtomicUsize,
    idle: Notify,
}

impl Dispatcher {
    pub(crate) fn new(journal: Journal, executors: Executors, settings: Settings) -> Dispatcher {
        let slots = Arc::new(Semaphore::new(settings.max_concurrent.max(1)));
        Dispatcher {
            journal: Mutex::new(journal),
            executors,
            settings,
            provided: crate::secrets::provided_values(),
            slots,
            live: Mutex::new(HashMap::new()),
            metrics: Arc::new(Metrics::default()),
            stop: CancellationToken::new(),
            running: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// The journal, for reading runs back (and for the schedule's lease).
    pub(crate) fn journal(&self) -> MutexGuard<'_, Journal> {
        match self.journal.lock() {
            Ok(journal) => journal,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn live(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        match self.live.lock() {
            Ok(live) => live,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// `queued` or `running` for a run this server holds; `None` for any other.
    pub(crate) fn live_status(&self, id: &str) -> Option<&'static str> {
        self.live()
            .get(id)
            .map(|live| if live.running { "running" } else { "queued" })
    }

    /// A new run of `loaded` on `input`; a retry names the run it retries and what it replays.
    pub(crate) fn start(
        self: &Arc<Self>,
        loaded: Arc<Loaded>,
        input: Value,
        retry: Option<(String, Replay)>,
    ) -> Result<Admitted, DispatchError> {
        if self.stop.is_cancelled() {
            return Err(DispatchError::Stopping);
        }
        let (parent, replay) = match retry {
            Some((parent, replay)) => (Some((parent, Relation::Retry)), Some(Arc::new(replay))),
            None => (None, None),
        };
        let recorder = record_new(
            &self.journal(),
            parent,
            &loaded.path,
            &loaded.document,
            loaded.hash.clone(),
            &input,
        )?;
        let id = recorder.run_id().to_owned();
        // The row is what makes the run durable; its events are recorded once it runs.
        recorder.finish()?;
        Ok(self.admit(Job {
            id,
            loaded,
            input,
            replay,
        }))
    }

    /// Continues recorded run `id` (interrupted or cancelled) of `loaded`: its completed steps
    /// are replayed from the journal, the rest runs.
    pub(crate) fn resume(
        self: &Arc<Self>,
        id: &str,
        loaded: Arc<Loaded>,
    ) -> Result<Admitted, DispatchError> {
        if self.stop.is_cancelled() {
            return Err(DispatchError::Stopping);
        }
        if self.live_status(id).is_some() {
            return Err(DispatchError::Conflict(format!("run {id} is not over")));
        }
        let (record, events) = {
            let journal = self.journal();
            let record = journal.run(id)?;
            let events = recorded_events(&journal, &record.id)?;
            (record, events)
        };
        match record.status {
            RunStatus::Completed => {
                return Err(DispatchError::Conflict(format!(
                    "run {} already completed: there is nothing to resume",
                    record.id
                )));
            }
            RunStatus::Faulted => {
                return Err(DispatchError::Conflict(format!(
                    "run {} faulted: it is retried (POST .../retry), not resumed",
                    record.id
                )));
            }
            RunStatus::Running
                if !record.interrupted() && record.pid != Some(std::process::id()) =>
            {
                return Err(DispatchError::Conflict(format!(
                    "run {} is running in another process ({})",
                    record.id,
                    record.pid.unwrap_or_default()
                )));
            }
            _ => {}
        }
        if record.document_hash != loaded.hash {
            return Err(DispatchError::Conflict(format!(
                "the document {} changed since run {} started: replaying its steps on another \
                 document could take wrong turns; retry it instead",
                loaded.path.display(),
                record.id
            )));
        }
        let replay = Replay::from_events(&events);
        Ok(self.admit(Job {
            id: record.id,
            loaded,
            input: record.input,
            replay: Some(Arc::new(replay)),
        }))
    }

    /// A new run of recorded run `id` from `from` (default: its failed task), reusing what
    /// completed before it; `input` replaces the recorded input.
    pub(crate) fn retry(
        self: &Arc<Self>,
        id: &str,
        loaded: Arc<Loaded>,
        from: Option<&str>,
        input: Option<Value>,
    ) -> Result<Admitted, DispatchError> {
        let (record, events) = {
            let journal = self.journal();
            let record = journal.run(id)?;
            let events = recorded_events(&journal, &record.id)?;
            (record, events)
        };
        let point = retry_point(&loaded.machine, &record.id, &events, from)?;
        let input = input.unwrap_or(record.input);
        self.start(loaded, input, Some((record.id, point.replay)))
    }

    /// Cancels a queued or running run of this server.
    pub(crate) fn cancel(&self, id: &str) -> bool {
        match self.live().get(id) {
            Some(live) => {
                live.cancel.cancel();
                true
            }
            None => false,
        }
    }

    fn admit(self: &Arc<Self>, job: Job) -> Admitted {
        let (done_tx, done) = watch::channel(None);
        let cancel = CancellationToken::new();
        self.live().insert(
            job.id.clone(),
            Live {
                cancel: cancel.clone(),
                running: false,
            },
        );
        self.metrics.queued(1);
        let id = job.id.clone();
        let dispatcher = Arc::clone(self);
        tokio::spawn(async move {
            let end = dispatcher.drive(job, cancel).await;
            if let Some(end) = end {
                let _ = done_tx.send(Some(end));
            }
        });
        Admitted { id, done }
    }

    /// Waits for a slot, then runs the job; `None` when the server stopped first (the run
    /// stays in the journal, resumed by the next start).
    async fn drive(self: Arc<Self>, job: Job, cancel: CancellationToken) -> Option<Value> {
        let permit = tokio::select! {
            permit = Arc::clone(&self.slots).acquire_owned() => permit.ok(),
            () = self.stop.cancelled() => None,
        };
        self.metrics.queued(-1);
        let Some(_permit) = permit else {
            self.live().remove(&job.id);
            return None;
        };
        if let Some(live) = self.live().get_mut(&job.id) {
            live.running = true;
        }
        let workflow = job.loaded.key.to_string();
        self.metrics.started(&workflow);
        self.running.fetch_add(1, Ordering::SeqCst);
        let id = job.id.clone();
        let end = match self.run(job, cancel).await {
            Ok(end) => end,
            Err(error) => {
                let problem = WorkflowError::new(ErrorKind::Runtime, "The run could not start")
                    .with_detail(error.to_string());
                json!({"id": id, "status": "faulted", "error": problem.to_json()})
            }
        };
        let status = match end.get("status").and_then(Value::as_str) {
            Some("completed") => "completed",
            Some("cancelled") => "cancelled",
            _ => "faulted",
        };
        self.metrics.ended(&workflow, status);
        self.live().remove(&id);
        if self.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
        Some(end)
    }

    async fn run(&self, job: Job, cancel: CancellationToken) -> Result<Value, DispatchError> {
        let Job {
            id,
            loaded,
            input,
            replay,
        } = job;
        let recorder = self.journal().continue_run(&id, false)?;
        number_tasks(&recorder, &loaded.machine)?;
        let secrets =
            match crate::secrets::load(loaded.machine.secret_names(), &self.settings.secrets) {
                Ok(secrets) => secrets,
                Err(error) => {
                    // Recorded as the run's fault: the engine faults a run whose secret is missing.
                    let problem =
                        WorkflowError::new(ErrorKind::Configuration, "Secrets unavailable")
                            .with_detail(error.to_string());
                    let _ = recorder.finish();
                    return Ok(json!({"id": id, "status": "faulted", "error": problem.to_json()}));
                }
            };
        let redactor = Arc::new(Redactor::new(secrets.values().chain(self.provided.iter())));
        let timer = TaskTimer::new(loaded.key.to_string(), Arc::clone(&self.metrics));
        let result = run_hosted(HostedRun {
            machine: Arc::clone(&loaded.machine),
            file: loaded.path.clone(),
            input,
            recorder,
            replay,
            secrets,
            executors: self.executors.clone(),
            sinks: vec![Arc::new(timer)],
            redactor,
            cancel,
            max_steps: self.settings.max_steps,
        })
        .await;
        debug_assert!(!matches!(result.outcome, Outcome::Cancelled) || result.id == id);
        Ok(crate::runner::result_json(&result))
    }

    /// SIGTERM: no run starts any more; the running ones get `grace` to end. What is left is
    /// resumed by the next start (its journal says where it was).
    pub(crate) async fn shut_down(&self, grace: Duration) {
        self.stop.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        while self.running.load(Ordering::SeqCst) > 0 {
            let idle = self.idle.notified();
            if self.running.load(Ordering::SeqCst) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                break;
            }
        }
    }

    /// Runs still running now.
    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}
