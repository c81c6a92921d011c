//! The tokio runtime a run is driven on, and the signals (Ctrl-C, SIGTERM) that cancel it.

use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::compile;
use crate::host::Executors;
use crate::runtime::event::EventSink;
use crate::runtime::{Outcome, RunOptions, RunResult};

/// The tokio runtime of one `run` command, with Ctrl-C and SIGTERM wired to a cancellation
/// token from the moment it starts.
pub(crate) struct Engine {
    runtime: Option<tokio::runtime::Runtime>,
    pub(crate) cancel: CancellationToken,
}

impl Engine {
    pub(crate) fn start() -> std::io::Result<Engine> {
        // One thread runs the engine and drives its I/O and timers. Everything a run waits on
        // (processes, HTTP, timers, the branches of a `fork`) is concurrent all the same; what
        // a second worker thread would add is CPU parallelism for expressions, and what it
        // costs is a hand-over between threads at nearly every wake-up: 1,000 sequential HTTP
        // calls took 102 ms on two workers against 79 ms on one thread, the 100k-iteration
        // loop 6% longer. The journal writer, the progress views and blocking work (DNS,
        // stdin feeds) have threads of their own.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let cancel = CancellationToken::new();
        // The signals are watched from a thread of their own: the engine's thread may be busy
        // in an expression for a long time, and that expression learns of the cancellation
        // from the token (see `runtime::interrupt`), which this thread can set at any moment.
        let watcher = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        // Installed synchronously: a signal arriving before the watcher first runs is kept.
        let signals = {
            let _context = watcher.enter();
            Signals::install()
        };
        let token = cancel.clone();
        std::thread::Builder::new()
            .name("workflow-signals".into())
            .spawn(move || watcher.block_on(signals.cancel(token)))?;
        Ok(Engine {
            runtime: Some(runtime),
            cancel,
        })
    }

    /// Runs the machine to its end (or its cancellation).
    pub(crate) fn run(
        &self,
        machine: Arc<compile::Machine>,
        input: Value,
        mut options: RunOptions,
        executors: Executors,
        events: Arc<dyn EventSink>,
    ) -> RunResult {
        options.cancel = self.cancel.clone();
        let run = crate::runtime::run(machine, input, options, executors, events);
        match &self.runtime {
            Some(runtime) => runtime.block_on(run),
            // Never: the runtime is only taken on drop.
            None => RunResult {
                id: String::new(),
                outcome: Outcome::Cancelled,
            },
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The signal watcher never ends by itself; do not wait for it.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        // Processes of cancelled tasks still in their grace period would outlive us.
        crate::exec::process::kill_terminating();
        // What is left was left on purpose (background processes of completed tasks).
        crate::exec::process::dismiss_watcher();
    }
}

/// Ctrl-C and SIGTERM, listened to from the moment they are installed.
struct Signals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Must be called inside the runtime's context.
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = [SignalKind::interrupt(), SignalKind::terminate()]
                .into_iter()
                .filter_map(|kind| signal(kind).ok())
                .collect();
            Signals { streams }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Cancels the run at the first signal.
    async fn cancel(self, cancel: CancellationToken) {
        #[cfg(unix)]
        {
            let waits = self.streams.into_iter().map(|mut stream| {
                Box::pin(async move {
                    stream.recv().await;
                })
            });
            let waits: Vec<_> = waits.collect();
            if waits.is_empty() {
                return;
            }
            futures::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
        }
        cancel.cancel();
    }
}
