//! What can go wrong with the journal, each case worded for the person at the terminal: which
//! file, what is wrong with it, and what to do (the file itself is never repaired or replaced).

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// A journal failure.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "cannot create the state directory {}: {source}; pass --state-dir DIR (or set \
         WORKFLOW_STATE_DIR) to record runs elsewhere, or run with --no-journal",
        dir.display()
    )]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "cannot write the journal {} ({detail}); pass --state-dir DIR (or set \
         WORKFLOW_STATE_DIR) to a writable directory, or run with --no-journal",
        path.display()
    )]
    ReadOnly { path: PathBuf, detail: String },

    #[error(
        "{} is not a SQLite database; it was left untouched: move it away or pass another \
         --state-dir",
        path.display()
    )]
    NotADatabase { path: PathBuf },

    #[error(
        "the journal {} is damaged ({detail}: truncated or overwritten?); it was left \
         untouched: move it away or pass another --state-dir",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "the journal {} was written by a newer workflow (journal schema version {found}, this \
         one knows versions up to {known}); it was left untouched: upgrade workflow or pass \
         another --state-dir",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    #[error(
        "{} is a SQLite database of another application, not a workflow journal; it was left \
         untouched: pass another --state-dir",
        path.display()
    )]
    Foreign { path: PathBuf },

    #[error(
        "the journal {} has a layout this workflow does not know (a development build wrote \
         it?); it was left untouched: move it away or pass another --state-dir",
        path.display()
    )]
    Incompatible { path: PathBuf },

    #[error(
        "the journal {} stayed locked by another process for too long; try again",
        path.display()
    )]
    Busy { path: PathBuf },

    #[error("no journal in {} (no run has been recorded there)", dir.display())]
    Missing { dir: PathBuf },

    #[error("no run `{id}` in the journal {}", path.display())]
    NotFound { id: String, path: PathBuf },

    #[error("`{prefix}` names several runs ({}); give more of the id", candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },

    #[error("run {id} already completed: there is nothing to continue")]
    Completed { id: String },

    #[error("run {id} is already in the journal")]
    Duplicate { id: String },

    #[error(
        "run {id} is being run by another process (pid {pid}): resuming it now would run its \
         tasks twice; wait for that process, or stop it first"
    )]
    Claimed { id: String, pid: u32 },

    #[error(
        "the journal {} is empty but its write-ahead log {} still holds {wal_bytes} bytes of \
         runs: opening it would discard them; it was left untouched: restore journal.db from a \
         backup or move both files away",
        path.display(),
        wal.display()
    )]
    OrphanedLog {
        path: PathBuf,
        wal: PathBuf,
        wal_bytes: u64,
    },

    #[error("the journal {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error("the journal writer stopped unexpectedly: {0}")]
    Writer(String),
}

impl JournalError {
    /// Files `error` under the case a user can act on: busy, read-only, damaged, not a database.
    pub(crate) fn sqlite(path: &std::path::Path, error: rusqlite::Error) -> JournalError {
        let path = path.to_path_buf();
        let Some(code) = error.sqlite_error_code() else {
            return JournalError::Sqlite {
                path,
                source: error,
            };
        };
        let detail = error.to_string();
        match code {
            ErrorCode::NotADatabase => JournalError::NotADatabase { path },
            ErrorCode::DatabaseCorrupt => JournalError::Corrupt { path, detail },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => JournalError::Busy { path },
            ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                JournalError::ReadOnly { path, detail }
            }
            _ => JournalError::Sqlite {
                path,
                source: error,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_become_actionable_cases() {
        let path = Path::new("s/journal.db");
        let cases = [
            (rusqlite::ffi::SQLITE_NOTADB, "is not a SQLite database"),
            (rusqlite::ffi::SQLITE_CORRUPT, "is damaged"),
            (rusqlite::ffi::SQLITE_BUSY, "stayed locked"),
            (rusqlite::ffi::SQLITE_READONLY, "--no-journal"),
            (rusqlite::ffi::SQLITE_CANTOPEN, "cannot write the journal"),
            (rusqlite::ffi::SQLITE_FULL, "the journal s/journal.db:"),
        ];
        for (code, expected) in cases {
            let message = JournalError::sqlite(path, failure(code)).to_string();
            assert!(message.contains(expected), "{code}: {message}");
            assert!(message.contains("s/journal.db"), "{code}: {message}");
        }
    }

    #[test]
    fn messages_say_the_file_is_left_alone() {
        let error = JournalError::TooNew {
            path: PathBuf::from("j.db"),
            found: 9,
            known: 1,
        };
        let message = error.to_string();
        assert!(message.contains("version 9"), "{message}");
        assert!(message.contains("left untouched"), "{message}");
    }
}
