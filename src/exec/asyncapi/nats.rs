//! AsyncAPI over NATS: the channel address is the subject. A publish goes through JetStream
//! (and waits for the stream's acknowledgement) when a stream stores the subject, else it is a
//! core publish flushed to the server. A subscription is a durable JetStream consumer when a
//! stream stores the subject (no stream is created here: the document describes what exists),
//! else a core subscription, whose messages sent while no one listens are not kept.

use std::time::Duration;

use futures::StreamExt;

use super::{Consumption, Message, Received, Target};
use crate::exec::broker::jetstream::{
    ACK_TIMEOUT, double_ack, durable_messages, flush, nats_error,
};
use crate::host::effects::events::communication;
use crate::problem::WorkflowError;

async fn connect(target: &Target) -> Result<async_nats::Client, WorkflowError> {
    let mut options = async_nats::ConnectOptions::new()
        .name("workflow asyncapi")
        .connection_timeout(Duration::from_secs(5));
    if let Some((user, password)) = &target.credentials {
        options = options.user_and_password(user.clone(), password.clone());
    } else if let Some(token) = &target.token {
        options = options.token(token.clone());
    }
    options.connect(target.url.as_str()).await.map_err(|error| {
        communication(
            "Cannot reach the NATS server",
            format!("{}: {error}", crate::exec::broker::shown_url(&target.url)),
        )
    })
}

fn headers_of(message: &Message) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("content-type", message.content_type.as_str());
    for (name, value) in &message.headers {
        headers.insert(name.as_str(), value.as_str());
    }
    headers
}

pub(super) async fn publish(target: Target, message: Message) -> Result<(), WorkflowError> {
    let client = connect(&target).await?;
    let subject = target.address.clone();
    let headers = headers_of(&message);
    let payload = bytes::Bytes::from(message.payload);
    if client.server_info().jetstream {
        let mut js = async_nats::jetstream::new(client.clone());
        js.set_timeout(ACK_TIMEOUT);
        if js.stream_by_subject(subject.clone()).await.is_ok() {
            let ack = js
                .publish_with_headers(subject, headers, payload)
                .await
                .map_err(|error| nats_error("Cannot publish the message", error))?;
            ack.await
                .map_err(|error| nats_error("The message was not acknowledged", error))?;
            return Ok(());
        }
    }
    client
        .publish_with_headers(subject, headers, payload)
        .await
        .map_err(|error| nats_error("Cannot publish the message", error))?;
    flush(&client, "Cannot publish the message").await
}

/// A durable JetStream consumer when a stream stores the subject (messages sent while the
/// runner is down wait for it, each acknowledged once journaled), else a core subscription.
pub(super) async fn subscribe(target: Target, name: String) -> Result<Consumption, WorkflowError> {
    let client = connect(&target).await?;
    if client.server_info().jetstream {
        let mut js = async_nats::jetstream::new(client.clone());
        js.set_timeout(ACK_TIMEOUT);
        if let Ok(stream_name) = js.stream_by_subject(target.address.clone()).await {
            return durable(&js, &stream_name, &target.address, name).await;
        }
    }
    let subscriber = client
        .subscribe(target.address.clone())
        .await
        .map_err(|error| nats_error("Cannot subscribe", error))?;
    // Subscribed on the server before the call goes on: a peer told "ready" is heard.
    flush(&client, "Cannot subscribe").await?;
    // The client lives as long as the stream: dropping both closes the connection.
    Ok(Consumption::new(
        subscriber
            .map(move |message| {
                let _keep = &client;
                Ok(Received::new(
                    message_of(message.headers.as_ref(), &message.payload),
                    message.subject.to_string(),
                ))
            })
            .boxed(),
    ))
}

/// A durable pull consumer named after the call on the stream storing the subject: it starts
/// with the messages sent after its creation and keeps its place across a resume.
async fn durable(
    js: &async_nats::jetstream::Context,
    stream_name: &str,
    subject: &str,
    name: String,
) -> Result<Consumption, WorkflowError> {
    let stream = js
        .get_stream(stream_name)
        .await
        .map_err(|error| nats_error("Cannot open the JetStream stream", error))?;
    let messages =
        durable_messages(&stream, &name, subject, "a workflow AsyncAPI subscription").await?;
    let stream_name = stream_name.to_owned();
    let messages = messages.map(move |message| {
        let message = message.map_err(|error| nats_error("Lost the JetStream consumer", error))?;
        let key = message
            .info()
            .ok()
            .map(|info| format!("{stream_name}:{}", info.stream_sequence));
        let mut received = Received::new(
            message_of(message.headers.as_ref(), &message.payload),
            message.subject.to_string(),
        );
        received.key = key;
        Ok(received.with_ack(double_ack(message, "message")))
    });
    let close = Box::pin(async move {
        let _ = stream.delete_consumer(&name).await;
    });
    Ok(Consumption {
        messages: messages.boxed(),
        close: Some(close),
    })
}

/// A NATS message as a plain message: its `content-type` header apart, the others as headers.
fn message_of(map: Option<&async_nats::HeaderMap>, payload: &bytes::Bytes) -> Message {
    let mut headers = Vec::new();
    let mut content_type = String::from("application/json");
    if let Some(map) = map {
        for (name, values) in map.iter() {
            let name = name.to_string();
            for value in values {
                if name.eq_ignore_ascii_case("content-type") {
                    content_type = value.as_str().to_owned();
                } else {
                    headers.push((name.clone(), value.as_str().to_owned()));
                }
            }
        }
    }
    Message {
        payload: payload.to_vec(),
        content_type,
        headers,
    }
}
