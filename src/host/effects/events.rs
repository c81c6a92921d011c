//! Events as the engine asks its host for them: `emit` publishes a CloudEvent (structured JSON)
//! on the host's `EventBus`, `listen` subscribes and acknowledges each delivery once its journal
//! recorded it. Brokers, the HTTP receiver and the in-process bus are the host's (`exec::events`,
//! `exec::broker`).

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::Value;

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
