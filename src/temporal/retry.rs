//! `workflow retry RUN_ID --temporal ...`: a new Temporal run of the document a recorded run
//! carries (read from the input of its history's first event, so the file need not exist here),
//! with the same input unless `--input` gives another. Everything runs again: a history holds
//! activity results, not our per-step outputs, so nothing is reused (unlike a local retry).

use std::io::Write;

use serde_json::Value;

use super::client::{self, ClientError, Endpoint, Submitted};
use super::ops::{self, OpsError};
use super::payload::RunRequest;
use crate::exit_code::ExitCode;

/// A retry as the command line asked for it.
pub struct RetryConfig {
    pub endpoint: Endpoint,
    /// The recorded run's id (its Temporal workflow id).
    pub run: String,
    /// A new workflow input instead of the recorded one.
    pub input: Option<Value>,
    pub detach: bool,
    pub json: bool,
}

/// Starts the new run and reports it as `run --temporal` does.
pub fn retry(config: RetryConfig, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let (json, detach) = (config.json, config.detach);
    let started = ops::block_on(async move {
        let client = config.endpoint.connect().await?;
        let recorded = ops::recorded_request(&client, &config.run).await?;
        let request = RunRequest::new(
            recorded.name,
            recorded.document,
            config.input.unwrap_or(recorded.input),
        );
        let id = uuid::Uuid::now_v7().to_string();
        Ok::<_, OpsError>(
            client::start(
                &client,
                &config.endpoint,
                id,
                request,
                detach,
                None,
                Vec::new(),
            )
            .await,
        )
    });
    let submitted: Result<Submitted, ClientError> = match started {
        Ok(submitted) => submitted,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    client::report(submitted, json, detach, stdout, stderr)
}
