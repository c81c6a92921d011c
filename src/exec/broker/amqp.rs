//! `--broker amqp://user:pass@host:port/vhost` (AMQP 0-9-1, RabbitMQ): events go to a durable
//! topic exchange (`cloudevents`, or `?exchange=NAME`) with the event's `type` as routing key,
//! persistent, and an emit waits for the publisher confirm. A listen gets a durable queue of its
//! own (named after the run and the listen step, expiring a week after its last use), bound to
//! the listened types (`#` for any), so events published while the runner is down wait for the
//! resume; each message is acknowledged by hand once the journal recorded it. Messages in binary
//! mode (CloudEvents AMQP binding: attributes as `cloudEvents:`/`cloudEvents_` headers, the data
//! as body) are read as well as structured JSON ones.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};

use super::amqp_queue::{self, TIMEOUT, amqp_error};
use super::cloudevent::{self, STRUCTURED_CONTENT_TYPE, encode_structured, event_type};
use crate::host::effects::events::{
    CloudEvent, Delivery, EventBus, SubscribeRequest, Subscription,
};
use crate::problem::WorkflowError;

/// The exchange events travel through when the URL names none.
pub const DEFAULT_EXCHANGE: &str = "cloudevents";
/// How many unacknowledged messages a listen holds at once.
const PREFETCH: u16 = 64;

pub struct AmqpBus {
    /// The URL as lapin reads it (our `exchange` parameter taken out).
    uri: String,
    shown: String,
    exchange: String,
    /// The connection and the channel emits use, made on first use; replaced when it died.
    connection: Arc<tokio::sync::Mutex<Option<Connected>>>,
}

#[derive(Clone)]
struct Connected {
    connection: Arc<Connection>,
    publishing: Channel,
}

impl AmqpBus {
    pub fn new(url: &str) -> AmqpBus {
        let (uri, exchange) = split_exchange(url);
        AmqpBus {
            uri,
            shown: super::shown_url(url),
            exchange,
            connection: Arc::default(),
        }
    }

    /// The live connection, connecting (again) when there is none.
    fn connected(&self) -> BoxFuture<'static, Result<Connected, WorkflowError>> {
        let slot = Arc::clone(&self.connection);
        let uri = self.uri.clone();
        let shown = self.shown.clone();
        let exchange = self.exchange.clone();
        Box::pin(async move {
            let mut slot = slot.lock().await;
            if let Some(connected) = slot.as_ref()
                && connected.connection.status().connected()
                && connected.publishing.status().connected()
            {
                return Ok(connected.clone());
            }
            let connect = Connection::connect(&uri, ConnectionProperties::default());
            let connection = match tokio::time::timeout(TIMEOUT, connect).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(error)) => {
                    return Err(amqp_error(
                        "Cannot reach the AMQP broker",
                        format!("{shown}: {error}"),
                    ));
                }
                Err(_) => {
                    return Err(amqp_error(
                        "Cannot reach the AMQP broker",
                        format!("{shown}: no answer within {}s", TIMEOUT.as_secs()),
                    ));
                }
            };
            let publishing = connection
                .create_channel()
                .await
                .map_err(|e| amqp_error("Cannot open an AMQP channel", e))?;
            publishing
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(|e| amqp_error("Cannot enable publisher confirms", e))?;
            declare_exchange(&publishing, &exchange).await?;
            let connected = Connected {
                connection: Arc::new(connection),
                publishing,
            };
            *slot = Some(connected.clone());
            Ok(connected)
        })
    }
}

/// The URL without our `exchange` query parameter, and the exchange it names.
fn split_exchange(url: &str) -> (String, String) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), DEFAULT_EXCHANGE.to_owned());
    };
    let mut exchange = DEFAULT_EXCHANGE.to_owned();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("exchange", value)) if !value.is_empty() => {
                exchange = percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned();
            }
            _ => kept.push(pair),
        }
    }
    let uri = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (uri, exchange)
}

async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), WorkflowError> {
    channel
        .exchange_declare(
            exchange.into(),
            lapin::ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| amqp_error(&format!("Cannot declare the exchange `{exchange}`"), e))
}

impl EventBus for AmqpBus {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let connected = self.connected();
        let exchange = self.exchange.clone();
        let shown = self.shown.clone();
        Box::pin(async move {
            let Connected { publishing, .. } = connected.await?;
            let properties = BasicProperties::default()
                .with_content_type(STRUCTURED_CONTENT_TYPE.into())
                // Persistent: a durable queue keeps it across a broker restart.
                .with_delivery_mode(2);
            let send = async {
                let confirm = publishing
                    .basic_publish(
                        exchange.as_str().into(),
                        event_type(&event).into(),
                        BasicPublishOptions::default(),
                        &encode_structured(&event),
                        properties,
                    )
                    .await
                    .map_err(|e| amqp_error("Cannot publish the event", e))?;
                match confirm
                    .await
                    .map_err(|e| amqp_error("The event was not confirmed", e))?
                {
                    Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
                    Confirmation::Nack(_) => Err(amqp_error(
                        "The broker refused the event",
                        format!("{shown} answered with a negative publisher confirm"),
                    )),
                }
            };
            match tokio::time::timeout(TIMEOUT, send).await {
                Ok(result) => result,
                Err(_) => Err(amqp_error(
                    "The event was not confirmed",
                    format!(
                        "{shown}: no publisher confirm within {}s",
                        TIMEOUT.as_secs()
                    ),
                )),
            }
        })
    }

    fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        let connected = self.connected();
        let exchange = self.exchange.clone();
        Box::pin(async move {
            let Connected { connection, .. } = connected.await?;
            let channel = connection
                .create_channel()
                .await
                .map_err(|e| amqp_error("Cannot open an AMQP channel", e))?;
            declare_exchange(&channel, &exchange).await?;
            let queue = request.name.clone();
            let keys = if request.types.is_empty() {
                vec!["#".to_owned()]
            } else {
                request.types.clone()
            };
            amqp_queue::own_queue(&channel, &queue, &exchange, &keys).await?;
            let consumer = amqp_queue::consume(&channel, &queue, PREFETCH).await?;
            let deliveries = consumer.filter_map(|delivery| async move {
                let delivery = match delivery {
                    Ok(delivery) => delivery,
                    Err(error) => return Some(Err(amqp_error("Lost the AMQP consumer", error))),
                };
                let Some(event) = decode(&delivery) else {
                    // Not a CloudEvent: nothing a listen can consume; it is not redelivered.
                    let _ = delivery.acker.ack(BasicAckOptions::default()).await;
                    return None;
                };
                let ack = amqp_queue::ack(delivery.acker, "event");
                Some(Ok(Delivery::with_ack(event, ack)))
            });
            let close = Box::pin(amqp_queue::close(channel, queue, true));
            Ok(Subscription {
                deliveries: deliveries.boxed(),
                close: Some(close),
            })
        })
    }
}

/// The prefixes of CloudEvents attributes in AMQP application properties (headers).
const PREFIXES: [&str; 2] = ["cloudevents:", "cloudevents_"];

/// An AMQP message as a CloudEvent: binary mode when a header names `specversion` with the
/// binding's prefix, structured otherwise. `None` for anything else.
fn decode(delivery: &lapin::message::Delivery) -> Option<CloudEvent> {
    let attributes: Vec<(String, String)> = delivery
        .properties
        .headers()
        .as_ref()
        .map(|headers| {
            headers
                .inner()
                .iter()
                .filter_map(|(name, value)| {
                    let lower = name.as_str().to_ascii_lowercase();
                    let attribute = PREFIXES.iter().find_map(|p| lower.strip_prefix(p))?;
                    Some((attribute.to_owned(), text(value)?))
                })
                .collect()
        })
        .unwrap_or_default();
    let content_type = delivery
        .properties
        .content_type()
        .as_ref()
        .map(|t| t.as_str().to_owned());
    let binary = attributes.iter().any(|(name, _)| name == "specversion");
    let decoded = if binary {
        cloudevent::decode_binary(attributes, content_type.as_deref(), &delivery.data)
    } else {
        cloudevent::decode_structured(&delivery.data)
    };
    decoded.ok()
}

/// A header value as the attribute's text; a timestamp (the binding's `time`) as RFC 3339.
pub(crate) fn text(value: &AMQPValue) -> Option<String> {
    Some(match value {
        AMQPValue::LongString(text) => String::from_utf8_lossy(text.as_bytes()).into_owned(),
        AMQPValue::ShortString(text) => text.as_str().to_owned(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(n) => n.to_string(),
        AMQPValue::ShortShortUInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::ShortUInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        AMQPValue::Timestamp(seconds) => {
            chrono::DateTime::from_timestamp(i64::try_from(*seconds).ok()?, 0)?
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
        AMQPValue::ByteArray(bytes) => String::from_utf8_lossy(bytes.as_slice()).into_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exchange_parameter_is_ours_and_the_rest_goes_to_lapin() {
        assert_eq!(
            split_exchange("amqp://g:g@127.0.0.1:5672/%2f"),
            ("amqp://g:g@127.0.0.1:5672/%2f".into(), "cloudevents".into())
        );
        assert_eq!(
            split_exchange("amqp://h/v?exchange=audit&heartbeat=10"),
            ("amqp://h/v?heartbeat=10".into(), "audit".into())
        );
        assert_eq!(
            split_exchange("amqp://h?exchange=a%2Fb"),
            ("amqp://h".into(), "a/b".into())
        );
    }

    #[test]
    fn header_values_become_attribute_text() {
        assert_eq!(
            text(&AMQPValue::LongString("order.paid".into())),
            Some("order.paid".into())
        );
        assert_eq!(
            text(&AMQPValue::Timestamp(0)),
            Some("1970-01-01T00:00:00Z".into())
        );
        assert_eq!(text(&AMQPValue::Void), None);
    }
}
