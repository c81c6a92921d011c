//! AsyncAPI over WebSocket (`ws`, `wss`): the server URL joined with the channel address is the
//! endpoint; the channel's `bindings.ws` query and headers go on the upgrade request, with the
//! call's authentication (`Authorization: Basic`/`Bearer`).
//!
//! A publish opens a connection, writes one frame (text for a textual content type, else
//! binary) and closes: WebSocket has no acknowledgement, so the task completes once the frame is
//! written. A subscription reads every data frame as a message. Nothing is durable and nothing
//! reconnects: a connection the server closes or drops is a `communication` error the workflow
//! can catch (a silent reconnect would lose what was sent meanwhile without saying so).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Method};
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::{Consumption, Message, Received, Target};
use crate::host::effects::events::communication;
use crate::problem::{ErrorKind, WorkflowError};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How long the TCP connection, TLS and the upgrade may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a publish waits for the server's reply to its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a payload of this content type travels as a text frame: JSON, `text/*` and the
/// other textual formats; anything else is bytes.
fn textual(content_type: &str) -> bool {
    let lower = content_type.trim().to_ascii_lowercase();
    crate::exec::broker::cloudevent::is_json(content_type)
        || lower.starts_with("text/")
        || ["xml", "yaml", "javascript", "x-www-form-urlencoded"]
            .iter()
            .any(|kind| lower.contains(kind))
}

fn configuration(detail: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Invalid WebSocket channel").with_detail(detail)
}

/// Connects and upgrades; `extra` headers (a publish's message headers) go on the upgrade too.
async fn connect(target: &Target, extra: &[(String, String)]) -> Result<Socket, WorkflowError> {
    let url = target.endpoint();
    let shown = crate::exec::broker::shown_url(&url);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| configuration(format!("`{shown}` is not a WebSocket URL: {error}")))?;
    // The upgrade is a GET (RFC 6455); the binding may say so, nothing else is possible.
    if let Some(method) = &target.web.method
        && method.parse::<Method>().ok() != Some(Method::GET)
    {
        return Err(configuration(format!(
            "`bindings.ws.method` is `{method}`: a WebSocket upgrade is a GET request"
        )));
    }
    let mut headers: Vec<(String, String)> = target.web.headers.clone();
    headers.extend(extra.iter().cloned());
    if let Some(value) = target.authorization() {
        headers.push(("authorization".to_owned(), value));
    }
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| configuration(format!("`{name}` is not a valid header name")))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| configuration(format!("the value of header `{name}` is not valid")))?;
        request.headers_mut().append(name, value);
    }
    let connector = match target.protocol.as_str() {
        "wss" => Some(Connector::Rustls(
            crate::exec::broker::tls::client_config()
                .map_err(|error| communication("Cannot set up TLS", error.to_string()))?,
        )),
        _ => Some(Connector::Plain),
    };
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => Err(communication(
            "The WebSocket upgrade was refused",
            format!("{shown} answered {}", response.status()),
        )
        .with_status(response.status().as_u16())),
        Ok(Err(error)) => Err(communication(
            "Cannot reach the WebSocket server",
            format!("{shown}: {error}"),
        )),
        Err(_) => Err(communication(
            "Cannot reach the WebSocket server",
            format!("{shown} did not complete the upgrade within {CONNECT_TIMEOUT:?}"),
        )),
    }
}

pub(super) async fn publish(target: Target, message: Message) -> Result<(), WorkflowError> {
    let mut socket = connect(&target, &message.headers).await?;
    let frame = if textual(&message.content_type) {
        Frame::text(String::from_utf8_lossy(&message.payload).into_owned())
    } else {
        Frame::binary(message.payload)
    };
    // `send` flushes: the frame is written to the connection when it returns.
    socket.send(frame).await.map_err(|error| {
        communication(
            "Cannot send the WebSocket message",
            format!("{}: {error}", crate::exec::broker::shown_url(&target.url)),
        )
    })?;
    // A clean close, so the server reads the frame before the end of the connection; its
    // reply is waited for briefly only (the message is already written).
    let _ = socket.close(None).await;
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    Ok(())
}

/// Connected (upgraded) once this returns: every data frame from then on is a message. The
/// connection ends with the stream; a close or a failure from the server is an error item.
pub(super) async fn subscribe(target: Target, _name: String) -> Result<Consumption, WorkflowError> {
    let socket = connect(&target, &[]).await?;
    let shown = crate::exec::broker::shown_url(&target.endpoint());
    let address = target.address.clone();
    let messages = futures::stream::unfold(Some(socket), move |socket| {
        let shown = shown.clone();
        let address = address.clone();
        async move {
            let mut socket = socket?;
            loop {
                let (payload, content_type) = match socket.next().await {
                    Some(Ok(Frame::Text(text))) => (text.as_bytes().to_vec(), "application/json"),
                    Some(Ok(Frame::Binary(bytes))) => (bytes.to_vec(), "application/octet-stream"),
                    // Pings are answered by the library as it reads.
                    Some(Ok(Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_))) => continue,
                    Some(Ok(Frame::Close(frame))) => {
                        let why = frame
                            .map(|f| {
                                format!(" (code {}, {:?})", u16::from(f.code), f.reason.as_str())
                            })
                            .unwrap_or_default();
                        let error = communication(
                            "The WebSocket connection was closed",
                            format!("{shown} closed the connection{why}"),
                        );
                        return Some((Err(error), None));
                    }
                    Some(Err(error)) => {
                        let error = communication(
                            "Lost the WebSocket connection",
                            format!("{shown}: {error}"),
                        );
                        return Some((Err(error), None));
                    }
                    None => {
                        let error = communication(
                            "Lost the WebSocket connection",
                            format!("{shown} ended the connection"),
                        );
                        return Some((Err(error), None));
                    }
                };
                let message = Message {
                    payload,
                    content_type: content_type.to_owned(),
                    headers: Vec::new(),
                };
                return Some((Ok(Received::new(message, address)), Some(socket)));
            }
        }
    });
    Ok(Consumption::new(messages.boxed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_frames_for_textual_types_only() {
        assert!(textual("application/json"));
        assert!(textual("application/cloudevents+json; charset=utf-8"));
        assert!(textual("text/plain"));
        assert!(!textual("application/octet-stream"));
        assert!(!textual("application/x-protobuf"));
    }
}
