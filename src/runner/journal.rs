//! The journal's part of a run: open it (unless `--no-journal`) before anything is written, then
//! record the run under a fresh id with its document's hash and its input (or, for `resume`, go
//! on recording the run it continues; for `retry`, link the new run to the one it retries).

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::run::Journaling;
use crate::compile::Machine;
use crate::document::Document;
use crate::journal::{self, Journal, Recorder, Relation, RunStart, StoredEvent};
use crate::runtime::{RecordedEvent, Replay};

/// A run made from a recorded one (`resume`, `retry`).
pub(crate) struct Durable {
    /// The journal the recorded run was read from; the new run is recorded there too.
    pub(crate) journal: Journal,
    pub(crate) start: DurableStart,
    pub(crate) input: Value,
    pub(crate) replay: Arc<Replay>,
}

/// How the run is recorded.
pub(crate) enum DurableStart {
    /// `resume`: more events of the same run, under its id.
    Continue { run_id: String, force: bool },
    /// `retry`: a new run, linked to the one it retries.
    Retry { parent: String },
}

/// The journal could not be opened or written at the start of a run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error("cannot read {path} again: {source}")]
    Reread {
        path: String,
        source: std::io::Error,
    },
}

/// An opened journal, before the run is recorded in it, and how a `resume` or `retry` records
/// it.
pub(crate) struct Opened(Option<Journal>, Option<DurableStart>);

/// Opens the journal of `state_dir` (or the default one), or nothing with `--no-journal`;
/// `resume` and `retry` bring the journal they read the recorded run from. A journal that
/// cannot be used stops the run before it starts: a run nobody can resume must be asked for
/// explicitly.
pub(crate) fn open_for(
    journaling: Journaling,
    state_dir: Option<&Path>,
) -> Result<Opened, StartError> {
    match journaling {
        Journaling::Durable(durable) => {
            let Durable { journal, start, .. } = *durable;
            Ok(Opened(Some(journal), Some(start)))
        }
        Journaling::Off => Ok(Opened(None, None)),
        Journaling::On => {
            let dir = journal::state_dir(state_dir);
            Ok(Opened(Some(Journal::open(&dir)?), None))
        }
    }
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
    ) -> Result<Option<Recorder>, StartError> {
        let Opened(Some(journal), durable) = self else {
            return Ok(None);
        };
        let recorder = Self::record(journal, durable, file, document, input)?;
        number_tasks(&recorder, machine)?;
        Ok(Some(recorder))
    }

    fn record(
        journal: Journal,
        durable: Option<DurableStart>,
        file: &Path,
        document: &Document,
        input: &Value,
    ) -> Result<Recorder, StartError> {
        let parent = match durable {
            Some(DurableStart::Continue { run_id, force }) => {
                return Ok(journal.continue_run(&run_id, force)?);
            }
            Some(DurableStart::Retry { parent }) => Some((parent, Relation::Retry)),
            None => None,
        };
        let bytes = std::fs::read(file).map_err(|source| StartError::Reread {
            path: file.display().to_string(),
            source,
        })?;
        record_new(
            &journal,
            parent,
            file,
            document,
            journal::document_hash(&bytes),
            input,
        )
    }
}

/// Records a new run of `document` (read from `file`, whose bytes hash to `document_hash`) in
/// `journal` under a fresh id (a UUID v7): its row, status `running`, and the recorder of its
/// events.
pub(crate) fn record_new(
    journal: &Journal,
    parent: Option<(String, Relation)>,
    file: &Path,
    document: &Document,
    document_hash: String,
    input: &Value,
) -> Result<Recorder, StartError> {
    // Absolute, so a resume from another directory finds the document again.
    let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let meta = &document.meta;
    let start = RunStart {
        run_id: uuid::Uuid::now_v7().to_string(),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        version: meta.version.clone(),
        document_path: path.display().to_string(),
        document_hash,
        input: input.clone(),
        parent,
    };
    Ok(journal.begin_run(start)?)
}

/// Numbers the machine's task pointers for `recorder`, before the run's first event.
pub(crate) fn number_tasks(recorder: &Recorder, machine: &Machine) -> Result<(), StartError> {
    let pointers: Vec<_> = machine
        .tasks
        .iter()
        .map(|task| task.pointer.clone())
        .collect();
    Ok(recorder.number_tasks(&pointers)?)
}

/// Run `id`'s recorded events, as a resume or a retry replays them.
pub(crate) fn recorded_events(
    journal: &Journal,
    id: &str,
) -> Result<Vec<RecordedEvent>, journal::JournalError> {
    Ok(journal
        .events(id)?
        .into_iter()
        .map(recorded_event)
        .collect())
}

/// A stored event as the replay reads it: workflow events never carry a step.
pub(crate) fn recorded_event(event: StoredEvent) -> RecordedEvent {
    RecordedEvent {
        kind: event.kind,
        task: event.task.filter(|_| event.task_event),
        step: event.step.filter(|_| event.task_event),
        data: event.data,
    }
}
