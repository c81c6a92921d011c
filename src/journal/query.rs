//! Reading the journal back: one run by id or unique prefix, runs by filter, a run's events in
//! order, and pruning old finished runs.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior, params_from_iter};
use serde_json::{Value, json};

use super::batch;
use super::error::JournalError;
use super::open::Journal;
use super::{parse_stamp, stamp};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Started and not ended: still going, or its process died.
    Running,
    Completed,
    Faulted,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Faulted => "faulted",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<RunStatus> {
        [
            RunStatus::Running,
            RunStatus::Completed,
            RunStatus::Faulted,
            RunStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// A run's status as a person sees it: a `running` run whose process is gone is `Interrupted`
/// (it will not end by itself; `workflow resume` continues it). Computed when read, since the
/// journal cannot know when a process dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Still going: its recording process is alive.
    Running,
    Interrupted,
    Completed,
    Faulted,
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Interrupted => "interrupted",
            other => other.stored().as_str(),
        }
    }

    /// The status stored in the journal for runs in this state.
    pub fn stored(self) -> RunStatus {
        match self {
            RunState::Running | RunState::Interrupted => RunStatus::Running,
            RunState::Completed => RunStatus::Completed,
            RunState::Faulted => RunStatus::Faulted,
            RunState::Cancelled => RunStatus::Cancelled,
        }
    }
}

/// How a run relates to the run it was started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `workflow retry`: a new run reusing the parent's recorded steps.
    Retry,
    /// A resumed run recorded under a new id.
    Resume,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Retry => "retry",
            Relation::Resume => "resume",
        }
    }

    pub fn parse(text: &str) -> Option<Relation> {
        match text {
            "retry" => Some(Relation::Retry),
            "resume" => Some(Relation::Resume),
            _ => None,
        }
    }
}

/// One row of `runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// The document's absolute path.
    pub document_path: String,
    /// SHA-256 of the document's bytes, lowercase hex.
    pub document_hash: String,
    pub input: Value,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub output: Option<Value>,
    pub error: Option<Value>,
    /// The run this one was started from, and how.
    pub parent: Option<(String, Relation)>,
    /// The process that recorded it last.
    pub pid: Option<u32>,
}

impl RunRecord {
    /// `{name}.{namespace}:{version}`, as events name the workflow (CHECKLIST decision 10).
    pub fn qualified_name(&self) -> String {
        format!("{}.{}:{}", self.name, self.namespace, self.version)
    }

    /// The CloudEvents `source` of the run's events.
    pub fn source(&self) -> String {
        format!(
            "/workflows/{}/{}/{}/runs/{}",
            self.namespace, self.name, self.version, self.id
        )
    }

    /// From start to end, for a run that ended.
    pub fn duration(&self) -> Option<Duration> {
        let ended = self.ended_at?;
        Some((ended - self.started_at).to_std().unwrap_or_default())
    }

    /// A run still marked running whose recording process is gone (killed, crashed, the
    /// machine restarted): it will not end by itself. Only this machine's processes are known.
    pub fn interrupted(&self) -> bool {
        self.status == RunStatus::Running && self.pid.is_some_and(|pid| !process_alive(pid))
    }

    /// Where the run stands, `interrupted` told apart from `running`.
    pub fn state(&self) -> RunState {
        match self.status {
            RunStatus::Running if self.interrupted() => RunState::Interrupted,
            RunStatus::Running => RunState::Running,
            RunStatus::Completed => RunState::Completed,
            RunStatus::Faulted => RunState::Faulted,
            RunStatus::Cancelled => RunState::Cancelled,
        }
    }

    /// The record as `runs --format json` prints it.
    pub fn to_json(&self) -> Value {
        let mut object = json!({
            "id": self.id,
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "status": self.status.as_str(),
            "interrupted": self.interrupted(),
            "startedAt": stamp(self.started_at),
            "endedAt": self.ended_at.map(stamp),
            "durationMs": self.duration().map(|d| d.as_millis() as u64),
            "document": {"path": self.document_path, "sha256": self.document_hash},
            "input": self.input,
        });
        if let Value::Object(map) = &mut object {
            if let Some(output) = &self.output {
                map.insert("output".into(), output.clone());
            }
            if let Some(error) = &self.error {
                map.insert("error".into(), error.clone());
            }
            if let Some((parent, relation)) = &self.parent {
                map.insert(
                    "parent".into(),
                    json!({"id": parent, "relation": relation.as_str()}),
                );
            }
        }
        object
    }
}

/// Which runs `Journal::runs` returns (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// `Running` selects the runs whose process is alive, `Interrupted` those whose is gone.
    pub status: Option<RunState>,
    /// The workflow's `document.name`.
    pub name: Option<String>,
    /// At most this many; all when `None`.
    pub limit: Option<usize>,
}

/// One row of `events`, with its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// 1-based position in the run, in the order the engine emitted the events.
    pub seq: u64,
    /// The CloudEvent id.
    pub id: String,
    /// The event's name: `started`, `completed`, `faulted`, ... (`EventKind::name`).
    pub kind: String,
    /// A task event (else a workflow event).
    pub task_event: bool,
    /// The task's JSON pointer, for task events.
    pub task: Option<String>,
    /// The durable step of a task event.
    pub step: Option<String>,
    /// The JSON pointer of the task it runs inside, on the events that start or end a task
    /// (`None` at the top level, and in runs recorded before the journal kept it).
    pub parent: Option<String>,
    pub time: DateTime<Utc>,
    /// The payload: the CloudEvent's `data` without the fields the columns above hold
    /// (`workflow`/`name`, `task`, `<kind>At`); `output`, `error`, `attempt`... An object.
    pub data: Value,
}

const RUN_COLUMNS: &str = "id, namespace, name, version, document_path, document_hash, input, \
                           status, started_at, ended_at, output, error, parent_id, relation, pid";

impl Journal {
    /// The run whose id is `id`, or starts with `id` when exactly one does.
    pub fn run(&self, id: &str) -> Result<RunRecord, JournalError> {
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        let not_found = || JournalError::NotFound {
            id: id.to_string(),
            path: self.path.clone(),
        };
        if id.is_empty() {
            return Err(not_found());
        }
        let exact = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        let mut statement = self.connection.prepare_cached(&exact).map_err(sqlite)?;
        let mut rows = statement.query([id]).map_err(sqlite)?;
        if let Some(row) = rows.next().map_err(sqlite)? {
            return run_record(row).map_err(sqlite);
        }
        let pattern = format!("{}%", escape_like(id));
        let prefixed = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id LIKE ?1 ESCAPE '\\' ORDER BY id LIMIT 6"
        );
        let mut statement = self.connection.prepare_cached(&prefixed).map_err(sqlite)?;
        let mut found = statement
            .query_map([pattern], run_record)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(sqlite)?;
        match found.len() {
            0 => Err(not_found()),
            1 => found.pop().ok_or_else(not_found),
            _ => Err(JournalError::Ambiguous {
                prefix: id.to_string(),
                candidates: found.into_iter().map(|run| run.id).collect(),
            }),
        }
    }

    /// The runs `filter` selects, the most recently started first.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, JournalError> {
        let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs");
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        if let Some(state) = filter.status {
            values.push(state.stored().as_str().to_string());
            conditions.push(format!("status = ?{}", values.len()));
        }
        if let Some(name) = &filter.name {
            values.push(name.clone());
            conditions.push(format!("name = ?{}", values.len()));
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY started_at DESC, id DESC");
        // Running and interrupted runs share a stored status and are told apart by asking
        // whether their process lives: the limit applies after that, here. (Running rows are
        // few: every run that ends leaves that status.)
        let by_process = matches!(
            filter.status,
            Some(RunState::Running | RunState::Interrupted)
        );
        if let Some(limit) = filter.limit.filter(|_| !by_process) {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        let mut statement = self.connection.prepare(&sql).map_err(sqlite)?;
        let mut runs: Vec<RunRecord> = statement
            .query_map(params_from_iter(values), run_record)
            .and_then(|rows| rows.collect())
            .map_err(sqlite)?;
        if let Some(state) = filter.status.filter(|_| by_process) {
            runs.retain(|run| run.state() == state);
            if let Some(limit) = filter.limit {
                runs.truncate(limit);
            }
        }
        Ok(runs)
    }

    /// Every event recorded for run `run_id` (an exact id), in emission order.
    pub fn events(&self, run_id: &str) -> Result<Vec<StoredEvent>, JournalError> {
        let mut events = Vec::new();
        self.visit_events(run_id, |event| {
            events.push(event);
            true
        })?;
        Ok(events)
    }

    /// Hands the events of run `run_id` to `visit` one at a time, in emission order, until it
    /// returns `false`: a long run's events are read one batch at a time.
    pub fn visit_events(
        &self,
        run_id: &str,
        mut visit: impl FnMut(StoredEvent) -> bool,
    ) -> Result<(), JournalError> {
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        let damaged = |detail: String| JournalError::Corrupt {
            path: self.path.clone(),
            detail,
        };
        let run: Option<i64> = self
            .connection
            .prepare_cached("SELECT num FROM runs WHERE id = ?1")
            .and_then(|mut statement| statement.query_row([run_id], |row| row.get(0)))
            .optional()
            .map_err(sqlite)?;
        let Some(run) = run else {
            return Ok(());
        };
        let tasks: HashMap<i64, String> = self
            .connection
            .prepare_cached("SELECT num, pointer FROM tasks")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(sqlite)?;
        let mut batches = self
            .connection
            .prepare_cached("SELECT events FROM event_batches WHERE run = ?1 ORDER BY first_seq")
            .map_err(sqlite)?;
        let mut rows = batches.query([run]).map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            let text: String = row.get(0).map_err(sqlite)?;
            let events = batch::decode(&text)
                .map_err(|error| damaged(format!("an event batch: {error}")))?;
            for encoded in events {
                let event = self
                    .stored_event(encoded, &tasks)
                    .map_err(|error| damaged(error.to_string()))?;
                if !visit(event) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn stored_event(
        &self,
        encoded: batch::Encoded,
        tasks: &HashMap<i64, String>,
    ) -> Result<StoredEvent, EventDamage> {
        let id = encoded.id();
        let batch::Encoded(seq, _, scope, kind, task, step, micros, data, blob, parent) = encoded;
        let data = match blob {
            None => data,
            Some(hash) => {
                let text: String = self
                    .connection
                    .prepare_cached("SELECT data FROM blobs WHERE hash = ?1")
                    .and_then(|mut statement| statement.query_row([&hash], |row| row.get(0)))
                    .map_err(|source| EventDamage::Payload {
                        hash: hash.clone(),
                        source,
                    })?;
                Some(
                    serde_json::from_str(&text)
                        .map_err(|source| EventDamage::PayloadJson { hash, source })?,
                )
            }
        };
        let pointer = |task: Option<i64>| match task {
            None => Ok(None),
            Some(number) => tasks
                .get(&number)
                .cloned()
                .map(Some)
                .ok_or(EventDamage::UnknownTask { seq, number }),
        };
        let task = pointer(task)?;
        let parent = pointer(parent)?;
        Ok(StoredEvent {
            seq: u64::try_from(seq).unwrap_or_default(),
            id,
            kind,
            task_event: scope == "task",
            task,
            step,
            parent,
            time: DateTime::from_timestamp_micros(micros)
                .ok_or(EventDamage::Time { seq, micros })?,
            data: data.unwrap_or_else(|| Value::Object(Default::default())),
        })
    }

    /// Deletes the finished runs (completed, faulted, cancelled) that ended more than
    /// `older_than` ago, with their events and any payload no other event shares. Running runs
    /// are kept whatever their age: they may be resumed. Returns how many runs went.
    pub fn prune(&self, older_than: Duration) -> Result<usize, JournalError> {
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        let older_than = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let cutoff = Utc::now()
            .checked_sub_signed(older_than)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let transaction =
            Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)
                .map_err(sqlite)?;
        transaction
            .execute(
                "CREATE TEMP TABLE IF NOT EXISTS pruned (num INTEGER PRIMARY KEY)",
                [],
            )
            .and_then(|_| transaction.execute("DELETE FROM temp.pruned", []))
            .map_err(sqlite)?;
        let removed = transaction
            .execute(
                "INSERT INTO temp.pruned (num) SELECT num FROM runs
                 WHERE status <> 'running' AND coalesce(ended_at, started_at) < ?1",
                [stamp(cutoff)],
            )
            .map_err(sqlite)?;
        transaction
            .execute_batch(
                "DELETE FROM event_batches WHERE run IN (SELECT num FROM temp.pruned);
                 DELETE FROM task_output WHERE run IN (SELECT num FROM temp.pruned);
                 DELETE FROM blob_refs WHERE run IN (SELECT num FROM temp.pruned);
                 DELETE FROM runs WHERE num IN (SELECT num FROM temp.pruned);
                 DELETE FROM blobs WHERE hash NOT IN (SELECT hash FROM blob_refs);
                 DELETE FROM temp.pruned;",
            )
            .map_err(sqlite)?;
        transaction.commit().map_err(sqlite)?;
        Ok(removed)
    }
}

/// Whether process `pid` exists and has not exited (it may be another program that got the
/// number later).
#[cfg(unix)]
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        // 0 and negative numbers address process groups: never ask about those.
        return true;
    }
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks that the process exists.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    let exists = found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !is_zombie(pid)
}

/// Whether `pid` has exited and waits to be reaped. A killed run stays a zombie until its parent
/// waits for it, which may be never (a shell that is gone, a PID 1 that does not reap): it runs
/// nothing, so it is interrupted, not running. Known only where `/proc` is.
#[cfg(unix)]
fn is_zombie(pid: libc::pid_t) -> bool {
    // "pid (comm) STATE ...": comm may hold spaces and parentheses, so split at the last ')'.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            == Some('Z')
    })
}

#[cfg(not(unix))]
pub(crate) fn process_alive(_pid: u32) -> bool {
    true
}

/// `text` with LIKE's wildcards and the escape character escaped (by `\`).
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A conversion failure for column `index`, as rusqlite reports one.
fn bad_column(index: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, what.to_string().into())
}

fn json_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| serde_json::from_str(&text).map_err(|_| bad_column(index, "invalid JSON")))
        .transpose()
}

fn time_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| parse_stamp(&text).ok_or_else(|| bad_column(index, "invalid time")))
        .transpose()
}

fn run_record(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let status: String = row.get(7)?;
    let parent: Option<String> = row.get(12)?;
    let relation: Option<String> = row.get(13)?;
    let pid: Option<i64> = row.get(14)?;
    Ok(RunRecord {
        id: row.get(0)?,
        namespace: row.get(1)?,
        name: row.get(2)?,
        version: row.get(3)?,
        document_path: row.get(4)?,
        document_hash: row.get(5)?,
        input: json_column(row, 6)?.unwrap_or(Value::Null),
        status: RunStatus::parse(&status).ok_or_else(|| bad_column(7, "unknown status"))?,
        started_at: time_column(row, 8)?.ok_or_else(|| bad_column(8, "no start time"))?,
        ended_at: time_column(row, 9)?,
        output: json_column(row, 10)?,
        error: json_column(row, 11)?,
        parent: parent.zip(relation.as_deref().and_then(Relation::parse)),
        pid: pid.and_then(|pid| u32::try_from(pid).ok()),
    })
}

/// What is wrong with one stored event (the journal is then damaged).
#[derive(Debug, thiserror::Error)]
enum EventDamage {
    #[error("the stored payload {hash}: {source}")]
    Payload {
        hash: String,
        source: rusqlite::Error,
    },
    #[error("payload {hash}: {source}")]
    PayloadJson {
        hash: String,
        source: serde_json::Error,
    },
    #[error("event {seq} names task number {number}, unknown")]
    UnknownTask { seq: i64, number: i64 },
    #[error("event {seq} has time {micros}")]
    Time { seq: i64, micros: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::sink::tests::start;

    /// A journal holding runs `a1`, `a2` (flow, completed and faulted) and `b1` (other,
    /// running), started one minute apart in that order.
    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        for (minute, (id, name, status)) in [
            ("a1", "flow", "completed"),
            ("a2", "flow", "faulted"),
            ("b1", "other", "running"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut run = start(id);
            run.name = name.into();
            let recorder = journal.begin_run(run).unwrap_or_else(|e| panic!("{e}"));
            recorder.finish().unwrap_or_else(|e| panic!("{e}"));
            let started = format!("2025-01-01T00:0{minute}:00.000000Z");
            let ended =
                (status != "running").then(|| format!("2025-01-01T00:0{minute}:30.000000Z"));
            journal
                .connection
                .execute(
                    "UPDATE runs SET status = ?2, started_at = ?3, ended_at = ?4 WHERE id = ?1",
                    rusqlite::params![id, status, started, ended],
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        (dir, journal)
    }

    fn ids(runs: Result<Vec<RunRecord>, JournalError>) -> Vec<String> {
        runs.unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|run| run.id)
            .collect()
    }

    #[test]
    fn filters_select_and_order_newest_first() {
        let (_dir, journal) = journal();
        assert_eq!(ids(journal.runs(&RunFilter::default())), ["b1", "a2", "a1"]);
        let flows = RunFilter {
            name: Some("flow".into()),
            ..RunFilter::default()
        };
        assert_eq!(ids(journal.runs(&flows)), ["a2", "a1"]);
        let faulted = RunFilter {
            status: Some(RunState::Faulted),
            ..RunFilter::default()
        };
        assert_eq!(ids(journal.runs(&faulted)), ["a2"]);
        let one = RunFilter {
            limit: Some(1),
            ..RunFilter::default()
        };
        assert_eq!(ids(journal.runs(&one)), ["b1"]);
        let none = RunFilter {
            name: Some("flow".into()),
            status: Some(RunState::Running),
            limit: None,
        };
        assert_eq!(ids(journal.runs(&none)), Vec::<String>::new());
    }

    /// The journal of [`journal`] plus `c1` and `c2` (other, running, started after `b1`) whose
    /// recording process is gone: interrupted.
    #[cfg(unix)]
    fn journal_with_interrupted() -> (tempfile::TempDir, Journal) {
        let (dir, journal) = journal();
        for (minute, id) in [(3, "c1"), (4, "c2")] {
            let mut run = start(id);
            run.name = "other".into();
            let recorder = journal.begin_run(run).unwrap_or_else(|e| panic!("{e}"));
            recorder.finish().unwrap_or_else(|e| panic!("{e}"));
            let started = format!("2025-01-01T00:0{minute}:00.000000Z");
            // Above the largest pid Linux hands out (2^22): no such process.
            journal
                .connection
                .execute(
                    "UPDATE runs SET started_at = ?2, pid = 2147483000 WHERE id = ?1",
                    rusqlite::params![id, started],
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        (dir, journal)
    }

    #[cfg(unix)]
    #[test]
    fn each_status_filter_tells_running_from_interrupted() {
        let (_dir, journal) = journal_with_interrupted();
        let with = |status, limit| RunFilter {
            status: Some(status),
            name: None,
            limit,
        };
        assert_eq!(ids(journal.runs(&with(RunState::Running, None))), ["b1"]);
        assert_eq!(
            ids(journal.runs(&with(RunState::Interrupted, None))),
            ["c2", "c1"]
        );
        assert_eq!(ids(journal.runs(&with(RunState::Completed, None))), ["a1"]);
        assert_eq!(ids(journal.runs(&with(RunState::Faulted, None))), ["a2"]);
        assert_eq!(
            ids(journal.runs(&with(RunState::Cancelled, None))),
            Vec::<String>::new()
        );
        // The limit counts the runs in the state asked for, not every `running` row.
        assert_eq!(ids(journal.runs(&with(RunState::Running, Some(1)))), ["b1"]);
        assert_eq!(
            ids(journal.runs(&with(RunState::Interrupted, Some(1)))),
            ["c2"]
        );
        let states: Vec<_> = journal
            .runs(&RunFilter::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|run| (run.id.clone(), run.state().as_str()))
            .collect();
        assert_eq!(
            states,
            [
                ("c2".to_string(), "interrupted"),
                ("c1".to_string(), "interrupted"),
                ("b1".to_string(), "running"),
                ("a2".to_string(), "faulted"),
                ("a1".to_string(), "completed"),
            ]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_killed_process_not_yet_reaped_is_not_alive() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(process_alive(child.id()));
        child.kill().unwrap_or_else(|e| panic!("{e}"));
        // Not waited for yet: a zombie, once the signal has been delivered.
        let pid = libc::pid_t::try_from(child.id()).unwrap_or_else(|e| panic!("{e}"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !is_zombie(pid) {
            assert!(std::time::Instant::now() < deadline, "never a zombie");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!process_alive(child.id()));
        child.wait().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn runs_are_found_by_id_or_unique_prefix() {
        let (_dir, journal) = journal();
        let run = journal.run("b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.id, "b1");
        assert_eq!(run.duration(), None);
        // Recorded by this (living) test process: running, not interrupted.
        assert!(!run.interrupted());
        let gone = RunRecord {
            // Above the largest pid Linux hands out (2^22).
            pid: Some(2_147_483_000),
            ..run
        };
        assert!(gone.interrupted() || cfg!(not(unix)));
        let a1 = journal.run("a1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a1.duration(), Some(Duration::from_secs(30)));
        assert_eq!(a1.qualified_name(), "flow.ns:1.0.0");
        assert_eq!(a1.to_json()["durationMs"], 30_000);
        let ambiguous = journal.run("a").err();
        assert!(
            matches!(&ambiguous, Some(JournalError::Ambiguous { candidates, .. }) if candidates == &["a1", "a2"]),
            "{ambiguous:?}"
        );
        for missing in ["c", "", "%", "_1"] {
            let error = journal.run(missing).err();
            assert!(
                matches!(error, Some(JournalError::NotFound { .. })),
                "{missing}: {error:?}"
            );
        }
    }

    #[test]
    fn prune_removes_only_old_finished_runs_and_their_data() {
        let (_dir, journal) = journal();
        // Give a1 an event with a large payload, shared by nobody else.
        journal
            .connection
            .execute_batch(
                "INSERT INTO blobs (hash, data) VALUES ('h', '{}');
                 INSERT INTO blob_refs (hash, run) SELECT 'h', num FROM runs WHERE id = 'a1';
                 INSERT INTO event_batches (run, first_seq, last_seq, events)
                 SELECT num, 1, 1, '[]' FROM runs WHERE id IN ('a1', 'b1');",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        // Nothing ended more than 1000 years ago.
        let millennium = Duration::from_secs(1000 * 365 * 86_400);
        assert_eq!(journal.prune(millennium).ok(), Some(0));
        assert_eq!(journal.prune(Duration::from_secs(60)).ok(), Some(2));
        assert_eq!(ids(journal.runs(&RunFilter::default())), ["b1"]);
        let count = |sql: &str| -> i64 {
            journal
                .connection
                .query_row(sql, [], |row| row.get(0))
                .unwrap_or(-1)
        };
        assert_eq!(count("SELECT count(*) FROM event_batches"), 1);
        assert_eq!(count("SELECT count(*) FROM blob_refs"), 0);
        assert_eq!(count("SELECT count(*) FROM blobs"), 0);
        // Again: nothing left to prune.
        assert_eq!(journal.prune(Duration::ZERO).ok(), Some(0));
    }
}
