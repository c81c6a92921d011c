//! Where `emit` sends events and `listen` receives them: the engine's small `EventBus` trait
//! (CloudEvents as plain JSON values, structured mode), the in-process bus that carries events
//! between the tasks of one run when no broker is given, and a fan-out over several buses
//! (`--broker` repeated).

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::problem::{ErrorKind, WorkflowError};

/// A CloudEvent in structured JSON form: `specversion`, `id`, `source`, `type`, optional
/// attributes and extensions, and `data` (or `data_base64`).
pub type CloudEvent = Value;

/// What a `listen` task asks a bus for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// Unique per run and listen step, stable across `resume`: a broker keeps a durable
    /// subscription (consumer, session, queue) under this name, so events published while the
    /// runner is down wait for it.
    pub name: String,
    /// The event types the listen can match (exact values); empty when a filter leaves the
    /// type open (or matches it by pattern): every event is then delivered.
    pub types: Vec<String>,
}

/// Acknowledges a delivery to its broker: called only once the run's journal recorded the
/// event (or the event was not for this run).
pub type Ack = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), WorkflowError>> + Send>;

/// One event handed to a listener.
pub struct Delivery {
    pub event: CloudEvent,
    ack: Option<Ack>,
}

impl Delivery {
    /// An event that needs no acknowledgement (in-process, core NATS, HTTP answered later).
    pub fn new(event: CloudEvent) -> Delivery {
        Delivery { event, ack: None }
    }

    pub fn with_ack(event: CloudEvent, ack: Ack) -> Delivery {
        Delivery {
            event,
            ack: Some(ack),
        }
    }

    /// Tells the broker the event is dealt with; it will not be delivered again.
    pub async fn ack(self) -> Result<(), WorkflowError> {
        match self.ack {
            Some(ack) => ack().await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("event", &self.event)
            .field("ack", &self.ack.is_some())
            .finish()
    }
}

/// The deliveries of one subscription, and what to do once the listen no longer needs it.
pub struct Subscription {
    pub deliveries: BoxStream<'static, Result<Delivery, WorkflowError>>,
    /// Removes the durable subscription (a JetStream consumer, a queue) after the listen
    /// completed: nothing more is kept for it.
    pub close: Option<BoxFuture<'static, ()>>,
}

impl Subscription {
    pub fn new(deliveries: BoxStream<'static, Result<Delivery, WorkflowError>>) -> Subscription {
        Subscription {
            deliveries,
            close: None,
        }
    }
}

/// Publishes and subscribes to CloudEvents. Implementations do the I/O; the engine matches,
/// correlates and journals.
pub trait EventBus: Send + Sync {
    /// Sends the event and resolves once the broker acknowledged it. A broker that is down or
    /// refuses is a `communication` error.
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>>;

    /// Starts (or, after a resume, re-attaches to) the subscription of a listen task. Events
    /// published after this resolves are delivered.
    fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>>;

    /// Whether events ever arrive through [`EventBus::subscribe`] (an HTTP sink only sends).
    fn delivers(&self) -> bool {
        true
    }
}

/// The error of a `listen` on buses that only send.
pub fn nothing_delivers() -> WorkflowError {
    WorkflowError::new(
        ErrorKind::Configuration,
        "No broker delivers events to listen to",
    )
    .with_detail(
        "http(s) brokers only receive emitted events; give a `--broker nats://...` (or \
         mqtt://, amqp://) or `--receive ADDR` to listen, or run without --broker to listen to \
         the run's own events",
    )
}

/// The error of a broker that failed.
pub fn communication(title: &str, detail: impl Into<String>) -> WorkflowError {
    WorkflowError::new(ErrorKind::Communication, title.to_owned()).with_detail(detail)
}

/// Carries events between the tasks of one run, in memory: an `emit` in one fork branch
/// reaches a `listen` that is waiting in another. Events emitted while nobody listens are gone,
/// as on a broker without a subscription.
#[derive(Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<CloudEvent>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(4096);
        InProcessBus { sender }
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        // No receiver is not an error: the event is simply not heard.
        let _ = self.sender.send(event);
        Box::pin(async { Ok(()) })
    }

    fn subscribe(
        &self,
        _request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        let receiver = self.sender.subscribe();
        Box::pin(async move {
            let deliveries = stream::unfold(receiver, |mut receiver| async move {
                match receiver.recv().await {
                    Ok(event) => Some((Ok(Delivery::new(event)), receiver)),
                    // A listener that fell 4096 events behind lost some: say so.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let error = communication(
                            "Events were lost",
                            format!("the listener fell behind and missed {missed} events"),
                        );
                        Some((Err(error), receiver))
                    }
                    Err(broadcast::error::RecvError::Closed) => None,
                }
            });
            Ok(Subscription::new(deliveries.boxed()))
        })
    }
}

/// Several buses as one: an event is published to each (all must acknowledge); a listen
/// receives from all of them.
pub struct FanoutBus(pub Vec<Arc<dyn EventBus>>);

impl EventBus for FanoutBus {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let sends: Vec<_> = self
            .0
            .iter()
            .map(|bus| bus.publish(event.clone()))
            .collect();
        Box::pin(async move {
            for result in futures::future::join_all(sends).await {
                result?;
            }
            Ok(())
        })
    }

    fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        let opens: Vec<_> = self
            .0
            .iter()
            .filter(|bus| bus.delivers())
            .map(|bus| bus.subscribe(request.clone()))
            .collect();
        Box::pin(async move {
            if opens.is_empty() {
                return Err(nothing_delivers());
            }
            let mut streams = Vec::new();
            let mut closes = Vec::new();
            for opened in futures::future::join_all(opens).await {
                let subscription = opened?;
                streams.push(subscription.deliveries);
                closes.extend(subscription.close);
            }
            Ok(Subscription {
                deliveries: stream::select_all(streams).boxed(),
                close: Some(Box::pin(async move {
                    futures::future::join_all(closes).await;
                })),
            })
        })
    }

    fn delivers(&self) -> bool {
        self.0.iter().any(|bus| bus.delivers())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn the_in_process_bus_delivers_to_listeners_that_subscribed_first() {
        let bus = InProcessBus::default();
        // Nobody listens yet: the event is not kept.
        assert!(bus.publish(json!({"id": "0"})).await.is_ok());
        let request = SubscribeRequest {
            name: "s".into(),
            types: vec![],
        };
        let mut first = bus
            .subscribe(request.clone())
            .await
            .ok()
            .map(|s| s.deliveries);
        let mut second = bus.subscribe(request).await.ok().map(|s| s.deliveries);
        assert!(bus.publish(json!({"id": "1"})).await.is_ok());
        for deliveries in [first.as_mut(), second.as_mut()] {
            let next = match deliveries {
                Some(d) => d.next().await,
                None => None,
            };
            let event = next.and_then(Result::ok).map(|d| d.event);
            assert_eq!(event, Some(json!({"id": "1"})));
        }
    }
}
