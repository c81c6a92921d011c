//! The writer of one recorded run: it takes the events the engine queued, turns them into rows
//! and stores whatever has arrived in one transaction (one `event_batches` row), then tells
//! waiters how far the journal is durable. One commit per batch, not per event, is what keeps a
//! 100,000-iteration loop fast.
//!
//! It is shared: its thread stores what the engine queues, and the engine stores the queue itself
//! when it needs durability now and the thread is not busy (see `Recorder::flushed`). Whoever
//! stores takes the events while holding the writer, so batches are stored in queue order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, params};
use tokio::sync::watch;

use super::batch;
use super::error::JournalError;
use super::output::{self, OutputCap, OutputRow};
use super::queue::Queue;
use super::row::{self, EventRow};
use crate::runtime::event::{EventKind, LifecycleEvent};

/// Rows per transaction at most, so a writer that fell behind still commits regularly and
/// never holds the database lock for long.
pub(crate) const MAX_BATCH: usize = 4096;

/// Everything the writer owns.
pub(crate) struct Writer {
    connection: Connection,
    path: PathBuf,
    /// The run's number (`runs.num`), which its rows carry.
    run: i64,
    /// Task pointers already numbered, by the address of the engine's shared text (which the
    /// entry keeps alive, so the address cannot be reused): hashing the text itself for every
    /// event was measurable.
    tasks: HashMap<usize, (Arc<str>, i64)>,
    /// The sequence number of the next event.
    next_seq: i64,
    /// The text of the batch being written (kept to reuse its memory).
    text: String,
    /// Events stored so far (`stored`), published for `flushed()`.
    committed: watch::Sender<u64>,
    stored: u64,
    /// An empty vector for the queue to fill next (kept to reuse its memory).
    spare: Vec<LifecycleEvent>,
    /// The first failure: nothing is stored after it, and the queue drops whatever comes.
    failure: Option<JournalError>,
    /// The run's id: output lines of other runs are its sub-workflows'.
    run_id: String,
    /// How much each task execution printed (see `output`).
    output_cap: OutputCap,
    /// The output lines of the batch being written (kept to reuse its memory).
    output_rows: Vec<OutputRow>,
    /// Cancelled at the first failure: the run must not go on unrecorded.
    stop: Option<tokio_util::sync::CancellationToken>,
}

/// The writer thread's loop: stores events as they become due until the queue closes, and
/// returns the first failure (its own, or the engine's when it stored).
pub(crate) fn run(writer: &Mutex<Writer>, queue: &Queue) -> Result<(), JournalError> {
    while queue.wait() {
        lock(writer).store_queued(queue);
    }
    match lock(writer).failure.take() {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// The writer. A panic while it was held leaves nothing half-done that matters (a transaction
/// not committed is rolled back), so a poisoned lock is used as it is.
pub(crate) fn lock(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Writer {
    /// A writer for run number `run` whose next event is number `next_seq`, publishing how many
    /// events it stored on `committed`.
    pub fn new(
        connection: Connection,
        path: PathBuf,
        (run, run_id): (i64, String),
        next_seq: i64,
        committed: watch::Sender<u64>,
    ) -> Writer {
        Writer {
            connection,
            path,
            run,
            tasks: HashMap::new(),
            next_seq,
            text: String::new(),
            committed,
            stored: 0,
            spare: Vec::new(),
            failure: None,
            run_id,
            output_cap: OutputCap::default(),
            output_rows: Vec::new(),
            stop: None,
        }
    }

    /// Cancels `stop` at the first failure (at once if there was one already).
    pub fn stop_on_failure(&mut self, stop: tokio_util::sync::CancellationToken) {
        if self.failure.is_some() {
            stop.cancel();
        }
        self.stop = Some(stop);
    }

    /// Whether storing failed and a run waits to be stopped for it: the engine must then not
    /// go on to its next step.
    pub fn stopping(&self) -> bool {
        self.failure.is_some() && self.stop.is_some()
    }

    /// Stores everything queued now, [`MAX_BATCH`] events per transaction. After a failure the
    /// queue is abandoned and nothing more is stored.
    pub fn store_queued(&mut self, queue: &Queue) {
        if self.failure.is_some() {
            return;
        }
        let mut events = queue.take_now(std::mem::take(&mut self.spare));
        let mut rows: Vec<EventRow> = Vec::with_capacity(events.len().min(MAX_BATCH));
        let mut pending = events.drain(..);
        loop {
            rows.clear();
            self.output_rows.clear();
            let mut taken = 0u64;
            for event in pending.by_ref().take(MAX_BATCH) {
                taken += 1;
                if matches!(event.kind, EventKind::TaskOutput { .. }) {
                    // Output lines go to their own table; over the cap they are dropped.
                    if let Some(line) = self.output_cap.row(&event, &self.run_id) {
                        self.output_rows.push(line);
                    }
                } else {
                    rows.push(row::row(event));
                }
            }
            if taken == 0 {
                break;
            }
            let output_rows = std::mem::take(&mut self.output_rows);
            let stored = self.store(&rows, &output_rows);
            self.output_rows = output_rows;
            if let Err(failure) = stored {
                self.failure = Some(failure);
                queue.abandon();
                if let Some(stop) = &self.stop {
                    stop.cancel();
                }
                break;
            }
            self.stored += taken;
            self.committed.send_replace(self.stored);
        }
        drop(pending);
        self.spare = events;
    }

    /// One transaction for the whole batch; the run's row is updated in the same transaction
    /// as the event that ends it, so the two never disagree.
    fn store(&mut self, batch: &[EventRow], output: &[OutputRow]) -> Result<(), JournalError> {
        if batch.is_empty() && output.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let sqlite = |error| JournalError::sqlite(&path, error);
        begin_immediate(&self.connection).map_err(sqlite)?;
        let run = self.run;
        let stored = output::insert(&self.connection, run, output)
            .and_then(|()| {
                if batch.is_empty() {
                    Ok(())
                } else {
                    self.insert_batch(batch)
                }
            })
            .and_then(|()| commit(&self.connection));
        if let Err(error) = stored {
            // Nothing of a failed batch may stay half-written (a commit refused as busy leaves
            // the transaction open); the caller hears of the first failure, not the rollback's.
            let _ = rollback(&self.connection);
            return Err(sqlite(error));
        }
        Ok(())
    }

    /// The rows of one batch, inside the transaction `store` opened.
    fn insert_batch(&mut self, batch: &[EventRow]) -> rusqlite::Result<()> {
        let connection = &self.connection;
        let first = self.next_seq;
        self.text.clear();
        self.text.push('[');
        let mut number = |pointer: &Option<Arc<str>>| -> rusqlite::Result<Option<i64>> {
            let Some(pointer) = pointer else {
                return Ok(None);
            };
            Ok(Some(match self.tasks.get(&address(pointer)) {
                Some((_, number)) => *number,
                None => {
                    let number = task_number(connection, pointer)?;
                    self.tasks
                        .insert(address(pointer), (pointer.clone(), number));
                    number
                }
            }))
        };
        for row in batch {
            let task = number(&row.task)?;
            let parent = number(&row.parent)?;
            if let Some((hash, text)) = &row.blob {
                connection
                    .prepare_cached("INSERT OR IGNORE INTO blobs (hash, data) VALUES (?1, ?2)")?
                    .execute(params![hash, text])?;
                connection
                    .prepare_cached("INSERT OR IGNORE INTO blob_refs (hash, run) VALUES (?1, ?2)")?
                    .execute(params![hash, self.run])?;
            }
            if let Some(end) = &row.end {
                connection
                    .prepare_cached(
                        "UPDATE runs SET status = ?2, ended_at = ?3, output = ?4, error = ?5
                         WHERE num = ?1",
                    )?
                    .execute(params![self.run, end.status, end.at, end.output, end.error])?;
            }
            batch::encode(&mut self.text, self.next_seq, row, task, parent);
            self.next_seq += 1;
        }
        self.text.push(']');
        connection
            .prepare_cached(
                "INSERT INTO event_batches (run, first_seq, last_seq, events)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![self.run, first, self.next_seq - 1, self.text])?;
        Ok(())
    }

    /// Numbers every task of the run's document in one transaction, before the run starts.
    /// Numbered on first sight instead, each task's first commit would also write the `tasks`
    /// table and its index: twice the pages of an ordinary commit, and a commit follows every
    /// task with side effects. Pointers met later (none in a compiled document, but the lazy
    /// path stays) are still numbered on first sight.
    pub fn number_tasks(&mut self, pointers: &[Arc<str>]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sqlite = |error| JournalError::sqlite(&path, error);
        let list = serde_json::Value::from(
            pointers
                .iter()
                .map(|pointer| pointer.to_string())
                .collect::<Vec<_>>(),
        )
        .to_string();
        begin_immediate(&self.connection).map_err(sqlite)?;
        let numbered = number_all(&self.connection, &list)
            .and_then(|numbers| commit(&self.connection).map(|()| numbers));
        let numbers = match numbered {
            Ok(numbers) => numbers,
            Err(error) => {
                let _ = rollback(&self.connection);
                return Err(sqlite(error));
            }
        };
        for (index, number) in numbers {
            if let Some(pointer) = usize::try_from(index).ok().and_then(|i| pointers.get(i)) {
                self.tasks
                    .insert(address(pointer), (pointer.clone(), number));
            }
        }
        Ok(())
    }
}

/// The key of a task pointer in `Writer::tasks`: the address of the engine's shared text.
fn address(pointer: &Arc<str>) -> usize {
    Arc::as_ptr(pointer).cast::<u8>() as usize
}

/// `BEGIN IMMEDIATE`, `COMMIT` and `ROLLBACK` as cached statements: rusqlite's `Transaction`
/// parses them anew for every transaction, and the journal commits after every task with side
/// effects.
fn begin_immediate(connection: &Connection) -> rusqlite::Result<()> {
    connection
        .prepare_cached("BEGIN IMMEDIATE")?
        .execute([])
        .map(drop)
}

fn commit(connection: &Connection) -> rusqlite::Result<()> {
    connection.prepare_cached("COMMIT")?.execute([]).map(drop)
}

fn rollback(connection: &Connection) -> rusqlite::Result<()> {
    connection.prepare_cached("ROLLBACK")?.execute([]).map(drop)
}

/// Inserts the pointers of the JSON array `list` that are new, and returns every pointer's
/// number by its index in the array.
fn number_all(connection: &Connection, list: &str) -> rusqlite::Result<Vec<(i64, i64)>> {
    // `WHERE true` tells SQLite's parser the `ON CONFLICT` belongs to the INSERT, not a join.
    connection
        .prepare_cached(
            "INSERT INTO tasks (pointer) SELECT value FROM json_each(?1) WHERE true
             ON CONFLICT (pointer) DO NOTHING",
        )?
        .execute([list])?;
    let mut statement = connection.prepare_cached(
        "SELECT j.key, t.num FROM json_each(?1) j JOIN tasks t ON t.pointer = j.value",
    )?;
    let rows = statement.query_map([list], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// The number of task `pointer`, given on first sight (by whichever run sees it first).
fn task_number(connection: &Connection, pointer: &str) -> rusqlite::Result<i64> {
    connection
        .prepare_cached("INSERT INTO tasks (pointer) VALUES (?1) ON CONFLICT (pointer) DO NOTHING")?
        .execute([pointer])?;
    connection
        .prepare_cached("SELECT num FROM tasks WHERE pointer = ?1")?
        .query_row([pointer], |row| row.get(0))
}
