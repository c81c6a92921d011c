//! `graph FILE --run RUN_ID`: the state of each task in a recorded run, read from the journal,
//! for the graph writers to colour.

use super::error::CommandError;
use std::collections::BTreeMap;
use std::io::Write;

use crate::cli::GraphArgs;
use crate::document::Document;
use crate::graph::TaskState;
use crate::journal::{self, Journal, Timeline, states_by_task};

/// Each task pointer's state in run `run` (an id or unique prefix). A run of another workflow
/// is refused; a run of another version or edit of this one is drawn with a warning.
pub(crate) fn states(
    args: &GraphArgs,
    run: &str,
    document: &Document,
    stderr: &mut dyn Write,
) -> Result<BTreeMap<String, TaskState>, CommandError> {
    let dir = journal::state_dir(args.state.state_dir.as_deref());
    let journal = Journal::open_existing(&dir)?;
    let record = journal.run(run)?;
    let meta = &document.meta;
    if (record.namespace.as_str(), record.name.as_str())
        != (meta.namespace.as_str(), meta.name.as_str())
    {
        return Err(CommandError::Refused(format!(
            "run {} is a run of {}/{}, not of {}/{} ({})",
            record.id,
            record.namespace,
            record.name,
            meta.namespace,
            meta.name,
            args.file.display()
        )));
    }
    let same_file = std::fs::read(&args.file)
        .map(|bytes| journal::document_hash(&bytes) == record.document_hash)
        .unwrap_or(false);
    if !same_file {
        let _ = writeln!(
            stderr,
            "warning: run {} was recorded from another version of {}; tasks are matched by \
             their position in the document",
            record.id,
            args.file.display()
        );
    }
    let mut timeline = Timeline::default();
    journal.visit_events(&record.id, |event| {
        timeline.push(&event);
        true
    })?;
    let states = states_by_task(&timeline.finish())
        .into_iter()
        .map(|(task, status)| (task, TaskState::from(status)))
        .collect();
    Ok(states)
}
