//! Stopping work that never yields: what a running expression checks to learn that its run was
//! cancelled or that a timeout around it expired, and how the engine then gives way.
//!
//! The engine runs on one thread. A timeout is a timer of the host's clock and a cancellation a
//! token; both
//! only take effect when the engine's future returns to the runtime. Two things make sure it
//! does within milliseconds:
//! - each task execution consumes tokio's cooperative budget (`yield_point`), so a loop of
//!   millions of cheap tasks returns to the runtime every 128 tasks;
//! - each expression checks `requested` every few thousand interpreter steps (see
//!   `expr::guard`): the innermost `Watch` in scope says which token and which deadline apply
//!   where the expression runs. An interrupted expression fails with an interruption error,
//!   which `give_way` turns into a wait that never ends: the timer or the token that caused it
//!   is due, and the `select!` around wins. The error itself is never seen by a `catch`.

use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::Either;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::WorkflowError;
use crate::host::Clock;

tokio::task_local! {
    /// What interrupts the expressions of the work being polled.
    static WATCH: Watch;
}

/// The cancellation token of the run and the earliest deadline of the timeouts in scope.
#[derive(Clone)]
struct Watch {
    cancel: CancellationToken,
    deadline: Option<Deadline>,
}

/// When a timeout expires, by the clock that runs its timer.
#[derive(Clone)]
struct Deadline {
    at: Instant,
    clock: Arc<dyn Clock>,
}

impl Deadline {
    fn passed(&self) -> bool {
        self.clock.instant() >= self.at
    }
}

/// True when the work being polled should stop: its run was cancelled, or the deadline of a
/// timeout around it has passed. Outside any watched work, false.
pub(crate) fn requested() -> bool {
    WATCH
        .try_with(|watch| {
            watch.cancel.is_cancelled() || watch.deadline.as_ref().is_some_and(Deadline::passed)
        })
        .unwrap_or(false)
}

/// Runs a whole run's `work`, interruptible through `cancel`.
pub(crate) async fn watch_run<T>(
    cancel: CancellationToken,
    work: impl Future<Output = Result<T, WorkflowError>>,
) -> Result<T, WorkflowError> {
    crate::expr::set_interrupt_check(requested);
    // A sub-workflow runs inside its caller's watch: it keeps the caller's deadlines.
    let inherited = WATCH.try_with(Watch::clone).ok();
    let watch = match inherited {
        Some(watch) => Watch { cancel, ..watch },
        None => Watch {
            cancel,
            deadline: None,
        },
    };
    WATCH.scope(watch, give_way(work)).await
}

/// Runs `work` under a timeout ending at `deadline`: `None` when it expired. Expressions inside
/// are interrupted at the deadline (or an earlier one around it).
///
/// This and `give_way` build their futures from combinators instead of being `async fn`s: an
/// async wrapper holds its argument beside the future it awaits, so each layer would double
/// the size of a task's future, which is copied for every task the engine runs.
pub(crate) fn within<T>(
    clock: &Arc<dyn Clock>,
    deadline: Instant,
    work: impl Future<Output = Result<T, WorkflowError>>,
) -> impl Future<Output = Option<Result<T, WorkflowError>>> {
    let this = Deadline {
        at: deadline,
        clock: Arc::clone(clock),
    };
    let watch = match WATCH.try_with(Watch::clone) {
        Ok(outer) => Watch {
            deadline: Some(match outer.deadline {
                Some(earlier) if earlier.at <= deadline => earlier,
                _ => this,
            }),
            cancel: outer.cancel,
        },
        // Not inside a run (unit tests of pieces): only the deadline applies.
        Err(_) => Watch {
            cancel: CancellationToken::new(),
            deadline: Some(this),
        },
    };
    clock.within(deadline, WATCH.scope(watch, give_way(work)))
}

/// Runs `work`; if it fails because it was interrupted (or fails while a stop is requested,
/// which makes its error moot), waits forever instead: the timeout or cancellation that asked
/// for the stop is due and drops this future.
pub(crate) fn give_way<T>(
    work: impl Future<Output = Result<T, WorkflowError>>,
) -> impl Future<Output = Result<T, WorkflowError>> {
    work.then(|result| match result {
        Err(_) if requested() => Either::Left(std::future::pending()),
        result => Either::Right(std::future::ready(result)),
    })
}

/// `error`, unless a stop is requested: then a wait that never ends (see `give_way`).
pub(crate) async fn unless_stopped(error: WorkflowError) -> WorkflowError {
    if requested() {
        std::future::pending::<()>().await;
    }
    error
}

/// A point where a long loop of tasks returns to the runtime now and then (every 128 calls,
/// tokio's cooperative budget), so that timers, signals and cancellation are seen.
pub(crate) async fn yield_point() {
    tokio::task::coop::consume_budget().await;
}
