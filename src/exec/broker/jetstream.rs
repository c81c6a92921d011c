//! What `listen` (CloudEvents) and AsyncAPI subscriptions (plain messages) share on NATS: the
//! durable JetStream pull consumer kept under a call's name, the acknowledgement the engine
//! calls once its journal recorded a message, and the flush that makes a core publish or
//! subscription reach the server.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::pull;

use crate::host::effects::events::{Ack, communication};
use crate::problem::WorkflowError;

/// How long the server has to answer (a publish acknowledgement, a flush, a JetStream request).
pub(crate) const ACK_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn nats_error(title: &str, error: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("NATS: {error}"))
}

/// The durable pull consumer `name` on `stream`, filtered on `subject`, and its messages. It
/// starts with the messages sent after its creation and keeps its place across a resume.
pub(crate) async fn durable_messages(
    stream: &jetstream::stream::Stream,
    name: &str,
    subject: &str,
    description: &str,
) -> Result<pull::Stream, WorkflowError> {
    let config = pull::Config {
        durable_name: Some(name.to_owned()),
        description: Some(description.to_owned()),
        deliver_policy: jetstream::consumer::DeliverPolicy::New,
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        // A message delivered but not journaled when the runner died comes back this soon
        // after the resume (a copy the journal has is recognised and dropped).
        ack_wait: Duration::from_secs(10),
        filter_subject: subject.to_owned(),
        // A run stopped for good leaves no consumer behind forever.
        inactive_threshold: Duration::from_secs(7 * 24 * 3600),
        ..Default::default()
    };
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(name, config)
        .await
        .map_err(|error| nats_error("Cannot create the JetStream consumer", error))?;
    consumer
        .messages()
        .await
        .map_err(|error| nats_error("Cannot read from the JetStream consumer", error))
}

/// Acknowledges `message` and waits for the server to confirm it (`what`: "event", "message").
pub(crate) fn double_ack(message: jetstream::Message, what: &'static str) -> Ack {
    Box::new(move || {
        Box::pin(async move {
            message
                .double_ack()
                .await
                .map_err(|error| nats_error(&format!("Cannot acknowledge the {what}"), error))
        })
    })
}

/// Waits until the server processed what the client sent (`title` names the failure).
pub(crate) async fn flush(client: &async_nats::Client, title: &str) -> Result<(), WorkflowError> {
    match tokio::time::timeout(ACK_TIMEOUT, client.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(nats_error(title, error)),
        Err(_) => Err(communication(
            title,
            format!("the NATS server did not answer within {ACK_TIMEOUT:?}"),
        )),
    }
}
