//! What `resume` and `retry` share: reading a recorded run back from the journal, and the run
//! configuration of a run made from it (the journal, how to record it, its input, the steps it
//! replays).

use std::path::PathBuf;

use super::error::CommandError;
use crate::cli::ExecArgs;
use crate::journal::{self, Journal, RunRecord};
use crate::runner::{Journaling, RunConfig};
use crate::runtime::RecordedEvent;

pub(crate) use crate::runner::journal::{Durable, DurableStart};

/// A recorded run and its events, in order.
pub(crate) struct Recorded {
    pub(crate) journal: Journal,
    pub(crate) record: RunRecord,
    pub(crate) events: Vec<RecordedEvent>,
}

/// Reads run `id` (or a unique prefix of it) back from the journal in the state directory.
pub(crate) fn recorded(exec: &ExecArgs, id: &str) -> Result<Recorded, CommandError> {
    let dir = journal::state_dir(exec.state.state_dir.as_deref());
    let journal = Journal::open_existing(&dir)?;
    let record = journal.run(id)?;
    let events = crate::runner::journal::recorded_events(&journal, &record.id)?;
    Ok(Recorded {
        journal,
        record,
        events,
    })
}

/// The configuration of `durable`, a run of the document at `file`: its input comes from the
/// record.
pub(crate) fn config(
    exec: &ExecArgs,
    file: PathBuf,
    durable: Durable,
) -> Result<RunConfig, CommandError> {
    let input = durable.input.clone();
    Ok(
        RunConfig::new(file, exec.clone(), Journaling::Durable(Box::new(durable)))?
            .with_input(input, false),
    )
}

/// The recorded document's path.
pub(crate) fn document_path(record: &RunRecord) -> PathBuf {
    PathBuf::from(&record.document_path)
}

/// Reads the document the run recorded, or says why it cannot.
pub(crate) fn read_document(record: &RunRecord) -> Result<Vec<u8>, CommandError> {
    std::fs::read(&record.document_path).map_err(|source| CommandError::RunDocument {
        run: record.id.clone(),
        path: record.document_path.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use crate::journal::StoredEvent;
    use crate::runner::journal::recorded_event;
    use serde_json::json;

    #[test]
    fn workflow_events_never_carry_a_step() {
        let stored = StoredEvent {
            seq: 1,
            id: "e".into(),
            kind: "completed".into(),
            task_event: false,
            task: Some("/do/0/a".into()),
            step: Some("/do/0/a".into()),
            parent: None,
            time: chrono::Utc::now(),
            data: json!({"output": 1}),
        };
        let event = recorded_event(stored.clone());
        assert_eq!((event.task, event.step), (None, None));
        let task = recorded_event(StoredEvent {
            task_event: true,
            ..stored
        });
        assert_eq!(task.step.as_deref(), Some("/do/0/a"));
        assert_eq!(task.data, json!({"output": 1}));
    }
}
