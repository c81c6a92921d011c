//! The activities a worker executes for the engine: a `run` task's process (shell, script,
//! container). An activity heartbeats while its process runs, so that a worker that dies is
//! noticed within [`HEARTBEAT_TIMEOUT`] and the activity is given to another worker.

use std::sync::Arc;
use std::time::Duration;

use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use super::payload::{ProcessCall, ProcessDone};
use super::secrets::Sealer;
use crate::exec::ProcessRunner;

/// How long Temporal waits for a heartbeat before it gives the activity to another worker.
pub(crate) const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running activity heartbeats.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// The side effects a worker performs, on this machine.
pub struct Effects {
    pub(crate) processes: Arc<dyn ProcessRunner>,
}

#[activities]
impl Effects {
    /// Runs one process to its end. A process that fails to start is a result
    /// ([`ProcessDone::Failed`]), never an activity failure: only the engine retries.
    #[activity(name = "workflow.process")]
    pub async fn process(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: ProcessCall,
    ) -> Result<ProcessDone, ActivityError> {
        // The secrets' values come from this worker's files, never from the history.
        let sealer = Sealer::new(&super::secrets::for_run(&call.secrets));
        let call = match sealer.unseal_call(call) {
            Ok(call) => call,
            Err(error) => return Ok(ProcessDone::Failed { error }),
        };
        let work = self.processes.run(call.into_request());
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                output = &mut work => return Ok(sealer.seal_done(ProcessDone::from(output))),
                // Dropping the work kills the process (the executor is cancel-safe).
                () = ctx.cancelled() => return Err(ActivityError::cancelled()),
                () = tokio::time::sleep(HEARTBEAT_EVERY) => {
                    // A heartbeat that cannot be sent is noticed by the server's timeout.
                    let _ = ctx.record_heartbeat(()).await;
                }
            }
        }
    }
}
