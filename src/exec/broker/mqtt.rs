//! `--broker mqtt://host:port` (MQTT 3.1.1), `mqtt://host:port?version=5` or `mqtt5://` (MQTT 5),
//! and `mqtts://` for TLS: the event's `type` with `.` turned into `/` is the topic, QoS 1 both
//! ways. An emit waits for the broker's PUBACK. A listen gets a persistent session of its own
//! (the client id derived from the subscription's name, `clean_session=false` / MQTT 5 with a
//! week's session expiry), so QoS 1 events published while the runner is down wait in the broker
//! for the `resume`; inbound messages are acknowledged by hand, only once the journal recorded
//! them. MQTT 5 messages in binary mode (CloudEvents MQTT binding: attributes as user properties,
//! the data as payload) are read as well as structured JSON ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use sha2::Digest;
use tokio::sync::mpsc;

use super::cloudevent::{self, encode_structured, event_type};
use super::mqtt_wire::{self, Client, Endpoint, Inbound, Loop, MqttWireError, Session, Wire};
use crate::host::effects::events::{
    Ack, CloudEvent, Delivery, EventBus, SubscribeRequest, Subscription, communication,
};
use crate::problem::{ErrorKind, WorkflowError};

/// How long an emit waits for the PUBACK, and a listen for its SUBACK.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a listen keeps reconnecting to a broker that went away before it fails.
const RECONNECT_FOR: Duration = Duration::from_secs(60);

pub struct MqttBus {
    url: String,
    endpoint: Result<Endpoint, MqttUrlError>,
    /// One connection for every emit of the run, made on first use; replaced when it died.
    publisher: Arc<tokio::sync::Mutex<Option<Publisher>>>,
}

impl MqttBus {
    pub fn new(url: &str) -> MqttBus {
        MqttBus {
            url: url.to_owned(),
            endpoint: endpoint(url),
            publisher: Arc::default(),
        }
    }

    fn endpoint(&self) -> Result<Endpoint, WorkflowError> {
        self.endpoint.clone().map_err(|reason| {
            WorkflowError::new(ErrorKind::Configuration, "Invalid MQTT broker URL")
                .with_detail(format!("{}: {reason}", super::shown_url(&self.url)))
        })
    }
}

/// Why a broker URL names no MQTT endpoint (the detail of an "Invalid MQTT broker URL").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MqttUrlError {
    #[error("{0}")]
    Unparsable(String),
    #[error("MQTT version `{0}` is not supported (3.1.1 or 5)")]
    Version(String),
    #[error("unknown parameter `{0}` (only `version`)")]
    Parameter(String),
    #[error("the URL has no host")]
    NoHost,
}

/// The connection settings of an `mqtt://`, `mqtts://` or `mqtt5://` URL.
pub(crate) fn endpoint(url: &str) -> Result<Endpoint, MqttUrlError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|error| MqttUrlError::Unparsable(error.to_string()))?;
    let scheme = parsed.scheme().to_ascii_lowercase();
    let tls = matches!(scheme.as_str(), "mqtts" | "mqtts5");
    let mut v5 = scheme.ends_with('5');
    for (key, value) in parsed.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("version", "5" | "5.0") => v5 = true,
            ("version", "3.1.1" | "4" | "3") => v5 = false,
            ("version", other) => return Err(MqttUrlError::Version(other.to_owned())),
            (other, _) => return Err(MqttUrlError::Parameter(other.to_owned())),
        }
    }
    let host = parsed
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or(MqttUrlError::NoHost)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port().unwrap_or(if tls { 8883 } else { 1883 });
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = (!parsed.username().is_empty()).then(|| {
        (
            decode(parsed.username()),
            decode(parsed.password().unwrap_or_default()),
        )
    });
    Ok(Endpoint {
        host,
        port,
        tls,
        credentials,
        v5,
    })
}

/// The topic of an event type: `.` becomes `/`. Wildcards cannot be published.
pub(crate) fn topic_for(event_type: &str) -> Result<String, WorkflowError> {
    if event_type.is_empty() || event_type.contains(['+', '#', '\0']) {
        return Err(WorkflowError::new(
            ErrorKind::Configuration,
            "The event type is not an MQTT topic",
        )
        .with_detail(format!(
            "`{event_type}`: an MQTT topic is not empty and holds no `+`, `#` or NUL"
        )));
    }
    Ok(event_type.replace('.', "/"))
}

/// A client id every MQTT server accepts (at most 23 letters and digits), stable for one
/// subscription name: the broker finds the listen's session again after a resume.
pub(crate) fn client_id(name: &str) -> String {
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("wf{}", &hex[..21])
}

fn mqtt_error(title: &str, detail: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("MQTT: {detail}"))
}

/// The emitting connection: its client, and what its event loop reported.
struct Publisher {
    client: Client,
    reports: mpsc::UnboundedReceiver<Result<Wire, MqttWireError>>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    fn start(endpoint: &Endpoint) -> Result<Publisher, MqttWireError> {
        let id = format!("wfp{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
        let (client, mut eventloop) = mqtt_wire::client(endpoint, &id, Session::Clean)?;
        let (sender, reports) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let polled = eventloop.poll().await;
                let failed = polled.is_err();
                let wanted = matches!(
                    polled,
                    Err(_) | Ok(Wire::Sent(_) | Wire::PubAck { .. } | Wire::Connected { .. })
                );
                if wanted && sender.send(polled).is_err() {
                    return;
                }
                // A failed connection is not retried here: the next emit makes a new one.
                if failed {
                    return;
                }
            }
        });
        Ok(Publisher {
            client,
            reports,
            task,
        })
    }

    /// Publishes and waits for the PUBACK. `Err(true)` when the publish never left (the
    /// connection was already gone): it may be sent again on a new connection.
    async fn send(&mut self, topic: &str, payload: Vec<u8>) -> Result<(), (bool, String)> {
        // Reports of an earlier emit that timed out are stale.
        while let Ok(report) = self.reports.try_recv() {
            if let Err(error) = report {
                return Err((true, error.to_string()));
            }
        }
        if self.task.is_finished() {
            return Err((true, "the connection is closed".into()));
        }
        self.client
            .publish(topic, payload, None)
            .map_err(|error| (true, error.to_string()))?;
        let wait = async {
            let mut sent = None;
            while let Some(report) = self.reports.recv().await {
                match report {
                    Ok(Wire::Sent(pkid)) if sent.is_none() => sent = Some(pkid),
                    Ok(Wire::PubAck { pkid, refused }) if Some(pkid) == sent => {
                        return match refused {
                            None => Ok(()),
                            Some(reason) => {
                                Err((false, format!("the broker refused it ({reason})")))
                            }
                        };
                    }
                    Ok(_) => {}
                    Err(error) => return Err((sent.is_none(), error.to_string())),
                }
            }
            Err((sent.is_none(), "the connection is closed".into()))
        };
        match tokio::time::timeout(ACK_TIMEOUT, wait).await {
            Ok(result) => result,
            Err(_) => Err((
                false,
                format!("no acknowledgement within {}s", ACK_TIMEOUT.as_secs()),
            )),
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventBus for MqttBus {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let endpoint = self.endpoint();
        let publisher = Arc::clone(&self.publisher);
        let url = super::shown_url(&self.url);
        Box::pin(async move {
            let endpoint = endpoint?;
            let topic = topic_for(event_type(&event))?;
            let payload = encode_structured(&event);
            // One emit at a time on the connection: its PUBACK is then the next one for its
            // packet id, whatever else the loop reports.
            let mut slot = publisher.lock().await;
            for attempt in 0..2 {
                if slot.is_none() {
                    let started = Publisher::start(&endpoint)
                        .map_err(|e| mqtt_error("Cannot reach the MQTT broker", e))?;
                    *slot = Some(started);
                }
                let Some(current) = slot.as_mut() else {
                    continue;
                };
                match current.send(&topic, payload.clone()).await {
                    Ok(()) => return Ok(()),
                    Err((unsent, error)) => {
                        *slot = None;
                        // A connection that died while idle (the broker restarted) is replaced
                        // once; the event had not left.
                        if unsent && attempt == 0 {
                            continue;
                        }
                        return Err(mqtt_error(
                            "Cannot publish the event",
                            format!("{url}: {error}"),
                        ));
                    }
                }
            }
            Err(mqtt_error("Cannot reach the MQTT broker", url))
        })
    }

    fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        let endpoint = self.endpoint();
        let url = super::shown_url(&self.url);
        Box::pin(async move {
            let endpoint = endpoint?;
            let topics = if request.types.is_empty() {
                vec!["#".to_owned()]
            } else {
                request
                    .types
                    .iter()
                    .map(|t| topic_for(t))
                    .collect::<Result<Vec<_>, _>>()?
            };
            subscribe(endpoint, url, client_id(&request.name), topics).await
        })
    }
}

/// Opens the listen's persistent session, subscribes, and hands every message over until the
/// subscription is closed.
async fn subscribe(
    endpoint: Endpoint,
    url: String,
    id: String,
    topics: Vec<String>,
) -> Result<Subscription, WorkflowError> {
    let (client, mut eventloop) = mqtt_wire::client(&endpoint, &id, Session::Persistent)
        .map_err(|e| mqtt_error("Cannot reach the MQTT broker", e))?;
    let (sender, receiver) = mpsc::unbounded_channel();
    let generation = Arc::new(AtomicU64::new(0));
    client
        .subscribe(&topics)
        .map_err(|e| mqtt_error("Cannot subscribe", e))?;
    // Until the SUBACK: messages the session kept while the runner was down come first.
    let subscribed = async {
        loop {
            match eventloop.poll().await {
                Ok(Wire::Subscribed { refused: false }) => return Ok(()),
                Ok(Wire::Subscribed { refused: true }) => {
                    return Err(mqtt_error(
                        "Cannot subscribe",
                        format!("{url} refused the subscription to {}", topics.join(", ")),
                    ));
                }
                Ok(Wire::Message(message)) => {
                    forward(&client, &sender, &generation, message);
                }
                Ok(_) => {}
                Err(error) => {
                    return Err(mqtt_error(
                        "Cannot reach the MQTT broker",
                        format!("{url}: {error}"),
                    ));
                }
            }
        }
    };
    match tokio::time::timeout(ACK_TIMEOUT, subscribed).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(mqtt_error(
                "Cannot subscribe",
                format!("{url} did not answer within {}s", ACK_TIMEOUT.as_secs()),
            ));
        }
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(keep_reading(
        eventloop,
        client.clone(),
        sender,
        Arc::clone(&generation),
        topics,
        stop.clone(),
    ));
    let deliveries = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let close = Box::pin(async move {
        client.disconnect();
        stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        forget_session(&endpoint, &id).await;
    });
    Ok(Subscription {
        deliveries: deliveries.boxed(),
        close: Some(close),
    })
}

/// Polls the listen's connection until it is closed; reconnects (the session is persistent,
/// so nothing is lost) to a broker that went away, for a while.
async fn keep_reading(
    mut eventloop: Loop,
    client: Client,
    sender: mpsc::UnboundedSender<Result<Delivery, WorkflowError>>,
    generation: Arc<AtomicU64>,
    topics: Vec<String>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        let polled = tokio::select! {
            _ = stop.cancelled() => return,
            polled = eventloop.poll() => polled,
        };
        match polled {
            Ok(Wire::Message(message)) => {
                failing_since = None;
                forward(&client, &sender, &generation, message);
            }
            Ok(Wire::Connected { session_present }) => {
                failing_since = None;
                // Acknowledgements of the last connection's messages mean nothing now: those
                // messages come again.
                generation.fetch_add(1, Ordering::SeqCst);
                if !session_present {
                    let _ = client.subscribe(&topics);
                }
            }
            Ok(Wire::Disconnected) => {
                if stop.is_cancelled() {
                    return;
                }
            }
            Ok(_) => {}
            Err(error) => {
                let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > RECONNECT_FOR {
                    let _ = sender.send(Err(mqtt_error("Lost the MQTT broker", error)));
                    return;
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
}

/// Hands a message to the listen with its acknowledgement; a message that is no CloudEvent is
/// acknowledged at once and dropped.
fn forward(
    client: &Client,
    sender: &mpsc::UnboundedSender<Result<Delivery, WorkflowError>>,
    generation: &Arc<AtomicU64>,
    message: Inbound,
) {
    let Some(event) = decode(&message) else {
        let _ = client.ack(&message);
        return;
    };
    let client = client.clone();
    let generation = Arc::clone(generation);
    let connection = generation.load(Ordering::SeqCst);
    let ack: Ack = Box::new(move || {
        Box::pin(async move {
            if generation.load(Ordering::SeqCst) != connection {
                // Reconnected since: the broker sends the message again (deduplicated by the
                // journal); a PUBACK with the old packet id could acknowledge another message.
                return Ok(());
            }
            client
                .ack(&message)
                .map_err(|e| mqtt_error("Cannot acknowledge the event", e))
        })
    });
    let _ = sender.send(Ok(Delivery::with_ack(event, ack)));
}

/// Ends the listen's persistent session: the broker keeps nothing more for it.
pub(crate) async fn forget_session(endpoint: &Endpoint, id: &str) {
    let Ok((client, mut eventloop)) = mqtt_wire::client(endpoint, id, Session::Clean) else {
        return;
    };
    let forget = async {
        loop {
            match eventloop.poll().await {
                Ok(Wire::Connected { .. }) => client.disconnect(),
                Ok(Wire::Disconnected) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), forget).await;
}

/// An MQTT message as a CloudEvent: binary mode when its MQTT 5 user properties hold
/// `specversion`, structured otherwise. `None` for anything else.
fn decode(message: &Inbound) -> Option<CloudEvent> {
    let properties = message.user_properties();
    let binary = properties
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("specversion"));
    let decoded = if binary {
        cloudevent::decode_binary(
            properties.iter().cloned(),
            message.content_type(),
            message.payload(),
        )
    } else {
        cloudevent::decode_structured(message.payload())
    };
    decoded.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_protocol_version_tls_and_credentials() {
        let plain = endpoint("mqtt://127.0.0.1:1883").unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.v5 && !plain.tls && plain.credentials.is_none());
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 1883));
        let five = endpoint("mqtt://u:p%40ss@broker?version=5").unwrap_or_else(|e| panic!("{e}"));
        assert!(five.v5);
        assert_eq!(five.port, 1883);
        assert_eq!(five.credentials, Some(("u".into(), "p@ss".into())));
        let tls = endpoint("mqtts://broker").unwrap_or_else(|e| panic!("{e}"));
        assert!(tls.tls && !tls.v5 && tls.port == 8883);
        assert!(endpoint("mqtt5://broker").is_ok_and(|e| e.v5));
        assert!(endpoint("mqtt://broker?version=6").is_err());
        assert!(endpoint("mqtt://broker?qos=2").is_err());
    }

    #[test]
    fn topics_are_types_with_slashes_and_client_ids_are_short_and_stable() {
        assert_eq!(
            topic_for("com.example.sensor.reading").ok(),
            Some("com/example/sensor/reading".to_owned())
        );
        assert!(topic_for("a.+.b").is_err());
        assert!(topic_for("").is_err());
        let id = client_id("wf-0190abcd-0011223344556677");
        assert_eq!(id, client_id("wf-0190abcd-0011223344556677"));
        assert_ne!(id, client_id("wf-0190abcd-0011223344556678"));
        assert_eq!(id.len(), 23);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
