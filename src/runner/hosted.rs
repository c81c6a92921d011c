//! One run on a long-lived host (`workflow serve`): the same engine, journal recorder and
//! secrets masking as a CLI run, without the process-wide parts a CLI run owns (its tokio
//! runtime, its signals, its reporters on stdout/stderr). The caller gives the run's recorder;
//! the outcome comes back masked.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::compile::Machine;
use crate::host::Executors;
use crate::journal::{JournalError, Recorder};
use crate::problem::{ErrorKind, WorkflowError};
use crate::runtime::event::{EventFanout, EventSink};
use crate::runtime::{Outcome, Replay, RunOptions, RunResult};
use crate::secrets::{RedactingSink, Redactor, Secrets};

/// Everything one hosted run needs.
pub(crate) struct HostedRun {
    pub machine: Arc<Machine>,
    /// The document's path: relative scripts and sub-workflows are found from its directory.
    pub file: PathBuf,
    pub input: Value,
    /// Records the run; its id is the run's id.
    pub recorder: Recorder,
    /// Steps taken from the journal instead of executed (a resume or a retry).
    pub replay: Option<Arc<Replay>>,
    pub secrets: Secrets,
    pub executors: Executors,
    /// Further consumers of the run's events (metrics, live views), after masking.
    pub sinks: Vec<Arc<dyn EventSink>>,
    pub redactor: Arc<Redactor>,
    pub cancel: CancellationToken,
    pub max_steps: u64,
}

/// Runs it to its end on the current tokio runtime. A journal that fails stops the run before
/// its next step (as for `run`), and a run that completed but could not be recorded faults.
pub(crate) async fn run_hosted(run: HostedRun) -> RunResult {
    let HostedRun {
        machine,
        file,
        input,
        recorder,
        replay,
        secrets,
        executors,
        mut sinks,
        redactor,
        cancel,
        max_steps,
    } = run;
    sinks.push(Arc::new(recorder.clone()));
    let events: Arc<dyn EventSink> = Arc::new(EventFanout(sinks));
    let events = RedactingSink::wrap(events, &redactor);
    recorder.stop_run_on_failure(cancel.clone());
    let options = RunOptions {
        max_steps,
        secrets,
        cancel,
        run_id: Some(recorder.run_id().to_string()),
        document: Some(file),
        replay,
        ..RunOptions::default()
    };
    let mut result = crate::runtime::run(machine, input, options, executors, events).await;
    redactor.outcome(&mut result.outcome);
    // The writer thread is joined off the runtime's threads.
    let finished = tokio::task::spawn_blocking(move || recorder.finish())
        .await
        .unwrap_or_else(|_| Err(JournalError::Writer("it panicked".into())));
    if let Err(error) = finished
        && !matches!(result.outcome, Outcome::Faulted(_))
    {
        let mut fault =
            WorkflowError::new(ErrorKind::Runtime, "Journal write failed").with_detail(format!(
                "the journal of run {} could not be written: {error}",
                result.id
            ));
        redactor.error(&mut fault);
        result.outcome = Outcome::Faulted(fault);
    }
    result
}
