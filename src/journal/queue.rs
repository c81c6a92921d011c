//! The hand-off between the engine and a run's writer thread: a double buffer. The engine
//! appends to a vector under a lock; the writer swaps the whole vector out at once. Unlike a
//! channel, neither side wakes the other per event: the writer looks at the queue every
//! [`COLLECT`] and is woken early only for a full batch ([`WAKE_AT`]), the end, or someone who
//! waits for durability ([`Queue::urge`]); the engine waits only when the writer is a whole
//! buffer behind (which bounds the memory a fast loop can fill).
//!
//! Why not wake the writer for the first event: a task with side effects makes the engine store
//! its own events (`Recorder::flushed`), so waking the writer for them only to find them gone
//! was two thread wake-ups per task for nothing.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::runtime::event::LifecycleEvent;

/// Events waiting for the writer at most; past this the engine waits for the writer.
pub(crate) const MAX_QUEUED: usize = 16 * 1024;
/// Queued events that wake the writer at once.
pub(crate) const WAKE_AT: usize = 1024;
/// How often the writer looks for events nobody asked to be stored. They are durable this much
/// later at most (what `workflow runs` shows of a live run lags as much); `flushed()` does not
/// wait for it.
pub(crate) const COLLECT: Duration = Duration::from_millis(20);

#[derive(Default)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// The writer waits here for events (or the end).
    filled: Condvar,
    /// The engine waits here for room.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    events: Vec<LifecycleEvent>,
    /// Events accepted so far.
    accepted: u64,
    /// No more events will come (the run finished).
    closed: bool,
    /// The writer stopped (it failed); events are dropped from now on.
    abandoned: bool,
    /// Someone waits until the queued events are stored: take them now.
    urgent: bool,
    writer: Writer,
    engine_waiting: usize,
}

/// What the writer is doing, as far as the engine needs to know.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Writer {
    #[default]
    Busy,
    /// Asleep until its next look at the queue: a full batch wakes it.
    Waiting,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: carry on with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `event`; waits while the queue is full. Returns false (dropping the event) once
    /// the queue is closed or its writer is gone.
    pub fn push(&self, event: LifecycleEvent) -> bool {
        let mut state = self.lock();
        while state.events.len() >= MAX_QUEUED && !state.abandoned && !state.closed {
            state.engine_waiting += 1;
            state = self
                .drained
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.engine_waiting -= 1;
        }
        if state.closed || state.abandoned {
            return false;
        }
        state.events.push(event);
        state.accepted += 1;
        let wake = state.writer == Writer::Waiting && state.events.len() >= WAKE_AT;
        drop(state);
        if wake {
            self.filled.notify_one();
        }
        true
    }

    /// How many events were accepted so far.
    pub fn accepted(&self) -> u64 {
        self.lock().accepted
    }

    /// Waits until there is something to store: true once events are queued and due (a full
    /// batch, the end, someone urging, or [`COLLECT`] passed), false once the queue is closed
    /// and empty or abandoned. Taking them is [`Queue::take_now`]'s job, so that whoever stores
    /// can take under the lock that orders the stores.
    pub fn wait(&self) -> bool {
        let mut state = self.lock();
        loop {
            if state.abandoned || (state.closed && state.events.is_empty()) {
                return false;
            }
            let queued = state.events.len();
            if queued > 0 && (state.closed || state.urgent || queued >= WAKE_AT) {
                return true;
            }
            state.writer = Writer::Waiting;
            let (next, waited) = self
                .filled
                .wait_timeout(state, COLLECT)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = next;
            state.writer = Writer::Busy;
            if waited.timed_out() && !state.events.is_empty() {
                return true;
            }
        }
    }

    /// Everything queued now (perhaps nothing), swapped for `spare` (an empty vector to fill
    /// next). Never waits.
    pub fn take_now(&self, spare: Vec<LifecycleEvent>) -> Vec<LifecycleEvent> {
        let mut state = self.lock();
        state.urgent = false;
        let events = std::mem::replace(&mut state.events, spare);
        let wake = state.engine_waiting > 0;
        drop(state);
        if wake {
            self.drained.notify_all();
        }
        events
    }

    /// Asks the writer to store what is queued now rather than linger.
    pub fn urge(&self) {
        let mut state = self.lock();
        state.urgent = true;
        let wake = state.writer != Writer::Busy;
        drop(state);
        if wake {
            self.filled.notify_one();
        }
    }

    /// No more events: the writer stores what is queued, then stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.filled.notify_all();
        self.drained.notify_all();
    }

    /// The writer stopped for good: drop what is queued and everything that comes.
    pub fn abandon(&self) {
        let mut state = self.lock();
        state.abandoned = true;
        state.events.clear();
        drop(state);
        self.drained.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::event::{EventKind, RunIdentity};
    use std::sync::Arc;

    fn event() -> LifecycleEvent {
        let run = Arc::new(RunIdentity {
            run_id: "r".into(),
            qualified_name: "w.ns:1".into(),
            namespace: "ns".into(),
            name: "w".into(),
            version: "1".into(),
        });
        LifecycleEvent::new(run, None, EventKind::WorkflowStarted)
    }

    #[test]
    fn a_full_queue_holds_the_engine_until_the_writer_takes() {
        let queue = Arc::new(Queue::default());
        let writer = {
            let queue = queue.clone();
            std::thread::spawn(move || {
                let mut total = 0;
                let mut spare = Vec::new();
                while queue.wait() {
                    let mut events = queue.take_now(spare);
                    assert!(events.len() <= MAX_QUEUED);
                    total += events.len();
                    events.clear();
                    spare = events;
                }
                total
            })
        };
        let pushed = 3 * MAX_QUEUED + 5;
        for _ in 0..pushed {
            assert!(queue.push(event()));
        }
        assert_eq!(queue.accepted(), pushed as u64);
        queue.close();
        assert!(!queue.push(event()), "closed queues take nothing");
        assert_eq!(writer.join().ok(), Some(pushed));
    }

    #[test]
    fn an_abandoned_queue_drops_events_without_waiting() {
        let queue = Queue::default();
        for _ in 0..MAX_QUEUED {
            queue.push(event());
        }
        queue.abandon();
        // Would wait forever on a full queue if the abandonment were not seen.
        assert!(!queue.push(event()));
        assert!(!queue.wait());
    }
}
