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

pub(crate) use check::check_documents;

use super::http::{HttpBody, HttpClient, HttpRequest};
pub use crate::host::effects::asyncapi::{
    AsyncApiClient, Consumption, Inbound, Message, Received, Target,
};
use crate::problem::{ErrorKind, WorkflowError};

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
