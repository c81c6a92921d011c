//! The writer thread of one recorded run: it takes the events the engine queued, turns them into
//! rows and stores whatever has arrived in one transaction, then tells waiters how far the
//! journal is durable. One commit per batch, not per event, is what keeps a 100,000-iteration
//! loop fast; committing as soon as the queue runs dry is what keeps `flushed()` prompt.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::watch;

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
        let mut tasks = Vec::with_capacity(batch.len());
        for row in batch {
            tasks.push(match &row.task {
                None => None,
                Some(pointer) => Some(match self.tasks.get(pointer) {
                    Some(&number) => number,
                    None => {
                        let number = task_number(&transaction, pointer).map_err(sqlite)?;
                        self.tasks.insert(pointer.clone(), number);
                        number
                    }
                }),
            });
            if let Some((hash, text)) = &row.blob {
                transaction
                    .prepare_cached("INSERT OR IGNORE INTO blobs (hash, data) VALUES (?1, ?2)")
                    .and_then(|mut statement| statement.execute(params![hash, text]))
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
        }
        // Many rows per statement: per-statement work was a good part of the cost per event.
        let mut rows = batch.iter().zip(tasks);
        let mut remaining = batch.len();
        while remaining > 0 {
            let count = if remaining >= ROWS_PER_STATEMENT {
                ROWS_PER_STATEMENT
            } else {
                1
            };
            let mut insert = transaction
                .prepare_cached(insert_sql(count))
                .map_err(sqlite)?;
            for slot in 0..count {
                let Some((row, task)) = rows.next() else {
                    break;
                };
                let first = slot * COLUMNS;
                bind_row(&mut insert, first, self.run, self.next_seq, row, task).map_err(sqlite)?;
                self.next_seq += 1;
            }
            insert.raw_execute().map_err(sqlite)?;
            remaining -= count;
        }
        drop(rows);
        transaction.commit().map_err(sqlite)
    }
}

/// Rows inserted by one statement when enough are waiting.
const ROWS_PER_STATEMENT: usize = 64;
/// Values per row.
const COLUMNS: usize = 10;

/// `INSERT INTO event_rows ... VALUES (...), ...` for `count` rows: built once per count.
fn insert_sql(count: usize) -> &'static str {
    static MANY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    const ONE: &str = "INSERT INTO event_rows (run, seq, id, scope, kind, task, step, time, data, blob) \
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    if count == 1 {
        return ONE;
    }
    MANY.get_or_init(|| {
        let mut sql = ONE.to_string();
        for _ in 1..ROWS_PER_STATEMENT {
            sql.push_str(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        }
        sql
    })
}

/// Binds one row's values after parameter `first` (0-based count of those already bound).
fn bind_row(
    insert: &mut rusqlite::Statement<'_>,
    first: usize,
    run: i64,
    seq: i64,
    row: &EventRow,
    task: Option<i64>,
) -> rusqlite::Result<()> {
    insert.raw_bind_parameter(first + 1, run)?;
    insert.raw_bind_parameter(first + 2, seq)?;
    insert.raw_bind_parameter(first + 3, &row.id.as_bytes()[..])?;
    insert.raw_bind_parameter(first + 4, row.scope)?;
    insert.raw_bind_parameter(first + 5, row.kind)?;
    insert.raw_bind_parameter(first + 6, task)?;
    insert.raw_bind_parameter(first + 7, row.step.as_deref())?;
    insert.raw_bind_parameter(first + 8, row.time)?;
    insert.raw_bind_parameter(first + 9, row.data.as_deref())?;
    insert.raw_bind_parameter(first + 10, row.blob.as_ref().map(|(hash, _)| hash.as_str()))
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
