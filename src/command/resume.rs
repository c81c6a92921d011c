//! `workflow resume RUN_ID`: continues a recorded run that was killed or cancelled, under the
//! same id and with its recorded input: the document is read again from its recorded path (and
//! refused when it changed, unless `--force`), completed steps are replayed from the journal and
//! the rest runs. Output, exit codes and `--format json` are those of `run`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::durable::{self, Durable, DurableStart, Recorded};
use super::error::CommandError;
use crate::cli::{ColorChoice, ResumeArgs};
use crate::exit_code::ExitCode;
use crate::journal::{self, RunRecord, RunStatus};
use crate::runtime::Replay;

pub fn run(
    args: &ResumeArgs,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let prepared =
        durable::recorded(&args.exec, &args.run).and_then(|recorded| prepare(recorded, args.force));
    let (durable, file, note) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    if !args.exec.quiet {
        let _ = writeln!(stderr, "{note}");
    }
    // A killed run's watcher ends its processes; this ends what it could not (or not yet), so
    // that no step runs again next to the orphan of its first attempt.
    if let DurableStart::Continue { run_id, .. } = &durable.start {
        let ended = crate::exec::process::end_leftovers(run_id);
        if ended > 0 && !args.exec.quiet {
            let _ = writeln!(
                stderr,
                "ended {ended} process{} left behind by the interrupted run",
                if ended == 1 { "" } else { "es" }
            );
        }
    }
    match durable::config(&args.exec, file, durable) {
        Ok(config) => crate::runner::run(config, color, stdout, stderr),
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::Usage
        }
    }
}

/// The run to make, its document, and a line telling what will be replayed.
fn prepare(recorded: Recorded, force: bool) -> Result<(Durable, PathBuf, String), CommandError> {
    let Recorded {
        journal,
        record,
        events,
    } = recorded;
    refuse_unresumable(&record, force)?;
    let bytes = durable::read_document(&record)?;
    let hash = journal::document_hash(&bytes);
    if hash != record.document_hash && !force {
        return Err(CommandError::Refused(format!(
            "the document {} changed since run {} started (its SHA-256 was {}, it is now {}): \
             replaying the recorded steps on another document could take wrong turns; pass \
             --force to resume anyway, or start a new run with `workflow retry {}`",
            record.document_path,
            record.id,
            short(&record.document_hash),
            short(&hash),
            record.id
        )));
    }
    let replay = Replay::from_events(&events);
    let status = if record.interrupted() {
        "interrupted"
    } else {
        record.status.as_str()
    };
    let note = format!(
        "resuming run {} ({status}): {} completed step{} will not run again",
        record.id,
        replay.len(),
        if replay.len() == 1 { "" } else { "s" }
    );
    let durable = Durable {
        journal,
        start: DurableStart::Continue {
            run_id: record.id.clone(),
            force,
        },
        input: record.input.clone(),
        replay: Arc::new(replay),
    };
    Ok((durable, durable::document_path(&record), note))
}

/// A completed run has nothing left to do; a faulted one ended for good (a retry runs it again
/// as a new run, keeping its record); a run whose process is still alive would run twice.
fn refuse_unresumable(record: &RunRecord, force: bool) -> Result<(), CommandError> {
    let refused = match record.status {
        RunStatus::Completed => format!(
            "run {} already completed: there is nothing to resume (`workflow retry {} --from \
             TASK` runs it again from a task)",
            record.id, record.id
        ),
        RunStatus::Faulted => format!(
            "run {} faulted: it ended and is not resumed; `workflow retry {}` runs it again from \
             its failed task as a new run, reusing what completed",
            record.id, record.id
        ),
        RunStatus::Running if !force && !record.interrupted() && record.pid.is_some() => {
            format!(
                "run {} is still running (process {}): resuming it would run its tasks twice; \
                 stop it first, or pass --force if that process is not this run",
                record.id,
                record.pid.unwrap_or_default()
            )
        }
        _ => return Ok(()),
    };
    Err(CommandError::Refused(refused))
}

/// The first characters of a hash, enough to tell two apart.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(status: RunStatus, pid: Option<u32>) -> RunRecord {
        RunRecord {
            id: "r1".into(),
            namespace: "ns".into(),
            name: "n".into(),
            version: "1".into(),
            document_path: "/nowhere/flow.yaml".into(),
            document_hash: "0123456789abcdef".into(),
            input: json!({}),
            status,
            started_at: chrono::Utc::now(),
            ended_at: None,
            output: None,
            error: None,
            parent: None,
            pid,
        }
    }

    #[test]
    fn completed_and_live_runs_are_refused() {
        let completed = refuse_unresumable(&record(RunStatus::Completed, None), true);
        assert!(
            completed
                .err()
                .is_some_and(|e| e.to_string().starts_with("run r1 already completed")),
        );
        let me = Some(std::process::id());
        let live = refuse_unresumable(&record(RunStatus::Running, me), false);
        assert!(
            live.err()
                .is_some_and(|e| e.to_string().contains("is still running"))
        );
        assert!(refuse_unresumable(&record(RunStatus::Running, me), true).is_ok());
        assert!(refuse_unresumable(&record(RunStatus::Cancelled, me), false).is_ok());
        let faulted = refuse_unresumable(&record(RunStatus::Faulted, None), false);
        assert!(
            faulted
                .err()
                .is_some_and(|e| e.to_string().contains("workflow retry r1"))
        );
        assert_eq!(short("0123456789abcdef"), "0123456789ab");
        assert_eq!(short("ab"), "ab");
    }
}
