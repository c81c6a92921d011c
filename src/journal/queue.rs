//! The hand-off between the engine and a run's writer thread: a double buffer. The engine
//! appends to a vector under a lock; the writer swaps the whole vector out at once. Unlike a
//! channel, neither side wakes the other per event: the writer is woken only when it sleeps on
//! an empty queue, and the engine waits only when the writer is a whole buffer behind (which
//! bounds the memory a fast loop can fill).

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::runtime::event::LifecycleEvent;

/// Events waiting for the writer at most; past this the engine waits for the writer.
pub(crate) const MAX_QUEUED: usize = 16 * 1024;

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
    writer_waiting: bool,
    engine_waiting: usize,
}

/// What the writer gets from [`Queue::take`].
pub(crate) enum Taken {
    /// The events queued so far, oldest first.
    Events(Vec<LifecycleEvent>),
    /// Closed (or abandoned) and empty: the writer is done.
    Closed,
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
        let wake = state.writer_waiting;
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

    /// Everything queued, swapped for `spare` (an empty vector to fill next); waits while the
    /// queue is empty and open.
    pub fn take(&self, spare: Vec<LifecycleEvent>) -> Taken {
        let mut state = self.lock();
        while state.events.is_empty() && !state.closed && !state.abandoned {
            state.writer_waiting = true;
            state = self
                .filled
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.writer_waiting = false;
        }
        if state.events.is_empty() {
            return Taken::Closed;
        }
        let events = std::mem::replace(&mut state.events, spare);
        let wake = state.engine_waiting > 0;
        drop(state);
        if wake {
            self.drained.notify_all();
        }
        Taken::Events(events)
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
                loop {
                    match queue.take(spare) {
                        Taken::Events(mut events) => {
                            assert!(events.len() <= MAX_QUEUED);
                            total += events.len();
                            events.clear();
                            spare = events;
                        }
                        Taken::Closed => return total,
                    }
                }
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
        assert!(matches!(queue.take(Vec::new()), Taken::Closed));
    }
}
