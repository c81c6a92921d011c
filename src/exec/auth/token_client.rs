//! Talking to token endpoints and OpenID discovery documents: sending, reading a bounded answer,
//! and turning refusals and network failures into problem-details errors.

use std::time::Duration;

use serde_json::Value;

use super::oauth2::{TokenRequest, body, is_absolute};
use crate::problem::{ErrorKind, WorkflowError};

/// Token responses and discovery documents are small; anything bigger is refused.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A token the endpoint issued.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub access_token: String,
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<String>,
}

/// Sends a token request. Unreachable endpoint: `communication`; a refusal or an answer without
/// a token: `authentication` (401) with the endpoint's `error` and `error_description`.
pub(crate) async fn fetch_token(
    client: &reqwest::Client,
    request: &TokenRequest,
) -> Result<Token, WorkflowError> {
    let (content_type, body) = body(request);
    let mut builder = client
        .post(&request.url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body);
    if let Some(basic) = &request.basic {
        builder = builder.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
    }
    let shown = shown_url(&request.url);
    let (status, bytes) = exchange(builder, "token endpoint", &shown).await?;
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    if !(200..300).contains(&status) {
        return Err(refused(&shown, status, json.as_ref(), &bytes));
    }
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let Some(access_token) = field("access_token") else {
        return Err(
            WorkflowError::new(ErrorKind::Authentication, "No access token").with_detail(format!(
                "the token endpoint {shown} answered {status} without an `access_token`"
            )),
        );
    };
    // `expires_in` is a number by the RFC; some servers send it as a string.
    let expires_in = json
        .as_ref()
        .and_then(|j| j.get("expires_in"))
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
    Ok(Token {
        access_token,
        expires_in: expires_in.map(Duration::from_secs),
        refresh_token: field("refresh_token"),
    })
}

/// Reads an OIDC discovery document and returns its `token_endpoint`.
pub(crate) async fn discover_token_endpoint(
    client: &reqwest::Client,
    url: &str,
) -> Result<String, WorkflowError> {
    let builder = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json");
    let url = &shown_url(url);
    let (status, bytes) = exchange(builder, "OpenID discovery document", url).await?;
    let failed = |why: String| {
        WorkflowError::new(ErrorKind::Authentication, "OpenID discovery failed").with_detail(why)
    };
    if !(200..300).contains(&status) {
        return Err(failed(format!(
            "the discovery document {url} answered {status}"
        )));
    }
    let json: Value = serde_json::from_slice(&bytes)
        .map_err(|_| failed(format!("the discovery document {url} is not JSON")))?;
    json.get("token_endpoint")
        .and_then(Value::as_str)
        .filter(|endpoint| is_absolute(endpoint))
        .map(str::to_owned)
        .ok_or_else(|| {
            failed(format!(
                "the discovery document {url} has no absolute `token_endpoint`"
            ))
        })
}

/// Sends a request and reads at most `MAX_RESPONSE_BYTES` of its answer.
async fn exchange(
    builder: reqwest::RequestBuilder,
    what: &str,
    url: &str,
) -> Result<(u16, Vec<u8>), WorkflowError> {
    let unreachable = |error: reqwest::Error| {
        WorkflowError::new(ErrorKind::Communication, format!("Cannot reach the {what}"))
            .with_detail(format!("{url}: {}", error_chain(&error.without_url())))
    };
    let mut response = builder.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(WorkflowError::new(
                ErrorKind::Communication,
                format!("The {what} answered too much"),
            )
            .with_detail(format!("{url} sent more than {MAX_RESPONSE_BYTES} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, bytes))
}

/// A URL for messages: user information (`user:password@`) left out.
fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// An error and its causes on one line ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The `authentication` error of a refused token request.
fn refused(url: &str, status: u16, json: Option<&Value>, bytes: &[u8]) -> WorkflowError {
    let text = |name: &str| json.and_then(|j| j.get(name)).and_then(Value::as_str);
    let reason = match (text("error"), text("error_description")) {
        (Some(error), Some(description)) => format!("`{error}`: {description}"),
        (Some(error), None) => format!("`{error}`"),
        (None, Some(description)) => description.to_owned(),
        (None, None) => {
            let body = String::from_utf8_lossy(bytes);
            let body = body.trim();
            if body.is_empty() {
                "no details".to_owned()
            } else {
                // Masked before it is cut: a secret cut in half would not be recognised.
                crate::secrets::shorten(body, 200, "...")
            }
        }
    };
    WorkflowError::new(ErrorKind::Authentication, "Token request refused").with_detail(format!(
        "the token endpoint {url} answered {status}: {reason}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_lose_their_user_information() {
        assert_eq!(shown_url("http://u:p@idp:8/t?x=@"), "http://idp:8/t?x=@");
        assert_eq!(shown_url("https://idp/a@b"), "https://idp/a@b");
        assert_eq!(shown_url("not a url"), "not a url");
    }

    #[test]
    fn refusals_carry_the_endpoints_reason() {
        let json =
            serde_json::json!({"error": "invalid_client", "error_description": "bad secret"});
        let error = refused("http://t", 401, Some(&json), b"");
        assert_eq!(error.status, 401);
        assert_eq!(
            error.detail.as_deref(),
            Some("the token endpoint http://t answered 401: `invalid_client`: bad secret")
        );
        let long = "x".repeat(500);
        let error = refused("http://t", 500, None, long.as_bytes());
        assert!(
            error
                .detail
                .is_some_and(|d| d.ends_with("...") && d.len() < 300)
        );
        let error = refused("http://t", 400, None, b"");
        assert!(error.detail.is_some_and(|d| d.ends_with("no details")));
    }
}
