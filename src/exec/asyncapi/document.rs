//! A loaded AsyncAPI document (2.6 or 3.0, JSON or YAML) and what a call needs from it: the
//! operation's channel address, the server to connect to (its protocol and URL) and the
//! message's content type. `$ref`s within the document are followed; nothing else is read.

use std::collections::BTreeMap;

use reqwest::Url;
use serde_json::Value;

use crate::diagnostic::did_you_mean;
use crate::host::effects::asyncapi::WebBinding;
use crate::openapi::resolve_ref;
use crate::problem::{ErrorKind, WorkflowError};
use crate::source::Source;

/// The document's major version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V2,
    V3,
}

#[derive(Debug)]
pub(crate) struct AsyncApiDocument {
    pub version: Version,
    pub location: String,
    root: Value,
}

/// Which server a call wants, as the task says it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerChoice {
    pub name: Option<String>,
    /// `server.variables`, evaluated.
    pub variables: BTreeMap<String, String>,
    /// `protocol`.
    pub protocol: Option<String>,
}

/// An operation resolved against the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    /// The channel address with its parameters substituted: `None` parameters (no default)
    /// stay as `{name}` for the caller to decide.
    pub address: String,
    /// Parameters of the address without a default value.
    pub open_parameters: Vec<String>,
    pub server_name: String,
    /// Lower case, as the document writes it (`mqtt`, `nats`, `amqp`, ...).
    pub protocol: String,
    /// `PROTOCOL://HOST[PATH]`, variables substituted.
    pub url: String,
    /// The message's content type, else the document's default, else JSON.
    pub content_type: String,
    /// The message's `correlationId.location` (`$message.header#/id`, `$message.payload#/a`).
    pub correlation: Option<String>,
    /// The channel's AMQP binding exchange (`bindings.amqp.exchange.name`): AMQP messages go
    /// there with the address as routing key; without it, to the default exchange (the address
    /// is the queue).
    pub exchange: Option<String>,
    /// Redis: the channel's binding says `type: stream` (else pub/sub).
    pub stream: bool,
    /// `ws` and `http`: the method, query and headers their bindings fix.
    pub web: WebBinding,
}

/// What an operation names in the document: its channel address (as written), the channel, the
/// operation and its first message.
type Found<'a> = (String, &'a Value, Option<&'a Value>, Option<&'a Value>);

fn configuration(title: &str, detail: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, title).with_detail(detail)
}

impl AsyncApiDocument {
    pub(crate) fn parse(text: &str, location: &Url) -> Result<AsyncApiDocument, WorkflowError> {
        let source = Source::new(location.as_str(), text);
        let root = crate::yaml::load(&source)
            .map_err(|diagnostic| {
                configuration(
                    "Invalid AsyncAPI document",
                    format!(
                        "`{location}` is neither JSON nor YAML: {}",
                        diagnostic.message
                    ),
                )
            })?
            .value;
        let written = root.get("asyncapi").and_then(Value::as_str).unwrap_or("");
        let version = match written.split('.').next() {
            Some("3") => Version::V3,
            Some("2") => Version::V2,
            _ => {
                return Err(configuration(
                    "Invalid AsyncAPI document",
                    format!(
                        "`{location}` is not an AsyncAPI document: it has no `asyncapi: 2.x` or \
                         `asyncapi: 3.x`"
                    ),
                ));
            }
        };
        Ok(AsyncApiDocument {
            version,
            location: location.to_string(),
            root,
        })
    }

    fn follow<'a>(&'a self, value: &'a Value) -> Result<&'a Value, WorkflowError> {
        resolve_ref(&self.root, value).map_err(|problem| {
            configuration(
                "Invalid AsyncAPI document",
                format!("`{}`: {problem}", self.location),
            )
        })
    }

    fn section(&self, name: &str) -> Vec<(&str, &Value)> {
        self.root
            .get(name)
            .and_then(Value::as_object)
            .map(|map| map.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    /// The names a call may use: operations (3.0) or operation ids (2.6).
    pub(crate) fn operation_names(&self) -> Vec<String> {
        match self.version {
            Version::V3 => self
                .section("operations")
                .into_iter()
                .map(|(name, _)| name.to_owned())
                .collect(),
            Version::V2 => self
                .section("channels")
                .into_iter()
                .flat_map(|(_, channel)| {
                    ["publish", "subscribe"].into_iter().filter_map(|verb| {
                        channel
                            .get(verb)?
                            .get("operationId")?
                            .as_str()
                            .map(str::to_owned)
                    })
                })
                .collect(),
        }
    }

    /// The channels' names (2.6: their addresses).
    pub(crate) fn channel_names(&self) -> Vec<String> {
        self.section("channels")
            .into_iter()
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The names of the servers.
    pub(crate) fn server_names(&self) -> Vec<String> {
        self.section("servers")
            .into_iter()
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Finds `operation` (and, for 2.6, `channel`) and the server to use.
    pub(crate) fn resolve(
        &self,
        operation: Option<&str>,
        channel: Option<&str>,
        server: &ServerChoice,
    ) -> Result<Resolved, WorkflowError> {
        let (address_written, channel_value, operation_value, message) = match self.version {
            Version::V3 => self.resolve_v3(operation)?,
            Version::V2 => self.resolve_v2(operation, channel)?,
        };
        let (address, open_parameters) =
            substitute_parameters(&address_written, channel_value, self)?;
        let (server_name, server_value) = self.choose_server(channel_value, server)?;
        let protocol = server_value
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let url = self.server_url(&server_name, server_value, &protocol, &server.variables)?;
        let content_type = message
            .and_then(|m| m.get("contentType"))
            .or_else(|| self.root.get("defaultContentType"))
            .and_then(Value::as_str)
            .unwrap_or("application/json")
            .to_owned();
        let correlation = match message.and_then(|m| m.get("correlationId")) {
            Some(found) => self
                .follow(found)?
                .get("location")
                .and_then(Value::as_str)
                .map(str::to_owned),
            None => None,
        };
        let exchange = channel_value
            .get("bindings")
            .and_then(|b| b.get("amqp"))
            .and_then(|a| a.get("exchange"))
            .and_then(|e| e.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let stream = channel_value
            .get("bindings")
            .and_then(|b| b.get("redis"))
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
            == Some("stream");
        let web = WebBinding::read(&protocol, channel_value, operation_value, message);
        Ok(Resolved {
            web,
            exchange,
            stream,
            correlation,
            address,
            open_parameters,
            server_name,
            protocol,
            url,
            content_type,
        })
    }

    fn unknown(&self, what: &str, name: &str, known: &[String]) -> WorkflowError {
        let hint = did_you_mean(name, known.iter().map(String::as_str))
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
        configuration(
            &format!("Unknown AsyncAPI {what}"),
            format!(
                "`{}` has no {what} `{name}`{hint}; it has: {}",
                self.location,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        )
    }

    /// 3.0: the operation, its channel (a `$ref`) and its first message.
    fn resolve_v3(&self, operation: Option<&str>) -> Result<Found<'_>, WorkflowError> {
        let Some(name) = operation else {
            return Err(configuration(
                "Missing AsyncAPI operation",
                format!(
                    "`{}` is an AsyncAPI 3 document: name its `operation`",
                    self.location
                ),
            ));
        };
        let Some(found) = self.root.get("operations").and_then(|o| o.get(name)) else {
            return Err(self.unknown("operation", name, &self.operation_names()));
        };
        let found = self.follow(found)?;
        let channel = found.get("channel").ok_or_else(|| {
            configuration(
                "Invalid AsyncAPI document",
                format!("operation `{name}` of `{}` has no `channel`", self.location),
            )
        })?;
        let channel = self.follow(channel)?;
        let address = match channel.get("address") {
            Some(Value::String(address)) => address.clone(),
            // A null or absent address: the channel's key is its name, unknown here.
            _ => {
                return Err(configuration(
                    "Invalid AsyncAPI document",
                    format!(
                        "the channel of operation `{name}` in `{}` has no `address`",
                        self.location
                    ),
                ));
            }
        };
        let message = match found
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.first())
        {
            Some(message) => Some(self.follow(message)?),
            None => match channel
                .get("messages")
                .and_then(Value::as_object)
                .and_then(|m| m.values().next())
            {
                Some(message) => Some(self.follow(message)?),
                None => None,
            },
        };
        Ok((address, channel, Some(found), message))
    }

    /// 2.6: the channel (named, or the one whose `publish`/`subscribe` has the operation id);
    /// its key is its address.
    fn resolve_v2(
        &self,
        operation: Option<&str>,
        channel: Option<&str>,
    ) -> Result<Found<'_>, WorkflowError> {
        let channels = self.section("channels");
        let names: Vec<String> = channels.iter().map(|(n, _)| (*n).to_owned()).collect();
        let with_operation = |value: &Value| -> Option<Value> {
            let id = operation?;
            ["publish", "subscribe"]
                .into_iter()
                .filter_map(|verb| value.get(verb))
                .find(|op| op.get("operationId").and_then(Value::as_str) == Some(id))
                .cloned()
        };
        let (address, value) = match channel {
            Some(name) => match channels.iter().find(|(n, _)| *n == name) {
                Some((n, v)) => ((*n).to_owned(), self.follow(v)?),
                None => return Err(self.unknown("channel", name, &names)),
            },
            None => {
                let Some(id) = operation else {
                    return Err(configuration(
                        "Missing AsyncAPI channel",
                        format!(
                            "`{}` is an AsyncAPI 2 document: name its `channel` or an `operation` id",
                            self.location
                        ),
                    ));
                };
                let mut found = None;
                for (n, v) in &channels {
                    let v = self.follow(v)?;
                    if with_operation(v).is_some() {
                        found = Some(((*n).to_owned(), v));
                        break;
                    }
                }
                match found {
                    Some(found) => found,
                    None => return Err(self.unknown("operation", id, &self.operation_names())),
                }
            }
        };
        let op = match operation {
            Some(id) if channel.is_some() => match with_operation(value) {
                Some(op) => Some(op),
                None => return Err(self.unknown("operation", id, &self.operation_names())),
            },
            Some(_) => with_operation(value),
            None => value
                .get("publish")
                .or_else(|| value.get("subscribe"))
                .cloned(),
        };
        // The message is looked up again from `value` to borrow from the document.
        let verb = ["publish", "subscribe"]
            .into_iter()
            .find(|verb| value.get(*verb).is_some_and(|v| Some(v) == op.as_ref()));
        let message = match verb.and_then(|verb| value.get(verb)?.get("message")) {
            Some(message) => Some(self.follow(message)?),
            None => None,
        };
        let operation = verb.and_then(|verb| value.get(verb));
        Ok((address, value, operation, message))
    }

    /// `server.name`; else the first server speaking `protocol`; else the first server of the
    /// channel (all servers when the channel names none).
    fn choose_server<'a>(
        &'a self,
        channel: &'a Value,
        choice: &ServerChoice,
    ) -> Result<(String, &'a Value), WorkflowError> {
        let servers = self.section("servers");
        let names = self.server_names();
        if let Some(name) = &choice.name {
            return match servers.iter().find(|(n, _)| n == name) {
                Some((n, v)) => Ok(((*n).to_owned(), self.follow(v)?)),
                None => Err(self.unknown("server", name, &names)),
            };
        }
        // The channel's servers: 3.0 `$ref`s to servers, 2.6 names.
        let mut allowed: Vec<String> = Vec::new();
        if let Some(list) = channel.get("servers").and_then(Value::as_array) {
            for entry in list {
                match entry {
                    Value::String(name) => allowed.push(name.clone()),
                    other => {
                        if let Some(reference) = other.get("$ref").and_then(Value::as_str) {
                            allowed.push(reference.rsplit('/').next().unwrap_or("").to_owned());
                        }
                    }
                }
            }
        }
        let candidates: Vec<(&str, &Value)> = servers
            .into_iter()
            .filter(|(n, _)| allowed.is_empty() || allowed.iter().any(|a| a == n))
            .collect();
        let wanted = choice.protocol.as_deref().map(str::to_ascii_lowercase);
        for (name, value) in &candidates {
            let value = self.follow(value)?;
            let protocol = value.get("protocol").and_then(Value::as_str).unwrap_or("");
            if wanted
                .as_deref()
                .is_none_or(|w| w.eq_ignore_ascii_case(protocol))
            {
                return Ok(((*name).to_owned(), value));
            }
        }
        Err(configuration(
            "No AsyncAPI server",
            match wanted {
                Some(protocol) => format!(
                    "`{}` has no server speaking `{protocol}` for this channel (servers: {})",
                    self.location,
                    names.join(", ")
                ),
                None => format!("`{}` has no server for this channel", self.location),
            },
        ))
    }

    fn server_url(
        &self,
        name: &str,
        server: &Value,
        protocol: &str,
        given: &BTreeMap<String, String>,
    ) -> Result<String, WorkflowError> {
        let written = match self.version {
            Version::V3 => format!(
                "{}{}",
                server
                    .get("host")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                server
                    .get("pathname")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
            Version::V2 => server
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        };
        let variables = server.get("variables");
        let filled = fill(&written, |variable| {
            if let Some(value) = given.get(variable) {
                return Ok(value.clone());
            }
            let declared = variables.and_then(|v| v.get(variable));
            let declared = match declared {
                Some(v) => Some(self.follow(v)?),
                None => None,
            };
            match declared
                .and_then(|d| d.get("default"))
                .and_then(Value::as_str)
            {
                Some(default) => Ok(default.to_owned()),
                None => Err(configuration(
                    "Missing AsyncAPI server variable",
                    format!(
                        "server `{name}` of `{}` needs the variable `{variable}`: give it in \
                         `server.variables`",
                        self.location
                    ),
                )),
            }
        })?;
        Ok(if filled.contains("://") {
            filled
        } else {
            format!("{protocol}://{filled}")
        })
    }
}

/// `text` with every `{name}` replaced by `value(name)`.
fn fill(
    text: &str,
    mut value: impl FnMut(&str) -> Result<String, WorkflowError>,
) -> Result<String, WorkflowError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&value(&rest[start + 1..start + length])?);
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The address with each parameter that has a default (`default`, or 2.6's `schema.default`)
/// filled; the others stay `{name}` and are listed.
fn substitute_parameters(
    address: &str,
    channel: &Value,
    document: &AsyncApiDocument,
) -> Result<(String, Vec<String>), WorkflowError> {
    let mut open = Vec::new();
    let filled = fill(address, |name| {
        let declared = match channel.get("parameters").and_then(|p| p.get(name)) {
            Some(p) => Some(document.follow(p)?),
            None => None,
        };
        let default = declared.and_then(|p| {
            p.get("default")
                .or_else(|| p.get("schema").and_then(|s| s.get("default")))
        });
        Ok(match default {
            Some(Value::String(text)) => text.clone(),
            Some(other) if !other.is_null() => other.to_string(),
            _ => {
                open.push(name.to_owned());
                format!("{{{name}}}")
            }
        })
    })?;
    Ok((filled, open))
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
