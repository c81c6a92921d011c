//! AsyncAPI over NATS: the channel address is the subject. A publish goes through JetStream
//! (and waits for the stream's acknowledgement) when a stream stores the subject, else it is a
//! core publish flushed to the server. A subscription is a core subscription: messages sent
//! while no one listens are not kept (a JetStream consumer is not made here).

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::{Inbound, Message, Target};
use crate::exec::events::communication;
use crate::problem::WorkflowError;

/// How long the server has to acknowledge a publish or a subscription.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

fn nats_error(title: &str, error: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("NATS: {error}"))
}

async fn connect(target: &Target) -> Result<async_nats::Client, WorkflowError> {
    let mut options = async_nats::ConnectOptions::new()
        .name("workflow asyncapi")
        .connection_timeout(Duration::from_secs(5));
    if let Some((user, password)) = &target.credentials {
        options = options.user_and_password(user.clone(), password.clone());
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
    match tokio::time::timeout(ACK_TIMEOUT, client.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(nats_error("Cannot publish the message", error)),
        Err(_) => Err(communication(
            "Cannot publish the message",
            format!("the NATS server did not answer within {ACK_TIMEOUT:?}"),
        )),
    }
}

pub(super) async fn subscribe(
    target: Target,
) -> Result<BoxStream<'static, Inbound>, WorkflowError> {
    let client = connect(&target).await?;
    let subscriber = client
        .subscribe(target.address.clone())
        .await
        .map_err(|error| nats_error("Cannot subscribe", error))?;
    // Subscribed on the server before the call goes on: a peer told "ready" is heard.
    match tokio::time::timeout(ACK_TIMEOUT, client.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(nats_error("Cannot subscribe", error)),
        Err(_) => {
            return Err(communication(
                "Cannot subscribe",
                format!("the NATS server did not answer within {ACK_TIMEOUT:?}"),
            ));
        }
    }
    // The client lives as long as the stream: dropping both closes the connection.
    Ok(subscriber
        .map(move |message| {
            let _keep = &client;
            let mut headers = Vec::new();
            let mut content_type = String::from("application/json");
            if let Some(map) = &message.headers {
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
            Ok((
                Message {
                    payload: message.payload.to_vec(),
                    content_type,
                    headers,
                },
                message.subject.to_string(),
            ))
        })
        .boxed())
}
