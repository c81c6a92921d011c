//! The writer thread of one recorded run: it takes the events the engine queued, turns them into
//! rows and stores whatever has arrived in one transaction, then tells waiters how far the
//! journal is durable. One commit per batch, not per event, is what keeps a 100,000-iteration
//! loop fast; committing as soon as the queue runs dry is what keeps `flushed()` prompt.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::watch;

use super::error::JournalError;
use super::row::{self, EventRow};
use crate::runtime::event::LifecycleEvent;

/// Rows per transaction at most, so a writer that fell behind still commits regularly and
/// never holds the database lock for long.
pub(crate) const MAX_BATCH: usize = 4096;

/// Everything the writer thread owns.
pub(crate) struct Writer {
    pub connection: Connection,
    pub path: PathBuf,
    pub run_id: String,
    /// The sequence number of the next event.
    pub next_seq: i64,
    /// Events stored so far (by this writer), for `flushed()`.
    pub committed: watch::Sender<u64>,
}

impl Writer {
    /// Stores events until every sender is gone; returns the first failure, after which it
    /// stops (the queue closes, and later events are dropped by the sink).
    pub fn run(mut self, events: Receiver<LifecycleEvent>) -> Result<(), JournalError> {
        let mut batch: Vec<EventRow> = Vec::with_capacity(64);
        let mut stored = 0u64;
        while let Ok(event) = events.recv() {
            batch.push(row::row(&event));
            drop(event);
            while batch.len() < MAX_BATCH {
                match events.try_recv() {
                    Ok(event) => batch.push(row::row(&event)),
                    Err(_) => break,
                }
            }
            self.store(&batch)?;
            stored += batch.len() as u64;
            batch.clear();
            self.committed.send_replace(stored);
        }
        Ok(())
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
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO events (run_id, seq, id, scope, kind, task, step, time, data, blob)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sqlite)?;
            for row in batch {
                if let Some((hash, text)) = &row.blob {
                    transaction
                        .prepare_cached("INSERT OR IGNORE INTO blobs (hash, data) VALUES (?1, ?2)")
                        .and_then(|mut statement| statement.execute(params![hash, text]))
                        .map_err(sqlite)?;
                }
                insert
                    .execute(params![
                        self.run_id,
                        self.next_seq,
                        row.id,
                        row.scope,
                        row.kind,
                        row.task.as_deref(),
                        row.step.as_deref(),
                        row.time,
                        row.data,
                        row.blob.as_ref().map(|(hash, _)| hash),
                    ])
                    .map_err(sqlite)?;
                self.next_seq += 1;
                if let Some(end) = &row.end {
                    transaction
                        .prepare_cached(
                            "UPDATE runs SET status = ?2, ended_at = ?3, output = ?4, error = ?5
                             WHERE id = ?1",
                        )
                        .and_then(|mut statement| {
                            statement.execute(params![
                                self.run_id,
                                end.status,
                                row.time,
                                end.output,
                                end.error
                            ])
                        })
                        .map_err(sqlite)?;
                }
            }
        }
        transaction.commit().map_err(sqlite)
    }
}
