//! Reading the AsyncAPI bindings of the web protocols from the document into the engine's
//! `WebBinding` (`crate::host::effects::asyncapi`): the WebSocket channel binding (`bindings.ws`:
//! `method`, `query`, `headers`) and the HTTP operation and message bindings (`bindings.http`:
//! `method`, `query`; the message's `headers`).
//!
//! `query` and `headers` are JSON Schemas in these bindings (they describe what the server
//! accepts, not values), so a value is sent only where the schema fixes one: a property's
//! `const`, else its `default`. Properties without either are the server's to check.

use serde_json::Value;

use crate::host::effects::asyncapi::WebBinding;

impl WebBinding {
    /// The binding of `protocol` on this channel, operation and message (the two web
    /// protocols only: the others have theirs read elsewhere).
    pub(crate) fn read(
        protocol: &str,
        channel: &Value,
        operation: Option<&Value>,
        message: Option<&Value>,
    ) -> WebBinding {
        let binding = |of: Option<&Value>, key: &str| -> Option<Value> {
            of?.get("bindings")?.get(key).cloned()
        };
        match protocol {
            "ws" | "wss" => match binding(Some(channel), "ws") {
                Some(ws) => WebBinding {
                    method: method(&ws),
                    query: fixed_values(ws.get("query")),
                    headers: fixed_values(ws.get("headers")),
                },
                None => WebBinding::default(),
            },
            "http" | "https" => {
                let operation = binding(operation, "http");
                let message = binding(message, "http");
                WebBinding {
                    method: operation.as_ref().and_then(method),
                    query: fixed_values(operation.as_ref().and_then(|o| o.get("query"))),
                    headers: fixed_values(message.as_ref().and_then(|m| m.get("headers"))),
                }
            }
            _ => WebBinding::default(),
        }
    }

    /// `url` with the query parameters appended (percent-encoded).
    pub fn url_with_query(&self, url: &str) -> String {
        if self.query.is_empty() {
            return url.to_owned();
        }
        let encoded: Vec<String> = self
            .query
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect();
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}{}", encoded.join("&"))
    }
}

fn method(binding: &Value) -> Option<String> {
    binding
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
}

/// The properties of an object schema whose value is fixed (`const`, else `default`), as text.
fn fixed_values(schema: Option<&Value>) -> Vec<(String, String)> {
    let Some(properties) = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    properties
        .iter()
        .filter_map(|(name, property)| {
            let value = property.get("const").or_else(|| property.get("default"))?;
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Null | Value::Array(_) | Value::Object(_) => return None,
                other => other.to_string(),
            };
            Some((name.clone(), text))
        })
        .collect()
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn websocket_binding_sends_fixed_query_and_headers() {
        let channel = json!({"bindings": {"ws": {
            "method": "get",
            "query": {"type": "object", "properties": {
                "room": {"type": "string", "default": "lab"},
                "token": {"type": "string"},
                "v": {"const": 2}
            }},
            "headers": {"type": "object", "properties": {"X-Site": {"const": "north"}}}
        }}});
        let binding = WebBinding::read("ws", &channel, None, None);
        assert_eq!(binding.method.as_deref(), Some("GET"));
        assert_eq!(
            binding.query,
            vec![
                ("room".to_owned(), "lab".to_owned()),
                ("v".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(
            binding.headers,
            vec![("X-Site".to_owned(), "north".to_owned())]
        );
        assert_eq!(
            binding.url_with_query("ws://h/a b"),
            "ws://h/a b?room=lab&v=2"
        );
    }

    #[test]
    fn http_binding_reads_the_operation_and_the_message() {
        let operation = json!({"bindings": {"http": {"method": "put"}}});
        let message = json!({"bindings": {"http": {"headers": {"properties": {
            "X-Key": {"default": "k"}
        }}}}});
        let binding = WebBinding::read("http", &json!({}), Some(&operation), Some(&message));
        assert_eq!(binding.method.as_deref(), Some("PUT"));
        assert_eq!(binding.headers, vec![("X-Key".to_owned(), "k".to_owned())]);
        assert!(
            WebBinding::read("nats", &json!({}), Some(&operation), None) == WebBinding::default()
        );
    }
}
