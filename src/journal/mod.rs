//! The run journal: every run and every lifecycle event it emits, in an embedded SQLite file in
//! the state directory, so runs can be listed, inspected, resumed and retried afterwards.
//!
//! `open` finds and migrates the database, `writer` + `sink` record a run off the engine's
//! thread, `query` reads runs and events back, `timeline` turns events into task executions and
//! `cloudevent` rebuilds the published events from stored rows.

mod batch;
mod cloudevent;
mod error;
mod migrate;
mod open;
mod output;
mod query;
mod queue;
mod row;
mod sink;
mod ticks;
mod timeline;
mod writer;

use std::path::{Path, PathBuf};

pub use error::JournalError;
pub use open::Journal;
#[cfg(feature = "temporal")]
pub(crate) use output::OutputCap;
pub use output::{OutputLine, TASK_LOG_CAP};
pub use query::{Relation, RunFilter, RunRecord, RunState, RunStatus, StoredEvent};
#[cfg(feature = "temporal")]
pub(crate) use row::stored as stored_event;
pub use sink::{Recorder, RunStart};
pub use timeline::{Execution, ExecutionStatus, Timeline, states_by_task, timeline};

/// The environment variable naming the state directory when `--state-dir` is not given.
pub const STATE_DIR_ENV: &str = "WORKFLOW_STATE_DIR";
/// The state directory when neither the flag nor the environment names one.
pub const DEFAULT_STATE_DIR: &str = ".workflow";
/// The database's file name inside the state directory.
pub const DATABASE_FILE: &str = "journal.db";

/// Where the journal lives: `--state-dir`, else `WORKFLOW_STATE_DIR` (when not empty), else
/// `.workflow/` in the current directory.
pub fn state_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os(STATE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_STATE_DIR),
    }
}

/// The hash `RunRecord::document_hash` holds: SHA-256 of the document file's bytes, lowercase
/// hex. A resume compares it with the file as it is now.
pub fn document_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The journal's times: RFC 3339 in UTC with microseconds, exactly as the CloudEvents `time`
/// attribute is written, so a stored time rebuilds the published one byte for byte and text
/// order is time order.
pub(crate) fn stamp(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Reads a time written by [`stamp`].
pub(crate) fn parse_stamp(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_default() {
        assert_eq!(state_dir(Some(Path::new("s"))), PathBuf::from("s"));
        // The environment is process-wide: only check the fallback when the test runner has
        // not set it.
        if std::env::var_os(STATE_DIR_ENV).is_none() {
            assert_eq!(state_dir(None), PathBuf::from(".workflow"));
        }
    }

    #[test]
    fn document_hashes_are_sha256_hex() {
        assert_eq!(
            document_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn stamps_round_trip_at_microseconds() {
        let time = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05.123456Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok();
        let text = time.map(stamp).unwrap_or_default();
        assert_eq!(text, "2025-01-02T03:04:05.123456Z");
        assert_eq!(parse_stamp(&text), time);
        assert_eq!(parse_stamp("yesterday"), None);
    }
}
