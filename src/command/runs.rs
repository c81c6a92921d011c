//! `workflow runs`: the runs recorded in the journal, listed (with filters), one shown
//! (`show`), its events replayed as CloudEvents (`events`), or old ones deleted (`prune`).

use super::error::{AgeError, CommandError};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use serde_json::Value;

use super::{runs_logs, runs_show};
use crate::cli::{RunFormat, RunStatusArg, RunsAction, RunsArgs, RunsEventsArgs, RunsPruneArgs};
use crate::exit_code::ExitCode;
use crate::journal::{self, Journal, JournalError, RunFilter, RunRecord, RunState};
use crate::report::fmt;
use crate::runtime::event::{CONTEXT_CHANGED, EVENT_CONSUMED};

pub fn run(args: &RunsArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    if let Some(code) = super::runs_temporal::run(args, stdout, stderr) {
        return code;
    }
    let dir = journal::state_dir(args.state.state_dir.as_deref());
    let result = match &args.action {
        None => list(args, &dir, stdout, stderr),
        Some(RunsAction::Show(show)) => {
            open(&dir).and_then(|journal| runs_show::show(&journal, show, stdout))
        }
        Some(RunsAction::Events(events)) => {
            open(&dir).and_then(|journal| print_events(&journal, events, stdout))
        }
        Some(RunsAction::Prune(prune)) => prune_runs(prune, &dir, stdout),
        Some(RunsAction::Logs(logs)) => {
            open(&dir).and_then(|journal| runs_logs::logs(&journal, logs, stdout))
        }
    };
    match result {
        Ok(()) => ExitCode::Success,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            ExitCode::Usage
        }
    }
}

/// A failure, worded for stderr.
type Outcome = Result<(), CommandError>;

fn open(dir: &Path) -> Result<Journal, CommandError> {
    Ok(Journal::open_existing(dir)?)
}

fn list(args: &RunsArgs, dir: &Path, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Outcome {
    let runs = match Journal::open_existing(dir) {
        Ok(journal) => {
            let filter = RunFilter {
                status: args.status.map(status),
                name: args.name.clone(),
                limit: (args.limit > 0).then_some(args.limit),
            };
            journal.runs(&filter)?
        }
        // Nothing recorded yet is an empty list, not a failure.
        Err(JournalError::Missing { dir }) => {
            if args.format == RunFormat::Human {
                let _ = writeln!(stderr, "no runs recorded in {}", dir.display());
            }
            Vec::new()
        }
        Err(error) => return Err(error.into()),
    };
    write_list(&runs, args.format, stdout);
    Ok(())
}

/// The listing of `runs` (from the journal, or from Temporal).
pub(crate) fn write_list(runs: &[RunRecord], format: RunFormat, stdout: &mut dyn Write) {
    let written = match format {
        RunFormat::Json => {
            let list: Vec<Value> = runs.iter().map(RunRecord::to_json).collect();
            writeln!(stdout, "{}", Value::Array(list))
        }
        RunFormat::Human => stdout.write_all(table(runs).as_bytes()),
    };
    // A closed stdout (`| head`) is not the journal's failure.
    let _ = written;
}

fn status(arg: RunStatusArg) -> RunState {
    match arg {
        RunStatusArg::Running => RunState::Running,
        RunStatusArg::Interrupted => RunState::Interrupted,
        RunStatusArg::Completed => RunState::Completed,
        RunStatusArg::Faulted => RunState::Faulted,
        RunStatusArg::Cancelled => RunState::Cancelled,
    }
}

/// The human listing: id, workflow, status, start (local time), duration.
fn table(runs: &[RunRecord]) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let rows: Vec<[String; 5]> = runs
        .iter()
        .map(|run| {
            [
                run.id.clone(),
                format!("{}/{}:{}", run.namespace, run.name, run.version),
                shown_status(run).to_string(),
                local_time(run.started_at),
                run.duration()
                    .map(fmt::duration)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["ID", "WORKFLOW", "STATUS", "STARTED", "DURATION"].map(String::from);
    columns(&header, &rows)
}

/// The status as a person needs it: a running run whose process is gone is `interrupted`.
pub(crate) fn shown_status(run: &RunRecord) -> &'static str {
    run.state().as_str()
}

pub(crate) fn local_time(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Left-aligned columns two spaces apart; the last column is not padded.
pub(crate) fn columns<const N: usize>(header: &[String; N], rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in std::iter::once(header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `runs events`: the run's CloudEvents, one per line, streamed from the database.
fn print_events(journal: &Journal, args: &RunsEventsArgs, stdout: &mut dyn Write) -> Outcome {
    let run = journal.run(&args.run)?;
    let mut out = std::io::BufWriter::new(stdout);
    let mut closed = false;
    journal.visit_events(&run.id, |event| {
        // Journal-only kinds (the `$context` a resume restores) are not published events.
        if event.kind == CONTEXT_CHANGED || event.kind == EVENT_CONSUMED {
            return true;
        }
        let line = event.to_cloudevent(&run).to_string();
        closed = writeln!(out, "{line}").is_err();
        !closed
    })?;
    let _ = out.flush();
    Ok(())
}

fn prune_runs(args: &RunsPruneArgs, dir: &Path, stdout: &mut dyn Write) -> Outcome {
    let age = parse_age(&args.older_than)?;
    let removed = match Journal::open_existing(dir) {
        Ok(journal) => journal.prune(age)?,
        Err(JournalError::Missing { .. }) => 0,
        Err(error) => return Err(error.into()),
    };
    let _ = writeln!(
        stdout,
        "pruned {} that ended more than {} ago",
        fmt::plural(removed as u64, "run", "runs"),
        args.older_than
    );
    Ok(())
}

/// `30d`, `12h`, `90m`, `45s`: a whole number and one unit.
pub(crate) fn parse_age(text: &str) -> Result<Duration, AgeError> {
    let bad = || AgeError(text.to_owned());
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_take_a_number_and_a_unit() {
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "30",
            "d",
            "3.5d",
            "-1d",
            "30 d",
            "30w",
            "99999999999999999999d",
        ] {
            let error = parse_age(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("is not an age"), "{bad}: {error}");
        }
    }

    #[test]
    fn columns_align_and_do_not_pad_the_last() {
        let header = ["A".to_string(), "LONG".to_string(), "Z".to_string()];
        let rows = [["xyz".to_string(), "1".to_string(), "tail".to_string()]];
        assert_eq!(columns(&header, &rows), "A    LONG  Z\nxyz  1     tail\n");
    }
}
