//! AsyncAPI calls as the engine hands them to the network: a resolved target (protocol, server
//! URL, channel address, credentials) and a plain message to publish, or a subscription whose
//! messages come back one by one. The engine resolves the document and evaluates every
//! expression; the executor only talks to the broker.
//!
//! Protocols: `nats` (a JetStream publish acknowledged by the stream when one stores the
//! subject, else a core publish flushed to the server), `mqtt`/`mqtt5` (QoS 1, completed on the
//! PUBACK), `amqp` (persistent, completed on the publisher confirm), `redis` (a stream entry
//! `XADD` when the channel is a stream, else `PUBLISH`), `http`/`https` (a request per message;
//! subscriptions read Server-Sent Events, NDJSON or long-polled JSON batches) and `ws`/`wss` (a
//! frame per message; subscriptions read frames). Subscriptions on durable sources (a JetStream stream, an AMQP queue, an MQTT
//! persistent session, a Redis stream consumer group) hand each message over with an
//! acknowledgement the engine calls once its journal recorded the message. Others are a
//! `configuration` error naming the protocol.

#[cfg(feature = "amqp")]
mod amqp;
mod bindings;
mod check;
pub(crate) mod document;
mod http;
#[cfg(feature = "mqtt")]
mod mqtt;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "redis")]
mod redis;
mod sse;
#[cfg(feature = "ws")]
mod ws;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub use bindings::WebBinding;
pub(crate) use check::check_documents;

use super::events::Ack;
use super::http::ReqwestHttp;
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
    /// `ws`/`wss` and `http`/`https`: the method, query and headers of the bindings.
    pub web: WebBinding,
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
    /// `http`/`https` or `ws`/`wss`: the server keeps nothing for a subscriber.
    pub fn is_web(&self) -> bool {
        matches!(self.protocol.as_str(), "http" | "https" | "ws" | "wss")
    }

    /// `URL/ADDRESS?QUERY`: the server URL joined with the channel address, with the query
    /// parameters of the web bindings.
    pub fn endpoint(&self) -> String {
        self.web.url_with_query(&self.location())
    }

    /// `URL/ADDRESS`.
    pub fn location(&self) -> String {
        if self.address.is_empty() {
            return self.url.clone();
        }
        format!(
            "{}/{}",
            self.url.trim_end_matches('/'),
            self.address.trim_start_matches('/')
        )
    }

    /// The `Authorization` header of the call's authentication over HTTP and WebSocket.
    pub fn authorization(&self) -> Option<String> {
        use base64::Engine as _;
        match (&self.credentials, &self.token) {
            (Some((user, password)), _) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            (None, Some(token)) => Some(format!("Bearer {token}")),
            (None, None) => None,
        }
    }

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
        ("ws" | "wss", _) if !cfg!(feature = "ws") => format!(
            "cannot {what} over `{protocol}`: this build has no WebSocket support (built \
             without the `ws` feature)"
        ),
        ("kafka" | "kafka-secure", _) => format!(
            "cannot {what} over `{protocol}`: Kafka is not supported (no maintained pure-Rust \
             Kafka client has consumer groups); bridge the topic to NATS JetStream, MQTT, AMQP \
             or Redis"
        ),
        _ => format!(
            "cannot {what} over `{protocol}`: this runner speaks nats, mqtt, mqtt5, amqp, \
             redis, http and ws in AsyncAPI calls"
        ),
    };
    WorkflowError::new(ErrorKind::Configuration, "Unsupported AsyncAPI protocol")
        .with_detail(detail)
}

/// The real client: a connection per call (a run's calls are few; brokers are local).
pub struct SystemAsyncApi {
    http: ReqwestHttp,
}

impl SystemAsyncApi {
    pub fn new(http: ReqwestHttp) -> Self {
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
            "http" | "https" => {
                let http = self.http.clone();
                Box::pin(async move { http::publish(&http, target, message).await })
            }
            #[cfg(feature = "ws")]
            "ws" | "wss" => Box::pin(ws::publish(target, message)),
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
            "http" | "https" => Box::pin(http::subscribe(self.http.clone(), target, name)),
            #[cfg(feature = "ws")]
            "ws" | "wss" => Box::pin(ws::subscribe(target, name)),
            other => {
                let error = unsupported(other, "subscribe");
                Box::pin(async move { Err(error) })
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_joins_the_address_and_the_query() {
        let target = Target {
            protocol: "ws".into(),
            url: "ws://127.0.0.1:9000/".into(),
            address: "/rooms/lab".into(),
            credentials: Some(("u".into(), "p".into())),
            token: None,
            exchange: None,
            stream: false,
            web: WebBinding {
                method: None,
                query: vec![("v".into(), "2".into())],
                headers: Vec::new(),
            },
        };
        assert_eq!(target.endpoint(), "ws://127.0.0.1:9000/rooms/lab?v=2");
        assert_eq!(target.authorization().as_deref(), Some("Basic dTpw"));
    }
}
