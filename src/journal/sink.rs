//! Recording a run: `Journal::begin_run` / `continue_run` write the run's row and start its
//! writer thread; the `Recorder` they return is the event sink the engine publishes to. The
//! engine's side of `emit` only moves the event into a bounded queue; `flushed()` may store it.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use chrono::Utc;
use futures::future::BoxFuture;
use rusqlite::{ErrorCode, params};
use serde_json::Value;
use tokio::sync::watch;

use super::error::JournalError;
use super::open::{Journal, connect};
use super::query::{Relation, RunStatus};
use super::queue::Queue;
use super::row::is_journaled;
use super::stamp;
use super::writer::{self, Writer};
use crate::runtime::event::{EventKind, EventSink, LifecycleEvent};

/// What the journal records about a run as it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStart {
    /// The run's id (`$workflow.id`), a UUID v7.
    pub run_id: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// The document's path, absolute so a resume from elsewhere finds it.
    pub document_path: String,
    /// [`super::document_hash`] of the document's bytes.
    pub document_hash: String,
    pub input: Value,
    /// The run this one was started from (`workflow retry`), and how.
    pub parent: Option<(String, Relation)>,
}

/// Records one run's events. Cheap to clone; every clone feeds the same writer. Call
/// [`Recorder::finish`] once the run is over.
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

struct Shared {
    run_id: String,
    queue: Arc<Queue>,
    /// Events the writer has committed.
    committed: watch::Receiver<u64>,
    writer: Arc<Mutex<Writer>>,
    thread: Mutex<Option<JoinHandle<Result<(), JournalError>>>>,
}

impl Drop for Shared {
    /// A recorder dropped without `finish` still lets its writer store what it has and end.
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("run_id", &self.shared.run_id)
            .finish()
    }
}

impl Journal {
    /// Records a new run (status `running`) and returns the sink for its events.
    pub fn begin_run(&self, start: RunStart) -> Result<Recorder, JournalError> {
        let inserted = self.connection.execute(
            "INSERT INTO runs (id, namespace, name, version, document_path, document_hash,
                               input, status, started_at, parent_id, relation, pid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8, ?9, ?10, ?11)",
            params![
                start.run_id,
                start.namespace,
                start.name,
                start.version,
                start.document_path,
                start.document_hash,
                start.input.to_string(),
                stamp(Utc::now()),
                start.parent.as_ref().map(|(id, _)| id),
                start.parent.as_ref().map(|(_, relation)| relation.as_str()),
                std::process::id(),
            ],
        );
        match inserted {
            Ok(_) => {}
            Err(error) if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                return Err(JournalError::Duplicate { id: start.run_id });
            }
            Err(error) => return Err(JournalError::sqlite(&self.path, error)),
        }
        let run = self.connection.last_insert_rowid();
        self.recorder(run, start.run_id, 1)
    }

    /// Records more of an existing run (a resume): its status goes back to `running` and new
    /// events follow the ones already stored. A completed run is refused, and so is a run that
    /// a live process records (unless `force`): see [`Journal::claim_run`].
    pub fn continue_run(&self, run_id: &str, force: bool) -> Result<Recorder, JournalError> {
        let run = self.run(run_id)?;
        self.claim_run(&run.id, force)?;
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        let (number, last): (i64, i64) = self
            .connection
            .query_row(
                "SELECT r.num,
                        (SELECT coalesce(max(last_seq), 0) FROM event_batches WHERE run = r.num)
                 FROM runs r WHERE r.id = ?1",
                [&run.id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(sqlite)?;
        self.recorder(number, run.id, last + 1)
    }

    /// Makes this process the one that records run `id`, atomically: inside one write
    /// transaction the run's row is read, and taken only when no live process holds it (its
    /// `pid` is gone: killed, crashed, or it ended the run) or `force` says that process is not
    /// this run. Two resumes started at the same moment are serialised by the transaction: the
    /// second finds the first's pid alive and gets [`JournalError::Claimed`].
    pub(crate) fn claim_run(&self, id: &str, force: bool) -> Result<(), JournalError> {
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        let me = std::process::id();
        self.connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(sqlite)?;
        let claimed = (|| {
            let (status, pid): (String, Option<i64>) = self
                .connection
                .query_row("SELECT status, pid FROM runs WHERE id = ?1", [id], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .map_err(sqlite)?;
            let holder = pid.and_then(|pid| u32::try_from(pid).ok());
            if status == RunStatus::Completed.as_str() {
                return Err(JournalError::Completed { id: id.to_string() });
            }
            if status == RunStatus::Running.as_str()
                && let Some(holder) = holder
                && holder != me
                && !force
                && super::query::process_alive(holder)
            {
                return Err(JournalError::Claimed {
                    id: id.to_string(),
                    pid: holder,
                });
            }
            self.connection
                .execute(
                    "UPDATE runs SET status = 'running', ended_at = NULL, output = NULL,
                                     error = NULL, pid = ?2
                     WHERE id = ?1 AND status = ?3 AND pid IS ?4",
                    params![id, me, status, pid],
                )
                .map_err(sqlite)
        })();
        match claimed {
            Ok(1) => self.connection.execute_batch("COMMIT").map_err(sqlite),
            Ok(_) => {
                let _ = self.connection.execute_batch("ROLLBACK");
                Err(JournalError::Writer(format!(
                    "run {id} changed while it was being claimed"
                )))
            }
            Err(error) => {
                let _ = self.connection.execute_batch("ROLLBACK");
                Err(error)
            }
        }
    }

    fn recorder(&self, run: i64, run_id: String, next_seq: i64) -> Result<Recorder, JournalError> {
        let connection = connect(&self.path, false)?;
        let queue = Arc::new(Queue::default());
        let (committed_tx, committed) = watch::channel(0u64);
        let writer = Writer::new(
            connection,
            self.path.clone(),
            (run, run_id.clone()),
            next_seq,
            committed_tx,
        );
        let writer = Arc::new(Mutex::new(writer));
        let thread = {
            let queue = queue.clone();
            let writer = writer.clone();
            std::thread::Builder::new()
                .name("journal-writer".into())
                .spawn(move || writer::run(&writer, &queue))
                .map_err(|error| JournalError::Writer(error.to_string()))?
        };
        Ok(Recorder {
            shared: Arc::new(Shared {
                run_id,
                queue,
                committed,
                writer,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }
}

impl Recorder {
    /// The id of the run being recorded.
    pub fn run_id(&self) -> &str {
        &self.shared.run_id
    }

    /// Numbers the run's task pointers (the compiled document's) before its first event, so
    /// each task's commit writes its events alone (see `Writer::number_tasks`).
    pub fn number_tasks(&self, pointers: &[Arc<str>]) -> Result<(), JournalError> {
        writer::lock(&self.shared.writer).number_tasks(pointers)
    }

    /// Cancels `stop` (the run's cancellation) as soon as the journal fails to store events, so
    /// the run goes no further than its last recorded step.
    pub fn stop_run_on_failure(&self, stop: tokio_util::sync::CancellationToken) {
        writer::lock(&self.shared.writer).stop_on_failure(stop);
    }

    /// Stops taking events, waits until everything received is stored (the run's row carries
    /// its final status, output or error from the workflow's last event) and reports the first
    /// failure of the writer. Later events are dropped; finishing again does nothing.
    pub fn finish(self) -> Result<(), JournalError> {
        self.shared.queue.close();
        let thread = self
            .shared
            .thread
            .lock()
            .ok()
            .and_then(|mut thread| thread.take());
        match thread {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(JournalError::Writer("it panicked".into()))),
            None => Ok(()),
        }
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: LifecycleEvent) {
        // A sub-workflow publishes under its own run id: it is one step of this run (its
        // `run: workflow` task), and its pointers would collide with this run's step names.
        // Output lines are kept from sub-workflows too (their table names the workflow).
        let own = event.run.run_id == self.shared.run_id;
        let output = matches!(event.kind, EventKind::TaskOutput { .. });
        if output || (own && is_journaled(&event.kind)) {
            // Refused only after `finish` or when the writer failed (`finish` reports why).
            self.shared.queue.push(event);
        }
    }

    /// Resolves when every event emitted before the call is committed; `None` when they
    /// already are. A writer that failed releases its waiters (`finish` reports the failure).
    ///
    /// When the writer thread is not storing, the caller stores the queue itself, here:
    /// handing the events over and waiting for the thread's answer costs two thread wake-ups,
    /// about as much as the commit (measured: 0.17 ms against 0.06 ms a task, for 200
    /// `run: shell` tasks). That blocks the caller's thread for one commit of the few events
    /// of a task or so (and, when the commit fills SQLite's log past its limit, for the
    /// checkpoint that follows: a few milliseconds every few hundred commits); a writer thread
    /// busy with a large batch is waited for asynchronously.
    fn flushed(&self) -> Option<BoxFuture<'static, ()>> {
        let target = self.shared.queue.accepted();
        let mut committed = self.shared.committed.clone();
        if *committed.borrow() >= target {
            return None;
        }
        if let Ok(mut writer) = self.shared.writer.try_lock() {
            writer.store_queued(&self.shared.queue);
            if writer.stopping() {
                // Not stored, and the run is being cancelled for it: the engine must not start
                // another step meanwhile, so this never resolves.
                return Some(Box::pin(std::future::pending()));
            }
            return None;
        }
        self.shared.queue.urge();
        Some(Box::pin(async move {
            let _ = committed.wait_for(|stored| *stored >= target).await;
        }))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::expr::from_json;
    use crate::problem::{ErrorKind, WorkflowError};
    use crate::runtime::event::{EventKind, RunIdentity};
    use serde_json::json;

    pub(crate) fn start(id: &str) -> RunStart {
        RunStart {
            run_id: id.into(),
            namespace: "ns".into(),
            name: "flow".into(),
            version: "1.0.0".into(),
            document_path: "flow.yaml".into(),
            document_hash: "ab".repeat(32),
            input: json!({"n": 1}),
            parent: None,
        }
    }

    fn identity(id: &str) -> Arc<RunIdentity> {
        RunIdentity::for_tests(id)
    }

    fn task(run: &Arc<RunIdentity>, kind: EventKind) -> LifecycleEvent {
        LifecycleEvent::new(run.clone(), Some("/do/0/a".into()), kind)
    }

    #[test]
    fn a_recorded_run_keeps_its_events_in_order_and_its_outcome() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let recorder = journal
            .begin_run(start("run-1"))
            .unwrap_or_else(|e| panic!("{e}"));
        let run = identity("run-1");
        recorder.emit(LifecycleEvent::new(
            run.clone(),
            None,
            EventKind::WorkflowStarted,
        ));
        recorder.emit(task(&run, EventKind::TaskStarted));
        recorder.emit(task(
            &run,
            EventKind::TaskOutput {
                stream: crate::host::effects::process::OutputStream::Stdout,
                line: "x".into(),
            },
        ));
        recorder.emit(task(
            &run,
            EventKind::completed(from_json(&json!({"b": 2}))),
        ));
        recorder.emit(LifecycleEvent::new(
            run,
            None,
            EventKind::WorkflowCompleted {
                output: from_json(&json!({"b": 2})),
            },
        ));
        recorder.clone().finish().unwrap_or_else(|e| panic!("{e}"));
        // Events after finishing are dropped, and finishing again is harmless.
        recorder.emit(task(&identity("run-1"), EventKind::TaskStarted));
        assert!(recorder.finish().is_ok());

        let events = journal.events("run-1").unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<_> = events
            .iter()
            .map(|e| (e.seq, e.kind.as_str(), e.task_event))
            .collect();
        assert_eq!(
            kinds,
            [
                (1, "started", false),
                (2, "started", true),
                (3, "completed", true),
                (4, "completed", false)
            ]
        );
        assert_eq!(events[2].data, json!({"output": {"b": 2}}));
        // The `events` view shows the compact rows as text, for the sqlite3 tool.
        let (id, time, task, data): (String, String, String, String) = journal
            .connection
            .query_row(
                "SELECT id, time, task, data FROM events WHERE run_id = 'run-1' AND seq = 3",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id, events[2].id);
        assert_eq!(time, crate::journal::stamp(events[2].time));
        assert_eq!(
            (task.as_str(), data.as_str()),
            ("/do/0/a", r#"{"output":{"b":2}}"#)
        );
        assert_eq!(events[1].data, json!({}));
        let record = journal.run("run-1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(record.status, RunStatus::Completed);
        assert_eq!(record.output, Some(json!({"b": 2})));
        assert_eq!(record.input, json!({"n": 1}));
        assert_eq!(record.pid, Some(std::process::id()));
        assert!(record.ended_at.is_some_and(|end| end >= record.started_at));
    }

    #[test]
    fn continuing_a_run_appends_and_refuses_completed_runs() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let run = identity("run-2");
        let first = journal
            .begin_run(start("run-2"))
            .unwrap_or_else(|e| panic!("{e}"));
        first.emit(LifecycleEvent::new(
            run.clone(),
            None,
            EventKind::WorkflowStarted,
        ));
        first.emit(LifecycleEvent::new(
            run.clone(),
            None,
            EventKind::WorkflowFaulted {
                error: WorkflowError::new(ErrorKind::Runtime, "boom"),
            },
        ));
        first.finish().unwrap_or_else(|e| panic!("{e}"));
        let faulted = journal.run("run-2").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(faulted.status, RunStatus::Faulted);
        assert_eq!(
            faulted.error.as_ref().map(|e| e["title"].clone()),
            Some(json!("boom"))
        );

        let again = journal
            .continue_run("run-2", false)
            .unwrap_or_else(|e| panic!("{e}"));
        let running = journal.run("run-2").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((running.status, running.error), (RunStatus::Running, None));
        again.emit(LifecycleEvent::new(
            run,
            None,
            EventKind::WorkflowCompleted {
                output: from_json(&json!(7)),
            },
        ));
        again.finish().unwrap_or_else(|e| panic!("{e}"));
        let seqs: Vec<u64> = journal
            .events("run-2")
            .unwrap_or_default()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
        let error = journal.continue_run("run-2", false).err();
        assert!(
            matches!(error, Some(JournalError::Completed { .. })),
            "{error:?}"
        );
        let error = journal.begin_run(start("run-2")).err();
        assert!(
            matches!(error, Some(JournalError::Duplicate { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn callers_storing_for_themselves_keep_the_order_of_the_queue() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let recorder = journal
            .begin_run(start("run-4"))
            .unwrap_or_else(|e| panic!("{e}"));
        const THREADS: usize = 4;
        const EACH: usize = 300;
        // Engine threads and the writer thread store concurrently: flushes come every few
        // events, and a full batch never builds up, so most stores are the callers' own.
        let callers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let recorder = recorder.clone();
                std::thread::spawn(move || {
                    let run = identity("run-4");
                    let pointer: Arc<str> = format!("/do/{thread}/a").into();
                    for i in 0..EACH {
                        let output = from_json(&json!({"i": i}));
                        recorder.emit(LifecycleEvent::new(
                            run.clone(),
                            Some(pointer.clone()),
                            EventKind::completed(output),
                        ));
                        if i % 7 == 0
                            && let Some(wait) = recorder.flushed()
                        {
                            futures::executor::block_on(wait);
                        }
                    }
                })
            })
            .collect();
        for caller in callers {
            caller
                .join()
                .unwrap_or_else(|_| panic!("a caller panicked"));
        }
        recorder.finish().unwrap_or_else(|e| panic!("{e}"));
        let events = journal.events("run-4").unwrap_or_else(|e| panic!("{e}"));
        let seqs: Vec<u64> = events.iter().map(|event| event.seq).collect();
        let expected: Vec<u64> = (1..=(THREADS * EACH) as u64).collect();
        assert_eq!(seqs, expected, "every event once, numbered in order");
        for thread in 0..THREADS {
            let pointer = format!("/do/{thread}/a");
            let order: Vec<i64> = events
                .iter()
                .filter(|event| event.task.as_deref() == Some(pointer.as_str()))
                .filter_map(|event| event.data["output"]["i"].as_i64())
                .collect();
            let emitted: Vec<i64> = (0..EACH as i64).collect();
            assert_eq!(order, emitted, "{pointer}: stored in the order emitted");
        }
    }

    #[test]
    fn tasks_numbered_before_the_run_are_stored_under_their_numbers() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let tasks_stored = || -> Vec<(i64, String)> {
            let mut statement = journal
                .connection
                .prepare("SELECT num, pointer FROM tasks ORDER BY num")
                .unwrap_or_else(|e| panic!("{e}"));
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .and_then(Iterator::collect)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let pointers: Vec<Arc<str>> = vec!["/do/0/a".into(), "/do/1/b".into()];
        let first = journal
            .begin_run(start("run-5"))
            .unwrap_or_else(|e| panic!("{e}"));
        first
            .number_tasks(&pointers)
            .unwrap_or_else(|e| panic!("{e}"));
        let numbered = tasks_stored();
        assert_eq!(
            numbered,
            [(1, "/do/0/a".to_string()), (2, "/do/1/b".to_string())]
        );
        // A second run of the same document numbers nothing new; a pointer met only during
        // the run is numbered on first sight.
        let second = journal
            .begin_run(start("run-6"))
            .unwrap_or_else(|e| panic!("{e}"));
        let late: Arc<str> = "/do/2/c".into();
        second
            .number_tasks(&[pointers[1].clone(), pointers[0].clone()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tasks_stored(), numbered);
        let run = identity("run-6");
        for pointer in [&pointers[1], &late, &pointers[0]] {
            second.emit(LifecycleEvent::new(
                run.clone(),
                Some(pointer.clone()),
                EventKind::TaskStarted,
            ));
        }
        second.finish().unwrap_or_else(|e| panic!("{e}"));
        first.finish().unwrap_or_else(|e| panic!("{e}"));
        let stored: Vec<Option<String>> = journal
            .events("run-6")
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|event| event.task)
            .collect();
        assert_eq!(
            stored,
            [
                Some("/do/1/b".into()),
                Some("/do/2/c".into()),
                Some("/do/0/a".into())
            ]
        );
        assert_eq!(tasks_stored().last(), Some(&(3, "/do/2/c".to_string())));
    }

    #[test]
    fn flushed_waits_for_the_commit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let recorder = journal
            .begin_run(start("run-3"))
            .unwrap_or_else(|e| panic!("{e}"));
        let run = identity("run-3");
        for _ in 0..1000 {
            recorder.emit(task(&run, EventKind::TaskStarted));
        }
        if let Some(wait) = recorder.flushed() {
            futures::executor::block_on(wait);
        }
        // Everything emitted before the barrier is readable by another connection now.
        let count: i64 = journal
            .connection
            .query_row(
                "SELECT count(*) FROM events WHERE run_id = 'run-3'",
                [],
                |row| row.get(0),
            )
            .unwrap_or_default();
        assert_eq!(count, 1000);
        assert!(recorder.flushed().is_none());
        recorder.finish().unwrap_or_else(|e| panic!("{e}"));
    }
}
