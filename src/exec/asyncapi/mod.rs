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

pub(crate) use check::check_documents;

use super::http::ReqwestHttp;
use crate::host::effects::asyncapi::{
    AsyncApiClient, Consumption, Message, Received, Target, close_when_attached,
};
use crate::problem::{ErrorKind, WorkflowError};

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

    fn forget(&self, target: Target, name: String) -> BoxFuture<'static, ()> {
        if target.is_web() {
            // A web server keeps nothing for a subscriber, and asking it would take messages.
            return Box::pin(std::future::ready(()));
        }
        close_when_attached(self.subscribe(target, name))
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
    use crate::host::effects::asyncapi::WebBinding;

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
