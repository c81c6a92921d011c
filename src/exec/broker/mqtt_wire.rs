//! The two MQTT protocol versions behind one small surface: rumqttc has a client and an event
//! loop for MQTT 3.1.1 and another pair for MQTT 5 with different packet types. The bus
//! (`mqtt.rs`) speaks only to [`Client`], [`Loop`] and the [`Wire`] events here.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::QoS as Q5;
use rumqttc::v5::mqttbytes::v5 as p5;
use rumqttc::{QoS, v5};

/// What went wrong on an MQTT client or its connection. The rumqttc errors of the two protocol
/// versions are different types; their text is what a problem's detail shows.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum MqttWireError {
    #[error("no root certificate could be loaded from the system for mqtts://")]
    NoRootCertificates,
    #[error("{0}")]
    Tls(String),
    /// A request could not be queued for the event loop (it is gone, or its queue is full).
    #[error("{0}")]
    Client(String),
    /// The connection failed (polling again reconnects).
    #[error("{0}")]
    Connection(String),
}

/// What the connection settings of one client are.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub credentials: Option<(String, String)>,
    pub v5: bool,
}

/// How a client's session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Session {
    /// Gone with the connection (publishers, the clean-up of a finished listen).
    Clean,
    /// Kept by the broker while the client is away, with its subscriptions and the QoS 1
    /// messages that arrive meanwhile (a listen's session).
    Persistent,
}

/// How long a persistent MQTT 5 session outlives its connection: a run stopped for good leaves
/// nothing behind forever (the same week as a JetStream consumer's inactivity threshold).
const SESSION_EXPIRY_SECS: u32 = 7 * 24 * 3600;

/// One inbound message, kept whole so that it can be acknowledged later.
pub(crate) enum Inbound {
    V4(rumqttc::Publish),
    V5(p5::Publish),
}

impl Inbound {
    pub fn payload(&self) -> &Bytes {
        match self {
            Inbound::V4(publish) => &publish.payload,
            Inbound::V5(publish) => &publish.payload,
        }
    }

    /// MQTT 5 user properties (the CloudEvents binary-mode attributes); none in 3.1.1.
    pub fn user_properties(&self) -> &[(String, String)] {
        match self {
            Inbound::V4(_) => &[],
            Inbound::V5(publish) => publish
                .properties
                .as_ref()
                .map_or(&[], |p| p.user_properties.as_slice()),
        }
    }

    /// The broker sent it before (DUP): a QoS 1 message redelivered to a resumed session.
    pub fn redelivered(&self) -> bool {
        match self {
            Inbound::V4(publish) => publish.dup,
            Inbound::V5(publish) => publish.dup,
        }
    }

    /// MQTT 5 correlation data, as text; none in 3.1.1.
    pub fn correlation_data(&self) -> Option<String> {
        match self {
            Inbound::V4(_) => None,
            Inbound::V5(publish) => publish
                .properties
                .as_ref()
                .and_then(|p| p.correlation_data.as_ref())
                .map(|data| String::from_utf8_lossy(data).into_owned()),
        }
    }

    pub fn topic(&self) -> String {
        match self {
            Inbound::V4(publish) => publish.topic.clone(),
            Inbound::V5(publish) => String::from_utf8_lossy(&publish.topic).into_owned(),
        }
    }

    pub fn content_type(&self) -> Option<&str> {
        match self {
            Inbound::V4(_) => None,
            Inbound::V5(publish) => publish
                .properties
                .as_ref()
                .and_then(|p| p.content_type.as_deref()),
        }
    }
}

/// The MQTT 5 properties of a plain (non-CloudEvent) publish.
#[derive(Debug, Clone, Default)]
pub(crate) struct Properties {
    pub content_type: Option<String>,
    pub user_properties: Vec<(String, String)>,
}

/// What the event loop reports, in the terms the bus needs.
pub(crate) enum Wire {
    Connected {
        session_present: bool,
    },
    Subscribed {
        refused: bool,
    },
    /// A publish left with this packet id.
    Sent(u16),
    /// The broker acknowledged a publish; `refused` says why it would not take it.
    PubAck {
        pkid: u16,
        refused: Option<String>,
    },
    Message(Inbound),
    /// The broker answered a DISCONNECT we sent, or the connection closed.
    Disconnected,
    Other,
}

#[derive(Clone)]
pub(crate) enum Client {
    V4(rumqttc::AsyncClient),
    V5(v5::AsyncClient),
}

pub(crate) enum Loop {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<v5::EventLoop>),
}

/// A client and its event loop, not connected yet: the first [`Loop::poll`] connects.
pub(crate) fn client(
    endpoint: &Endpoint,
    client_id: &str,
    session: Session,
) -> Result<(Client, Loop), MqttWireError> {
    let keep_alive = Duration::from_secs(30);
    if endpoint.v5 {
        let mut options = v5::MqttOptions::new(client_id, &endpoint.host, endpoint.port);
        options.set_keep_alive(keep_alive);
        options.set_manual_acks(true);
        match session {
            Session::Clean => {
                options.set_clean_start(true);
            }
            Session::Persistent => {
                options.set_clean_start(false);
                options.set_session_expiry_interval(Some(SESSION_EXPIRY_SECS));
            }
        }
        if let Some((user, password)) = &endpoint.credentials {
            options.set_credentials(user, password);
        }
        if endpoint.tls {
            options.set_transport(tls_transport()?);
        }
        let (client, eventloop) = v5::AsyncClient::new(options, 64);
        Ok((Client::V5(client), Loop::V5(Box::new(eventloop))))
    } else {
        let mut options = rumqttc::MqttOptions::new(client_id, &endpoint.host, endpoint.port);
        options.set_keep_alive(keep_alive);
        options.set_manual_acks(true);
        options.set_clean_session(session == Session::Clean);
        if let Some((user, password)) = &endpoint.credentials {
            options.set_credentials(user, password);
        }
        if endpoint.tls {
            options.set_transport(tls_transport()?);
        }
        let (client, eventloop) = rumqttc::AsyncClient::new(options, 64);
        Ok((Client::V4(client), Loop::V4(Box::new(eventloop))))
    }
}

/// TLS with rustls (aws-lc-rs, as the HTTP client) and the system's root certificates.
fn tls_transport() -> Result<rumqttc::Transport, MqttWireError> {
    let config = super::tls::client_config().map_err(|error| match error {
        super::tls::TlsSetupError::NoRootCertificates => MqttWireError::NoRootCertificates,
        super::tls::TlsSetupError::Config(reason) => MqttWireError::Tls(reason),
    })?;
    Ok(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(config),
    ))
}

fn client_error(error: impl std::fmt::Display) -> MqttWireError {
    MqttWireError::Client(error.to_string())
}

fn connection_error(error: impl std::fmt::Display) -> MqttWireError {
    MqttWireError::Connection(error.to_string())
}

impl Client {
    // Requests only enter the event loop's queue (never waiting: the loop may be the caller's
    // own task); the loop sends them.

    /// Queues a QoS 1 publish. MQTT 5 carries `properties` (content type and user properties);
    /// without them, it says the payload is a structured CloudEvent. MQTT 3.1.1 carries none.
    pub fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        properties: Option<&Properties>,
    ) -> Result<(), MqttWireError> {
        match self {
            Client::V4(client) => client
                .try_publish(topic, QoS::AtLeastOnce, false, payload)
                .map_err(client_error),
            Client::V5(client) => {
                let properties = match properties {
                    Some(given) => p5::PublishProperties {
                        content_type: given.content_type.clone(),
                        user_properties: given.user_properties.clone(),
                        ..Default::default()
                    },
                    None => p5::PublishProperties {
                        content_type: Some(super::cloudevent::STRUCTURED_CONTENT_TYPE.to_owned()),
                        ..Default::default()
                    },
                };
                client
                    .try_publish_with_properties(topic, Q5::AtLeastOnce, false, payload, properties)
                    .map_err(client_error)
            }
        }
    }

    pub fn subscribe(&self, topics: &[String]) -> Result<(), MqttWireError> {
        match self {
            Client::V4(client) => client
                .try_subscribe_many(
                    topics
                        .iter()
                        .map(|t| rumqttc::SubscribeFilter::new(t.clone(), QoS::AtLeastOnce)),
                )
                .map_err(client_error),
            Client::V5(client) => client
                .try_subscribe_many(
                    topics
                        .iter()
                        .map(|t| p5::Filter::new(t.clone(), Q5::AtLeastOnce)),
                )
                .map_err(client_error),
        }
    }

    /// The PUBACK of an inbound QoS 1 message: the broker forgets it.
    pub fn ack(&self, message: &Inbound) -> Result<(), MqttWireError> {
        match (self, message) {
            (Client::V4(client), Inbound::V4(publish)) => {
                client.try_ack(publish).map_err(client_error)
            }
            (Client::V5(client), Inbound::V5(publish)) => {
                client.try_ack(publish).map_err(client_error)
            }
            _ => Ok(()),
        }
    }

    pub fn disconnect(&self) {
        let _ = match self {
            Client::V4(client) => client.try_disconnect().map_err(client_error),
            Client::V5(client) => client.try_disconnect().map_err(client_error),
        };
    }
}

impl Loop {
    /// The next thing that happened on the connection; an error when it failed (polling
    /// again reconnects).
    pub async fn poll(&mut self) -> Result<Wire, MqttWireError> {
        match self {
            Loop::V4(eventloop) => {
                use rumqttc::{Event, Outgoing, Packet};
                match eventloop.poll().await.map_err(connection_error)? {
                    Event::Incoming(Packet::ConnAck(ack)) => Ok(Wire::Connected {
                        session_present: ack.session_present,
                    }),
                    Event::Incoming(Packet::SubAck(ack)) => Ok(Wire::Subscribed {
                        refused: ack
                            .return_codes
                            .iter()
                            .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure)),
                    }),
                    Event::Incoming(Packet::PubAck(ack)) => Ok(Wire::PubAck {
                        pkid: ack.pkid,
                        refused: None,
                    }),
                    Event::Incoming(Packet::Publish(publish)) => {
                        Ok(Wire::Message(Inbound::V4(publish)))
                    }
                    Event::Outgoing(Outgoing::Publish(pkid)) => Ok(Wire::Sent(pkid)),
                    Event::Outgoing(Outgoing::Disconnect) => Ok(Wire::Disconnected),
                    _ => Ok(Wire::Other),
                }
            }
            Loop::V5(eventloop) => {
                use v5::Event;
                use v5::mqttbytes::v5::Packet;
                match eventloop.poll().await.map_err(connection_error)? {
                    Event::Incoming(Packet::ConnAck(ack)) => Ok(Wire::Connected {
                        session_present: ack.session_present,
                    }),
                    Event::Incoming(Packet::SubAck(ack)) => Ok(Wire::Subscribed {
                        refused: ack
                            .return_codes
                            .iter()
                            .any(|c| !matches!(c, p5::SubscribeReasonCode::Success(_))),
                    }),
                    Event::Incoming(Packet::PubAck(ack)) => {
                        let refused = match ack.reason {
                            p5::PubAckReason::Success | p5::PubAckReason::NoMatchingSubscribers => {
                                None
                            }
                            other => Some(format!("{other:?}")),
                        };
                        Ok(Wire::PubAck {
                            pkid: ack.pkid,
                            refused,
                        })
                    }
                    Event::Incoming(Packet::Publish(publish)) => {
                        Ok(Wire::Message(Inbound::V5(publish)))
                    }
                    Event::Incoming(Packet::Disconnect(_)) => Ok(Wire::Disconnected),
                    Event::Outgoing(rumqttc::Outgoing::Publish(pkid)) => Ok(Wire::Sent(pkid)),
                    Event::Outgoing(rumqttc::Outgoing::Disconnect) => Ok(Wire::Disconnected),
                    _ => Ok(Wire::Other),
                }
            }
        }
    }
}
