//! `call: asyncapi` at run time: load the document once per run, resolve the operation, its
//! channel and server, then publish one message or consume messages. A publish's output is the
//! message sent, `{payload, headers}`. A subscription's output is the ordered array of consumed
//! messages `{payload, headers, correlationId}` (with `foreach`: the iterations' outputs).
//!
//! Consumption stops at `amount` messages, when `while` turns false or `until` true (both
//! evaluated after each consumed message, on the array consumed so far), or when `for` runs out:
//! then the task completes with what it has (no fault). Each consumed message is recorded in
//! the journal (like `listen`'s events), so a resumed run takes those again without waiting.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use reqwest::Url;
use serde_json::{Map, Value};

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::event::EventKind;
use super::listen::subscription_name;
use super::task::{Flow, Step};
use super::values::{self, as_text, eval_bool, eval_tmpl, short_json};
use crate::compile::{AsyncApiKind, AsyncApiSpec, LimitSpec, TaskNode};
use crate::exec::asyncapi::document::{AsyncApiDocument, Resolved, ServerChoice};
use crate::expr::{Val, from_json, to_json};
use crate::host::effects::asyncapi::{Message, Target};
use crate::host::effects::credentials::Credentials;
use crate::host::effects::events::communication;

impl Run<'_> {
    pub(crate) async fn call_asyncapi(
        &self,
        node: &TaskNode,
        spec: &AsyncApiSpec,
        input: Val,
        frame: &[Val],
        vars: &[Val],
        step: Option<&Arc<str>>,
    ) -> Result<Step, WorkflowError> {
        let location = self.resource_location(&spec.document.uri, "", &input, vars)?;
        let document_credentials =
            self.optional_credentials(spec.document.authentication.as_ref(), &input, vars)?;
        let document = self
            .asyncapi_document(&location, document_credentials)
            .await?;
        let variables = match &spec.variables {
            None => BTreeMap::new(),
            Some(template) => strings(&eval_tmpl(template, input.clone(), vars)?, &template.at)?,
        };
        let choice = ServerChoice {
            name: spec.server.clone(),
            variables,
            protocol: spec.protocol.clone(),
        };
        let resolved =
            document.resolve(spec.operation.as_deref(), spec.channel.as_deref(), &choice)?;
        // `basic` is the broker's user name and password, `bearer` its token; the others
        // have no meaning to a broker.
        let credentials =
            match self.optional_credentials(spec.authentication.as_ref(), &input, vars)? {
                None => BrokerCredentials::None,
                Some(Credentials::Basic { username, password }) => {
                    BrokerCredentials::UserPassword(username, password)
                }
                Some(Credentials::Bearer { token }) => BrokerCredentials::Token(token),
                Some(other) => {
                    return Err(WorkflowError::new(
                        ErrorKind::Configuration,
                        "Unsupported AsyncAPI authentication",
                    )
                    .with_detail(format!(
                        "`{}` authentication has no meaning to a broker: use `basic` (user name \
                         and password) or `bearer` (a token)",
                        other.scheme_name()
                    )));
                }
            };
        match &spec.kind {
            AsyncApiKind::Publish { payload, headers } => {
                let payload = match payload {
                    Some(template) => eval_tmpl(template, input.clone(), vars)?,
                    None => Val::Null,
                };
                let headers = match headers {
                    Some(template) => {
                        strings(&eval_tmpl(template, input.clone(), vars)?, &template.at)?
                    }
                    None => BTreeMap::new(),
                };
                if let Some(open) = resolved.open_parameters.first() {
                    return Err(unbound(&resolved.address, open, "published to"));
                }
                let message = Message {
                    payload: encode(&payload, &resolved.content_type),
                    content_type: resolved.content_type.clone(),
                    headers: headers.clone().into_iter().collect(),
                };
                let target = target(&resolved, resolved.address.clone(), credentials);
                self.executors.asyncapi.publish(target, message).await?;
                let headers: Map<String, Value> = headers
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                let output = serde_json::json!({"payload": to_json(&payload), "headers": headers});
                Ok(Step::Next(from_json(&output), None))
            }
            AsyncApiKind::Subscribe(subscription) => {
                let wildcard = match resolved.protocol.as_str() {
                    "nats" | "amqp" | "redis" | "rediss" => "*",
                    // A URL has no wildcard.
                    "http" | "https" | "ws" | "wss" => match resolved.open_parameters.first() {
                        Some(open) => {
                            return Err(unbound(&resolved.address, open, "subscribed to"));
                        }
                        None => "",
                    },
                    _ => "+",
                };
                let mut address = resolved.address.clone();
                for open in &resolved.open_parameters {
                    address = address.replace(&format!("{{{open}}}"), wildcard);
                }
                // `for` bounds the consumption by the host's clock, as every wait of a run.
                let clock = &self.executors.clock;
                let bound = match &subscription.for_ {
                    Some(duration) => {
                        Some(clock.deadline(values::duration(duration, &input, vars)?))
                    }
                    None => None,
                };
                let mut consumed: Vec<Val> = Vec::new();
                let mut results: Vec<Val> = Vec::new();
                // Consumed before the run stopped: taken again, in order, without waiting.
                let (recorded, mut seen) = match (&self.replay, step) {
                    (Some(replay), Some(step)) => {
                        (replay.consumed(step).to_vec(), replay.deliveries(step))
                    }
                    _ => (Vec::new(), HashSet::new()),
                };
                // A redelivered message without a broker identity that equals the last one
                // the journal has is that one: the runner died before acknowledging it.
                let mut last_recorded = recorded.last().cloned();
                let resumed = !recorded.is_empty();
                let mut done = matches!(subscription.limit, LimitSpec::Amount(0));
                for message in recorded {
                    if done {
                        break;
                    }
                    consumed.push(message.clone());
                    if let Some(foreach) = &subscription.foreach {
                        match self
                            .iteration(node, foreach, message, results.len(), frame, step)
                            .await?
                        {
                            Flow::Done(output) => results.push(output),
                            Flow::End(output) => return Ok(Step::End(output)),
                        }
                    }
                    done = finished(&subscription.limit, &consumed, vars)?;
                }
                let name = subscription_name(&self.run_id(), step.unwrap_or(&node.pointer));
                let target = target(&resolved, address, credentials);
                if done {
                    // Completed from the journal alone: what the broker kept for the call (a
                    // consumer, a queue, a session, a group) is removed all the same.
                    if resumed {
                        self.executors.asyncapi.forget(target, name).await;
                    }
                } else {
                    let mut consumption = self.executors.asyncapi.subscribe(target, name).await?;
                    while !done {
                        let next = match bound {
                            Some(bound) => {
                                match clock.within(bound, consumption.messages.next()).await {
                                    Some(next) => next,
                                    None => break,
                                }
                            }
                            None => consumption.messages.next().await,
                        };
                        let received = match next {
                            Some(Ok(received)) => received,
                            Some(Err(error)) => return Err(error),
                            None => {
                                return Err(communication(
                                    "The subscription ended",
                                    "the broker closed the subscription before the consumption \
                                     completed",
                                ));
                            }
                        };
                        let message = decode(
                            received.message.clone(),
                            resolved.correlation.as_deref(),
                            received.correlation_id.as_deref(),
                        );
                        let copy = match &received.key {
                            Some(key) => seen.contains(key),
                            None => {
                                received.redelivered && last_recorded.as_ref() == Some(&message)
                            }
                        };
                        // A failed acknowledgement only means a redelivery, which is deduped.
                        if copy {
                            last_recorded = None;
                            let _ = received.ack().await;
                            continue;
                        }
                        if let Some(filter) = &subscription.filter
                            && !eval_bool(filter, message.clone(), vars)?
                        {
                            let _ = received.ack().await;
                            continue;
                        }
                        let delivery = received.key.clone();
                        self.step_event(&node.pointer, step, || EventKind::EventConsumed {
                            event: message.clone(),
                            masked: false,
                            delivery: delivery.clone(),
                        });
                        // The journal has it before the broker forgets it: a crash now
                        // redelivers it, and the checks above drop the copy.
                        self.durable().await;
                        if let Some(key) = delivery {
                            seen.insert(key);
                        }
                        last_recorded = None;
                        let _ = received.ack().await;
                        consumed.push(message.clone());
                        if let Some(foreach) = &subscription.foreach {
                            match self
                                .iteration(node, foreach, message, results.len(), frame, step)
                                .await?
                            {
                                Flow::Done(output) => results.push(output),
                                Flow::End(output) => return Ok(Step::End(output)),
                            }
                        }
                        done = finished(&subscription.limit, &consumed, vars)?;
                    }
                    if let Some(close) = consumption.close.take() {
                        close.await;
                    }
                }
                let output = match &subscription.foreach {
                    Some(_) => results,
                    None => consumed,
                };
                Ok(Step::Next(Val::from_iter(output), None))
            }
        }
    }

    /// The document at `location`, loaded at most once per run.
    async fn asyncapi_document(
        &self,
        location: &Url,
        credentials: Option<Credentials>,
    ) -> Result<Arc<AsyncApiDocument>, WorkflowError> {
        let http = self.http_client();
        let loader = &self.executors.loader;
        self.resources()
            .asyncapi
            .get_or_init(location.as_str(), || async move {
                let text = loader.fetch(location, http, credentials).await?;
                AsyncApiDocument::parse(&text, location).map(Arc::new)
            })
            .await
    }
}

/// What the call's authentication gives the broker.
enum BrokerCredentials {
    None,
    UserPassword(String, String),
    Token(String),
}

fn target(resolved: &Resolved, address: String, credentials: BrokerCredentials) -> Target {
    let (credentials, token) = match credentials {
        BrokerCredentials::None => (None, None),
        BrokerCredentials::UserPassword(user, password) => (Some((user, password)), None),
        BrokerCredentials::Token(token) => (None, Some(token)),
    };
    Target {
        protocol: resolved.protocol.clone(),
        url: resolved.url.clone(),
        address,
        credentials,
        token,
        exchange: resolved.exchange.clone(),
        stream: resolved.stream,
        web: resolved.web.clone(),
    }
}

/// A channel parameter without a default where the address must be complete.
fn unbound(address: &str, open: &str, what: &str) -> WorkflowError {
    WorkflowError::new(
        ErrorKind::Configuration,
        "Unbound AsyncAPI channel parameter",
    )
    .with_detail(format!(
        "the channel address `{address}` has the parameter `{open}` without a default: it \
         cannot be {what}"
    ))
}

/// Whether consumption is over after `consumed`.
fn finished(limit: &LimitSpec, consumed: &[Val], vars: &[Val]) -> Result<bool, WorkflowError> {
    let so_far = || Val::from_iter(consumed.iter().cloned());
    Ok(match limit {
        LimitSpec::Amount(amount) => consumed.len() as u64 >= *amount,
        LimitSpec::While(expression) => !eval_bool(expression, so_far(), vars)?,
        LimitSpec::Until(expression) => eval_bool(expression, so_far(), vars)?,
    })
}

/// An object of scalars as strings (`server.variables`, `message.headers`).
fn strings(value: &Val, at: &str) -> Result<BTreeMap<String, String>, WorkflowError> {
    match to_json(value) {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (name, text)
            })
            .collect()),
        _ => Err(
            WorkflowError::new(ErrorKind::Validation, "Invalid AsyncAPI call").with_detail(
                format!(
                    "`{at}` must evaluate to an object, got {}",
                    short_json(value)
                ),
            ),
        ),
    }
}

/// The payload's bytes: JSON unless the content type is text and the payload a string.
fn encode(payload: &Val, content_type: &str) -> Vec<u8> {
    let json = content_type.to_ascii_lowercase().contains("json");
    match as_text(payload) {
        Some(text) if !json => text.into_bytes(),
        _ => serde_json::to_vec(&to_json(payload)).unwrap_or_default(),
    }
}

/// An inbound message as the workflow sees it: the payload parsed as JSON when it is JSON
/// (else a string), its headers, and its correlation id (where the document's
/// `correlationId.location` says, else the protocol's own (`native`: AMQP's `correlation-id`
/// property, MQTT 5 correlation data), else a `correlationId`/`correlation-id` header).
fn decode(message: Message, correlation: Option<&str>, native: Option<&str>) -> Val {
    let payload = serde_json::from_slice::<Value>(&message.payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&message.payload).into_owned()));
    let headers: Map<String, Value> = message
        .headers
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let found = match correlation.and_then(|l| l.split_once('#')) {
        Some(("$message.header", pointer)) => {
            Value::Object(headers.clone()).pointer(pointer).cloned()
        }
        Some(("$message.payload", pointer)) => payload.pointer(pointer).cloned(),
        _ => native.map(|id| Value::String(id.to_owned())).or_else(|| {
            ["correlationId", "correlation-id", "correlation_id"]
                .iter()
                .find_map(|name| headers.get(*name).cloned())
        }),
    };
    from_json(&serde_json::json!({
        "payload": payload,
        "headers": headers,
        "correlationId": found.unwrap_or(Value::Null),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(payload: &str, headers: &[(&str, &str)]) -> Message {
        Message {
            payload: payload.as_bytes().to_vec(),
            content_type: "application/json".into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn the_correlation_id_comes_from_the_location_then_the_protocol_then_a_header() {
        let id = |m: Message, location: Option<&str>, native: Option<&str>| {
            to_json(&decode(m, location, native))["correlationId"].clone()
        };
        let m = || message(r#"{"sensor": "s1"}"#, &[("correlation-id", "h")]);
        assert_eq!(
            id(m(), Some("$message.payload#/sensor"), Some("n")),
            json!("s1")
        );
        assert_eq!(id(m(), None, Some("n")), json!("n"));
        assert_eq!(id(m(), None, None), json!("h"));
        assert_eq!(id(message("plain text", &[]), None, None), json!(null));
        // A payload that is no JSON is its text.
        let text = to_json(&decode(message("plain text", &[]), None, None));
        assert_eq!(text["payload"], json!("plain text"));
    }
}
