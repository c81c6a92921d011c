//! One A2A JSON-RPC exchange: find the agent (its card, or the server given), POST the request,
//! read the answer: one JSON-RPC response, or for a stream the events' responses in order.

use serde_json::{Value, json};

use super::card::{self, Target};
use super::{A2aAgent, A2aRequest, is_streaming, sse};
use crate::exec::http::display_url;
use crate::exec::http::response::check_status;
use crate::exec::resource;
use crate::host::effects::http::{HttpBody, HttpClient, HttpRequest};
use crate::problem::{ErrorKind, WorkflowError};

pub(super) async fn call(
    http: &dyn HttpClient,
    request: A2aRequest,
) -> Result<Value, WorkflowError> {
    let target = match request.agent {
        A2aAgent::Card {
            location,
            credentials,
        } => {
            let text = resource::fetch(&location, http, credentials.clone()).await?;
            card::target(&text, &location, credentials)?
        }
        A2aAgent::Server { url, credentials } => Target {
            url,
            credentials,
            headers: Vec::new(),
            query: Vec::new(),
        },
    };
    let streaming = is_streaming(&request.method);
    let body = json!({
        "jsonrpc": "2.0",
        "id": uuid::Uuid::new_v4().to_string(),
        "method": request.method,
        "params": request.params,
    });
    let mut headers = target.headers;
    let accept = if streaming {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.push(("Accept".to_owned(), accept.to_owned()));
    let shown = display_url(&target.url);
    let response = http
        .send(HttpRequest {
            method: "POST".to_owned(),
            url: target.url,
            query: target.query,
            headers,
            body: Some(HttpBody::Json(body)),
            redirect: false,
            credentials: target.credentials,
        })
        .await?;
    check_status(&response, false)?;
    let event_stream = response.headers.iter().any(|(name, value)| {
        name == "content-type" && value.trim_start().starts_with("text/event-stream")
    });
    let text = String::from_utf8_lossy(&response.body);
    let method = request.method.as_str();
    if event_stream {
        let results = sse::events(&text)
            .iter()
            .map(|data| result_of(parse(data, method, &shown)?, method))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(match (streaming, <[Value; 1]>::try_from(results)) {
            // A non-streaming method answered over SSE: its one response is the result.
            (false, Ok([only])) => only,
            (_, Ok(one)) => Value::Array(one.into()),
            (_, Err(many)) => Value::Array(many),
        });
    }
    let result = result_of(parse(&text, method, &shown)?, method)?;
    // An agent may answer a stream request with one plain response.
    Ok(if streaming {
        Value::Array(vec![result])
    } else {
        result
    })
}

fn parse(text: &str, method: &str, agent: &str) -> Result<Value, WorkflowError> {
    serde_json::from_str(text).map_err(|why| {
        WorkflowError::new(ErrorKind::Communication, "Unreadable A2A answer").with_detail(format!(
            "`{method}` at {agent}: the answer is not JSON ({why}): {}",
            snippet(text)
        ))
    })
}

/// The `result` of a JSON-RPC response, or its `error` as a `runtime` error.
fn result_of(message: Value, method: &str) -> Result<Value, WorkflowError> {
    if let Some(error) = message.get("error") {
        let text = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let mut detail = format!("`{method}`: {text}");
        if let Some(code) = error.get("code") {
            detail.push_str(&format!(" (JSON-RPC error {code})"));
        }
        if let Some(data) = error.get("data") {
            detail.push_str(&format!("; data: {data}"));
        }
        return Err(
            WorkflowError::new(ErrorKind::Runtime, "A2A agent returned an error")
                .with_detail(detail),
        );
    }
    match message {
        Value::Object(mut map) if map.contains_key("result") => {
            Ok(map.remove("result").unwrap_or(Value::Null))
        }
        other => Err(
            WorkflowError::new(ErrorKind::Communication, "Unreadable A2A answer").with_detail(
                format!(
                    "`{method}`: not a JSON-RPC response: {}",
                    snippet(&other.to_string())
                ),
            ),
        ),
    }
}

fn snippet(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_errors_are_told_apart() {
        assert_eq!(
            result_of(
                json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "task"}}),
                "m"
            ),
            Ok(json!({"kind": "task"}))
        );
        let error = result_of(
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "Task not found"}}),
            "tasks/get",
        )
        .err()
        .unwrap_or_else(|| panic!("accepted"));
        assert!(error.type_.ends_with("/runtime"));
        assert_eq!(
            error.detail.as_deref(),
            Some("`tasks/get`: Task not found (JSON-RPC error -32001)")
        );
        let odd = result_of(json!([1]), "m")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(odd.type_.ends_with("/communication"));
    }
}
