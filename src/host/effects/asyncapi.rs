//! AsyncAPI calls as the engine asks its host for them: a resolved `Target` (protocol, server
//! URL, channel address, credentials) and a plain `Message` to publish, or a subscription whose
//! messages come back one by one, each acknowledged once the journal recorded it.

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use super::events::Ack;
use crate::problem::WorkflowError;

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

/// What the handshake (WebSocket upgrade) or the request (HTTP) carries besides the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebBinding {
    /// `GET`/`POST` for the WebSocket upgrade, the request's method over HTTP; `None`: the
    /// protocol's default (the upgrade's GET, a POST to publish, a GET to subscribe).
    pub method: Option<String>,
    /// Query parameters appended to the URL.
    pub query: Vec<(String, String)>,
    /// Headers of the upgrade request or of every HTTP request.
    pub headers: Vec<(String, String)>,
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

    /// Removes what the broker keeps under `name` for a subscription that needs no more
    /// messages (a consumption a resumed run completed from its journal alone). By default the
    /// durable subscription is attached again and closed; failures are not the run's concern.
    fn forget(&self, target: Target, name: String) -> BoxFuture<'static, ()> {
        close_when_attached(self.subscribe(target, name))
    }
}

/// Closes a subscription once attached (what [`AsyncApiClient::forget`] does by default).
pub fn close_when_attached(
    attached: BoxFuture<'static, Result<Consumption, WorkflowError>>,
) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        if let Ok(mut consumption) = attached.await
            && let Some(close) = consumption.close.take()
        {
            close.await;
        }
    })
}
