//! `workflow worker --temporal ADDR --replay RUN_ID...`: fetches the recorded histories of runs
//! from Temporal and replays them with this build's workflow code, through the SDK's replayer.
//! A history this build would not reproduce (nondeterminism) fails the command: run it against
//! production runs before upgrading the workers.

use std::io::Write;
use temporalio_client::{Client, WorkflowFetchHistoryOptions, WorkflowHistory};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

use super::client::{ClientError, Endpoint};
use super::workflow::ServerlessWorkflow;
use crate::exit_code::ExitCode;

/// Why a history did not replay.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReplayError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("run {id}: {detail}")]
    Replay { id: String, detail: String },
}

/// Replays every run's history; the exit code is `Faulted` when one of them fails.
pub fn replay(endpoint: Endpoint, runs: &[String], stderr: &mut dyn Write) -> ExitCode {
    let Some(runtime) = super::client::runtime(stderr) else {
        return ExitCode::Faulted;
    };
    let client = match runtime.block_on(endpoint.connect()) {
        Ok(client) => client,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    let mut code = ExitCode::Success;
    for id in runs {
        match runtime.block_on(replay_one(&client, id)) {
            Ok(()) => {
                let _ = writeln!(stderr, "replayed: run {id}");
            }
            Err(error) => {
                let _ = writeln!(stderr, "error: {error}");
                code = ExitCode::Faulted;
            }
        }
    }
    code
}

async fn replay_one(client: &Client, id: &str) -> Result<(), ReplayError> {
    let failed = |detail: String| ReplayError::Replay {
        id: id.to_string(),
        detail,
    };
    let history: WorkflowHistory = client
        .get_workflow_handle::<ServerlessWorkflow>(id)
        .fetch_history(WorkflowFetchHistoryOptions::default());
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<ServerlessWorkflow>()
        .map_err(|error| failed(error.to_string()))?
        // As the worker: the engine's wakers are its own (see `worker.rs`).
        .detect_nondeterministic_futures(false)
        .build();
    let replayer = WorkflowReplayer::new(options).map_err(|error| failed(error.to_string()))?;
    replayer
        .replay_workflow(history)
        .await
        .map_err(|error| failed(error.to_string()))
}
