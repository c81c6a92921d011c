//! `--broker nats://host:port`: the event's `type` is the subject. With JetStream, a listen gets
//! a durable pull consumer (named after the run and the listen step) on a stream covering its
//! subjects, created if missing, so events published while the runner is down wait for the
//! resume; an emit waits for the stream's publish acknowledgement. Without JetStream (or for a
//! subject no stream covers) core NATS is used: at-most-once, only while the runner is up.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::pull;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::OnceCell;

use super::cloudevent::{self, encode_structured, event_type};
use crate::exec::events::{
    CloudEvent, Delivery, EventBus, SubscribeRequest, Subscription, communication,
};
use crate::runtime::error::WorkflowError;

/// The stream this runner creates (or extends) when no stream covers a listen's subjects.
pub const STREAM_NAME: &str = "CLOUDEVENTS";
/// How long an emit waits for the broker.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

pub struct NatsBus {
    url: String,
    connection: Arc<OnceCell<Connection>>,
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
        }
    }

    /// Connects on first use: a run that never emits or listens never dials the broker.
    fn connection(&self) -> BoxFuture<'static, Result<Connection, WorkflowError>> {
        let cell = Arc::clone(&self.connection);
        let url = self.url.clone();
        Box::pin(async move {
            cell.get_or_try_init(|| connect(url))
                .await
                .map(Connection::clone)
        })
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

fn nats_error(title: &str, error: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("NATS: {error}"))
}

impl EventBus for NatsBus {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let connection = self.connection();
        Box::pin(async move {
            let connection = connection.await?;
            let subject = event_type(&event).to_owned();
            let payload = bytes::Bytes::from(encode_structured(&event));
            if let Some(js) = &connection.jetstream {
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
        Box::pin(async move {
            let connection = connection.await?;
            match &connection.jetstream {
                // Any subject at all is no stream's business: core NATS delivers those.
                Some(js) if !request.types.is_empty() => durable(js, request).await,
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
    match tokio::time::timeout(ACK_TIMEOUT, client.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(nats_error("Cannot publish the event", error)),
        Err(_) => Err(communication(
            "Cannot publish the event",
            format!("the NATS server did not answer within {ACK_TIMEOUT:?}"),
        )),
    }
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
        client
            .flush()
            .await
            .map_err(|error| nats_error("Cannot subscribe", error))?;
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

/// JetStream: a durable pull consumer on the stream holding the subjects.
async fn durable(
    js: &jetstream::Context,
    request: SubscribeRequest,
) -> Result<Subscription, WorkflowError> {
    let stream = stream_for(js, &request.types).await?;
    let config = pull::Config {
        durable_name: Some(request.name.clone()),
        description: Some("a workflow listen task".to_owned()),
        deliver_policy: jetstream::consumer::DeliverPolicy::New,
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        filter_subjects: request.types.clone(),
        // A run stopped for good leaves no consumer behind forever.
        inactive_threshold: Duration::from_secs(7 * 24 * 3600),
        ..Default::default()
    };
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(&request.name, config)
        .await
        .map_err(|error| nats_error("Cannot create the JetStream consumer", error))?;
    let messages = consumer
        .messages()
        .await
        .map_err(|error| nats_error("Cannot read from the JetStream consumer", error))?;
    let deliveries = messages.filter_map(|message| async move {
        let message = match message {
            Ok(message) => message,
            Err(error) => return Some(Err(nats_error("Lost the JetStream consumer", error))),
        };
        let Some(event) = decode(&message.message) else {
            // Not a CloudEvent: nothing a listen can consume; it is not redelivered.
            let _ = message.ack().await;
            return None;
        };
        let ack: crate::exec::events::Ack = Box::new(move || {
            Box::pin(async move {
                message
                    .double_ack()
                    .await
                    .map_err(|error| nats_error("Cannot acknowledge the event", error))
            })
        });
        Some(Ok(Delivery::with_ack(event, ack)))
    });
    let name = request.name;
    let close = Box::pin(async move {
        let _ = stream.delete_consumer(&name).await;
    });
    Ok(Subscription {
        deliveries: deliveries.boxed(),
        close: Some(close),
    })
}

/// The stream that stores every subject of `types`: the one that already covers the first
/// subject when it covers them all, else [`STREAM_NAME`], created or extended to cover them.
async fn stream_for(
    js: &jetstream::Context,
    types: &[String],
) -> Result<jetstream::stream::Stream, WorkflowError> {
    let covering = match types.first() {
        Some(first) => js.stream_by_subject(first.clone()).await.ok(),
        None => None,
    };
    if let Some(name) = covering {
        let mut stream = js
            .get_stream(&name)
            .await
            .map_err(|error| nats_error("Cannot open the JetStream stream", error))?;
        let covered = stream.info().await.map(|info| {
            types
                .iter()
                .all(|t| info.config.subjects.iter().any(|s| subject_covers(s, t)))
        });
        if covered.unwrap_or(false) {
            return Ok(stream);
        }
    }
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: STREAM_NAME.to_owned(),
            subjects: types.to_vec(),
            max_age: Duration::from_secs(7 * 24 * 3600),
            ..Default::default()
        })
        .await
        .map_err(|error| nats_error("Cannot create the JetStream stream", error))?;
    let mut config = stream.cached_info().config.clone();
    let missing: Vec<String> = types
        .iter()
        .filter(|t| !config.subjects.iter().any(|s| subject_covers(s, t)))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(stream);
    }
    config.subjects.extend(missing);
    js.update_stream(&config)
        .await
        .map_err(|error| nats_error("Cannot extend the JetStream stream", error))?;
    js.get_stream(STREAM_NAME)
        .await
        .map_err(|error| nats_error("Cannot open the JetStream stream", error))
}

/// Whether the subject pattern `pattern` (with `*` and `>` wildcards) covers `subject`.
fn subject_covers(pattern: &str, subject: &str) -> bool {
    let mut tokens = subject.split('.');
    for part in pattern.split('.') {
        match (part, tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (part, Some(token)) if part == token => {}
            _ => return false,
        }
    }
    tokens.next().is_none()
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
    fn wildcards_cover_subjects() {
        assert!(subject_covers("order.paid", "order.paid"));
        assert!(subject_covers("order.*", "order.paid"));
        assert!(!subject_covers("order.*", "order.paid.eu"));
        assert!(subject_covers("order.>", "order.paid.eu"));
        assert!(!subject_covers("order.>", "order"));
        assert!(!subject_covers("order.paid", "order.shipped"));
    }
}
