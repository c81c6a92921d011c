//! `workflow retry RUN_ID [--from TASK] [--input …]`: a new run of a recorded run's document
//! (read again from its recorded path: it may have been fixed), linked to it in the journal,
//! that reuses the recorded outputs of every step completed before the chosen task started and
//! runs the rest. Output, exit codes and `--format json` are those of `run`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::durable::{self, Durable, DurableStart, Recorded};
use super::error::CommandError;
use crate::cli::{ColorChoice, RetryArgs};
use crate::exit_code::ExitCode;
use crate::frontend;
use crate::runtime::Replay;
use crate::runtime::retry_point::retry_point;

pub fn run(
    args: &RetryArgs,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    if let Some(code) = super::temporal::retry(args, stdout, stderr) {
        return code;
    }
    let prepared = durable::recorded(&args.exec, &args.run)
        .and_then(|recorded| prepare(recorded, args.from.as_deref(), args.input.as_deref()));
    let (durable, file, note) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    if !args.exec.quiet
        && let Some(note) = note
    {
        let _ = writeln!(stderr, "{note}");
    }
    match durable::config(&args.exec, file, durable) {
        Ok(config) => crate::runner::run(config, color, stdout, stderr),
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::Usage
        }
    }
}

/// The new run, its document, and a line telling where it starts. A document that no longer
/// compiles gets an empty replay: `run` then reports its findings exactly as for any run.
fn prepare(
    recorded: Recorded,
    from: Option<&str>,
    input: Option<&str>,
) -> Result<(Durable, PathBuf, Option<String>), CommandError> {
    let Recorded {
        journal,
        record,
        events,
    } = recorded;
    let input = match input {
        Some(text) => crate::runner::read_input(Some(text))?,
        None => record.input.clone(),
    };
    let file = durable::document_path(&record);
    durable::read_document(&record)?;
    let (_, machine) = frontend::check_and_compile(&file);
    let (replay, note) = match machine {
        None => (Replay::default(), None),
        Some(machine) => {
            let point = retry_point(&machine, &record.id, &events, from)?;
            let count = point.replay.len();
            let note = format!(
                "retrying run {} from {}: {} completed step{} reused",
                record.id,
                point.step.as_deref().unwrap_or(&point.task),
                count,
                if count == 1 { "" } else { "s" }
            );
            (point.replay, Some(note))
        }
    };
    let durable = Durable {
        journal,
        start: DurableStart::Retry {
            parent: record.id.clone(),
        },
        input,
        replay: Arc::new(replay),
    };
    Ok((durable, file, note))
}
