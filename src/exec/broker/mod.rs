//! Broker clients behind `--broker URL`: each turns CloudEvents into its protocol's messages
//! (CloudEvents protocol bindings: structured JSON everywhere, binary mode read where the binding
//! defines it) and implements the engine's [`EventBus`]. The AsyncAPI calls reuse the same
//! clients for plain messages.

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "amqp")]
pub(crate) mod amqp_queue;
pub mod cloudevent;
pub mod http;
mod inbox;
#[cfg(feature = "nats")]
pub(crate) mod jetstream;
#[cfg(feature = "mqtt")]
pub mod mqtt;
#[cfg(feature = "mqtt")]
pub(crate) mod mqtt_wire;
#[cfg(feature = "nats")]
pub mod nats;
pub mod receiver;
#[cfg(any(feature = "mqtt", feature = "ws"))]
pub(crate) mod tls;

use std::sync::Arc;

use super::events::{FanoutBus, InProcessBus};
use crate::host::effects::events::EventBus;

/// The environment variable of Knative's sink binding: a URL emitted events are POSTed to when
/// no `--broker` is given.
pub const K_SINK_ENV: &str = "K_SINK";

/// A `--broker` URL this runner cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    #[error(
        "`{url}` is not a broker URL (expected nats://, mqtt://, mqtts://, amqp://, http:// or \
         https://)"
    )]
    Unknown { url: String },
    #[error(
        "Kafka is not supported: no maintained pure-Rust Kafka client has consumer groups; \
         bridge the topic to NATS (JetStream) or use an HTTP sink instead (`{url}`)"
    )]
    Kafka { url: String },
    #[error(
        "`{scheme}://` brokers are not supported (`{url}`): the AMQP client is built without TLS; \
         use amqp:// on a trusted network or through a TLS tunnel, or mqtts:// or nats:// with TLS"
    )]
    NotYet { scheme: String, url: String },
    #[error("this build has no NATS support (built without the `nats` feature): `{url}`")]
    NoNats { url: String },
    #[error("`{url}` is not a usable broker URL: {reason}")]
    Invalid { url: String, reason: String },
    #[error(
        "this build has no `{feature}` support (built without the `{feature}` feature): `{url}`"
    )]
    NotBuilt { feature: &'static str, url: String },
}

/// The bus a run uses: the brokers given (several are one fan-out), `K_SINK` when none is,
/// else the in-process bus between the run's own tasks.
pub fn bus_for(urls: &[String]) -> Result<Arc<dyn EventBus>, BrokerError> {
    let mut urls: Vec<String> = urls
        .iter()
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .collect();
    if urls.is_empty()
        && let Ok(sink) = std::env::var(K_SINK_ENV)
        && !sink.trim().is_empty()
    {
        urls.push(sink.trim().to_owned());
    }
    let mut buses = urls
        .iter()
        .map(|url| one(url))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match buses.len() {
        0 => Arc::new(InProcessBus::default()),
        1 => buses.swap_remove(0),
        _ => Arc::new(FanoutBus(buses)),
    })
}

/// `bus` with the `--receive` HTTP receiver next to it: listens hear both, emits go to `bus`.
pub fn with_receiver(bus: Arc<dyn EventBus>, receiver: receiver::Receiver) -> Arc<dyn EventBus> {
    Arc::new(FanoutBus(vec![bus, Arc::new(receiver)]))
}

fn one(url: &str) -> Result<Arc<dyn EventBus>, BrokerError> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        #[cfg(feature = "nats")]
        "nats" | "tls" => Ok(Arc::new(nats::NatsBus::new(url))),
        #[cfg(not(feature = "nats"))]
        "nats" | "tls" => Err(BrokerError::NoNats {
            url: shown_url(url),
        }),
        "http" | "https" => Ok(Arc::new(http::HttpSink::new(url))),
        "kafka" => Err(BrokerError::Kafka {
            url: shown_url(url),
        }),
        #[cfg(feature = "mqtt")]
        "mqtt" | "mqtts" | "mqtt5" | "mqtts5" => match mqtt::endpoint(url) {
            Ok(_) => Ok(Arc::new(mqtt::MqttBus::new(url))),
            Err(reason) => Err(BrokerError::Invalid {
                url: shown_url(url),
                reason: reason.to_string(),
            }),
        },
        #[cfg(not(feature = "mqtt"))]
        "mqtt" | "mqtts" | "mqtt5" | "mqtts5" => Err(BrokerError::NotBuilt {
            feature: "mqtt",
            url: shown_url(url),
        }),
        #[cfg(feature = "amqp")]
        "amqp" => Ok(Arc::new(amqp::AmqpBus::new(url))),
        #[cfg(not(feature = "amqp"))]
        "amqp" => Err(BrokerError::NotBuilt {
            feature: "amqp",
            url: shown_url(url),
        }),
        "amqps" => Err(BrokerError::NotYet {
            scheme,
            url: shown_url(url),
        }),
        _ => Err(BrokerError::Unknown {
            url: shown_url(url),
        }),
    }
}

/// The URL with its password (if any) masked, for messages.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            // A user name alone may be a token (NATS): masked too.
            match credentials.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
                None => format!("{scheme}://***@{host}{path}"),
            }
        }
        None => url.to_owned(),
    }
}

/// An error and its sources, one sentence.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_shown_urls() {
        assert_eq!(
            shown_url("amqp://guest:secret@127.0.0.1:5672/vhost"),
            "amqp://guest:***@127.0.0.1:5672/vhost"
        );
        assert_eq!(shown_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(shown_url("nats://token@host"), "nats://***@host");
    }

    #[test]
    fn unknown_and_unsupported_schemes_are_clear_errors() {
        assert!(matches!(
            bus_for(&["kafka://localhost:9092".into()]),
            Err(BrokerError::Kafka { .. })
        ));
        assert!(matches!(
            bus_for(&["ftp://x".into()]),
            Err(BrokerError::Unknown { .. })
        ));
        assert!(bus_for(&["http://127.0.0.1:1/sink".into()]).is_ok());
        #[cfg(feature = "mqtt")]
        assert!(matches!(
            bus_for(&["mqtt://u:pw@host?version=7".into()]),
            Err(BrokerError::Invalid { url, .. }) if !url.contains("pw")
        ));
        assert!(matches!(
            bus_for(&["amqps://u:pw@host".into()]),
            Err(BrokerError::NotYet { .. })
        ));
    }
}
