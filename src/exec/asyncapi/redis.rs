//! AsyncAPI over Redis. A channel whose binding says `redis: {type: stream}` is a Redis stream:
//! a publish is an `XADD` (the entry's fields: `payload`, `contentType`, and one per header),
//! acknowledged by the server's answer; a subscription reads through a consumer group named
//! after the call (created at the stream's end, kept across a resume, destroyed once the call
//! completed), and each entry is `XACK`ed only once the journal recorded it, its entry id
//! telling a redelivered copy apart. Any other channel is pub/sub: `PUBLISH` (the payload
//! alone: pub/sub has no headers) and `SUBSCRIBE` (`PSUBSCRIBE` for a wildcard address), where
//! messages sent while no one listens are not kept.

use std::time::Duration;

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use redis::{AsyncConnectionConfig, Client, Value};
use tokio::sync::mpsc;

use crate::host::effects::asyncapi::{Consumption, Inbound, Message, Received, Target};
use crate::host::effects::events::{Ack, communication};
use crate::problem::WorkflowError;

/// How long the server has to answer a command (a blocking read waits [`BLOCK`] on top).
const TIMEOUT: Duration = Duration::from_secs(10);

/// How long one blocking `XREADGROUP` waits before it is asked again.
const BLOCK: Duration = Duration::from_secs(2);

/// The one consumer of a subscription's group.
const CONSUMER: &str = "workflow";

/// The stream entry field holding the payload; `contentType` holds its type.
const PAYLOAD_FIELD: &str = "payload";
const CONTENT_TYPE_FIELD: &str = "contentType";

fn redis_error(title: &str, detail: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("Redis: {detail}"))
}

/// The server URL with the call's credentials.
fn client(target: &Target) -> Result<Client, WorkflowError> {
    let shown = crate::exec::broker::shown_url(&target.url);
    let url = match (&target.user_password(), target.url.split_once("://")) {
        (Some((user, password)), Some((scheme, rest))) => {
            let encode = |text: &str| {
                percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{}:{}@{rest}", encode(user), encode(password))
        }
        _ => target.url.clone(),
    };
    Client::open(url.as_str())
        .map_err(|e| redis_error("Invalid Redis server", format!("{shown}: {e}")))
}

async fn connect(target: &Target) -> Result<MultiplexedConnection, WorkflowError> {
    let shown = crate::exec::broker::shown_url(&target.url);
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT + BLOCK));
    client(target)?
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| redis_error("Cannot reach the Redis server", format!("{shown}: {e}")))
}

pub(super) async fn publish(target: Target, message: Message) -> Result<(), WorkflowError> {
    let mut connection = connect(&target).await?;
    let command = if target.stream {
        let mut command = redis::cmd("XADD");
        command
            .arg(&target.address)
            .arg("*")
            .arg(PAYLOAD_FIELD)
            .arg(&message.payload)
            .arg(CONTENT_TYPE_FIELD)
            .arg(&message.content_type);
        for (name, value) in &message.headers {
            command.arg(name).arg(value);
        }
        command
    } else {
        let mut command = redis::cmd("PUBLISH");
        command.arg(&target.address).arg(&message.payload);
        command
    };
    command
        .query_async::<Value>(&mut connection)
        .await
        .map(|_| ())
        .map_err(|e| redis_error("Cannot publish the message", e))
}

pub(super) async fn subscribe(target: Target, name: String) -> Result<Consumption, WorkflowError> {
    if target.stream {
        return consume_stream(target, name).await;
    }
    let shown = crate::exec::broker::shown_url(&target.url);
    let mut pubsub = client(&target)?
        .get_async_pubsub()
        .await
        .map_err(|e| redis_error("Cannot reach the Redis server", format!("{shown}: {e}")))?;
    let subscribed = if target.address.contains(['*', '?', '[']) {
        pubsub.psubscribe(&target.address).await
    } else {
        pubsub.subscribe(&target.address).await
    };
    subscribed.map_err(|e| redis_error("Cannot subscribe", e))?;
    let messages = pubsub.into_on_message().map(|message| {
        Ok(Received::new(
            Message {
                payload: message.get_payload_bytes().to_vec(),
                content_type: String::from("application/json"),
                headers: Vec::new(),
            },
            message.get_channel_name().to_owned(),
        ))
    });
    Ok(Consumption::new(messages.boxed()))
}

/// Reads the stream through the call's consumer group: first what the group delivered before
/// and nobody acknowledged (the runner died), then new entries.
async fn consume_stream(target: Target, group: String) -> Result<Consumption, WorkflowError> {
    let mut control = connect(&target).await?;
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&target.address)
        .arg(&group)
        .arg("$")
        .arg("MKSTREAM")
        .query_async::<Value>(&mut control)
        .await;
    if let Err(error) = created
        && error.code() != Some("BUSYGROUP")
    {
        return Err(redis_error("Cannot create the consumer group", error));
    }
    // A blocking read holds its connection: the acknowledgements go over `control`.
    let reader = connect(&target).await?;
    let (sender, receiver) = mpsc::unbounded_channel();
    let key = target.address.clone();
    let task = tokio::spawn(read(
        reader,
        control.clone(),
        key.clone(),
        group.clone(),
        sender,
    ));
    let guard = Abort(task);
    let messages = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let close = Box::pin(async move {
        drop(guard);
        let _ = redis::cmd("XGROUP")
            .arg("DESTROY")
            .arg(&key)
            .arg(&group)
            .query_async::<Value>(&mut control)
            .await;
    });
    Ok(Consumption {
        messages: messages.boxed(),
        close: Some(close),
    })
}

struct Abort(tokio::task::JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn read(
    mut reader: MultiplexedConnection,
    acker: MultiplexedConnection,
    key: String,
    group: String,
    sender: mpsc::UnboundedSender<Inbound>,
) {
    // Entries delivered before (pending) are read from id 0 on until none is left.
    let mut pending = Some(String::from("0"));
    loop {
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(&group)
            .arg(CONSUMER)
            .arg("COUNT")
            .arg(16);
        if pending.is_none() {
            command.arg("BLOCK").arg(BLOCK.as_millis() as u64);
        }
        command
            .arg("STREAMS")
            .arg(&key)
            .arg(pending.as_deref().unwrap_or(">"));
        let reply = match command
            .query_async::<Option<StreamReadReply>>(&mut reader)
            .await
        {
            Ok(reply) => reply.unwrap_or_default(),
            Err(error) => {
                let _ = sender.send(Err(redis_error("Lost the Redis stream", error)));
                return;
            }
        };
        let entries: Vec<_> = reply.keys.into_iter().flat_map(|k| k.ids).collect();
        if pending.is_some() && entries.is_empty() {
            pending = None;
            continue;
        }
        for entry in entries {
            let id = entry.id.clone();
            if let Some(after) = pending.as_mut() {
                after.clone_from(&id);
            }
            let mut received = Received::new(message_of(entry.map), key.clone());
            received.key = Some(format!("{key}:{id}"));
            received.redelivered = pending.is_some();
            let mut connection = acker.clone();
            let (stream, group) = (key.clone(), group.clone());
            let ack: Ack = Box::new(move || {
                Box::pin(async move {
                    redis::cmd("XACK")
                        .arg(&stream)
                        .arg(&group)
                        .arg(&id)
                        .query_async::<Value>(&mut connection)
                        .await
                        .map(|_| ())
                        .map_err(|e| redis_error("Cannot acknowledge the message", e))
                })
            });
            if sender.send(Ok(received.with_ack(ack))).is_err() {
                return;
            }
        }
    }
}

/// A stream entry as a message: `payload` and `contentType`, the other fields as headers.
fn message_of(fields: std::collections::HashMap<String, Value>) -> Message {
    let mut payload = Vec::new();
    let mut content_type = String::from("application/json");
    let mut headers = Vec::new();
    for (name, value) in fields {
        let bytes = match value {
            Value::BulkString(bytes) => bytes,
            Value::SimpleString(text) => text.into_bytes(),
            Value::Int(n) => n.to_string().into_bytes(),
            _ => continue,
        };
        match name.as_str() {
            PAYLOAD_FIELD => payload = bytes,
            CONTENT_TYPE_FIELD => content_type = String::from_utf8_lossy(&bytes).into_owned(),
            _ => headers.push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
    headers.sort();
    Message {
        payload,
        content_type,
        headers,
    }
}
