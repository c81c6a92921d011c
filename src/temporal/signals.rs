//! `emit` and `listen` of a run on Temporal. Events come in as the signal `workflow.event`
//! (sent by `workflow events send --temporal` or forwarded by a worker's `--broker`
//! subscription); the workflow code hands them to this bus in history order, so every replay
//! sees the same events at the same points. Signals that arrive while no `listen` is
//! subscribed wait for the next one; an event seen before (same `source` and `id`) is dropped,
//! which makes the worker's at-least-once forwarding exactly-once inside the run.
//!
//! An `emit` is one `workflow.call` activity (published through the worker's `--broker`, if it
//! has one: always an activity, so that the history does not depend on which worker ran it),
//! then delivered to the run's own listens, as the in-process bus of a local run does.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::BoxFuture;

use super::host_calls::ActivityCalls;
use super::payload_calls::{CallDone, CallRequest};
use crate::host::effects::events::{
    CloudEvent, Delivery, EventBus, SubscribeRequest, Subscription,
};
use crate::problem::WorkflowError;

/// The run's event bus on Temporal.
#[derive(Clone)]
pub(crate) struct SignalBus {
    inner: Arc<Mutex<Inner>>,
    calls: ActivityCalls,
}

#[derive(Default)]
struct Inner {
    /// The open subscriptions of the run's listens.
    listeners: Vec<mpsc::UnboundedSender<CloudEvent>>,
    /// Signalled events no listen was subscribed for yet.
    pending: Vec<CloudEvent>,
    /// `source` and `id` of every event the run was given.
    seen: HashSet<String>,
}

impl Inner {
    /// Whether the event is new to the run (events without an id always are).
    fn first_time(&mut self, event: &CloudEvent) -> bool {
        match (event.get("source"), event.get("id")) {
            (Some(source), Some(id)) => self.seen.insert(format!("{source}\u{0}{id}")),
            _ => true,
        }
    }

    /// Hands the event to every open subscription; `false` when there was none.
    fn broadcast(&mut self, event: &CloudEvent) -> bool {
        self.listeners.retain(|listener| !listener.is_closed());
        for listener in &self.listeners {
            let _ = listener.unbounded_send(event.clone());
        }
        !self.listeners.is_empty()
    }
}

impl SignalBus {
    pub(crate) fn new(calls: ActivityCalls) -> SignalBus {
        SignalBus {
            inner: Arc::new(Mutex::new(Inner::default())),
            calls,
        }
    }

    /// A signalled event, in history order.
    pub(crate) fn signalled(&self, event: CloudEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.first_time(&event) && !inner.broadcast(&event) {
            inner.pending.push(event);
        }
    }
}

impl EventBus for SignalBus {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let published = self.calls.send(CallRequest::Emit {
            event: event.clone(),
        });
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            match published.await? {
                CallDone::Done => {}
                _ => return Err(CallDone::unexpected("emit")),
            }
            // As the in-process bus: heard by the listens subscribed now, by no later one. A
            // copy forwarded back from the worker's broker is recognised by its id.
            let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
            if inner.first_time(&event) {
                inner.broadcast(&event);
            }
            Ok(())
        })
    }

    fn subscribe(
        &self,
        _request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        let (sender, receiver) = mpsc::unbounded();
        {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            for event in std::mem::take(&mut inner.pending) {
                let _ = sender.unbounded_send(event);
            }
            inner.listeners.push(sender);
        }
        let deliveries = receiver.map(|event| Ok(Delivery::new(event))).boxed();
        Box::pin(async move { Ok(Subscription::new(deliveries)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bus() -> (
        SignalBus,
        mpsc::UnboundedReceiver<super::super::host::Request>,
    ) {
        let (requests, incoming) = mpsc::unbounded();
        let calls = ActivityCalls {
            requests,
            sealer: Arc::default(),
        };
        (SignalBus::new(calls), incoming)
    }

    fn next(subscription: &mut Subscription) -> Option<CloudEvent> {
        match subscription.deliveries.next().now_or_never() {
            Some(Some(Ok(delivery))) => Some(delivery.event),
            _ => None,
        }
    }

    use futures::FutureExt;

    #[test]
    fn signals_wait_for_a_listen_and_copies_are_dropped() {
        let (bus, _incoming) = bus();
        let event = json!({"id": "1", "source": "s", "type": "t"});
        bus.signalled(event.clone());
        bus.signalled(event.clone());
        let request = SubscribeRequest {
            name: "n".into(),
            types: vec![],
        };
        let opened = bus.subscribe(request).now_or_never();
        let Some(Ok(mut subscription)) = opened else {
            panic!("the subscription did not open");
        };
        assert_eq!(next(&mut subscription), Some(event));
        assert_eq!(next(&mut subscription), None);
        let other = json!({"id": "2", "source": "s", "type": "t"});
        bus.signalled(other.clone());
        assert_eq!(next(&mut subscription), Some(other));
    }
}
