//! `--broker nats://host:port`: the event's `type` is the subject. With JetStream, a listen gets
//! a durable pull consumer per subject (named after the run, the listen step and the subject)
//! on the stream covering the subject (`CLOUDEVENTS_<subject>`, created if missing), so events published while the runner is down wait for the
//! resume; an emit waits for the stream's publish acknowledgement. Without JetStream (or for a
//! subject no stream covers) core NATS is used: at-most-once, only while the runner is up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::OnceCell;

use super::cloudevent::{self, encode_structured, event_type};
use super::jetstream::{ACK_TIMEOUT, double_ack, durable_messages, flush, nats_error};
use crate::host::effects::events::{
    CloudEvent, Delivery, EventBus, SubscribeRequest, Subscription, communication,
};
use crate::problem::WorkflowError;

/// The prefix of the streams this runner creates for subjects no stream covers.
pub const STREAM_PREFIX: &str = "CLOUDEVENTS_";

pub struct NatsBus {
    url: String,
    connection: Arc<OnceCell<Connection>>,
    stored: Arc<StoredSubjects>,
}

/// Which subjects a JetStream stream stores, as last asked. A JetStream publish to a subject no
/// stream stores but a plain subscriber hears would wait for an acknowledgement nobody sends, so
/// an emit asks first; the answer is kept (a "no" only briefly: a stream may appear).
#[derive(Default)]
struct StoredSubjects(std::sync::Mutex<HashMap<String, (bool, Instant)>>);

/// How long "no stream stores this subject" is believed.
const NOT_STORED_FOR: Duration = Duration::from_secs(5);

impl StoredSubjects {
    fn known(&self, subject: &str) -> Option<bool> {
        let map = self.0.lock().ok()?;
        match map.get(subject) {
            Some((true, _)) => Some(true),
            Some((false, at)) if at.elapsed() < NOT_STORED_FOR => Some(false),
            _ => None,
        }
    }

    fn remember(&self, subject: &str, stored: bool) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(subject.to_owned(), (stored, Instant::now()));
        }
    }
}

#[derive(Clone)]
struct Connection {
    client: async_nats::Client,
    /// `None` when the server has no JetStream.
    jetstream: Option<jetstream::Context>,
}

impl NatsBus {
    pub fn new(url: &str) -> NatsBus {
        NatsBus {
            url: url.to_owned(),
            connection: Arc::new(OnceCell::new()),
            stored: Arc::default(),
        }
    }

    /// Connects on first use: a run that never emits or listens never dials the broker.
    fn connection(&self) -> BoxFuture<'static, Result<Connection, WorkflowError>> {
        let cell = Arc::clone(&self.connection);
        let url = self.url.clone();
        Box::pin(async move { cell.get_or_try_init(|| connect(url)).await.cloned() })
    }
}

async fn connect(url: String) -> Result<Connection, WorkflowError> {
    let client = async_nats::ConnectOptions::new()
        .name("workflow")
        .connection_timeout(Duration::from_secs(5))
        .connect(url.as_str())
        .await
        .map_err(|error| {
            communication(
                "Cannot reach the NATS server",
                format!("{}: {error}", super::shown_url(&url)),
            )
        })?;
    let jetstream = client.server_info().jetstream.then(|| {
        let mut context = jetstream::new(client.clone());
        context.set_timeout(ACK_TIMEOUT);
        context
    });
    Ok(Connection { client, jetstream })
}

impl EventBus for NatsBus {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let connection = self.connection();
        let stored = Arc::clone(&self.stored);
        Box::pin(async move {
            let connection = connection.await?;
            let subject = event_type(&event).to_owned();
            let payload = bytes::Bytes::from(encode_structured(&event));
            let js = match &connection.jetstream {
                Some(js) => {
                    let is_stored = match stored.known(&subject) {
                        Some(known) => known,
                        None => {
                            let found = js.stream_by_subject(subject.clone()).await.is_ok();
                            stored.remember(&subject, found);
                            found
                        }
                    };
                    is_stored.then_some(js)
                }
                None => None,
            };
            if let Some(js) = js {
                let published = js.publish(subject.clone(), payload.clone()).await;
                match published {
                    Ok(ack) => {
                        return match ack.await {
                            Ok(_) => Ok(()),
                            // No stream stores this subject: a core publish reaches whoever
                            // listens right now.
                            Err(error)
                                if error.kind()
                                    == jetstream::context::PublishErrorKind::StreamNotFound =>
                            {
                                core_publish(&connection.client, subject, payload).await
                            }
                            Err(error) => Err(nats_error("The event was not acknowledged", error)),
                        };
                    }
                    Err(error) => return Err(nats_error("Cannot publish the event", error)),
                }
            }
            core_publish(&connection.client, subject, payload).await
        })
    }

    fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        let connection = self.connection();
        let stored = Arc::clone(&self.stored);
        Box::pin(async move {
            let connection = connection.await?;
            match &connection.jetstream {
                // Any subject at all is no stream's business: core NATS delivers those.
                Some(js) if !request.types.is_empty() => {
                    for subject in &request.types {
                        stored.remember(subject, true);
                    }
                    durable(js, request).await
                }
                _ => core_subscribe(&connection.client, &request.types).await,
            }
        })
    }
}

async fn core_publish(
    client: &async_nats::Client,
    subject: String,
    payload: bytes::Bytes,
) -> Result<(), WorkflowError> {
    client
        .publish(subject, payload)
        .await
        .map_err(|error| nats_error("Cannot publish the event", error))?;
    flush(client, "Cannot publish the event").await
}

/// Core NATS: one subscription per subject (`>`: every subject).
async fn core_subscribe(
    client: &async_nats::Client,
    types: &[String],
) -> Result<Subscription, WorkflowError> {
    let subjects = if types.is_empty() {
        vec![">".to_owned()]
    } else {
        types.to_vec()
    };
    let mut streams: Vec<BoxStream<'static, Result<Delivery, WorkflowError>>> = Vec::new();
    for subject in subjects {
        let subscriber = client
            .subscribe(subject)
            .await
            .map_err(|error| nats_error("Cannot subscribe", error))?;
        flush(client, "Cannot subscribe").await?;
        streams.push(
            subscriber
                .filter_map(|message| async move {
                    decode(&message).map(|event| Ok(Delivery::new(event)))
                })
                .boxed(),
        );
    }
    Ok(Subscription::new(stream::select_all(streams).boxed()))
}

/// JetStream: one durable pull consumer per subject, on the stream that stores it. A stream
/// per subject (created when no stream covers it) keeps concurrent runners from racing on one
/// stream's subject list.
async fn durable(
    js: &jetstream::Context,
    request: SubscribeRequest,
) -> Result<Subscription, WorkflowError> {
    let mut streams: Vec<BoxStream<'static, Result<Delivery, WorkflowError>>> = Vec::new();
    let mut consumers = Vec::new();
    for subject in &request.types {
        let stream = stream_for(js, subject).await?;
        let name = format!("{}-{}", request.name, short_hash(subject));
        let messages = durable_messages(&stream, &name, subject, "a workflow listen task").await?;
        streams.push(messages.filter_map(delivery).boxed());
        consumers.push((stream, name));
    }
    let close = Box::pin(async move {
        for (stream, name) in consumers {
            let _ = stream.delete_consumer(&name).await;
        }
    });
    Ok(Subscription {
        deliveries: stream::select_all(streams).boxed(),
        close: Some(close),
    })
}

/// A JetStream message as a delivery acknowledged (and confirmed by the server) on demand.
async fn delivery(
    message: Result<jetstream::Message, jetstream::consumer::pull::MessagesError>,
) -> Option<Result<Delivery, WorkflowError>> {
    let message = match message {
        Ok(message) => message,
        Err(error) => return Some(Err(nats_error("Lost the JetStream consumer", error))),
    };
    let Some(event) = decode(&message.message) else {
        // Not a CloudEvent: nothing a listen can consume; it is not redelivered.
        let _ = message.ack().await;
        return None;
    };
    Some(Ok(Delivery::with_ack(event, double_ack(message, "event"))))
}

/// The stream storing `subject`: one that already covers it, else `CLOUDEVENTS_<subject>`,
/// created for it.
async fn stream_for(
    js: &jetstream::Context,
    subject: &str,
) -> Result<jetstream::stream::Stream, WorkflowError> {
    if let Ok(name) = js.stream_by_subject(subject.to_owned()).await {
        return js
            .get_stream(&name)
            .await
            .map_err(|error| nats_error("Cannot open the JetStream stream", error));
    }
    let config = jetstream::stream::Config {
        name: stream_name(subject),
        subjects: vec![subject.to_owned()],
        max_age: Duration::from_secs(7 * 24 * 3600),
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|error| nats_error("Cannot create the JetStream stream", error))
}

/// `CLOUDEVENTS_<subject>` in the characters a stream name may hold, with a hash so that two
/// subjects differing only in other characters get two streams.
fn stream_name(subject: &str) -> String {
    let readable: String = subject
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{STREAM_PREFIX}{readable}_{}", short_hash(subject))
}

fn short_hash(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A NATS message as a CloudEvent: binary mode when it has `ce-specversion` header, else
/// structured. Anything else is dropped (`None`).
fn decode(message: &async_nats::Message) -> Option<CloudEvent> {
    let headers = message.headers.as_ref();
    let binary = headers.is_some_and(|h| h.get("ce-specversion").is_some());
    let decoded = if let (true, Some(headers)) = (binary, headers) {
        let attributes: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(name, values)| {
                let name = name.to_string().to_ascii_lowercase();
                let attribute = name.strip_prefix("ce-")?.to_owned();
                Some((attribute, values.first()?.to_string()))
            })
            .collect();
        let content_type = headers
            .iter()
            .find(|(name, _)| name.to_string().eq_ignore_ascii_case("content-type"))
            .and_then(|(_, values)| values.first().map(ToString::to_string));
        cloudevent::decode_binary(attributes, content_type.as_deref(), &message.payload)
    } else {
        cloudevent::decode_structured(&message.payload)
    };
    decoded.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_are_valid_and_distinct() {
        let a = stream_name("com.example.order.paid");
        assert!(a.starts_with("CLOUDEVENTS_com_example_order_paid_"));
        assert!(!a.contains('.'));
        assert_ne!(a, stream_name("com_example.order.paid"));
    }
}
