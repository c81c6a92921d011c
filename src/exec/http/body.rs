//! Bodies on the wire: encoding a request's `HttpBody` (JSON by default, form-encoded or text
//! when the headers say so) and reading a response body as a stream under a byte cap.

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use super::failure::{too_large, transport_error};
use crate::exec::http::HttpBody;
use crate::problem::WorkflowError;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const TEXT: &str = "text/plain; charset=utf-8";

/// Bytes to send and the content type to declare when the request's headers name none.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Encoded {
    pub bytes: Vec<u8>,
    pub default_type: Option<&'static str>,
}

/// Encodes a body for the request's headers: an object under a form content type is
/// form-encoded, a string is sent as is, anything else as JSON.
pub(crate) fn encode(body: &HttpBody, headers: &HeaderMap) -> Encoded {
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase());
    let default_type = |t| declared.is_none().then_some(t);
    match body {
        HttpBody::Text(text) => Encoded {
            bytes: text.as_bytes().to_vec(),
            default_type: default_type(TEXT),
        },
        HttpBody::Json(serde_json::Value::Object(map))
            if declared.as_deref().is_some_and(|t| t.starts_with(FORM)) =>
        {
            let pairs: Vec<String> = map
                .iter()
                .map(|(key, value)| {
                    let value = match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    format!("{}={}", form_component(key), form_component(&value))
                })
                .collect();
            Encoded {
                bytes: pairs.join("&").into_bytes(),
                default_type: None,
            }
        }
        HttpBody::Json(value) => Encoded {
            bytes: value.to_string().into_bytes(),
            default_type: default_type(JSON),
        },
    }
}

/// `application/x-www-form-urlencoded` encoding of one key or value (spaces become `+`).
pub(crate) fn form_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The content-type header value to add, if the request names none.
pub(crate) fn content_type_header(encoded: &Encoded) -> Option<HeaderValue> {
    encoded.default_type.map(HeaderValue::from_static)
}

/// Reads the whole body, failing as soon as it would exceed `cap` bytes: an announced length
/// over the cap fails before reading anything; a body that keeps coming fails at the cap.
/// `what` names the request in an error, and is only called for one.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: u64,
    idle: Option<std::time::Duration>,
    what: impl Fn() -> String,
) -> Result<Vec<u8>, WorkflowError> {
    let announced = response.content_length();
    if let Some(length) = announced
        && length > cap
    {
        return Err(too_large(&what(), cap, Some(length)));
    }
    // Pre-size for the announced length only (bounded by the cap, checked above).
    let mut body = Vec::with_capacity(usize::try_from(announced.unwrap_or(0)).unwrap_or(0));
    loop {
        let chunk = match idle {
            Some(idle) => tokio::time::timeout(idle, response.chunk())
                .await
                .map_err(|_| super::failure::idle_timeout(&what(), idle))?,
            None => response.chunk().await,
        };
        match chunk {
            Ok(Some(chunk)) => {
                let total = body.len() as u64 + chunk.len() as u64;
                if total > cap {
                    return Err(too_large(&what(), cap, None));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(error) => return Err(transport_error(&what(), &error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(content_type: Option<&'static str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(value) = content_type {
            map.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn json_is_the_default_encoding() {
        let encoded = encode(&HttpBody::Json(json!({"a": [1, "x"]})), &headers(None));
        assert_eq!(encoded.bytes, br#"{"a":[1,"x"]}"#);
        assert_eq!(encoded.default_type, Some(JSON));
        // A declared type is kept; the body is still JSON text.
        let declared = encode(
            &HttpBody::Json(json!([1])),
            &headers(Some("application/vnd.api+json")),
        );
        assert_eq!(declared.bytes, b"[1]");
        assert_eq!(declared.default_type, None);
    }

    #[test]
    fn objects_are_form_encoded_under_a_form_content_type() {
        let encoded = encode(
            &HttpBody::Json(json!({"name": "a b&c", "n": 3, "ok": true})),
            &headers(Some("application/x-www-form-urlencoded")),
        );
        assert_eq!(
            String::from_utf8_lossy(&encoded.bytes),
            "name=a+b%26c&n=3&ok=true"
        );
        assert_eq!(encoded.default_type, None);
    }

    #[test]
    fn strings_are_sent_as_text() {
        let encoded = encode(&HttpBody::Text("héllo".into()), &headers(None));
        assert_eq!(encoded.bytes, "héllo".as_bytes());
        assert_eq!(encoded.default_type, Some(TEXT));
        assert_eq!(form_component("é/~"), "%C3%A9%2F%7E");
    }
}
