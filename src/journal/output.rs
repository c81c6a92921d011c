//! What `run` tasks printed, kept in the journal's `task_output` table: the writer's side (each
//! execution's lines up to [`TASK_LOG_CAP`] bytes, then one line saying the rest was cut) and the
//! reading side `workflow runs logs` uses.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, params};

use super::error::JournalError;
use super::open::Journal;
use crate::host::effects::process::OutputStream;
use crate::runtime::event::{EventKind, LifecycleEvent};

/// Bytes of output kept per task execution (both streams together); the rest is counted, not
/// stored, so a task printing without end cannot fill the disk.
pub const TASK_LOG_CAP: usize = 1024 * 1024;

/// One line on its way to the table.
#[derive(Debug)]
pub(crate) struct OutputRow {
    pub(crate) workflow: Option<String>,
    pub(crate) task: Arc<str>,
    pub(crate) step: Option<Arc<str>>,
    pub(crate) stream: OutputStream,
    time: i64,
    pub(crate) line: String,
}

/// The writer's bookkeeping of how much each execution printed.
#[derive(Debug, Default)]
pub(crate) struct OutputCap {
    /// Bytes kept so far, by (sub-workflow, step or task): `None` once the cap was reached.
    kept: HashMap<(Option<String>, Arc<str>), Option<usize>>,
}

impl OutputCap {
    /// The row for an output event of run `own_run` (other runs are its sub-workflows), or
    /// `None` when the event is not output or its execution is over the cap. The line that
    /// crosses the cap is replaced by a note saying so.
    pub(crate) fn row(&mut self, event: &LifecycleEvent, own_run: &str) -> Option<OutputRow> {
        let EventKind::TaskOutput { stream, line } = &event.kind else {
            return None;
        };
        let workflow = (event.run.run_id != own_run).then(|| event.run.display_name());
        let task = event.task.clone().unwrap_or_else(|| Arc::from("/"));
        let execution = event.step.clone().unwrap_or_else(|| task.clone());
        let kept = self
            .kept
            .entry((workflow.clone(), execution))
            .or_insert(Some(0));
        let so_far = (*kept)?;
        let line = if so_far + line.len() + 1 > TASK_LOG_CAP {
            *kept = None;
            format!(
                "[log cut: this task printed more than {} KiB; later lines are not kept]",
                TASK_LOG_CAP / 1024
            )
        } else {
            *kept = Some(so_far + line.len() + 1);
            line.clone()
        };
        Some(OutputRow {
            workflow,
            task,
            step: event.step.clone(),
            stream: *stream,
            time: event.time.timestamp_micros(),
            line,
        })
    }
}

/// Inserts `rows` for run number `run`, inside the caller's transaction.
pub(crate) fn insert(
    connection: &Connection,
    run: i64,
    rows: &[OutputRow],
) -> rusqlite::Result<()> {
    let mut statement = connection.prepare_cached(
        "INSERT INTO task_output (run, workflow, task, step, stream, time, line)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for row in rows {
        statement.execute(params![
            run,
            row.workflow,
            row.task.as_ref(),
            row.step.as_deref(),
            row.stream.name(),
            row.time,
            row.line
        ])?;
    }
    Ok(())
}

/// One stored line, as `runs logs` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Increasing in the order the lines were stored: a follower asks for lines after it.
    pub num: i64,
    /// The sub-workflow that printed it, by qualified name; `None` for the run's own tasks.
    pub workflow: Option<String>,
    pub task: String,
    pub step: Option<String>,
    pub stream: OutputStream,
    pub time: chrono::DateTime<chrono::Utc>,
    pub line: String,
}

impl Journal {
    /// The lines run `run_id` printed after line number `after` (0: from the start), in order.
    pub fn task_output(&self, run_id: &str, after: i64) -> Result<Vec<OutputLine>, JournalError> {
        let run = self.run(run_id)?;
        let sqlite = |error| JournalError::sqlite(&self.path, error);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT o.num, o.workflow, o.task, o.step, o.stream, o.time, o.line
                 FROM task_output o JOIN runs r ON r.num = o.run
                 WHERE r.id = ?1 AND o.num > ?2
                 ORDER BY o.num",
            )
            .map_err(sqlite)?;
        let rows = statement
            .query_map(params![run.id, after], |row| {
                let stream: String = row.get(4)?;
                let micros: i64 = row.get(5)?;
                Ok(OutputLine {
                    num: row.get(0)?,
                    workflow: row.get(1)?,
                    task: row.get(2)?,
                    step: row.get(3)?,
                    stream: match stream.as_str() {
                        "stderr" => OutputStream::Stderr,
                        "warning" => OutputStream::Warning,
                        _ => OutputStream::Stdout,
                    },
                    time: chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default(),
                    line: row.get(6)?,
                })
            })
            .map_err(sqlite)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sqlite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::event::RunIdentity;

    fn output(run: &Arc<RunIdentity>, step: &str, line: &str) -> LifecycleEvent {
        LifecycleEvent::new(
            run.clone(),
            Some("/do/0/a".into()),
            EventKind::TaskOutput {
                stream: OutputStream::Stdout,
                line: line.into(),
            },
        )
        .at_step(Some(step.into()))
    }

    #[test]
    fn each_execution_is_capped_on_its_own_and_says_where_it_was_cut() {
        let run = RunIdentity::for_tests("run-1");
        let mut cap = OutputCap::default();
        // Each line costs its bytes and its newline: two of these fill the cap exactly.
        let big = "x".repeat(TASK_LOG_CAP / 2 - 1);
        assert!(
            cap.row(&output(&run, "/do/0/a[1]", &big), "run-1")
                .is_some()
        );
        assert!(
            cap.row(&output(&run, "/do/0/a[1]", &big), "run-1")
                .is_some()
        );
        let note = cap.row(&output(&run, "/do/0/a[1]", "more"), "run-1");
        assert!(note.is_some_and(|row| row.line.starts_with("[log cut: ")));
        assert!(
            cap.row(&output(&run, "/do/0/a[1]", "more"), "run-1")
                .is_none()
        );
        // Another iteration has its own allowance.
        assert!(
            cap.row(&output(&run, "/do/0/a[2]", "more"), "run-1")
                .is_some()
        );
        // A sub-workflow's line is named by its workflow.
        let row = cap.row(&output(&run, "/do/0/a[1]", "sub"), "parent");
        assert_eq!(
            row.and_then(|row| row.workflow),
            Some("ns/flow:1.0.0".to_string())
        );
        let started = LifecycleEvent::new(run, None, EventKind::TaskStarted);
        assert!(cap.row(&started, "run-1").is_none());
    }
}
