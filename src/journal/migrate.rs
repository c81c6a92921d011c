//! The journal's schema and its versioned migrations. `PRAGMA user_version` holds the number of
//! migrations applied; `PRAGMA application_id` marks the file as a workflow journal, so a
//! database of another program is never mistaken for an empty journal.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::error::JournalError;

/// `PRAGMA application_id` of a workflow journal ("WFJL").
pub(crate) const APPLICATION_ID: i64 = 0x5746_4a4c;

/// Migration `n` (0-based) takes a journal from version `n` to `n + 1`. Append only: a released
/// migration never changes, so every journal reaches the same schema.
const MIGRATIONS: &[&str] = &[
    // Version 1. Times are RFC 3339 UTC text with microseconds; JSON values are text.
    "CREATE TABLE runs (
        id            TEXT PRIMARY KEY NOT NULL,
        namespace     TEXT NOT NULL,
        name          TEXT NOT NULL,
        version       TEXT NOT NULL,
        document_path TEXT NOT NULL,
        document_hash TEXT NOT NULL,
        input         TEXT NOT NULL,
        status        TEXT NOT NULL
                      CHECK (status IN ('running', 'completed', 'faulted', 'cancelled')),
        started_at    TEXT NOT NULL,
        ended_at      TEXT,
        output        TEXT,
        error         TEXT,
        parent_id     TEXT,
        relation      TEXT CHECK (relation IN ('retry', 'resume')),
        pid           INTEGER
    );
    CREATE INDEX runs_by_start ON runs (started_at);
    CREATE INDEX runs_by_name ON runs (name, started_at);
    CREATE INDEX runs_by_status ON runs (status, started_at);
    CREATE INDEX runs_by_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;
    -- One row per lifecycle event. `data` is the event's payload (output, error, attempt...)
    -- without what the other columns already say; a payload over 64 KiB is stored once in
    -- `blobs` and named by `blob`.
    CREATE TABLE events (
        run_id TEXT NOT NULL,
        seq    INTEGER NOT NULL,
        id     TEXT NOT NULL,
        scope  TEXT NOT NULL CHECK (scope IN ('workflow', 'task')),
        kind   TEXT NOT NULL,
        task   TEXT,
        step   TEXT,
        time   TEXT NOT NULL,
        data   TEXT,
        blob   TEXT,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX events_by_blob ON events (blob) WHERE blob IS NOT NULL;
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY NOT NULL,
        data TEXT NOT NULL
    ) WITHOUT ROWID;
    -- For people reading the journal with the sqlite3 tool: every event with its payload.
    CREATE VIEW event_payloads AS
        SELECT e.run_id, e.seq, e.scope, e.kind, e.task, e.step, e.time,
               coalesce(e.data, b.data) AS data
        FROM events e LEFT JOIN blobs b ON b.hash = e.blob;",
];

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the journal at `path` to [`CURRENT_VERSION`], refusing a newer or a foreign one.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), JournalError> {
    let sqlite = |error| JournalError::sqlite(path, error);
    // The common case reads two numbers and takes no write lock.
    if check(connection, path)? == CURRENT_VERSION {
        return Ok(());
    }
    // Another process may be migrating at the same moment: take the write lock, then look again.
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    let version = check(&transaction, path)?;
    for migration in MIGRATIONS
        .iter()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        transaction.execute_batch(migration).map_err(sqlite)?;
    }
    transaction
        .pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sqlite)?;
    transaction
        .pragma_update(None, "user_version", CURRENT_VERSION)
        .map_err(sqlite)?;
    transaction.commit().map_err(sqlite)
}

/// The journal's version, after making sure the file is a workflow journal this build can use.
fn check(connection: &Connection, path: &Path) -> Result<i64, JournalError> {
    let sqlite = |error| JournalError::sqlite(path, error);
    let read = |pragma: &str| {
        connection
            .pragma_query_value(None, pragma, |row| row.get::<_, i64>(0))
            .map_err(sqlite)
    };
    let version = read("user_version")?;
    let application = read("application_id")?;
    if application != 0 && application != APPLICATION_ID {
        return Err(JournalError::Foreign {
            path: path.to_path_buf(),
        });
    }
    if version > CURRENT_VERSION {
        return Err(JournalError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: CURRENT_VERSION,
        });
    }
    if version == 0 {
        // Unmarked: only an empty database may become a journal.
        let tables: i64 = connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(sqlite)?;
        if tables > 0 {
            return Err(JournalError::Foreign {
                path: path.to_path_buf(),
            });
        }
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Connection {
        Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"))
    }

    fn version(connection: &Connection) -> i64 {
        connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap_or(-1)
    }

    #[test]
    fn a_fresh_database_gets_every_migration_once() {
        let mut connection = memory();
        let path = Path::new("j.db");
        migrate(&mut connection, path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(version(&connection), CURRENT_VERSION);
        let tables: Vec<String> = connection
            .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| row.get(0))?
                    .collect::<Result<_, _>>()
            })
            .unwrap_or_default();
        assert_eq!(tables, ["blobs", "event_payloads", "events", "runs"]);
        // Again: nothing to do, nothing fails.
        migrate(&mut connection, path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(version(&connection), CURRENT_VERSION);
    }

    #[test]
    fn a_newer_journal_is_refused_and_left_as_it_is() {
        let mut connection = memory();
        connection
            .pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let error = migrate(&mut connection, Path::new("j.db")).err();
        assert!(
            matches!(error, Some(JournalError::TooNew { found, .. }) if found == CURRENT_VERSION + 1),
            "{error:?}"
        );
        assert_eq!(version(&connection), CURRENT_VERSION + 1);
    }

    #[test]
    fn another_programs_database_is_refused() {
        let mut connection = memory();
        connection
            .execute_batch("CREATE TABLE accounts (id INTEGER)")
            .unwrap_or_else(|e| panic!("{e}"));
        let error = migrate(&mut connection, Path::new("j.db")).err();
        assert!(
            matches!(error, Some(JournalError::Foreign { .. })),
            "{error:?}"
        );

        let mut marked = memory();
        marked
            .pragma_update(None, "application_id", 42)
            .unwrap_or_else(|e| panic!("{e}"));
        let error = migrate(&mut marked, Path::new("j.db")).err();
        assert!(
            matches!(error, Some(JournalError::Foreign { .. })),
            "{error:?}"
        );
    }
}
