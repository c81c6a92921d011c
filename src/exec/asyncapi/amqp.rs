//! AsyncAPI over AMQP 0-9-1 (RabbitMQ), publishing only: a persistent message to the channel's
//! binding exchange with the address as routing key (or to the default exchange, the address
//! naming the queue), completed on the publisher confirm.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};

use super::{Message, Target};
use crate::exec::events::communication;
use crate::problem::WorkflowError;

/// How long connecting and the confirm may take.
const TIMEOUT: Duration = Duration::from_secs(10);

fn amqp_error(title: &str, detail: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("AMQP: {detail}"))
}

/// The server URL with the call's credentials (RabbitMQ's guest account when none).
fn uri(target: &Target) -> String {
    let Some((user, password)) = &target.credentials else {
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

pub(super) async fn publish(target: Target, message: Message) -> Result<(), WorkflowError> {
    let shown = crate::exec::broker::shown_url(&target.url);
    let uri = uri(&target);
    let send = async {
        let connection = Connection::connect(&uri, ConnectionProperties::default())
            .await
            .map_err(|e| amqp_error("Cannot reach the AMQP broker", format!("{shown}: {e}")))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| amqp_error("Cannot open an AMQP channel", e))?;
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
