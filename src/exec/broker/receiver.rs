//! `--receive ADDR`: an HTTP receiver of CloudEvents for `listen` (CloudEvents HTTP binding:
//! binary mode with `ce-` headers, structured `application/cloudevents+json`, batches of
//! `application/cloudevents-batch+json`), on a thread of its own.
//!
//! A POST is answered `202 Accepted` only once every event in it is written to the durable
//! inbox for each listen waiting for its type (see `inbox.rs`): after the 2xx a `kill -9` loses
//! nothing, the resumed listen gets the event. When no listen waits for an event's type the
//! answer is `503` with `Retry-After` and nothing is kept (as a broker without a subscriber keeps
//! nothing, but the sender knows and can retry); a malformed event is a `400` with a problem
//! body. A batch is accepted or refused whole.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::cloudevent::{self, BATCH_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, event_type};
use super::inbox::Inbox;
use crate::host::effects::events::{
    Ack, CloudEvent, Delivery, EventBus, SubscribeRequest, Subscription, communication,
};
use crate::problem::WorkflowError;

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error(
        "--receive {addr}: not an address to listen on (expected HOST:PORT, e.g. 127.0.0.1:8080)"
    )]
    Address { addr: String },
    #[error("--receive {addr}: cannot listen there: {reason}")]
    Bind { addr: String, reason: String },
    #[error("--receive: {0}")]
    Inbox(String),
}

/// The receiver: an [`EventBus`] that only delivers (emitted events do not go to it).
#[derive(Clone)]
pub struct Receiver {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

struct Shared {
    state: Mutex<State>,
}

struct State {
    inbox: Inbox,
    listeners: HashMap<String, Listener>,
}

struct Listener {
    types: Vec<String>,
    sender: mpsc::UnboundedSender<(i64, CloudEvent)>,
}

impl Listener {
    fn wants(&self, event_type: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == event_type)
    }
}

impl Receiver {
    /// Binds `addr` now (a busy port is the caller's error at once) and serves on a thread of
    /// its own; accepted events go to `inbox` (in memory when `None`).
    pub fn start(addr: &str, inbox: Option<PathBuf>) -> Result<Receiver, ReceiveError> {
        let socket: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| ReceiveError::Address {
                addr: addr.to_owned(),
            })?;
        let bind_error = |error: std::io::Error| ReceiveError::Bind {
            addr: addr.to_owned(),
            reason: error.to_string(),
        };
        let listener = std::net::TcpListener::bind(socket).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        let inbox = Inbox::open(inbox.as_deref()).map_err(ReceiveError::Inbox)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                inbox,
                listeners: HashMap::new(),
            }),
        });
        let served = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("receiver".into())
            .spawn(move || serve(listener, served))
            .map_err(bind_error)?;
        Ok(Receiver {
            shared,
            addr: local,
        })
    }

    /// A receiver without a socket of its own: `serve` hands it the events POSTed to its
    /// `/api/v1/events` (see [`Receiver::offer`]); `addr` is the server's.
    pub fn embedded(inbox: Option<PathBuf>, addr: SocketAddr) -> Result<Receiver, ReceiveError> {
        let inbox = Inbox::open(inbox.as_deref()).map_err(ReceiveError::Inbox)?;
        Ok(Receiver {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    inbox,
                    listeners: HashMap::new(),
                }),
            }),
            addr,
        })
    }

    /// Stores each event for every listen waiting for it and hands it over; says, event by
    /// event, whether some listen took it. Unlike a POST to `--receive`, an event no listen
    /// waits for is not an error here: the server may start a run with it.
    pub fn offer(&self, events: &[CloudEvent]) -> Result<Vec<bool>, String> {
        self.shared.offer(events)
    }

    /// The address it listens on (the port chosen when `:0` was given).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let router = axum::Router::new().fallback(handle).with_state(shared);
        let _ = axum::serve(listener, router).await;
    });
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        let mut response = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "CloudEvents are POSTed",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let events = match parse(&headers, &body) {
        Ok(events) => events,
        Err(reason) => return problem(StatusCode::BAD_REQUEST, "Not a CloudEvent", &reason),
    };
    match shared.accept(&events) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(Refusal::NobodyWaits(event_type)) => {
            let mut response = problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "No listen is waiting for this event",
                &format!("no listen task of the run waits for events of type `{event_type}` now"),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Err(Refusal::Storage(reason)) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The event could not be stored",
            &reason,
        ),
    }
}

/// An RFC 9457 problem answer.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The events of a request, in any of the three modes.
pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Vec<CloudEvent>, String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let essence = content_type
        .as_deref()
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if essence == BATCH_CONTENT_TYPE {
        let values: Vec<Value> = serde_json::from_slice(body)
            .map_err(|e| format!("a batch is a JSON array of events: {e}"))?;
        return values
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                cloudevent::decode_structured(value.to_string().as_bytes())
                    .map_err(|e| format!("event {index} of the batch: {e}"))
            })
            .collect();
    }
    if essence == STRUCTURED_CONTENT_TYPE {
        return cloudevent::decode_structured(body)
            .map(|event| vec![event])
            .map_err(|e| e.to_string());
    }
    if headers.contains_key("ce-specversion") {
        let attributes = headers.iter().filter_map(|(name, value)| {
            let attribute = name.as_str().strip_prefix("ce-")?;
            // The HTTP binding percent-encodes what a header cannot carry.
            let text = percent_encoding::percent_decode(value.as_bytes())
                .decode_utf8_lossy()
                .into_owned();
            Some((attribute.to_owned(), text))
        });
        return cloudevent::decode_binary(attributes, content_type.as_deref(), body)
            .map(|event| vec![event])
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "expected a `ce-specversion` header (binary mode) or the content type \
         `{STRUCTURED_CONTENT_TYPE}` or `{BATCH_CONTENT_TYPE}`"
    ))
}

enum Refusal {
    NobodyWaits(String),
    Storage(String),
}

impl State {
    /// Pairs every event with each listen waiting for it (after dropping the listens that ended
    /// without closing: a timeout dropped them), and says which events some listen takes.
    fn route<'e>(
        &mut self,
        events: &'e [CloudEvent],
    ) -> (Vec<(String, &'e CloudEvent)>, Vec<bool>) {
        let gone: Vec<String> = self
            .listeners
            .iter()
            .filter(|(_, listener)| listener.sender.is_closed())
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            self.listeners.remove(&name);
            let _ = self.inbox.forget(&name);
        }
        let mut pairs = Vec::new();
        let mut taken = Vec::with_capacity(events.len());
        for event in events {
            let event_type = event_type(event);
            let before = pairs.len();
            for (name, listener) in &self.listeners {
                if listener.wants(event_type) {
                    pairs.push((name.clone(), event));
                }
            }
            taken.push(pairs.len() > before);
        }
        (pairs, taken)
    }

    /// Stores the pairs in the inbox, then hands each to its listen.
    fn deliver(&mut self, pairs: &[(String, &CloudEvent)]) -> Result<(), String> {
        for (name, seq, event) in self.inbox.store(pairs)? {
            if let Some(listener) = self.listeners.get(&name) {
                let _ = listener.sender.send((seq, event));
            }
        }
        Ok(())
    }
}

impl Shared {
    /// Stores every event for each listen waiting for it, then hands them over; nothing is
    /// stored when some event has no listen waiting for it.
    fn accept(&self, events: &[CloudEvent]) -> Result<(), Refusal> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| Refusal::Storage("the receiver's state is poisoned".into()))?;
        let (pairs, taken) = state.route(events);
        if let Some(position) = taken.iter().position(|taken| !taken) {
            let event_type = events.get(position).map(event_type).unwrap_or_default();
            return Err(Refusal::NobodyWaits(event_type.to_owned()));
        }
        state.deliver(&pairs).map_err(Refusal::Storage)
    }

    /// See [`Receiver::offer`].
    fn offer(&self, events: &[CloudEvent]) -> Result<Vec<bool>, String> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| "the receiver's state is poisoned".to_owned())?;
        let (pairs, taken) = state.route(events);
        state.deliver(&pairs)?;
        Ok(taken)
    }

    fn remove(&self, seq: i64) -> Result<(), String> {
        let state = self.state.lock().map_err(|_| "poisoned".to_owned())?;
        state.inbox.remove(seq)
    }
}

impl EventBus for Receiver {
    /// Emitted events are not the receiver's: it only takes what senders POST.
    fn publish(&self, _event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        Box::pin(async { Ok(()) })
    }

    fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let (sender, receiver) = mpsc::unbounded_channel();
            {
                let mut state = shared.state.lock().map_err(|_| {
                    communication("The event receiver failed", "its state is poisoned")
                })?;
                // What a killed run accepted but did not consume comes first.
                let pending = state
                    .inbox
                    .pending(&request.name)
                    .map_err(|e| communication("Cannot read the receiver's inbox", e))?;
                for row in pending {
                    let _ = sender.send(row);
                }
                state.listeners.insert(
                    request.name.clone(),
                    Listener {
                        types: request.types.clone(),
                        sender,
                    },
                );
            }
            let acking = Arc::clone(&shared);
            let deliveries = stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|item| (item, receiver))
            })
            .map(move |(seq, event)| {
                let shared = Arc::clone(&acking);
                let ack: Ack = Box::new(move || {
                    Box::pin(async move {
                        shared
                            .remove(seq)
                            .map_err(|e| communication("Cannot update the receiver's inbox", e))
                    })
                });
                Ok(Delivery::with_ack(event, ack))
            });
            let name = request.name;
            let close = Box::pin(async move {
                if let Ok(mut state) = shared.state.lock() {
                    state.listeners.remove(&name);
                    let _ = state.inbox.forget(&name);
                }
            });
            Ok(Subscription {
                deliveries: deliveries.boxed(),
                close: Some(close),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_three_http_modes_are_read() {
        let binary = headers(&[
            ("ce-specversion", "1.0"),
            ("ce-id", "1"),
            ("ce-source", "/s"),
            ("ce-type", "t"),
            ("ce-subject", "caf%C3%A9"),
            ("content-type", "application/json"),
        ]);
        let events = parse(&binary, br#"{"x":1}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events[0]["data"], json!({"x": 1}));
        assert_eq!(events[0]["subject"], "café");
        let structured = headers(&[(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )]);
        let body = json!({"specversion": "1.0", "id": "2", "source": "/s", "type": "t"});
        assert_eq!(
            parse(&structured, body.to_string().as_bytes()).map(|e| e.len()),
            Ok(1)
        );
        let batch = headers(&[("content-type", "application/cloudevents-batch+json")]);
        let body = json!([body, {"specversion": "1.0", "id": "3", "source": "/s", "type": "u"}]);
        assert_eq!(
            parse(&batch, body.to_string().as_bytes()).map(|e| e.len()),
            Ok(2)
        );
        let bad = json!([{"specversion": "1.0", "id": "3"}]);
        assert!(
            parse(&batch, bad.to_string().as_bytes())
                .is_err_and(|e| e.contains("event 0 of the batch"))
        );
        assert!(parse(&headers(&[("content-type", "text/plain")]), b"hi").is_err());
    }
}
