//! What `listen` (CloudEvents) and AsyncAPI subscriptions (plain messages) share on AMQP 0-9-1:
//! a call's own durable queue (expiring a week after its last use) bound to an exchange, the
//! consumer with its prefetch, the acknowledgement the engine calls once its journal recorded a
//! message, and the queue's removal when the call completed.

use std::time::Duration;

use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Consumer};

use crate::host::effects::events::{Ack, communication};
use crate::problem::WorkflowError;

/// How long connecting and each broker answer may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// A call's own queue disappears after a week without a consumer (a run stopped for good).
const QUEUE_EXPIRES_MS: i64 = 7 * 24 * 3600 * 1000;

pub(crate) fn amqp_error(title: &str, detail: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("AMQP: {detail}"))
}

/// Declares `queue` durable (with `arguments`).
pub(crate) async fn declare(
    channel: &Channel,
    queue: &str,
    arguments: FieldTable,
) -> Result<(), WorkflowError> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .map(|_| ())
        .map_err(|e| amqp_error("Cannot declare the queue", format!("`{queue}`: {e}")))
}

/// The call's own durable queue `name`, expiring a week after its last use, bound to
/// `exchange` with each routing key of `keys`.
pub(crate) async fn own_queue(
    channel: &Channel,
    name: &str,
    exchange: &str,
    keys: &[String],
) -> Result<(), WorkflowError> {
    let mut arguments = FieldTable::default();
    arguments.insert("x-expires".into(), AMQPValue::LongLongInt(QUEUE_EXPIRES_MS));
    declare(channel, name, arguments).await?;
    for key in keys {
        channel
            .queue_bind(
                name.into(),
                exchange.into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                amqp_error(
                    "Cannot bind the queue",
                    format!("`{name}` to the exchange `{exchange}`: {e}"),
                )
            })?;
    }
    Ok(())
}

/// Consumes `queue` by hand-acknowledged deliveries, `prefetch` unacknowledged at a time.
pub(crate) async fn consume(
    channel: &Channel,
    queue: &str,
    prefetch: u16,
) -> Result<Consumer, WorkflowError> {
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .map_err(|e| amqp_error("Cannot set the prefetch", e))?;
    channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| amqp_error("Cannot consume the queue", format!("`{queue}`: {e}")))
}

/// Acknowledges the delivery of `acker` (`what`: "event", "message").
pub(crate) fn ack(acker: lapin::Acker, what: &'static str) -> Ack {
    Box::new(move || {
        Box::pin(async move {
            acker
                .ack(BasicAckOptions::default())
                .await
                .map(|_| ())
                .map_err(|e| amqp_error(&format!("Cannot acknowledge the {what}"), e))
        })
    })
}

/// Deletes the call's own queue (when `own`) and closes the channel.
pub(crate) async fn close(channel: Channel, queue: String, own: bool) {
    if own {
        let _ = channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = channel.close(200, "OK".into()).await;
}
