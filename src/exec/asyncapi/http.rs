//! AsyncAPI over HTTP (`http`, `https`): the server URL joined with the channel address.
//!
//! Publish: one request per message (the operation binding's `method`, POST by default) with
//! the payload as body; any 2xx is the acknowledgement, anything else a `communication` error
//! with the status.
//!
//! Subscribe: the runner asks the server (the operation binding's `method`, GET by default) and
//! reads the response by its content type: `text/event-stream` (Server-Sent Events: an
//! event's `data` is a message, its `id` the correlation id, its `event` a header `event`) and
//! NDJSON (`application/x-ndjson`, `application/jsonl`: a line a message) are streamed as they
//! come; any other body is one batch (a JSON array: an element a message; another value: one
//! message; an empty body: none). When a response ends the runner asks again (long polling;
//! SSE with `Last-Event-ID`) until the consumption is over. Nothing is durable: messages the
//! server sends while no request is open are its business.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::header::{ACCEPT, AUTHORIZATION};

use super::sse::{Lines, SseReader};
use super::{Consumption, Message, Received, Target};
use crate::exec::http::ReqwestHttp;
use crate::host::effects::events::communication;
use crate::host::effects::http::{HttpBody, HttpClient, HttpRequest};
use crate::problem::{ErrorKind, WorkflowError};

/// How long to wait before asking again after a response that brought nothing (a server that
/// answers at once with nothing would otherwise be asked in a busy loop); SSE's `retry` field
/// replaces it.
const EMPTY_POLL_PAUSE: Duration = Duration::from_secs(1);

pub(super) async fn publish(
    http: &dyn HttpClient,
    target: Target,
    message: Message,
) -> Result<(), WorkflowError> {
    let url = target.location();
    let method = target
        .web
        .method
        .clone()
        .unwrap_or_else(|| "POST".to_owned());
    let mut headers = target.web.headers.clone();
    headers.extend(message.headers.iter().cloned());
    headers.push(("content-type".to_owned(), message.content_type.clone()));
    let body = HttpBody::Text(String::from_utf8_lossy(&message.payload).into_owned());
    let response = http
        .send(HttpRequest {
            method: method.clone(),
            url: url.clone(),
            query: target.web.query.clone(),
            headers,
            body: Some(body),
            redirect: false,
            credentials: match (target.credentials, target.token) {
                (Some((username, password)), _) => {
                    Some(crate::host::effects::credentials::Credentials::Basic {
                        username,
                        password,
                    })
                }
                (None, Some(token)) => {
                    Some(crate::host::effects::credentials::Credentials::Bearer { token })
                }
                (None, None) => None,
            },
        })
        .await?;
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(
            WorkflowError::new(ErrorKind::Communication, "The message was not accepted")
                .with_detail(format!("{method} {url} answered {}", response.status))
                .with_status(response.status),
        )
    }
}

/// How the body of the current response is read.
enum Body {
    Events(SseReader),
    Lines(Lines),
}

/// A subscription between two reads.
struct Polling {
    client: reqwest::Client,
    target: Target,
    url: String,
    address: String,
    /// The body being streamed, if a response is open.
    open: Option<(Body, BoxStream<'static, reqwest::Result<bytes::Bytes>>)>,
    ready: VecDeque<Received>,
    last_id: Option<String>,
    pause: Duration,
    /// The last response brought at least one message.
    fruitful: bool,
}

/// Asked once before this returns (a refused request is the call's error); the rest is read
/// as the stream is polled.
pub(super) async fn subscribe(
    http: ReqwestHttp,
    target: Target,
    _name: String,
) -> Result<Consumption, WorkflowError> {
    let (client, _) = http.shared()?;
    let url = target.location();
    let mut polling = Polling {
        client,
        address: target.address.clone(),
        target,
        url,
        open: None,
        ready: VecDeque::new(),
        last_id: None,
        pause: EMPTY_POLL_PAUSE,
        fruitful: true,
    };
    polling.ask().await?;
    let messages = futures::stream::unfold(Some(polling), |polling| async move {
        let mut polling = polling?;
        match polling.next().await {
            Ok(received) => Some((Ok(received), Some(polling))),
            Err(error) => Some((Err(error), None)),
        }
    });
    Ok(Consumption::new(messages.boxed()))
}

impl Polling {
    /// One request; its body is read now (a batch) or kept open (a stream).
    async fn ask(&mut self) -> Result<(), WorkflowError> {
        let method = self.target.web.method.as_deref().unwrap_or("GET");
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| {
            WorkflowError::new(ErrorKind::Configuration, "Invalid HTTP channel")
                .with_detail(format!("`bindings.http.method` `{method}` is not a method"))
        })?;
        let mut request = self
            .client
            .request(method.clone(), &self.url)
            .query(&self.target.web.query)
            .header(
                ACCEPT,
                "text/event-stream, application/x-ndjson, application/json",
            );
        for (name, value) in &self.target.web.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(value) = self.target.authorization() {
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(id) = &self.last_id {
            request = request.header("last-event-id", id.as_str());
        }
        let shown = crate::exec::broker::shown_url(&self.url);
        let response = request.send().await.map_err(|error| {
            communication(
                "Cannot reach the HTTP server",
                format!(
                    "{method} {shown}: {}",
                    crate::exec::http::root_causes(&error)
                ),
            )
        })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(communication(
                "The subscription was refused",
                format!("{method} {shown} answered {status}"),
            )
            .with_status(status));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let body = if content_type.starts_with("text/event-stream") {
            Some(Body::Events(SseReader::default()))
        } else if content_type.contains("ndjson") || content_type.contains("jsonl") {
            Some(Body::Lines(Lines::default()))
        } else {
            None
        };
        self.fruitful = false;
        match body {
            Some(body) => self.open = Some((body, response.bytes_stream().boxed())),
            None => {
                let bytes = response.bytes().await.map_err(|error| {
                    communication("Lost the HTTP response", format!("{shown}: {error}"))
                })?;
                self.batch(&bytes);
            }
        }
        Ok(())
    }

    /// A whole JSON body: an array is a message per element, another value one message.
    fn batch(&mut self, bytes: &[u8]) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Array(items)) => {
                for item in items {
                    let payload = serde_json::to_vec(&item).unwrap_or_default();
                    self.push(payload, Vec::new(), None);
                }
            }
            _ => self.push(bytes.to_vec(), Vec::new(), None),
        }
    }

    fn push(&mut self, payload: Vec<u8>, headers: Vec<(String, String)>, id: Option<String>) {
        self.fruitful = true;
        let message = Message {
            payload,
            content_type: "application/json".to_owned(),
            headers,
        };
        let mut received = Received::new(message, self.address.clone());
        received.correlation_id = id;
        self.ready.push_back(received);
    }

    /// The next message: from what was read, else from the open body, else from a new request.
    async fn next(&mut self) -> Result<Received, WorkflowError> {
        loop {
            if let Some(received) = self.ready.pop_front() {
                return Ok(received);
            }
            let Some((body, stream)) = &mut self.open else {
                if !self.fruitful {
                    tokio::time::sleep(self.pause).await;
                }
                self.ask().await?;
                continue;
            };
            match stream.next().await {
                Some(Ok(chunk)) => match body {
                    Body::Events(reader) => {
                        let events = reader.push(&chunk);
                        self.last_id = reader.last_id.clone();
                        if let Some(millis) = reader.retry {
                            self.pause = Duration::from_millis(millis);
                        }
                        for event in events {
                            let headers = event
                                .event
                                .map(|name| vec![("event".to_owned(), name)])
                                .unwrap_or_default();
                            self.push(event.data.into_bytes(), headers, event.id);
                        }
                    }
                    Body::Lines(lines) => {
                        for line in lines.push(&chunk) {
                            if !line.trim().is_empty() {
                                self.push(line.into_bytes(), Vec::new(), None);
                            }
                        }
                    }
                },
                Some(Err(error)) => {
                    return Err(communication(
                        "Lost the HTTP stream",
                        format!("{}: {error}", crate::exec::broker::shown_url(&self.url)),
                    ));
                }
                // The server ended this response: ask again.
                None => self.open = None,
            }
        }
    }
}
