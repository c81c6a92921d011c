//! The schedule lease: each tick of a workflow's `schedule` (`every`, `cron`) is claimed in the
//! journal before it fires, so that two servers sharing a state directory never both start a
//! run for the same tick, and a restarted server knows the last tick that fired (its missed-tick
//! policy starts from it).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::error::JournalError;
use super::open::Journal;
use super::{parse_stamp, stamp};

impl Journal {
    /// Claims tick `tick` of `workflow` for this process: `true` when no one had claimed it.
    pub fn claim_tick(&self, workflow: &str, tick: DateTime<Utc>) -> Result<bool, JournalError> {
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        self.ensure_ticks().map_err(sqlite)?;
        let inserted = self
            .connection
            .execute(
                "INSERT OR IGNORE INTO schedule_ticks (workflow, tick, claimed_at, pid)
                 VALUES (?1, ?2, ?3, ?4)",
                params![workflow, stamp(tick), stamp(Utc::now()), std::process::id()],
            )
            .map_err(sqlite)?;
        Ok(inserted == 1)
    }

    /// The latest tick of `workflow` that was claimed, by any server.
    pub fn last_tick(&self, workflow: &str) -> Result<Option<DateTime<Utc>>, JournalError> {
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        self.ensure_ticks().map_err(sqlite)?;
        let last: Option<String> = self
            .connection
            .query_row(
                "SELECT max(tick) FROM schedule_ticks WHERE workflow = ?1",
                [workflow],
                |row| row.get(0),
            )
            .optional()
            .map_err(sqlite)?
            .flatten();
        Ok(last.as_deref().and_then(parse_stamp))
    }

    /// The table exists from the first schedule on: journals of `run` never need it.
    fn ensure_ticks(&self) -> Result<(), rusqlite::Error> {
        self.connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS schedule_ticks (
                 workflow TEXT NOT NULL,
                 tick TEXT NOT NULL,
                 claimed_at TEXT NOT NULL,
                 pid INTEGER NOT NULL,
                 PRIMARY KEY (workflow, tick)
             )",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_is_claimed_once_and_the_last_one_is_remembered() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let second = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let tick = Utc::now();
        assert_eq!(first.last_tick("w").ok(), Some(None));
        assert!(first.claim_tick("w", tick).unwrap_or(false));
        assert!(!second.claim_tick("w", tick).unwrap_or(true));
        let later = tick + chrono::Duration::seconds(5);
        assert!(second.claim_tick("w", later).unwrap_or(false));
        assert_eq!(
            first.last_tick("w").ok().flatten().map(stamp),
            Some(stamp(later))
        );
    }
}
