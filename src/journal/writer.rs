//! The writer thread of one recorded run: it takes the events the engine queued, turns them into
//! rows and stores whatever has arrived in one transaction (one `event_batches` row), then tells
//! waiters how far the journal is durable. One commit per batch, not per event, is what keeps a
//! 100,000-iteration loop fast; committing as soon as the queue runs dry is what keeps
//! `flushed()` prompt.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::watch;

use super::batch;
use super::error::JournalError;
use super::queue::{Queue, Taken};
use super::row::{self, EventRow};

/// Rows per transaction at most, so a writer that fell behind still commits regularly and
/// never holds the database lock for long.
pub(crate) const MAX_BATCH: usize = 4096;

/// Everything the writer thread owns.
pub(crate) struct Writer {
    pub connection: Connection,
    pub path: PathBuf,
    /// The run's number (`runs.num`), which its rows carry.
    pub run: i64,
    /// Task pointers already numbered.
    pub tasks: HashMap<Arc<str>, i64>,
    /// The sequence number of the next event.
    pub next_seq: i64,
    /// The text of the batch being written (kept to reuse its memory).
    pub text: String,
    /// Events stored so far (by this writer), for `flushed()`.
    pub committed: watch::Sender<u64>,
}

impl Writer {
    /// Stores events until the queue closes; returns the first failure, after which it stops
    /// and the queue drops whatever comes.
    pub fn run(mut self, queue: &Queue) -> Result<(), JournalError> {
        let result = self.store_all(queue);
        if result.is_err() {
            queue.abandon();
        }
        result
    }

    fn store_all(&mut self, queue: &Queue) -> Result<(), JournalError> {
        let mut spare = Vec::new();
        let mut rows: Vec<EventRow> = Vec::with_capacity(MAX_BATCH);
        let mut stored = 0u64;
        loop {
            let mut events = match queue.take(spare) {
                Taken::Events(events) => events,
                Taken::Closed => return Ok(()),
            };
            let mut pending = events.drain(..);
            loop {
                rows.clear();
                rows.extend(pending.by_ref().take(MAX_BATCH).map(row::row));
                if rows.is_empty() {
                    break;
                }
                self.store(&rows)?;
                stored += rows.len() as u64;
                self.committed.send_replace(stored);
            }
            drop(pending);
            spare = events;
        }
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
                Some(pointer) => Some(match self.tasks.get(pointer) {
                    Some(&number) => number,
                    None => {
                        let number = task_number(&transaction, pointer).map_err(sqlite)?;
                        self.tasks.insert(pointer.clone(), number);
                        number
                    }
                }),
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
