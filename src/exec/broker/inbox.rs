//! The receiver's durable inbox (`inbox.db` in the state directory, next to the journal): every
//! event `--receive` accepted is written here, once per listen waiting for it, before the sender
//! gets its 2xx; a row goes away when its listen acknowledges it (the journal recorded it) or
//! completes. After `kill -9`, the resumed listen (same subscription name) gets its rows first,
//! so an accepted event is never lost. A sender that sends the same event (`source` and `id`)
//! again while it is pending adds nothing.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::host::effects::events::CloudEvent;

pub(crate) struct Inbox {
    db: Connection,
}

/// A stored event: the listen it waits for, its sequence number (the row) and itself.
pub(crate) type Stored = (String, i64, CloudEvent);

impl Inbox {
    /// The inbox file at `path`, created if missing; in memory without one (`--no-journal`:
    /// no resume will look for it).
    pub fn open(path: Option<&Path>) -> Result<Inbox, String> {
        let db = match path {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                Connection::open(path)
            }
            None => Connection::open_in_memory(),
        }
        .map_err(|e| format!("cannot open the receiver's inbox: {e}"))?;
        db.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        // WAL with FULL sync: a committed row is on disk when the sender gets its 2xx.
        let _: Option<String> = db
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .optional()
            .map_err(|e| e.to_string())?;
        db.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS inbox (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 subscription TEXT NOT NULL,
                 source TEXT NOT NULL,
                 id TEXT NOT NULL,
                 event TEXT NOT NULL,
                 received_at TEXT NOT NULL,
                 UNIQUE (subscription, source, id)
             );",
        )
        .map_err(|e| format!("cannot prepare the receiver's inbox: {e}"))?;
        Ok(Inbox { db })
    }

    /// Stores each (listen, event) pair in one transaction; returns the rows actually added
    /// (a copy of a pending event is not).
    pub fn store(&mut self, pairs: &[(String, &CloudEvent)]) -> Result<Vec<Stored>, String> {
        let now = chrono::Utc::now().to_rfc3339();
        let transaction = self.db.transaction().map_err(|e| e.to_string())?;
        let mut added = Vec::new();
        for (subscription, event) in pairs {
            let text = |name: &str| {
                event
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let inserted = transaction
                .execute(
                    "INSERT OR IGNORE INTO inbox (subscription, source, id, event, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        subscription,
                        text("source"),
                        text("id"),
                        event.to_string(),
                        now
                    ],
                )
                .map_err(|e| e.to_string())?;
            if inserted == 1 {
                added.push((
                    subscription.clone(),
                    transaction.last_insert_rowid(),
                    (*event).clone(),
                ));
            }
        }
        transaction.commit().map_err(|e| e.to_string())?;
        Ok(added)
    }

    /// The events waiting for `subscription`, oldest first.
    pub fn pending(&self, subscription: &str) -> Result<Vec<(i64, CloudEvent)>, String> {
        let mut statement = self
            .db
            .prepare("SELECT seq, event FROM inbox WHERE subscription = ?1 ORDER BY seq")
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([subscription], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(|e| e.to_string())?;
        let mut pending = Vec::new();
        for row in rows {
            let (seq, text) = row.map_err(|e| e.to_string())?;
            // A row that does not parse cannot be consumed; it is dropped when acknowledged.
            let event = serde_json::from_str(&text).unwrap_or(Value::Null);
            pending.push((seq, event));
        }
        Ok(pending)
    }

    /// The listen consumed (or passed over) the event.
    pub fn remove(&self, seq: i64) -> Result<(), String> {
        self.db
            .execute("DELETE FROM inbox WHERE seq = ?1", [seq])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The listen completed: nothing more is kept for it.
    pub fn forget(&self, subscription: &str) -> Result<(), String> {
        self.db
            .execute("DELETE FROM inbox WHERE subscription = ?1", [subscription])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_events_wait_until_removed_and_copies_are_not_stored_twice() {
        let mut inbox = Inbox::open(None).unwrap_or_else(|e| panic!("{e}"));
        let a = json!({"source": "s", "id": "1", "type": "t"});
        let b = json!({"source": "s", "id": "2", "type": "t"});
        let added = inbox
            .store(&[("x".into(), &a), ("y".into(), &a), ("x".into(), &b)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(added.len(), 3);
        let again = inbox
            .store(&[("x".into(), &a)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(again.is_empty());
        let pending = inbox.pending("x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].1, a);
        assert!(inbox.remove(pending[0].0).is_ok());
        assert_eq!(inbox.pending("x").map(|p| p.len()), Ok(1));
        assert!(inbox.forget("y").is_ok());
        assert_eq!(inbox.pending("y").map(|p| p.len()), Ok(0));
    }
}
