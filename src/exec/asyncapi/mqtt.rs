//! AsyncAPI over MQTT (3.1.1 or 5, `mqtt5` choosing 5): the channel address is the topic. A
//! publish is QoS 1 on a clean connection of its own and completes on the broker's PUBACK. A
//! subscription is QoS 1 on a clean session: messages sent before it are not kept. MQTT 3.1.1
//! carries no headers; the broker clients' wire layer sends none on MQTT 5 either.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use super::{Inbound, Message, Target};
use crate::exec::broker::mqtt::endpoint;
use crate::exec::broker::mqtt_wire::{self, Client, Endpoint, Inbound as Wired, Session, Wire};
use crate::exec::events::communication;
use crate::problem::WorkflowError;

const ACK_TIMEOUT: Duration = Duration::from_secs(10);

fn mqtt_error(title: &str, detail: impl std::fmt::Display) -> WorkflowError {
    communication(title, format!("MQTT: {detail}"))
}

fn endpoint_of(target: &Target) -> Result<Endpoint, WorkflowError> {
    let url = target.url.replacen("secure-mqtt://", "mqtts://", 1);
    let mut found = endpoint(&url).map_err(|reason| {
        mqtt_error(
            "Invalid MQTT server",
            format!("{}: {reason}", crate::exec::broker::shown_url(&target.url)),
        )
    })?;
    if target.protocol == "mqtt5" {
        found.v5 = true;
    }
    if let Some(credentials) = &target.credentials {
        found.credentials = Some(credentials.clone());
    }
    Ok(found)
}

fn client_id() -> String {
    format!("wfa{}", &uuid::Uuid::new_v4().simple().to_string()[..20])
}

pub(super) async fn publish(target: Target, message: Message) -> Result<(), WorkflowError> {
    let endpoint = endpoint_of(&target)?;
    let shown = crate::exec::broker::shown_url(&target.url);
    let (client, mut eventloop) = mqtt_wire::client(&endpoint, &client_id(), Session::Clean)
        .map_err(|e| mqtt_error("Cannot reach the MQTT broker", e))?;
    client
        .publish(&target.address, message.payload)
        .map_err(|e| mqtt_error("Cannot publish the message", e))?;
    let acknowledged = async {
        let mut sent = None;
        loop {
            match eventloop.poll().await {
                Ok(Wire::Sent(pkid)) if sent.is_none() => sent = Some(pkid),
                Ok(Wire::PubAck { pkid, refused }) if Some(pkid) == sent => {
                    return match refused {
                        None => Ok(()),
                        Some(reason) => Err(format!("the broker refused it ({reason})")),
                    };
                }
                Ok(_) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
    };
    let result = match tokio::time::timeout(ACK_TIMEOUT, acknowledged).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no acknowledgement within {}s",
            ACK_TIMEOUT.as_secs()
        )),
    };
    client.disconnect();
    // Lets the DISCONNECT leave; the connection closes with the loop either way.
    let _ = tokio::time::timeout(Duration::from_millis(200), eventloop.poll()).await;
    result.map_err(|error| mqtt_error("Cannot publish the message", format!("{shown}: {error}")))
}

pub(super) async fn subscribe(
    target: Target,
) -> Result<BoxStream<'static, Inbound>, WorkflowError> {
    let endpoint = endpoint_of(&target)?;
    let shown = crate::exec::broker::shown_url(&target.url);
    let (client, mut eventloop) = mqtt_wire::client(&endpoint, &client_id(), Session::Clean)
        .map_err(|e| mqtt_error("Cannot reach the MQTT broker", e))?;
    client
        .subscribe(std::slice::from_ref(&target.address))
        .map_err(|e| mqtt_error("Cannot subscribe", e))?;
    let (sender, receiver) = mpsc::unbounded_channel();
    let subscribed = async {
        loop {
            match eventloop.poll().await {
                Ok(Wire::Subscribed { refused: false }) => return Ok(()),
                Ok(Wire::Subscribed { refused: true }) => {
                    return Err(format!("refused the subscription to {}", target.address));
                }
                Ok(Wire::Message(message)) => forward(&client, &sender, message),
                Ok(_) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
    };
    match tokio::time::timeout(ACK_TIMEOUT, subscribed).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            return Err(mqtt_error("Cannot subscribe", format!("{shown}: {error}")));
        }
        Err(_) => {
            return Err(mqtt_error(
                "Cannot subscribe",
                format!("{shown} did not answer within {}s", ACK_TIMEOUT.as_secs()),
            ));
        }
    }
    let reader = client.clone();
    let task = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Wire::Message(message)) => forward(&reader, &sender, message),
                Ok(Wire::Disconnected) => return,
                Ok(_) => {}
                Err(error) => {
                    let _ = sender.send(Err(mqtt_error("Lost the MQTT broker", error)));
                    return;
                }
            }
        }
    });
    // Dropping the stream disconnects and stops the reader.
    let guard = Guard { client, task };
    Ok(
        futures::stream::unfold((receiver, guard), |(mut receiver, guard)| async move {
            receiver.recv().await.map(|item| (item, (receiver, guard)))
        })
        .boxed(),
    )
}

struct Guard {
    client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.client.disconnect();
        self.task.abort();
    }
}

/// Acknowledges the QoS 1 message at once (the session is clean: nothing is redelivered) and
/// hands it over with the topic it came on.
fn forward(client: &Client, sender: &mpsc::UnboundedSender<Inbound>, message: Wired) {
    let _ = client.ack(&message);
    let topic = match &message {
        Wired::V4(publish) => publish.topic.clone(),
        Wired::V5(publish) => String::from_utf8_lossy(&publish.topic).into_owned(),
    };
    let headers = message
        .user_properties()
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let content_type = message
        .content_type()
        .unwrap_or("application/json")
        .to_owned();
    let _ = sender.send(Ok((
        Message {
            payload: message.payload().to_vec(),
            content_type,
            headers,
        },
        topic,
    )));
}
