//! Where `emit` sends events and `listen` receives them: the engine's small `EventBus` trait
//! (CloudEvents as plain JSON values, structured mode), the in-process bus that carries events
//! between the tasks of one run when no broker is given, and a fan-out over several buses
//! (`--broker` repeated).

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use tokio::sync::broadcast;

use crate::host::effects::events::{
    CloudEvent, Delivery, EventBus, SubscribeRequest, Subscription, communication, nothing_delivers,
};
use crate::problem::WorkflowError;

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
