//! AsyncAPI calls as the engine hands them to the network: a resolved target (protocol, server
//! URL, channel address, credentials) and a plain message to publish, or a subscription whose
//! messages come back one by one. The engine resolves the document and evaluates every
//! expression; the executor only talks to the broker.
//!
//! Protocols: `nats` (a JetStream publish acknowledged by the stream when one stores the
//! subject, else a core publish flushed to the server), `mqtt`/`mqtt5` (QoS 1, completed on the
//! PUBACK), `amqp` (publish only: persistent, completed on the publisher confirm), `http`/`https`
//! (a POST per message; no subscription). Others are a `configuration`
//! error naming the protocol.

#[cfg(feature = "amqp")]
mod amqp;
mod check;
pub(crate) mod document;
#[cfg(feature = "mqtt")]
mod mqtt;
#[cfg(feature = "nats")]
mod nats;

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub(crate) use check::check_documents;

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
    /// AMQP: the exchange (the channel's binding); `None`: the default exchange.
    pub exchange: Option<String>,
}

/// A plain message: the payload bytes as the content type says, and headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub payload: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

/// What a subscription delivers: the message and the address it came on.
pub type Inbound = Result<(Message, String), WorkflowError>;

/// Talks plain messages to the brokers AsyncAPI documents describe.
pub trait AsyncApiClient: Send + Sync {
    /// Completes once the broker acknowledged the message where the protocol can.
    fn publish(
        &self,
        target: Target,
        message: Message,
    ) -> BoxFuture<'static, Result<(), WorkflowError>>;

    /// Subscribed once this completes: later messages on the address are delivered in order.
    /// Dropping the stream ends the subscription.
    fn subscribe(
        &self,
        target: Target,
    ) -> BoxFuture<'static, Result<BoxStream<'static, Inbound>, WorkflowError>>;
}

/// The protocols this runner speaks, the others named in a `configuration` error.
pub(crate) fn unsupported(protocol: &str, what: &str) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Unsupported AsyncAPI protocol").with_detail(
        format!(
            "cannot {what} over `{protocol}`: this runner speaks nats, mqtt and mqtt5, and \
             amqp and http for publishing only, in AsyncAPI calls"
        ),
    )
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
    ) -> BoxFuture<'static, Result<BoxStream<'static, Inbound>, WorkflowError>> {
        match target.protocol.as_str() {
            #[cfg(feature = "nats")]
            "nats" => Box::pin(nats::subscribe(target)),
            #[cfg(feature = "mqtt")]
            "mqtt" | "mqtt5" | "secure-mqtt" => Box::pin(mqtt::subscribe(target)),
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
            credentials: target
                .credentials
                .map(|(username, password)| super::auth::Credentials::Basic { username, password }),
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
    ) -> BoxFuture<'static, Result<BoxStream<'static, Inbound>, WorkflowError>> {
        let error = unsupported(&target.protocol, "subscribe");
        Box::pin(async move { Err(error) })
    }
}
