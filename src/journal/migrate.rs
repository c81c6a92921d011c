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
    // Version 1. Times in `runs` are RFC 3339 UTC text with microseconds; JSON is text.
    "CREATE TABLE runs (
        num           INTEGER PRIMARY KEY,
        id            TEXT NOT NULL UNIQUE,
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
    -- Task pointers, stored once: events name them by number.
    CREATE TABLE tasks (
        num     INTEGER PRIMARY KEY,
        pointer TEXT NOT NULL UNIQUE
    );
    -- The lifecycle events, one row per commit: `events` holds a JSON array of the batch's
    -- events, each `[seq, id, scope, kind, task, step, time, data, blob]` (see
    -- src/journal/batch.rs): the CloudEvent id as 32 hex digits, the task by its number in
    -- `tasks`, the time in microseconds since the Unix epoch, the payload (output, error,
    -- attempt...) without what the other fields say. A payload over 64 KiB is stored once in
    -- `blobs` and named by its hash. Read them through the `events` view.
    CREATE TABLE event_batches (
        run       INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq  INTEGER NOT NULL,
        events    TEXT NOT NULL
    );
    CREATE UNIQUE INDEX event_batches_by_run ON event_batches (run, first_seq);
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY NOT NULL,
        data TEXT NOT NULL
    ) WITHOUT ROWID;
    -- Which runs use which blob, so pruning knows which blobs are left unused.
    CREATE TABLE blob_refs (
        hash TEXT NOT NULL,
        run  INTEGER NOT NULL,
        PRIMARY KEY (hash, run)
    ) WITHOUT ROWID;
    CREATE INDEX blob_refs_by_run ON blob_refs (run);
    -- The events as people read them (sqlite3 journal.db 'SELECT * FROM events ...'): one row
    -- per event, with the run id, task pointer, event id and time as the CloudEvents have them,
    -- and the whole payload.
    CREATE VIEW events AS
        SELECT r.id AS run_id,
               e.value ->> 0 AS seq,
               substr(e.value ->> 1, 1, 8) || '-' || substr(e.value ->> 1, 9, 4) || '-' ||
                   substr(e.value ->> 1, 13, 4) || '-' || substr(e.value ->> 1, 17, 4) || '-' ||
                   substr(e.value ->> 1, 21, 12) AS id,
               e.value ->> 2 AS scope,
               e.value ->> 3 AS kind,
               t.pointer AS task,
               e.value ->> 5 AS step,
               strftime('%Y-%m-%dT%H:%M:%S', (e.value ->> 6) / 1000000, 'unixepoch')
                   || printf('.%06dZ', (e.value ->> 6) % 1000000) AS time,
               coalesce(bl.data, json_extract(e.value, '$[7]')) AS data
        FROM event_batches b
        JOIN runs r ON r.num = b.run
        JOIN json_each(b.events) e
        LEFT JOIN tasks t ON t.num = e.value ->> 4
        LEFT JOIN blobs bl ON bl.hash = e.value ->> 8;",
    // Version 2. What `run` tasks printed, line by line in the order printed (`num`), up to
    // `journal::TASK_LOG_CAP` bytes per task execution (a line then says the rest was cut).
    // `workflow` names the sub-workflow that printed it (NULL: the run's own tasks); `task` is
    // the task's pointer, `step` its execution's durable step name; `time` in microseconds
    // since the Unix epoch. Secrets are masked before a line gets here.
    "CREATE TABLE task_output (
        num      INTEGER PRIMARY KEY,
        run      INTEGER NOT NULL,
        workflow TEXT,
        task     TEXT NOT NULL,
        step     TEXT,
        stream   TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
        time     INTEGER NOT NULL,
        line     TEXT NOT NULL
    );
    CREATE INDEX task_output_by_run ON task_output (run, num);",
    // Version 3. `task_output.stream` may also be `warning`: a line the runner adds to a task's
    // log (an undefined URI template variable). SQLite cannot change a CHECK in place, so the
    // table is rebuilt with its rows, numbers included.
    "CREATE TABLE task_output_v3 (
        num      INTEGER PRIMARY KEY,
        run      INTEGER NOT NULL,
        workflow TEXT,
        task     TEXT NOT NULL,
        step     TEXT,
        stream   TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'warning')),
        time     INTEGER NOT NULL,
        line     TEXT NOT NULL
    );
    INSERT INTO task_output_v3 (num, run, workflow, task, step, stream, time, line)
        SELECT num, run, workflow, task, step, stream, time, line FROM task_output;
    DROP TABLE task_output;
    ALTER TABLE task_output_v3 RENAME TO task_output;
    CREATE INDEX task_output_by_run ON task_output (run, num);",
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
    if version == CURRENT_VERSION {
        // Development builds wrote other layouts under version 1 before it was released.
        let tables: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'
                 AND name IN ('runs', 'tasks', 'event_batches', 'blobs', 'blob_refs')",
                [],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        if tables != 5 {
            return Err(JournalError::Incompatible {
                path: path.to_path_buf(),
            });
        }
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
        assert_eq!(
            tables,
            [
                "blob_refs",
                "blobs",
                "event_batches",
                "events",
                "runs",
                "task_output",
                "tasks"
            ]
        );
        // Again: nothing to do, nothing fails.
        migrate(&mut connection, path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(version(&connection), CURRENT_VERSION);
    }

    #[test]
    fn version_3_keeps_the_task_output_and_takes_warnings() {
        let mut connection = memory();
        let path = Path::new("j.db");
        // A journal of version 2, with one line in it.
        for migration in MIGRATIONS.iter().take(2) {
            connection
                .execute_batch(migration)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        connection
            .pragma_update(None, "application_id", APPLICATION_ID)
            .and_then(|()| connection.pragma_update(None, "user_version", 2))
            .and_then(|()| {
                connection.execute(
                    "INSERT INTO task_output VALUES (7, 1, NULL, '/do/0/a', NULL, 'stdout', 1, 'hi')",
                    [],
                )
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = connection.execute(
            "INSERT INTO task_output VALUES (8, 1, NULL, '/do/0/a', NULL, 'warning', 1, 'w')",
            [],
        );
        assert!(refused.is_err());
        migrate(&mut connection, path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(version(&connection), CURRENT_VERSION);
        connection
            .execute(
                "INSERT INTO task_output VALUES (8, 1, NULL, '/do/0/a', NULL, 'warning', 1, 'w')",
                [],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<(i64, String)> = connection
            .prepare("SELECT num, line FROM task_output ORDER BY num")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<_, _>>()
            })
            .unwrap_or_default();
        assert_eq!(lines, [(7, "hi".to_owned()), (8, "w".to_owned())]);
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
    fn a_layout_this_build_does_not_know_is_refused() {
        let mut connection = memory();
        connection
            .execute_batch("CREATE TABLE runs (id TEXT); CREATE TABLE events (run_id TEXT);")
            .and_then(|()| connection.pragma_update(None, "user_version", CURRENT_VERSION))
            .and_then(|()| connection.pragma_update(None, "application_id", APPLICATION_ID))
            .unwrap_or_else(|e| panic!("{e}"));
        let error = migrate(&mut connection, Path::new("j.db")).err();
        assert!(
            matches!(error, Some(JournalError::Incompatible { .. })),
            "{error:?}"
        );
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
