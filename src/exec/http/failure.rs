//! Transport failures as problem details: what went wrong talking to a server (connect, DNS,
//! TLS, timeouts, broken bodies, caps, redirects) becomes a `communication` error whose status
//! says which kind of failure it was and whose detail names the request and the root cause.
//!
//! Statuses chosen (the spec only says `communication`): 503 when no connection could be made
//! (refused, DNS, TLS handshake), 504 when the server did not answer in time, 502 when the
//! response was unusable (broken or oversized body), and the real 3xx status when redirects
//! could not be followed.

use crate::problem::{ErrorKind, WorkflowError};

/// No connection could be made: the service is unavailable from here.
pub(crate) const STATUS_UNREACHABLE: u16 = 503;
/// Connected (or trying to) but no answer in time.
pub(crate) const STATUS_TIMED_OUT: u16 = 504;
/// An answer that cannot be used: broken framing, a body over the cap, invalid JSON.
pub(crate) const STATUS_BAD_RESPONSE: u16 = 502;

/// `METHOD URL` as error details show it: user and password are removed from the URL.
pub(crate) fn describe(method: &str, url: &reqwest::Url) -> String {
    format!("{method} {}", display_url(url))
}

/// A URL's text without its user information; text that is not a URL is returned as is.
pub(crate) fn display_url_text(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => display_url(&parsed),
        Err(_) => url.to_owned(),
    }
}

/// The URL without its user information (a password must not reach a log line).
pub(crate) fn display_url(url: &reqwest::Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Both setters only fail on URLs that cannot have credentials, which these had.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A reqwest failure while sending `what` (`GET http://...`) or reading its response.
pub(crate) fn transport_error(what: &str, error: &reqwest::Error) -> WorkflowError {
    let cause = root_causes(error);
    let host = error.url().and_then(|u| {
        u.host_str()
            .map(|h| (h.to_owned(), u.port_or_known_default()))
    });
    let place = match host {
        Some((host, Some(port))) => format!("{host}:{port}"),
        Some((host, None)) => host,
        None => "the server".to_owned(),
    };
    let (title, status, detail) = if error.is_timeout() {
        (
            "HTTP request timed out",
            STATUS_TIMED_OUT,
            format!("{what}: {place} did not answer in time ({cause})"),
        )
    } else if error.is_dns() {
        (
            "Cannot resolve host",
            STATUS_UNREACHABLE,
            format!("{what}: cannot resolve the host of {place} ({cause})"),
        )
    } else if error.is_connect() {
        (
            "Cannot connect",
            STATUS_UNREACHABLE,
            format!("{what}: cannot connect to {place} ({cause})"),
        )
    } else if error.is_body() || error.is_decode() {
        (
            "Broken HTTP response",
            STATUS_BAD_RESPONSE,
            format!("{what}: the response from {place} broke off ({cause})"),
        )
    } else {
        (
            "HTTP request failed",
            STATUS_BAD_RESPONSE,
            format!("{what}: {cause}"),
        )
    };
    WorkflowError::new(ErrorKind::Communication, title)
        .with_status(status)
        .with_detail(detail)
}

/// A response body over the cap: never cut silently.
pub(crate) fn too_large(what: &str, cap: u64, announced: Option<u64>) -> WorkflowError {
    let size = match announced {
        Some(length) => format!("announces {length} bytes"),
        None => "kept coming".to_owned(),
    };
    WorkflowError::new(ErrorKind::Communication, "HTTP response too large")
        .with_status(STATUS_BAD_RESPONSE)
        .with_detail(format!(
            "{what}: the response body {size}, more than the {cap} bytes allowed \
             (raise it with --max-response-bytes or WORKFLOW_MAX_RESPONSE_BYTES)"
        ))
}

/// A request this client cannot even build (bad URL, header, method).
pub(crate) fn invalid_request(detail: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Invalid HTTP request").with_detail(detail)
}

/// A server that sent nothing for the idle timeout (`--http-timeout`).
pub(crate) fn idle_timeout(what: &str, idle: std::time::Duration) -> WorkflowError {
    WorkflowError::new(ErrorKind::Timeout, "HTTP call timed out").with_detail(format!(
        "{what}: the server sent nothing for {} s (`--http-timeout SECONDS` changes this \
         limit, 0 removes it)",
        idle.as_secs()
    ))
}

/// A redirect that cannot be followed; the status is the redirect's own.
pub(crate) fn bad_redirect(status: u16, detail: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Communication, "Redirect not followed")
        .with_status(status)
        .with_detail(detail)
}

/// The messages of the error's source chain, outermost first, without the repetitions that
/// layered errors produce (`error trying to connect: tcp connect error: Connection refused`).
pub(crate) fn root_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = error.source();
    // The outermost reqwest message repeats the URL and the kind; its sources say why.
    if current.is_none() {
        messages.push(error.to_string());
    }
    while let Some(err) = current {
        let text = err.to_string();
        let repeated = messages.iter().any(|m| m.contains(&text));
        if !text.is_empty() && !repeated {
            // A later, more specific message may repeat this one: keep the most specific.
            messages.retain(|m| !text.contains(m.as_str()));
            messages.push(text);
        }
        current = err.source();
    }
    if messages.is_empty() {
        error.to_string()
    } else {
        messages.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|l| l as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn causes_skip_the_outer_message_and_repetitions() {
        let chain = Layer(
            "error sending request for url (http://x/)",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(Layer(
                    "tcp connect error",
                    Some(Box::new(Layer("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            root_causes(&chain),
            "client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(root_causes(&Layer("alone", None)), "alone");
        let repeated = Layer(
            "outer",
            Some(Box::new(Layer(
                "dns error",
                Some(Box::new(Layer("dns error", None))),
            ))),
        );
        assert_eq!(root_causes(&repeated), "dns error");
    }

    #[test]
    fn urls_lose_their_credentials_in_messages() {
        let url = reqwest::Url::parse("http://me:secret@127.0.0.1:8080/a?b=c")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(describe("GET", &url), "GET http://127.0.0.1:8080/a?b=c");
        let plain = reqwest::Url::parse("https://h/x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(display_url(&plain), "https://h/x");
        assert_eq!(display_url_text("http://a:b@h/"), "http://h/");
        assert_eq!(display_url_text("not a url"), "not a url");
    }

    #[test]
    fn caps_name_the_limit_and_the_request() {
        let error = too_large("GET http://h/big", 1024, Some(4096));
        assert_eq!(error.status, 502);
        assert!(error.type_.ends_with("/communication"));
        let detail = error.detail.unwrap_or_default();
        assert!(detail.contains("1024 bytes"), "{detail}");
        assert!(detail.contains("GET http://h/big"), "{detail}");
        assert!(detail.contains("4096"), "{detail}");
    }
}
