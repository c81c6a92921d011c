//! CloudEvents 1.0 on the wire, shared by every transport: structured mode (the whole event as
//! one JSON object) and binary mode (attributes in protocol headers named with a prefix such as
//! `ce-` or `cloudEvents:`, the data as the body).

use base64::Engine;
use serde_json::{Map, Value};

use crate::host::effects::events::CloudEvent;

/// The media type of a structured-mode event.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";
/// The media type of a batch of structured events (HTTP batch mode).
pub const BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// Why a message is not a CloudEvent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the body is not a JSON object: {0}")]
    NotJson(String),
    #[error("the event has no `{0}` attribute")]
    Missing(&'static str),
    #[error("`specversion` is `{0}`; only CloudEvents 1.0 is understood")]
    Version(String),
}

/// The structured-mode body of `event`.
pub fn encode_structured(event: &CloudEvent) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_default()
}

/// Reads a structured-mode body.
pub fn decode_structured(body: &[u8]) -> Result<CloudEvent, DecodeError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| DecodeError::NotJson(error.to_string()))?;
    check(value)
}

/// Reads a binary-mode message: `attribute(name)` gives the value of the CloudEvents attribute
/// `name` (the transport strips its prefix), `content_type` the message's content type, which
/// becomes `datacontenttype`.
pub fn decode_binary(
    attributes: impl IntoIterator<Item = (String, String)>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<CloudEvent, DecodeError> {
    let mut event = Map::new();
    for (name, value) in attributes {
        event.insert(name.to_ascii_lowercase(), Value::String(value));
    }
    if let Some(content_type) = content_type {
        event.insert(
            "datacontenttype".into(),
            Value::String(content_type.to_owned()),
        );
    }
    if !body.is_empty() {
        let json = content_type.is_none_or(is_json);
        match (json, std::str::from_utf8(body)) {
            (true, Ok(text)) => match serde_json::from_str::<Value>(text) {
                Ok(data) => event.insert("data".into(), data),
                Err(_) => event.insert("data".into(), Value::String(text.to_owned())),
            },
            (false, Ok(text)) if content_type.is_some_and(|t| t.starts_with("text/")) => {
                event.insert("data".into(), Value::String(text.to_owned()))
            }
            _ => event.insert(
                "data_base64".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            ),
        };
    }
    check(Value::Object(event))
}

/// Whether a content type carries JSON (`application/json`, `...+json`, with parameters).
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence == "text/json"
}

/// The event as a valid CloudEvents 1.0 object: the required attributes are present. Data
/// sent as a JSON string under a JSON content type stays a string (it is what was sent).
fn check(value: Value) -> Result<CloudEvent, DecodeError> {
    let Value::Object(event) = value else {
        return Err(DecodeError::NotJson("not an object".into()));
    };
    for required in ["id", "source", "type"] {
        if !event.get(required).is_some_and(Value::is_string) {
            return Err(DecodeError::Missing(required));
        }
    }
    match event.get("specversion").and_then(Value::as_str) {
        Some("1.0") => {}
        Some(other) => return Err(DecodeError::Version(other.to_owned())),
        None => return Err(DecodeError::Missing("specversion")),
    }
    Ok(Value::Object(event))
}

/// The topic or subject an event travels on: its `type`.
pub fn event_type(event: &CloudEvent) -> &str {
    event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structured_events_need_the_required_attributes() {
        let good = json!({"specversion": "1.0", "id": "1", "source": "/s", "type": "t"});
        assert_eq!(decode_structured(good.to_string().as_bytes()), Ok(good));
        let missing = json!({"specversion": "1.0", "id": "1", "source": "/s"});
        assert_eq!(
            decode_structured(missing.to_string().as_bytes()),
            Err(DecodeError::Missing("type"))
        );
        let old = json!({"specversion": "0.3", "id": "1", "source": "/s", "type": "t"});
        assert!(matches!(
            decode_structured(old.to_string().as_bytes()),
            Err(DecodeError::Version(_))
        ));
        assert!(matches!(
            decode_structured(b"hello"),
            Err(DecodeError::NotJson(_))
        ));
    }

    #[test]
    fn binary_events_take_attributes_from_headers_and_data_from_the_body() {
        let attributes = [
            ("specversion", "1.0"),
            ("id", "42"),
            ("source", "/shop"),
            ("type", "order.paid"),
            ("orderid", "A-1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let event = decode_binary(attributes.clone(), Some("application/json"), br#"{"x":1}"#);
        assert_eq!(
            event,
            Ok(json!({
                "specversion": "1.0", "id": "42", "source": "/shop", "type": "order.paid",
                "orderid": "A-1", "datacontenttype": "application/json", "data": {"x": 1}
            }))
        );
        let bytes = decode_binary(attributes, Some("application/octet-stream"), &[0, 1]);
        let data = bytes.ok().and_then(|e| e.get("data_base64").cloned());
        assert_eq!(data, Some(json!("AAE=")));
    }
}
