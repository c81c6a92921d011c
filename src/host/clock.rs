//! The clock a run reads: wall time for timestamps (`$workflow.startedAt`, `$task.startedAt`,
//! event times) and monotonic instants with timers for `wait`, retry backoff and timeouts.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::time::Instant;

/// Time as the host keeps it. The engine reads it where a timestamp or a deadline is needed,
/// never more often; every wait of a run is one of its timers.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> DateTime<Utc>;
    /// The current monotonic instant, which deadlines are computed from.
    fn instant(&self) -> Instant;
    /// Completes at `deadline` (at once when it has passed).
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
}

impl dyn Clock {
    /// `after` from now; a duration too long to represent is a deadline that never comes.
    pub fn deadline(&self, after: Duration) -> Instant {
        let now = self.instant();
        now.checked_add(after).unwrap_or_else(|| far_future(now))
    }

    /// Completes once `after` has passed.
    pub fn sleep(&self, after: Duration) -> BoxFuture<'static, ()> {
        self.sleep_until(self.deadline(after))
    }

    /// `work`'s output, or `None` when `deadline` comes first (the work is dropped). The work
    /// is polled before the timer, as `tokio::time::timeout_at` does.
    pub fn within<F: Future>(&self, deadline: Instant, work: F) -> Within<F> {
        Within {
            work,
            timer: self.sleep_until(deadline),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of `within`. Written by hand rather than as an `async fn`: an async
    /// wrapper keeps its argument and the future it awaits side by side, which doubled the size
    /// of every task's future and the bytes copied per task (the engine's hot loop).
    #[must_use = "futures do nothing unless awaited"]
    pub struct Within<F> {
        #[pin]
        work: F,
        timer: BoxFuture<'static, ()>,
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.work.poll(cx) {
            return Poll::Ready(Some(output));
        }
        this.timer.as_mut().poll(cx).map(|()| None)
    }
}

/// About thirty years after `now`: a deadline no run reaches (tokio's own "far future").
pub fn far_future(now: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
    now.checked_add(THIRTY_YEARS).unwrap_or(now)
}

/// The local host's clock: the system's wall clock and tokio's timers (which tests pause and
/// advance).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn work_that_outlasts_its_deadline_is_dropped() {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock);
        let deadline = clock.deadline(Duration::from_secs(5));
        let slow = clock.sleep(Duration::from_secs(60));
        assert_eq!(clock.within(deadline, slow).await, None);
        let deadline = clock.deadline(Duration::from_secs(5));
        assert_eq!(clock.within(deadline, async { 7 }).await, Some(7));
        // Too long to represent: never.
        let never = clock.deadline(Duration::MAX);
        assert!(never > clock.instant() + Duration::from_secs(86_400 * 365));
    }
}
