//! AsyncAPI over MQTT (3.1.1 or 5, `mqtt5` choosing 5): the channel address is the topic. A
//! publish is QoS 1 on a clean connection of its own and completes on the broker's PUBACK; on
//! MQTT 5 the headers are user properties and the content type is the message's. A
//! subscription is QoS 1 on a persistent session named after the call: messages sent while the
//! runner is down wait in the broker, and each is acknowledged (PUBACK) only once the journal
//! recorded it. MQTT 3.1.1 carries no headers.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::exec::broker::mqtt::{client_id as session_id, endpoint, forget_session};
use crate::exec::broker::mqtt_wire::{
    self, Client, Endpoint, Inbound as Wired, Properties, Session, Wire,
};
use crate::host::effects::asyncapi::{Consumption, Inbound, Message, Received, Target};
use crate::host::effects::events::{Ack, communication};
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
    if let Some(credentials) = target.user_password() {
        found.credentials = Some(credentials);
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
    let properties = Properties {
        content_type: Some(message.content_type.clone()),
        user_properties: message.headers.clone(),
    };
    client
        .publish(&target.address, message.payload, Some(&properties))
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

pub(super) async fn subscribe(target: Target, name: String) -> Result<Consumption, WorkflowError> {
    let endpoint = endpoint_of(&target)?;
    let shown = crate::exec::broker::shown_url(&target.url);
    let id = session_id(&name);
    let (client, mut eventloop) = mqtt_wire::client(&endpoint, &id, Session::Persistent)
        .map_err(|e| mqtt_error("Cannot reach the MQTT broker", e))?;
    client
        .subscribe(std::slice::from_ref(&target.address))
        .map_err(|e| mqtt_error("Cannot subscribe", e))?;
    let (sender, receiver) = mpsc::unbounded_channel();
    // Until the SUBACK: messages the session kept while the runner was down come first.
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
    // Dropping the stream disconnects and stops the reader; the session stays for a resume.
    let guard = Guard {
        client,
        task: Some(task),
    };
    let messages = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let close = Box::pin(async move {
        drop(guard);
        // The call completed: the broker keeps nothing more for it.
        forget_session(&endpoint, &id).await;
    });
    Ok(Consumption {
        messages: messages.boxed(),
        close: Some(close),
    })
}

struct Guard {
    client: Client,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.client.disconnect();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Hands the message over with its PUBACK, sent once the journal recorded it.
fn forward(client: &Client, sender: &mpsc::UnboundedSender<Inbound>, message: Wired) {
    let headers = message.user_properties().to_vec();
    let content_type = message
        .content_type()
        .unwrap_or("application/json")
        .to_owned();
    let mut received = Received::new(
        Message {
            payload: message.payload().to_vec(),
            content_type,
            headers,
        },
        message.topic(),
    );
    received.redelivered = message.redelivered();
    received.correlation_id = message.correlation_data();
    let client = client.clone();
    let ack: Ack = Box::new(move || {
        Box::pin(async move {
            client
                .ack(&message)
                .map_err(|e| mqtt_error("Cannot acknowledge the message", e))
        })
    });
    let _ = sender.send(Ok(received.with_ack(ack)));
}
