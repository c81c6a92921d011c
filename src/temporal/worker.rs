//! `workflow worker --temporal`: a Temporal worker that runs every document submitted to its
//! task queue (the engine as workflow code) and executes their side effects (the activities)
//! with this machine's executors. With `--broker`, emitted events are published there and the
//! broker's events are forwarded to the running runs as signals (`events.rs`). Any number of
//! workers share a task queue; Temporal spreads the work.

use std::io::Write;
use std::sync::Arc;

use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use super::activities::Effects;
use super::client::{ClientError, Endpoint};
use super::workflow::ServerlessWorkflow;
use crate::exec::process::SystemProcesses;
use crate::exit_code::ExitCode;
use crate::host::Executors;

/// A worker as the command line asked for it.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub endpoint: Endpoint,
    /// Workflow tasks and activities this worker runs at once.
    pub max_concurrent: usize,
    /// `--broker` URLs (as `run --broker`): where emits go, and whose events are signalled.
    pub brokers: Vec<String>,
    /// `--secrets` files: read by this worker only (see `secrets.rs`).
    pub secrets: Vec<std::path::PathBuf>,
}

/// Why a worker stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkerError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Broker(#[from] crate::exec::broker::BrokerError),
    #[error("cannot start the Temporal worker: {detail}")]
    Start { detail: String },
    #[error("the Temporal worker stopped: {detail}")]
    Stopped { detail: String },
}

/// Runs a worker until it is killed (or its connection fails for good).
pub fn run_worker(config: WorkerConfig, stderr: &mut dyn Write) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot start the async runtime: {error}");
            return ExitCode::Faulted;
        }
    };
    let endpoint = config.endpoint.clone();
    let _ = writeln!(
        stderr,
        "worker: polling task queue {:?} of namespace {:?} on {}",
        endpoint.task_queue, endpoint.namespace, endpoint.address
    );
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::Success,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            match error {
                WorkerError::Client(_) | WorkerError::Broker(_) => ExitCode::Usage,
                WorkerError::Start { .. } | WorkerError::Stopped { .. } => ExitCode::Faulted,
            }
        }
    }
}

async fn serve(config: WorkerConfig) -> Result<(), WorkerError> {
    let start = |detail: String| WorkerError::Start { detail };
    super::secrets::use_files(config.secrets.clone()).map_err(|error| start(error.to_string()))?;
    let runtime = Runtime::from_current_tokio(Default::default())
        .map_err(|error| start(error.to_string()))?;
    let broker = if config.brokers.is_empty() {
        None
    } else {
        Some(crate::exec::broker::bus_for(&config.brokers)?)
    };
    let client = config.endpoint.connect().await?;
    if let Some(broker) = &broker {
        tokio::spawn(super::events::forward(
            client.clone(),
            Arc::clone(broker),
            config.endpoint.task_queue.clone(),
        ));
    }
    let slots = config.max_concurrent.max(1);
    let tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(slots))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(slots))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build();
    let options = WorkerOptions::new(config.endpoint.task_queue.clone())
        .register_workflow::<ServerlessWorkflow>()
        .map_err(|error| start(error.to_string()))?
        .register_activities(Effects {
            processes: Arc::new(SystemProcesses::default()),
            executors: Executors::system(),
            broker,
            subscriptions: Default::default(),
        })
        .tuner(tuner)
        // The SDK flags any waker it did not create as nondeterministic. The engine's wakers
        // are its own channels (`temporal::host`) and tokio's cooperative yields, all woken
        // inside the workflow's own poll: what they order is decided by the history alone.
        .detect_nondeterministic_futures(false)
        .build();
    let mut worker =
        Worker::new(&runtime, client, options).map_err(|error| start(error.to_string()))?;
    worker.run().await.map_err(|error| WorkerError::Stopped {
        detail: error.to_string(),
    })
}
