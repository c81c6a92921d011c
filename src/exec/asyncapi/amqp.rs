//! AsyncAPI over AMQP 0-9-1 (RabbitMQ). A publish is a persistent message to the channel's
//! binding exchange with the address as routing key (or to the default exchange, the address
//! naming the queue), completed on the publisher confirm. A subscription consumes a durable
//! queue: with an exchange, a queue of its own named after the call and bound to the exchange
//! with the address (deleted once the call completed, expiring a week after its last use
//! otherwise); without one, the queue the address names (declared durable when missing, never
//! deleted). Each message is acknowledged only once the journal recorded it; one is
//! unacknowledged at a time, so a resumed run meets at most one redelivered copy.

use futures::StreamExt;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};

use super::{Consumption, Message, Received, Target};
use crate::exec::broker::amqp::text;
use crate::exec::broker::amqp_queue::{self, TIMEOUT, amqp_error, declare};
use crate::problem::WorkflowError;

/// The server URL with the call's credentials (RabbitMQ's guest account when none).
fn uri(target: &Target) -> String {
    let Some((user, password)) = &target.user_password() else {
        return target.url.clone();
    };
    let encode = |text: &str| {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    match target.url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{}:{}@{rest}", encode(user), encode(password))
        }
        None => target.url.clone(),
    }
}

/// A connection to the broker and a channel on it.
async fn connect(uri: &str, shown: &str) -> Result<(Connection, lapin::Channel), WorkflowError> {
    let connection = Connection::connect(uri, ConnectionProperties::default())
        .await
        .map_err(|e| amqp_error("Cannot reach the AMQP broker", format!("{shown}: {e}")))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| amqp_error("Cannot open an AMQP channel", e))?;
    Ok((connection, channel))
}

pub(super) async fn publish(target: Target, message: Message) -> Result<(), WorkflowError> {
    let shown = crate::exec::broker::shown_url(&target.url);
    let uri = uri(&target);
    let send = async {
        let (connection, channel) = connect(&uri, &shown).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| amqp_error("Cannot enable publisher confirms", e))?;
        let mut headers = FieldTable::default();
        for (name, value) in &message.headers {
            headers.insert(
                name.as_str().into(),
                AMQPValue::LongString(value.as_str().into()),
            );
        }
        let properties = BasicProperties::default()
            .with_content_type(message.content_type.as_str().into())
            .with_headers(headers)
            // An id per message: a subscriber (this runner's included) tells a redelivered
            // copy apart by it.
            .with_message_id(uuid::Uuid::new_v4().to_string().into())
            .with_delivery_mode(2);
        let confirm = channel
            .basic_publish(
                target.exchange.as_deref().unwrap_or("").into(),
                target.address.as_str().into(),
                BasicPublishOptions::default(),
                &message.payload,
                properties,
            )
            .await
            .map_err(|e| amqp_error("Cannot publish the message", e))?;
        let confirmed = confirm
            .await
            .map_err(|e| amqp_error("The message was not confirmed", e))?;
        let _ = connection.close(200, "done".into()).await;
        match confirmed {
            Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
            Confirmation::Nack(_) => Err(amqp_error(
                "The broker refused the message",
                format!("{shown} answered with a negative publisher confirm"),
            )),
        }
    };
    match tokio::time::timeout(TIMEOUT, send).await {
        Ok(result) => result,
        Err(_) => Err(amqp_error(
            "The message was not confirmed",
            format!("{shown}: no answer within {}s", TIMEOUT.as_secs()),
        )),
    }
}

pub(super) async fn subscribe(target: Target, name: String) -> Result<Consumption, WorkflowError> {
    let shown = crate::exec::broker::shown_url(&target.url);
    let uri = uri(&target);
    let open = async {
        let (connection, channel) = connect(&uri, &shown).await?;
        let (queue, own) = match &target.exchange {
            Some(exchange) => {
                let keys = [target.address.clone()];
                amqp_queue::own_queue(&channel, &name, exchange, &keys).await?;
                (name.clone(), true)
            }
            None => {
                // The queue may exist with arguments of its own: looked at before declared.
                let probe = connection
                    .create_channel()
                    .await
                    .map_err(|e| amqp_error("Cannot open an AMQP channel", e))?;
                let passive = QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                };
                let exists = probe
                    .queue_declare(
                        target.address.as_str().into(),
                        passive,
                        FieldTable::default(),
                    )
                    .await
                    .is_ok();
                let _ = probe.close(200, "OK".into()).await;
                if !exists {
                    declare(&channel, &target.address, FieldTable::default()).await?;
                }
                (target.address.clone(), false)
            }
        };
        let consumer = amqp_queue::consume(&channel, &queue, 1).await?;
        Ok::<_, WorkflowError>((connection, channel, consumer, queue, own))
    };
    let (connection, channel, consumer, queue, own) =
        match tokio::time::timeout(TIMEOUT, open).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(amqp_error(
                    "Cannot subscribe",
                    format!("{shown}: no answer within {}s", TIMEOUT.as_secs()),
                ));
            }
        };
    let connection = std::sync::Arc::new(connection);
    let kept = std::sync::Arc::clone(&connection);
    let messages = consumer.map(move |delivery| {
        // The connection lives as long as the stream.
        let _keep = &kept;
        let delivery = delivery.map_err(|error| amqp_error("Lost the AMQP consumer", error))?;
        let properties = &delivery.properties;
        let headers = properties
            .headers()
            .as_ref()
            .map(|table| {
                table
                    .inner()
                    .iter()
                    .filter_map(|(name, value)| Some((name.to_string(), text(value)?)))
                    .collect()
            })
            .unwrap_or_default();
        let content_type = properties
            .content_type()
            .as_ref()
            .map_or_else(|| "application/json".to_owned(), |c| c.to_string());
        let mut received = Received::new(
            Message {
                payload: delivery.data.clone(),
                content_type,
                headers,
            },
            delivery.routing_key.to_string(),
        );
        received.key = properties
            .message_id()
            .as_ref()
            .map(|id| format!("message-id:{id}"));
        received.redelivered = delivery.redelivered;
        received.correlation_id = properties
            .correlation_id()
            .as_ref()
            .map(|id| id.to_string());
        Ok(received.with_ack(amqp_queue::ack(delivery.acker, "message")))
    });
    let close = Box::pin(async move {
        amqp_queue::close(channel, queue, own).await;
        let _ = connection.close(200, "done".into()).await;
    });
    Ok(Consumption {
        messages: messages.boxed(),
        close: Some(close),
    })
}
