//! AsyncAPI calls as the engine hands them to the network: a resolved target (protocol, server
//! URL, channel address, credentials) and a plain message to publish, or a subscription whose
//! messages come back one by one. The engine resolves the document and evaluates every
//! expression; the executor only talks to the broker.
//!
//! Protocols: `nats` (a JetStream publish acknowledged by the stream when one stores the
//! subject, else a core publish flushed to the server), `mqtt`/`mqtt5` (QoS 1, completed on the
//! PUBACK), `amqp` (persistent, completed on the publisher confirm), `redis` (a stream entry
//! `XADD` when the channel is a stream, else `PUBLISH`), `http`/`https` (a POST per message; no
//! subscription). Subscriptions on durable sources (a JetStream stream, an AMQP queue, an MQTT
//! persistent session, a Redis stream consumer group) hand each message over with an
//! acknowledgement the engine calls once its journal recorded the message. Others are a
//! `configuration` error naming the protocol.

#[cfg(feature = "amqp")]
mod amqp;
mod check;
pub(crate) mod document;
#[cfg(feature = "mqtt")]
mod mqtt;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "redis")]
mod redis;

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub(crate) use check::check_documents;

use super::events::Ack;
use super::http::{HttpBody, HttpClient, HttpRequest};
use crate::problem::{ErrorKind, WorkflowError};

/// Where a message goes or comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Lower case, as the document writes it.
    pub protocol: String,
    /// `PROTOCOL://HOST[:PORT][PATH]`.
    pub url: String,
    /// The channel address (NATS subject, MQTT topic, HTTP path); on a subscription an unbound
    /// parameter is the protocol's one-level wildcard already.
    pub address: String,
    /// `(user, password)` for the broker (from the call's basic authentication).
    pub credentials: Option<(String, String)>,
    /// A token for the broker (from the call's bearer authentication): NATS's token, the
    /// password (with an empty user name) of MQTT, AMQP and Redis, HTTP's bearer header.
    pub token: Option<String>,
    /// AMQP: the exchange (the channel's binding); `None`: the default exchange.
    pub exchange: Option<String>,
    /// Redis: the channel is a stream (`bindings.redis.type: stream`), not pub/sub.
    pub stream: bool,
}

/// A plain message: the payload bytes as the content type says, and headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub payload: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

/// One message a subscription delivered, with what the engine needs to consume it exactly once.
pub struct Received {
    pub message: Message,
    /// The address it came on.
    pub address: String,
    /// The broker's identity of the message where it has one (a JetStream stream sequence, a
    /// Redis stream entry id, an AMQP `message-id`): a copy redelivered after a crash is
    /// recognised by it in the journal.
    pub key: Option<String>,
    /// The broker says it delivered this message before (AMQP `redelivered`, MQTT DUP).
    pub redelivered: bool,
    /// The protocol's own correlation id (AMQP `correlation-id`, MQTT 5 correlation data).
    pub correlation_id: Option<String>,
    ack: Option<Ack>,
}

impl Target {
    /// The user name and password to send: the basic credentials, else the token as the
    /// password of an empty user name.
    pub fn user_password(&self) -> Option<(String, String)> {
        self.credentials.clone().or_else(|| {
            self.token
                .as_ref()
                .map(|token| (String::new(), token.clone()))
        })
    }
}

impl Received {
    /// A message that needs no acknowledgement (core NATS, Redis pub/sub, a clean session).
    pub fn new(message: Message, address: String) -> Received {
        Received {
            message,
            address,
            key: None,
            redelivered: false,
            correlation_id: None,
            ack: None,
        }
    }

    /// Acknowledged to the broker by `ack`, called once the journal recorded the message.
    pub fn with_ack(mut self, ack: Ack) -> Received {
        self.ack = Some(ack);
        self
    }

    /// Tells the broker the message is dealt with: it is not delivered again.
    pub async fn ack(self) -> Result<(), WorkflowError> {
        match self.ack {
            Some(ack) => ack().await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("message", &self.message)
            .field("address", &self.address)
            .field("key", &self.key)
            .field("redelivered", &self.redelivered)
            .field("correlation_id", &self.correlation_id)
            .field("ack", &self.ack.is_some())
            .finish()
    }
}

/// What a subscription delivers, in order.
pub type Inbound = Result<Received, WorkflowError>;

/// The messages of one subscription, and what to do once the call no longer needs them.
pub struct Consumption {
    pub messages: BoxStream<'static, Inbound>,
    /// Removes what the subscription kept on the broker (a JetStream consumer, a queue, a
    /// session, a consumer group) once the call completed.
    pub close: Option<BoxFuture<'static, ()>>,
}

impl Consumption {
    pub fn new(messages: BoxStream<'static, Inbound>) -> Consumption {
        Consumption {
            messages,
            close: None,
        }
    }
}

/// Talks plain messages to the brokers AsyncAPI documents describe.
pub trait AsyncApiClient: Send + Sync {
    /// Completes once the broker acknowledged the message where the protocol can.
    fn publish(
        &self,
        target: Target,
        message: Message,
    ) -> BoxFuture<'static, Result<(), WorkflowError>>;

    /// Subscribed once this completes: later messages on the address are delivered in order.
    /// `name` is stable across a resume (the run and the step): a durable source (a JetStream
    /// consumer, an AMQP queue, an MQTT session, a Redis consumer group) is kept under it, so
    /// messages sent while the runner is down wait for it. Dropping the stream ends the
    /// subscription.
    fn subscribe(
        &self,
        target: Target,
        name: String,
    ) -> BoxFuture<'static, Result<Consumption, WorkflowError>>;
}

/// The protocols this runner speaks, the others named in a `configuration` error.
pub(crate) fn unsupported(protocol: &str, what: &str) -> WorkflowError {
    let detail = match (protocol, what) {
        ("ws" | "wss", _) => format!(
            "cannot {what} over `{protocol}`: WebSocket channels are not supported by this \
             runner; describe the channel with a `nats`, `mqtt`, `amqp`, `redis` or `http` server"
        ),
        ("http" | "https", "subscribe") => format!(
            "cannot subscribe over `{protocol}`: HTTP has no subscription; let the sender POST \
             CloudEvents to `--receive ADDR` and use a `listen` task, or subscribe through a \
             broker server of the document"
        ),
        ("kafka" | "kafka-secure", _) => format!(
            "cannot {what} over `{protocol}`: Kafka is not supported (no maintained pure-Rust \
             Kafka client has consumer groups); bridge the topic to NATS JetStream, MQTT, AMQP \
             or Redis"
        ),
        _ => format!(
            "cannot {what} over `{protocol}`: this runner speaks nats, mqtt, mqtt5, amqp and \
             redis (publish and subscribe) and http (publish) in AsyncAPI calls"
        ),
    };
    WorkflowError::new(ErrorKind::Configuration, "Unsupported AsyncAPI protocol")
        .with_detail(detail)
}

/// The real client: a connection per call (a run's calls are few; brokers are local).
pub struct SystemAsyncApi {
    http: Arc<dyn HttpClient>,
}

impl SystemAsyncApi {
    pub fn new(http: Arc<dyn HttpClient>) -> Self {
        SystemAsyncApi { http }
    }
}

impl AsyncApiClient for SystemAsyncApi {
    fn publish(
        &self,
        target: Target,
        message: Message,
    ) -> BoxFuture<'static, Result<(), WorkflowError>> {
        match target.protocol.as_str() {
            #[cfg(feature = "nats")]
            "nats" => Box::pin(nats::publish(target, message)),
            #[cfg(feature = "mqtt")]
            "mqtt" | "mqtt5" | "secure-mqtt" => Box::pin(mqtt::publish(target, message)),
            #[cfg(feature = "amqp")]
            "amqp" => Box::pin(amqp::publish(target, message)),
            #[cfg(feature = "redis")]
            "redis" | "rediss" => Box::pin(redis::publish(target, message)),
            "http" | "https" => Box::pin(http_post(Arc::clone(&self.http), target, message)),
            other => {
                let error = unsupported(other, "publish");
                Box::pin(async move { Err(error) })
            }
        }
    }

    fn subscribe(
        &self,
        target: Target,
        name: String,
    ) -> BoxFuture<'static, Result<Consumption, WorkflowError>> {
        match target.protocol.as_str() {
            #[cfg(feature = "nats")]
            "nats" => Box::pin(nats::subscribe(target, name)),
            #[cfg(feature = "mqtt")]
            "mqtt" | "mqtt5" | "secure-mqtt" => Box::pin(mqtt::subscribe(target, name)),
            #[cfg(feature = "amqp")]
            "amqp" => Box::pin(amqp::subscribe(target, name)),
            #[cfg(feature = "redis")]
            "redis" | "rediss" => Box::pin(redis::subscribe(target, name)),
            other => {
                let error = unsupported(other, "subscribe");
                Box::pin(async move { Err(error) })
            }
        }
    }
}

/// `http`: the message POSTed to the server URL joined with the channel address; any 2xx is
/// the acknowledgement.
async fn http_post(
    http: Arc<dyn HttpClient>,
    target: Target,
    message: Message,
) -> Result<(), WorkflowError> {
    let url = format!(
        "{}/{}",
        target.url.trim_end_matches('/'),
        target.address.trim_start_matches('/')
    );
    let mut headers = message.headers.clone();
    headers.push(("content-type".to_owned(), message.content_type.clone()));
    let body = String::from_utf8_lossy(&message.payload).into_owned();
    let response = http
        .send(HttpRequest {
            method: "POST".to_owned(),
            url: url.clone(),
            query: Vec::new(),
            headers,
            body: Some(HttpBody::Text(body)),
            redirect: false,
            credentials: match (target.credentials, target.token) {
                (Some((username, password)), _) => {
                    Some(super::auth::Credentials::Basic { username, password })
                }
                (None, Some(token)) => Some(super::auth::Credentials::Bearer { token }),
                (None, None) => None,
            },
        })
        .await?;
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(
            WorkflowError::new(ErrorKind::Communication, "The message was not accepted")
                .with_detail(format!("POST {url} answered {}", response.status))
                .with_status(response.status),
        )
    }
}

/// For tests and builds that make no AsyncAPI calls: every call is a `configuration` error.
pub struct NoAsyncApi;

impl AsyncApiClient for NoAsyncApi {
    fn publish(&self, target: Target, _: Message) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let error = unsupported(&target.protocol, "publish");
        Box::pin(async move { Err(error) })
    }

    fn subscribe(
        &self,
        target: Target,
        _name: String,
    ) -> BoxFuture<'static, Result<Consumption, WorkflowError>> {
        let error = unsupported(&target.protocol, "subscribe");
        Box::pin(async move { Err(error) })
    }
}
