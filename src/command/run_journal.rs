//! The journal's part of `workflow run`: open it (unless `--no-journal`) before anything is
//! written, then record the run under a fresh id with its document's hash and its input (or,
//! for `resume`, go on recording the run it continues).

use std::path::Path;

use serde_json::Value;

use super::durable::{Durable, DurableStart};
use crate::cli::RunArgs;
use crate::compile::Machine;
use crate::document::Document;
use crate::journal::{self, Journal, Recorder, Relation, RunStart};

/// An opened journal, before the run is recorded in it, and how a `resume` or `retry` records
/// it.
pub(crate) struct Opened(Option<Journal>, Option<DurableStart>);

/// Opens the journal `args` name, or nothing with `--no-journal`; `resume` and `retry` bring the
/// journal they read the recorded run from. A journal that cannot be used stops the run before
/// it starts: a run nobody can resume must be asked for explicitly.
pub(crate) fn open_for(args: &RunArgs, durable: Option<Durable>) -> Result<Opened, String> {
    if let Some(durable) = durable {
        return Ok(Opened(Some(durable.journal), Some(durable.start)));
    }
    if args.no_journal {
        return Ok(Opened(None, None));
    }
    let dir = journal::state_dir(args.exec.state.state_dir.as_deref());
    Journal::open(&dir)
        .map(|journal| Opened(Some(journal), None))
        .map_err(|error| error.to_string())
}

impl Opened {
    /// Records the start of the run: its id (a new UUID v7) and the recorder to publish its
    /// events to. `None` with `--no-journal`.
    pub(crate) fn begin(
        self,
        file: &Path,
        document: &Document,
        machine: &Machine,
        input: &Value,
    ) -> Result<Option<Recorder>, String> {
        let Opened(Some(journal), durable) = self else {
            return Ok(None);
        };
        let recorder = Self::record(journal, durable, file, document, input)?;
        let pointers: Vec<_> = machine
            .tasks
            .iter()
            .map(|task| task.pointer.clone())
            .collect();
        recorder
            .number_tasks(&pointers)
            .map_err(|error| error.to_string())?;
        Ok(Some(recorder))
    }

    fn record(
        journal: Journal,
        durable: Option<DurableStart>,
        file: &Path,
        document: &Document,
        input: &Value,
    ) -> Result<Recorder, String> {
        let parent = match durable {
            Some(DurableStart::Continue { run_id, force }) => {
                return journal
                    .continue_run(&run_id, force)
                    .map_err(|error| error.to_string());
            }
            Some(DurableStart::Retry { parent }) => Some((parent, Relation::Retry)),
            None => None,
        };
        let bytes = std::fs::read(file)
            .map_err(|error| format!("cannot read {} again: {error}", file.display()))?;
        // Absolute, so a resume from another directory finds the document again.
        let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let meta = &document.meta;
        let start = RunStart {
            run_id: uuid::Uuid::now_v7().to_string(),
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            version: meta.version.clone(),
            document_path: path.display().to_string(),
            document_hash: journal::document_hash(&bytes),
            input: input.clone(),
            parent,
        };
        journal.begin_run(start).map_err(|error| error.to_string())
    }
}
