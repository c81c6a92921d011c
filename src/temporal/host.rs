//! The Temporal worker host as the engine sees it: a clock that reads workflow time and whose
//! timers are Temporal timers, deterministic ids, and processes run as activities (calls and
//! events: `host_calls.rs`, `signals.rs`). Each of them
//! only sends a [`Request`] to the workflow code (`workflow.rs`), which owns the (single-threaded)
//! Temporal context and turns the request into a command; the engine stays `Send` and unaware.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::channel::{mpsc, oneshot};
use futures::future::BoxFuture;
use tokio::time::Instant;

use super::payload::{ProcessCall, ProcessDone};
use super::payload_calls::{CallDone, CallInput};
use crate::host::effects::process::{OutputStream, ProcessOutput, ProcessRequest, ProcessRunner};
use crate::host::{Clock, Ids};
use crate::problem::{ErrorKind, WorkflowError};

/// What the engine asks of the workflow code.
pub(crate) enum Request {
    /// A Temporal timer: `wait`, retry backoff, a timeout.
    Sleep {
        after: Duration,
        done: oneshot::Sender<()>,
    },
    /// The process activity.
    Process {
        call: ProcessCall,
        done: oneshot::Sender<ProcessDone>,
    },
    /// The call activity: every other side effect (`host_calls.rs`, `signals.rs`).
    Call {
        call: CallInput,
        done: oneshot::Sender<CallDone>,
    },
    /// A sub-workflow as a child workflow (`children.rs`).
    Child {
        id: String,
        request: super::payload::RunRequest,
        done: oneshot::Sender<Result<serde_json::Value, WorkflowError>>,
    },
}

/// The sending half every host part shares.
pub(crate) type Requests = mpsc::UnboundedSender<Request>;

/// Workflow time as the workflow code last saw it, and the monotonic instant it maps to.
pub(crate) struct WorkflowTime {
    /// When the run started (workflow time) and the instant that stands for it.
    started: DateTime<Utc>,
    base: Instant,
    now: Mutex<DateTime<Utc>>,
}

impl WorkflowTime {
    pub(crate) fn new(started: DateTime<Utc>) -> Arc<WorkflowTime> {
        Arc::new(WorkflowTime {
            started,
            // Only differences between instants are ever used: which instant stands for the
            // start does not matter, replaying or not.
            base: Instant::now(),
            now: Mutex::new(started),
        })
    }

    /// Called by the workflow code before it polls the engine.
    pub(crate) fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The clock of a run on Temporal.
pub(crate) struct TemporalClock {
    pub(crate) time: Arc<WorkflowTime>,
    pub(crate) requests: Requests,
}

impl Clock for TemporalClock {
    fn now(&self) -> DateTime<Utc> {
        self.time.now()
    }

    fn instant(&self) -> Instant {
        let elapsed = (self.time.now() - self.time.started)
            .to_std()
            .unwrap_or_default();
        self.time.base + elapsed
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        let after = deadline.saturating_duration_since(self.instant());
        if after.is_zero() {
            return Box::pin(std::future::ready(()));
        }
        let (done, finished) = oneshot::channel();
        let sent = self
            .requests
            .unbounded_send(Request::Sleep { after, done })
            .is_ok();
        Box::pin(async move {
            // The workflow code only drops the channel when the run ends: never wake then.
            if !sent || finished.await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Ids and random numbers drawn from a generator seeded by the run's id: the same on every
/// replay, as long as the engine asks in the same order (which it does, given the same
/// history).
pub(crate) struct TemporalIds {
    run: String,
    seed: u64,
    drawn: AtomicU64,
}

impl TemporalIds {
    pub(crate) fn new(run: &str) -> TemporalIds {
        let seed = run.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        TemporalIds {
            run: run.to_string(),
            seed,
            drawn: AtomicU64::new(0),
        }
    }

    /// SplitMix64 of the seed and a counter.
    fn next(&self) -> u64 {
        let n = self.drawn.fetch_add(1, Ordering::Relaxed);
        let mut z = self
            .seed
            .wrapping_add(n.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        out
    }
}

impl Ids for TemporalIds {
    fn run_id(&self) -> String {
        // A sub-workflow run inside this one: named after it.
        format!(
            "{}-{}",
            self.run,
            self.drawn.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn event_id(&self, time: DateTime<Utc>) -> uuid::Uuid {
        let millis = u64::try_from(time.timestamp_millis()).unwrap_or_default();
        let random: [u8; 10] = self.bytes();
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    fn unique(&self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.bytes()).into_uuid()
    }

    fn fraction(&self) -> f64 {
        // 53 random bits: every double in [0, 1) this can produce.
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `run` tasks' processes, each one execution of the process activity.
pub(crate) struct ActivityProcesses {
    pub(crate) requests: Requests,
    /// Seals the run's secret values out of what the activity carries (`secrets.rs`).
    pub(crate) sealer: Arc<super::secrets::Sealer>,
}

impl ProcessRunner for ActivityProcesses {
    fn run(
        &self,
        request: ProcessRequest,
    ) -> BoxFuture<'static, Result<ProcessOutput, WorkflowError>> {
        let mut call = ProcessCall::from(&request);
        if let Err(error) = self.sealer.seal_call(&mut call) {
            return Box::pin(std::future::ready(Err(error)));
        }
        let sealer = Arc::clone(&self.sealer);
        let (done, finished) = oneshot::channel();
        let sent = self
            .requests
            .unbounded_send(Request::Process { call, done })
            .is_ok();
        Box::pin(async move {
            let lost = || {
                WorkflowError::new(ErrorKind::Runtime, "Activity lost")
                    .with_detail("the workflow ended before the process activity did")
            };
            if !sent {
                return Err(lost());
            }
            let done = sealer.unseal_done(finished.await.map_err(|_| lost())?);
            let output: Result<ProcessOutput, WorkflowError> = done.into();
            // The task's log gets the lines once the activity is done (no live view here).
            if let (Some(observer), Ok(output)) = (&request.on_line, &output) {
                for line in output.stdout.lines() {
                    observer.call(OutputStream::Stdout, line);
                }
                for line in output.stderr.lines() {
                    observer.call(OutputStream::Stderr, line);
                }
            }
            output
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_repeat_for_the_same_run_and_differ_between_runs() {
        let draw = |run: &str| {
            let ids = TemporalIds::new(run);
            let time = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
            (
                ids.event_id(time),
                ids.unique(),
                ids.fraction(),
                ids.run_id(),
            )
        };
        assert_eq!(draw("a"), draw("a"));
        assert_ne!(draw("a").0, draw("b").0);
        let (event, unique, fraction, child) = draw("a");
        assert_eq!(event.get_version_num(), 7);
        assert_eq!(unique.get_version_num(), 4);
        assert!((0.0..1.0).contains(&fraction));
        assert!(child.starts_with("a-"));
    }

    #[test]
    fn the_clock_follows_workflow_time() {
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let time = WorkflowTime::new(start);
        let (requests, _keep) = mpsc::unbounded();
        let clock = TemporalClock {
            time: Arc::clone(&time),
            requests,
        };
        let before = clock.instant();
        time.set(start + chrono::Duration::seconds(5));
        assert_eq!(clock.instant() - before, Duration::from_secs(5));
        assert_eq!(clock.now(), start + chrono::Duration::seconds(5));
    }
}
