//! What an HTTP response becomes: an error for a status outside the accepted range (decision 8:
//! the real status, the response's title, a short excerpt of its body), or the call's output
//! in its `output` mode (`content`, `response`, `raw`).

use base64::Engine as _;

use super::{HttpResponse, display_url};
use crate::document::HttpOutput;
use crate::expr::{Val, from_json, obj, string};
use crate::problem::{ErrorKind, WorkflowError};

/// Characters of a response body an error detail shows at most.
const EXCERPT_CHARS: usize = 200;
/// Status of the error raised when a response that says it is JSON is not.
const STATUS_BAD_RESPONSE: u16 = 502;

/// Accepts 2xx; with `redirect`, also a 3xx that was not followed (a 304, a 300). Anything else
/// is an error: 401 `authentication`, 403 `authorization`, every other status `communication`.
pub(crate) fn check_status(response: &HttpResponse, redirect: bool) -> Result<(), WorkflowError> {
    let status = response.status;
    if (200..300).contains(&status) || (redirect && (300..400).contains(&status)) {
        return Ok(());
    }
    let kind = match status {
        401 => ErrorKind::Authentication,
        403 => ErrorKind::Authorization,
        _ => ErrorKind::Communication,
    };
    let problem = problem_details(response);
    let title = problem
        .as_ref()
        .and_then(|p| p.get("title"))
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| match reason(status) {
            Some(reason) => reason.to_owned(),
            None => format!("HTTP {status}"),
        });
    let mut detail = format!(
        "{} {} answered {status}",
        response.sent.method,
        display_url(&response.sent.url)
    );
    if let Some(reason) = reason(status) {
        detail.push(' ');
        detail.push_str(reason);
    }
    if (300..400).contains(&status) && !redirect {
        detail.push_str(" (redirects are followed only with `redirect: true`)");
    }
    if let Some(excerpt) = excerpt(response, problem.as_ref()) {
        detail.push_str(": ");
        detail.push_str(&excerpt);
    }
    Err(WorkflowError::new(kind, title)
        .with_status(status)
        .with_detail(detail))
}

/// The call's raw output in `mode`.
pub(crate) fn shape(mode: HttpOutput, response: &HttpResponse) -> Result<Val, WorkflowError> {
    match mode {
        HttpOutput::Content => content(response),
        HttpOutput::Raw => Ok(string(
            base64::engine::general_purpose::STANDARD.encode(&response.body),
        )),
        HttpOutput::Response => Ok(obj([
            (
                "request",
                obj([
                    ("method", string(response.sent.method.as_str())),
                    ("uri", string(response.sent.url.as_str())),
                    ("headers", headers(&response.sent.headers)),
                ]),
            ),
            ("statusCode", Val::from(usize::from(response.status))),
            ("headers", headers(&response.headers)),
            ("content", content(response)?),
        ])),
    }
}

/// The body, deserialized: JSON parsed when the content type says JSON, text otherwise; an
/// empty body is null.
pub(crate) fn content(response: &HttpResponse) -> Result<Val, WorkflowError> {
    if response.body.is_empty() {
        return Ok(Val::Null);
    }
    if is_json(content_type(&response.headers)) {
        return match serde_json::from_slice::<serde_json::Value>(&response.body) {
            Ok(json) => Ok(from_json(&json)),
            Err(error) => Err(WorkflowError::new(
                ErrorKind::Communication,
                "Invalid JSON response",
            )
            .with_status(STATUS_BAD_RESPONSE)
            .with_detail(format!(
                "{} {} answered {} with a JSON content type, but the body is not JSON ({error})",
                response.sent.method,
                display_url(&response.sent.url),
                response.status
            ))),
        };
    }
    Ok(string(String::from_utf8_lossy(&response.body).into_owned()))
}

/// The `content-type` header's value, if any (names are lower case).
pub(crate) fn content_type(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str())
}

/// `application/json`, `text/json` and any `+json` type (`application/problem+json`), with
/// any parameters.
pub(crate) fn is_json(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

/// Headers as an object; a repeated name's values are joined with `, ` (RFC 9110 §5.3).
fn headers(pairs: &[(String, String)]) -> Val {
    let mut merged: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        let name = name.to_ascii_lowercase();
        match merged.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            None => merged.push((name, value.clone())),
        }
    }
    obj(merged
        .iter()
        .map(|(name, value)| (name.as_str(), string(value.as_str()))))
}

/// A JSON error body, when the response has one (problem details or any JSON object).
fn problem_details(response: &HttpResponse) -> Option<serde_json::Map<String, serde_json::Value>> {
    if !is_json(content_type(&response.headers)) {
        return None;
    }
    match serde_json::from_slice(&response.body) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A short, single-line view of an error body: a problem's `detail`, a JSON body's text, an
/// HTML page's `<title>`, or the start of a text body. Never a whole page.
fn excerpt(
    response: &HttpResponse,
    problem: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Option<String> {
    if response.body.is_empty() {
        return None;
    }
    if let Some(detail) = problem
        .and_then(|p| p.get("detail"))
        .and_then(|d| d.as_str())
    {
        return Some(shorten(detail));
    }
    let content_type = content_type(&response.headers).unwrap_or_default();
    let text = match std::str::from_utf8(&response.body) {
        Ok(text) => text,
        Err(_) => {
            return Some(format!(
                "a body of {} bytes{}",
                response.body.len(),
                if content_type.is_empty() {
                    String::new()
                } else {
                    format!(" ({content_type})")
                }
            ));
        }
    };
    if content_type.to_ascii_lowercase().contains("html") {
        let title = html_title(text);
        return Some(match title {
            Some(title) => format!("an HTML page titled \"{}\"", shorten(title)),
            None => format!("an HTML page of {} bytes", response.body.len()),
        });
    }
    let shown = shorten(text);
    (!shown.is_empty()).then_some(shown)
}

fn html_title(page: &str) -> Option<&str> {
    let lower = page.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower.get(open..)?.find('>')? + 1;
    let end = start + lower.get(start..)?.find("</title")?;
    page.get(start..end).map(str::trim)
}

/// Whitespace collapsed to single spaces, cut at `EXCERPT_CHARS` with an ellipsis.
fn shorten(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Masked before it is cut: a secret cut in half would no longer be recognised.
    crate::secrets::shorten(&collapsed, EXCERPT_CHARS, "…")
}

fn reason(status: u16) -> Option<&'static str> {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::http::SentRequest;
    use crate::expr::to_json;
    use serde_json::json;

    fn response(status: u16, content_type: Option<&str>, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: content_type
                .map(|t| vec![("content-type".to_owned(), t.to_owned())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
            sent: SentRequest {
                method: "GET".into(),
                url: "http://u:p@127.0.0.1:9/pets?x=1".into(),
                headers: vec![("accept".into(), "*/*".into())],
            },
            authorization: None,
        }
    }

    fn error(response: &HttpResponse, redirect: bool) -> WorkflowError {
        check_status(response, redirect)
            .err()
            .unwrap_or_else(|| panic!("status {} accepted", response.status))
    }

    #[test]
    fn content_types_decide_parsing() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(is_json(Some("application/problem+json")));
        assert!(is_json(Some("text/json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(Some("application/jsonp")));
        assert!(!is_json(None));
        let parsed = content(&response(200, Some("application/json"), r#"{"a":[1]}"#));
        assert_eq!(parsed.map(|v| to_json(&v)), Ok(json!({"a": [1]})));
        let text = content(&response(200, Some("text/plain"), r#"{"a":1}"#));
        assert_eq!(text.map(|v| to_json(&v)), Ok(json!("{\"a\":1}")));
        let untyped = content(&response(200, None, "hi"));
        assert_eq!(untyped.map(|v| to_json(&v)), Ok(json!("hi")));
        let empty = content(&response(204, Some("application/json"), ""));
        assert_eq!(empty.map(|v| to_json(&v)), Ok(json!(null)));
    }

    #[test]
    fn a_body_that_lies_about_json_is_an_error() {
        let error = content(&response(200, Some("application/json"), "<html>"))
            .err()
            .unwrap_or_else(|| panic!("parsed"));
        assert_eq!(error.status, 502);
        assert!(error.type_.ends_with("/communication"));
        let detail = error.detail.unwrap_or_default();
        assert!(
            detail.starts_with("GET http://127.0.0.1:9/pets?x=1 answered 200"),
            "{detail}"
        );
    }

    #[test]
    fn output_modes_shape_the_response() {
        let mut answer = response(201, Some("application/json"), r#"{"id":7}"#);
        answer.headers.push(("set-cookie".into(), "a=1".into()));
        answer.headers.push(("set-cookie".into(), "b=2".into()));
        let shaped = shape(HttpOutput::Response, &answer).map(|v| to_json(&v));
        assert_eq!(
            shaped,
            Ok(json!({
                "request": {
                    "method": "GET",
                    "uri": "http://u:p@127.0.0.1:9/pets?x=1",
                    "headers": {"accept": "*/*"}
                },
                "statusCode": 201,
                "headers": {"content-type": "application/json", "set-cookie": "a=1, b=2"},
                "content": {"id": 7}
            }))
        );
        let raw = shape(HttpOutput::Raw, &response(200, None, "hello")).map(|v| to_json(&v));
        assert_eq!(raw, Ok(json!("aGVsbG8=")));
        let content = shape(HttpOutput::Content, &answer).map(|v| to_json(&v));
        assert_eq!(content, Ok(json!({"id": 7})));
    }

    #[test]
    fn statuses_map_to_error_kinds() {
        assert!(check_status(&response(204, None, ""), false).is_ok());
        let not_found = error(
            &response(404, Some("application/json"), r#"{"message":"no pet"}"#),
            false,
        );
        assert_eq!(not_found.status, 404);
        assert!(not_found.type_.ends_with("/communication"));
        assert_eq!(not_found.title.as_deref(), Some("Not Found"));
        assert_eq!(
            not_found.detail.as_deref(),
            Some(r#"GET http://127.0.0.1:9/pets?x=1 answered 404 Not Found: {"message":"no pet"}"#)
        );
        let unauthorized = error(&response(401, None, ""), false);
        assert!(unauthorized.type_.ends_with("/authentication"));
        assert_eq!(unauthorized.status, 401);
        let forbidden = error(&response(403, None, ""), true);
        assert!(forbidden.type_.ends_with("/authorization"));
        assert_eq!(forbidden.status, 403);
        let odd = error(&response(599, None, ""), false);
        assert_eq!(odd.title.as_deref(), Some("HTTP 599"));
    }

    #[test]
    fn redirects_are_errors_only_when_not_followed() {
        let moved = error(&response(302, None, ""), false);
        assert_eq!(moved.status, 302);
        assert!(
            moved
                .detail
                .unwrap_or_default()
                .contains("only with `redirect: true`")
        );
        assert!(check_status(&response(304, None, ""), true).is_ok());
    }

    #[test]
    fn error_details_stay_short() {
        let page = format!(
            "<html><head><TITLE> Gateway\n down </TITLE></head><body>{}</body></html>",
            "x".repeat(10_000)
        );
        let bad_gateway = error(&response(502, Some("text/html"), &page), false);
        let detail = bad_gateway.detail.unwrap_or_default();
        assert!(
            detail.ends_with(r#"an HTML page titled "Gateway down""#),
            "{detail}"
        );
        let long = error(
            &response(500, Some("text/plain"), &"word ".repeat(500)),
            false,
        );
        let detail = long.detail.unwrap_or_default();
        assert!(detail.chars().count() < 300, "{detail}");
        assert!(detail.ends_with('…'));
        let problem = error(
            &response(
                409,
                Some("application/problem+json"),
                r#"{"title":"Pet exists","detail":"id 7 is taken"}"#,
            ),
            false,
        );
        assert_eq!(problem.title.as_deref(), Some("Pet exists"));
        assert!(
            problem
                .detail
                .unwrap_or_default()
                .ends_with("409 Conflict: id 7 is taken")
        );
    }
}
