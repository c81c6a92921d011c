//! `workflow schedule --temporal ADDR FILE`: a document's `schedule.every` / `schedule.cron` as a
//! Temporal Schedule whose action starts `ServerlessWorkflow` with the document (text and hash)
//! and the given input, so the workers need no file. Its id derives from the document's
//! namespace, name and version: registering again updates it; `--delete` removes it.

use std::time::Duration;

use serde_json::Value;
use temporalio_client::schedules::{
    CreateScheduleOptions, DeleteScheduleOptions, ScheduleAction, ScheduleSpec,
};
use temporalio_client::{Client, RpcOptions};

use super::client::Endpoint;
use super::ops::OpsError;
use super::payload::RunRequest;
use super::workflow::ServerlessWorkflow;

/// When the document's runs start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timing {
    Every(Duration),
    Cron(String),
}

/// A schedule as the command line asked for it.
pub struct ScheduleConfig {
    pub endpoint: Endpoint,
    /// `document.namespace`, `name`, `version`: the schedule's id.
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// The file name, the document's text, the input of every run.
    pub file_name: String,
    pub document: String,
    pub input: Value,
    pub timing: Timing,
}

/// The schedule id of a document.
pub fn schedule_id(namespace: &str, name: &str, version: &str) -> String {
    format!("workflow.{namespace}.{name}.{version}")
}

/// Creates the schedule, or updates it when it exists. Returns its id.
pub(crate) async fn register(config: ScheduleConfig) -> Result<String, OpsError> {
    let client = config.endpoint.connect().await?;
    let id = schedule_id(&config.namespace, &config.name, &config.version);
    let failed = |detail: String| OpsError::Request {
        id: id.clone(),
        detail,
    };
    let spec = match &config.timing {
        Timing::Every(every) => ScheduleSpec::from_interval(*every),
        Timing::Cron(cron) => ScheduleSpec::builder()
            .cron_strings(vec![cron.clone()])
            .build(),
    };
    let request = RunRequest::new(config.file_name, config.document, config.input);
    let action = |request: RunRequest| {
        // Each run's id is this prefix plus the time Temporal started it.
        ScheduleAction::start_workflow(
            ServerlessWorkflow::run,
            request,
            config.endpoint.task_queue.clone(),
            id.clone(),
        )
    };
    let options = CreateScheduleOptions::builder()
        .action(action(request.clone()))
        .spec(spec.clone())
        .note(format!("workflow schedule: {}", request.name))
        .build();
    match client.create_schedule(id.clone(), options).await {
        Ok(_) => Ok(id),
        Err(error) if already_exists(&error) => {
            let action = action(request);
            client
                .get_schedule_handle(id.clone())
                .update(
                    move |update| {
                        update.set_spec(spec);
                        update.set_action(action);
                    },
                    RpcOptions::default(),
                )
                .await
                .map_err(|error| failed(error.to_string()))?;
            Ok(id)
        }
        Err(error) => Err(failed(error.to_string())),
    }
}

/// The server's answer to a create whose id is taken (gRPC `AlreadyExists`).
fn already_exists(error: &temporalio_client::schedules::ScheduleError) -> bool {
    let text = error.to_string().to_lowercase();
    text.contains("already exists")
        || text.contains("alreadyexists")
        || text.contains("already running")
}

/// Removes the document's schedule (runs it started are left alone).
pub(crate) async fn delete(
    endpoint: &Endpoint,
    namespace: &str,
    name: &str,
    version: &str,
) -> Result<String, OpsError> {
    let client: Client = endpoint.connect().await?;
    let id = schedule_id(namespace, name, version);
    client
        .get_schedule_handle(id.clone())
        .delete(DeleteScheduleOptions::default())
        .await
        .map_err(|error| OpsError::Request {
            id: id.clone(),
            detail: error.to_string(),
        })?;
    Ok(id)
}
