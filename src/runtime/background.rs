//! Sub-workflows started with `await: false`: the run's own future polls them beside its main
//! work, instead of handing them to the executor (`tokio::spawn`). On a Temporal worker the
//! order in which a run asks its host for timers and activities must be the same on every
//! replay, which only holds when one future, polled by the workflow code, drives all of it;
//! locally it also means a cancelled run drops them at once, with their cancellation events
//! published before the run's own.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

/// Work started by any workflow of a run's family, waiting to be adopted by the run's driver.
#[derive(Default)]
pub(crate) struct Started {
    queue: Mutex<Vec<BoxFuture<'static, ()>>>,
    /// Set when `queue` holds work: the driver's per-poll check stays a load, no lock.
    queued: AtomicBool,
}

impl Started {
    pub(crate) fn push(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(work));
        self.queued.store(true, Ordering::Release);
    }

    fn take(&self) -> Vec<BoxFuture<'static, ()>> {
        // A plain load first: the engine's driver asks on every poll, work is rarely queued.
        if !self.queued.load(Ordering::Acquire) || !self.queued.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The background work of one run, owned by its driver (`engine::run`). Dropping it cancels
/// every piece still running.
#[derive(Default)]
pub(crate) struct Background {
    running: FuturesUnordered<BoxFuture<'static, ()>>,
}

impl Background {
    /// Adopts what was started since the last poll and polls everything running. Ready once
    /// nothing runs (work started meanwhile included).
    pub(crate) fn poll_all(&mut self, started: &Started, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            for work in started.take() {
                self.running.push(work);
            }
            // Polling a piece may start another (a background sub-workflow's own `await:
            // false`): adopt it and poll again before yielding.
            while let Poll::Ready(Some(())) = self.running.poll_next_unpin(cx) {}
            if !started.queued.load(Ordering::Acquire) {
                break;
            }
        }
        if self.running.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Runs everything started, to its end.
    pub(crate) async fn join(&mut self, started: &Started) {
        std::future::poll_fn(|cx| self.poll_all(started, cx)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn dropping_the_driver_cancels_what_runs() {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let started = Started::default();
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Flag(Arc::clone(&dropped));
        started.push(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
        let mut background = Background::default();
        let waker = futures::task::noop_waker();
        assert!(
            background
                .poll_all(&started, &mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(background);
        assert!(dropped.load(Ordering::SeqCst));
    }
}
