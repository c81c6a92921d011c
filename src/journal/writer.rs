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

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::watch;

use super::batch;
use super::error::JournalError;
use super::queue::Queue;
use super::row::{self, EventRow};
use crate::runtime::event::LifecycleEvent;

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
        run: i64,
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
        }
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
            rows.extend(pending.by_ref().take(MAX_BATCH).map(row::row));
            if rows.is_empty() {
                break;
            }
            if let Err(failure) = self.store(&rows) {
                self.failure = Some(failure);
                queue.abandon();
                break;
            }
            self.stored += rows.len() as u64;
            self.committed.send_replace(self.stored);
        }
        drop(pending);
        self.spare = events;
    }

    /// One transaction for the whole batch; the run's row is updated in the same transaction
    /// as the event that ends it, so the two never disagree.
    fn store(&mut self, batch: &[EventRow]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sqlite = |error| JournalError::sqlite(&path, error);
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let first = self.next_seq;
        self.text.clear();
        self.text.push('[');
        for row in batch {
            let task = match &row.task {
                None => None,
                Some(pointer) => {
                    let address = Arc::as_ptr(pointer).cast::<u8>() as usize;
                    Some(match self.tasks.get(&address) {
                        Some((_, number)) => *number,
                        None => {
                            let number = task_number(&transaction, pointer).map_err(sqlite)?;
                            self.tasks.insert(address, (pointer.clone(), number));
                            number
                        }
                    })
                }
            };
            if let Some((hash, text)) = &row.blob {
                transaction
                    .prepare_cached("INSERT OR IGNORE INTO blobs (hash, data) VALUES (?1, ?2)")
                    .and_then(|mut statement| statement.execute(params![hash, text]))
                    .and_then(|_| {
                        transaction
                            .prepare_cached(
                                "INSERT OR IGNORE INTO blob_refs (hash, run) VALUES (?1, ?2)",
                            )?
                            .execute(params![hash, self.run])
                    })
                    .map_err(sqlite)?;
            }
            if let Some(end) = &row.end {
                transaction
                    .prepare_cached(
                        "UPDATE runs SET status = ?2, ended_at = ?3, output = ?4, error = ?5
                         WHERE num = ?1",
                    )
                    .and_then(|mut statement| {
                        statement
                            .execute(params![self.run, end.status, end.at, end.output, end.error])
                    })
                    .map_err(sqlite)?;
            }
            batch::encode(&mut self.text, self.next_seq, row, task);
            self.next_seq += 1;
        }
        self.text.push(']');
        transaction
            .prepare_cached(
                "INSERT INTO event_batches (run, first_seq, last_seq, events)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut statement| {
                statement.execute(params![self.run, first, self.next_seq - 1, self.text])
            })
            .map_err(sqlite)?;
        transaction.commit().map_err(sqlite)
    }
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
