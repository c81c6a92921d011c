//! `ReqwestHttp`: the real `HttpClient`, over one shared `reqwest::Client` (rustls, pooled
//! connections). Redirects are followed here, by hand, so each request decides (`redirect`) and
//! the method rules of RFC 9110 apply; credentials are applied up front or on a `401`
//! challenge; response bodies are read under a byte cap.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION,
    WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};

use super::body::{Encoded, content_type_header, encode, read_capped};
use super::failure::{bad_redirect, describe, invalid_request, transport_error};
use crate::exec::auth::Authenticator;
use crate::exec::http::{HttpClient, HttpRequest, HttpResponse, SentRequest};
use crate::host::effects::credentials::{Authorization, Credentials};
use crate::problem::{ErrorKind, WorkflowError};

/// How the client behaves; `Default` suits the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Response bodies larger than this are a `communication` error (never cut).
    pub max_response_bytes: u64,
    /// Time allowed to open a connection (TCP and TLS). There is no overall timeout: the
    /// task's `timeout` bounds the whole call.
    pub connect_timeout: Duration,
    /// Redirects followed per request when `redirect: true`.
    pub max_redirects: usize,
    /// Longest wait for the server to send anything (headers, or the next part of the body);
    /// `None` waits forever. A server that accepts the connection and never answers would
    /// otherwise hang the run (and a CI job) for good.
    pub idle_timeout: Option<Duration>,
}

impl HttpSettings {
    pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
    /// The default of `idle_timeout` (and of `--http-timeout`), in seconds.
    pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 120;
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            connect_timeout: Duration::from_secs(10),
            max_redirects: 10,
            idle_timeout: Some(Duration::from_secs(Self::DEFAULT_IDLE_TIMEOUT_SECS)),
        }
    }
}

/// The real HTTP client. Cheap to clone; clones share connections and the authenticator.
#[derive(Clone)]
pub struct ReqwestHttp {
    inner: Arc<Inner>,
}

struct Inner {
    /// The client and its authenticator, started by the first call: loading the system's root
    /// certificates takes milliseconds that a workflow without HTTP calls should not pay.
    connection: OnceLock<Result<Connection, WorkflowError>>,
    settings: HttpSettings,
}

struct Connection {
    client: reqwest::Client,
    authenticator: Authenticator,
}

impl ReqwestHttp {
    pub fn new(settings: HttpSettings) -> Self {
        ReqwestHttp {
            inner: Arc::new(Inner {
                connection: OnceLock::new(),
                settings,
            }),
        }
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.inner.settings
    }

    /// The shared reqwest client and its authenticator, for protocols that send the requests
    /// themselves (MCP's Streamable HTTP, AsyncAPI's HTTP streams): they share the pool,
    /// timeouts and token cache.
    pub(crate) fn shared(&self) -> Result<(reqwest::Client, Authenticator), WorkflowError> {
        let connection = self.inner.connection()?;
        Ok((connection.client.clone(), connection.authenticator.clone()))
    }
}

impl Default for ReqwestHttp {
    fn default() -> Self {
        ReqwestHttp::new(HttpSettings::default())
    }
}

impl HttpClient for ReqwestHttp {
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'static, Result<HttpResponse, WorkflowError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { inner.exchange(request).await })
    }

    /// A first call made meanwhile waits for this one set-up instead of doing its own; a thread
    /// that cannot start only means the first call sets the client up itself.
    fn prepare_in_background(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = std::thread::Builder::new()
            .name("http-client".into())
            .spawn(move || {
                let _ = inner.connection();
            });
    }
}

/// One request as it goes out, updated by redirects and challenges.
struct Outgoing {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Encoded>,
    credentials: Option<Credentials>,
    authorization: Option<Authorization>,
}

impl Inner {
    /// Builds the client on first use. Building fails only when the TLS back end cannot start;
    /// every call then says why.
    fn connection(&self) -> Result<&Connection, WorkflowError> {
        let connection = self.connection.get_or_init(|| {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(self.settings.connect_timeout)
                .user_agent(concat!("workflow/", env!("CARGO_PKG_VERSION")))
                .tcp_nodelay(true)
                .build()
                .map_err(|e| {
                    WorkflowError::new(ErrorKind::Configuration, "HTTP client unavailable")
                        .with_detail(format!(
                            "the HTTP client could not start: {}",
                            super::failure::root_causes(&e)
                        ))
                })?;
            // Token requests share the pool and the connect timeout of the calls.
            Ok(Connection {
                authenticator: Authenticator::new(client.clone()),
                client,
            })
        });
        connection.as_ref().map_err(WorkflowError::clone)
    }

    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, WorkflowError> {
        let connection = self.connection()?;
        let client = &connection.client;
        let mut out = prepare(&request)?;
        if let Some(credentials) = &out.credentials {
            out.authorization = connection.authenticator.authorize(credentials).await?;
        }
        let mut hops = 0;
        let mut challenged = false;
        loop {
            // What the request is, for error messages: built only when one is needed (it was a
            // measurable share of a fast local call).
            let what = |out: &Outgoing| describe(out.method.as_str(), &out.url);
            let sent = send_once(client, &out);
            let response = match self.settings.idle_timeout {
                Some(idle) => tokio::time::timeout(idle, sent)
                    .await
                    .map_err(|_| super::failure::idle_timeout(&what(&out), idle))?,
                None => sent.await,
            }
            .map_err(|e| transport_error(&what(&out), &e))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                if self.answer(&mut out, response.headers())? {
                    continue;
                }
            }
            if request.redirect && is_followed(status) {
                hops += 1;
                if hops > self.settings.max_redirects {
                    return Err(bad_redirect(
                        status.as_u16(),
                        format!(
                            "{}: more than {} redirects; the last one answered {status}",
                            what(&out),
                            self.settings.max_redirects
                        ),
                    ));
                }
                let described = what(&out);
                redirect(&mut out, status, response.headers(), &described)?;
                challenged = false;
                continue;
            }
            let headers = response_headers(response.headers());
            // A HEAD response, a 204 and a 304 have no body, whatever Content-Length says.
            let bodiless = out.method == Method::HEAD
                || status == StatusCode::NO_CONTENT
                || status == StatusCode::NOT_MODIFIED;
            let body = if bodiless {
                Vec::new()
            } else {
                read_capped(
                    response,
                    self.settings.max_response_bytes,
                    self.settings.idle_timeout,
                    || what(&out),
                )
                .await?
            };
            return Ok(HttpResponse {
                status: status.as_u16(),
                headers,
                body,
                sent: SentRequest {
                    method: out.method.to_string(),
                    url: out.url.to_string(),
                    headers: sent_headers(&out),
                },
                authorization: out.authorization,
            });
        }
    }

    /// Answers a `401` challenge once, when the request carries credentials that can.
    fn answer(&self, out: &mut Outgoing, headers: &HeaderMap) -> Result<bool, WorkflowError> {
        let Some(credentials) = &out.credentials else {
            return Ok(false);
        };
        // A server may send each challenge in its own header: the parser reads them joined.
        let challenges: Vec<&str> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if challenges.is_empty() {
            return Ok(false);
        }
        let challenge = challenges.join(", ");
        let challenge = challenge.as_str();
        let uri = match out.url.query() {
            Some(query) => format!("{}?{query}", out.url.path()),
            None => out.url.path().to_owned(),
        };
        match self.connection()?.authenticator.answer_challenge(
            credentials,
            challenge,
            out.method.as_str(),
            &uri,
        )? {
            Some(answer) => {
                out.authorization = Some(answer);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Checks and converts everything the request names, before anything is sent.
fn prepare(request: &HttpRequest) -> Result<Outgoing, WorkflowError> {
    // Methods are case-sensitive on the wire; the DSL writes them in any case.
    let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| invalid_request(format!("`{}` is not an HTTP method", request.method)))?;
    let mut url = Url::parse(&request.url)
        .map_err(|e| invalid_request(format!("`{}` is not an absolute URL ({e})", request.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_request(format!(
            "`{}`: only http and https URLs can be called",
            request.url
        )));
    }
    if !request.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &request.query {
            pairs.append_pair(name, value);
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid_request(format!("`{name}` is not a valid header name")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            invalid_request(format!(
                "the value of header `{name}` holds characters a header cannot carry"
            ))
        })?;
        headers.append(header, value);
    }
    let body = request.body.as_ref().map(|body| encode(body, &headers));
    Ok(Outgoing {
        method,
        url,
        headers,
        body,
        credentials: request.credentials.clone(),
        authorization: None,
    })
}

async fn send_once(
    client: &reqwest::Client,
    out: &Outgoing,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut headers = out.headers.clone();
    if let Some(authorization) = &out.authorization {
        // The policy's credentials replace an `Authorization` header written by hand. A value
        // a header cannot carry is left out; the server's 401 then says so.
        if let Ok(value) = HeaderValue::from_str(&authorization.header()) {
            headers.insert(AUTHORIZATION, value);
        }
    }
    let mut builder = client.request(out.method.clone(), out.url.clone());
    if let Some(body) = &out.body {
        if let Some(content_type) = content_type_header(body) {
            headers.insert(CONTENT_TYPE, content_type);
        }
        builder = builder.body(body.bytes.clone());
    }
    builder.headers(headers).send().await
}

/// The statuses that name another location to request (300, 304 and 305 do not).
fn is_followed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Moves the request to the response's `Location`, per RFC 9110 §15.4: 303 turns any method
/// but HEAD into GET, 301 and 302 turn POST into GET (as every user agent does), 307 and 308
/// keep the method and body. Credentials never follow a redirect to another origin.
fn redirect(
    out: &mut Outgoing,
    status: StatusCode,
    headers: &HeaderMap,
    what: &str,
) -> Result<(), WorkflowError> {
    let code = status.as_u16();
    let location = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad_redirect(code, format!("{what}: {status} without a Location header")))?;
    let next = out.url.join(location).map_err(|e| {
        bad_redirect(
            code,
            format!("{what}: {status} to `{location}`, which is not a URL ({e})"),
        )
    })?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(bad_redirect(
            code,
            format!("{what}: {status} to `{next}`: only http and https are followed"),
        ));
    }
    let to_get = match code {
        303 => out.method != Method::HEAD,
        301 | 302 => out.method == Method::POST,
        _ => false,
    };
    if to_get {
        out.method = Method::GET;
        out.body = None;
        out.headers.remove(CONTENT_TYPE);
        out.headers.remove(CONTENT_LENGTH);
    }
    if next.origin() != out.url.origin() {
        if out.body.is_some() {
            // 307 and 308 keep the body: sending it to a server the task never named could
            // hand it data (or credentials in it) meant for the first one.
            return Err(bad_redirect(
                code,
                format!(
                    "{what}: {status} to `{next}`, another origin; the request body is not sent \
                     there (call that URL directly if it is meant to receive it)"
                ),
            ));
        }
        out.credentials = None;
        out.authorization = None;
        // Any header the task wrote may carry a credential (`Cookie`, `X-Api-Key`, a
        // hand-written `Authorization`...): only content negotiation goes to another origin.
        out.headers.retain_negotiation();
    }
    out.url = next;
    Ok(())
}

/// Keeping only the headers that say what the client accepts.
trait RetainNegotiation {
    fn retain_negotiation(&mut self);
}

impl RetainNegotiation for HeaderMap {
    fn retain_negotiation(&mut self) {
        const KEPT: [HeaderName; 4] = [
            reqwest::header::ACCEPT,
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::ACCEPT_ENCODING,
            reqwest::header::USER_AGENT,
        ];
        let mut kept = HeaderMap::new();
        for name in &KEPT {
            for value in self.get_all(name) {
                kept.append(name.clone(), value.clone());
            }
        }
        *self = kept;
    }
}

/// Lower-case names and values, in arrival order.
fn response_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The headers of the request as sent, for `output: response`. The `Authorization` header that
/// an authentication policy added is left out (it is `$authorization`); a content type this
/// client chose is included.
fn sent_headers(out: &Outgoing) -> Vec<(String, String)> {
    let mut sent = response_headers(&out.headers);
    if let Some(body) = &out.body
        && let Some(default) = body.default_type
    {
        sent.push((CONTENT_TYPE.as_str().to_owned(), default.to_owned()));
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::http::HttpBody;

    fn request(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            query: vec![],
            headers: vec![],
            body: None,
            redirect: true,
            credentials: None,
        }
    }

    fn outgoing(method: &str, url: &str, body: bool) -> Outgoing {
        let mut request = request(method, url);
        request.headers = vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Trace".into(), "1".into()),
        ];
        if body {
            request.body = Some(HttpBody::Json(serde_json::json!({"a": 1})));
        }
        request.credentials = Some(Credentials::Bearer { token: "t".into() });
        let mut out = prepare(&request).unwrap_or_else(|e| panic!("{e}"));
        out.authorization = Some(Authorization {
            scheme: "Bearer".into(),
            parameter: "t".into(),
        });
        out
    }

    fn location(to: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(to) {
            headers.insert(LOCATION, value);
        }
        headers
    }

    #[test]
    fn requests_are_checked_before_sending() {
        let mut bad = request("GET", "not a url");
        assert!(prepare(&bad).is_err());
        bad.url = "ftp://h/x".into();
        let error = prepare(&bad)
            .err()
            .unwrap_or_else(|| panic!("ftp accepted"));
        assert_eq!(error.status, 400);
        assert!(
            error
                .detail
                .unwrap_or_default()
                .contains("only http and https")
        );
        bad = request("GE T", "http://h/");
        assert!(prepare(&bad).is_err());
        bad = request("GET", "http://h/");
        bad.headers = vec![("bad name".into(), "v".into())];
        assert!(prepare(&bad).is_err());
        bad.headers = vec![("x".into(), "line\nbreak".into())];
        assert!(prepare(&bad).is_err());
    }

    #[test]
    fn query_pairs_are_appended_encoded() {
        let mut with_query = request("get", "http://h/p?fixed=1");
        with_query.query = vec![("q".into(), "a b&c".into()), ("q".into(), "é".into())];
        let out = prepare(&with_query).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.url.as_str(), "http://h/p?fixed=1&q=a+b%26c&q=%C3%A9");
        assert_eq!(out.method, Method::GET);
    }

    #[test]
    fn see_other_turns_into_a_get_without_body() {
        let mut out = outgoing("PUT", "http://h/a/b", true);
        redirect(
            &mut out,
            StatusCode::SEE_OTHER,
            &location("../c?x=1"),
            "PUT",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.method, Method::GET);
        assert!(out.body.is_none());
        assert!(out.headers.get(CONTENT_TYPE).is_none());
        assert!(out.headers.get("x-trace").is_some());
        assert_eq!(out.url.as_str(), "http://h/c?x=1");
        // Same origin: the credentials stay.
        assert!(out.authorization.is_some());
    }

    #[test]
    fn temporary_redirects_keep_method_and_body_but_never_take_them_to_another_origin() {
        let mut same = outgoing("POST", "http://h/a", true);
        redirect(
            &mut same,
            StatusCode::TEMPORARY_REDIRECT,
            &location("/b"),
            "POST",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(same.method, Method::POST);
        assert!(same.body.is_some() && same.authorization.is_some());
        let mut out = outgoing("POST", "http://h/a", true);
        let refused = redirect(
            &mut out,
            StatusCode::PERMANENT_REDIRECT,
            &location("http://other:81/b"),
            "POST",
        )
        .err()
        .unwrap_or_else(|| panic!("a body went to another origin"));
        assert_eq!(refused.status, 308);
        // Without a body: followed, with only content negotiation left of the task's headers.
        let mut get = outgoing("GET", "http://h/a", false);
        get.headers
            .insert("cookie", HeaderValue::from_static("s=1"));
        get.headers
            .insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        get.headers
            .insert("accept", HeaderValue::from_static("text/plain"));
        redirect(
            &mut get,
            StatusCode::TEMPORARY_REDIRECT,
            &location("http://other:81/b"),
            "GET",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(get.authorization.is_none() && get.credentials.is_none());
        let names: Vec<&str> = get.headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
        let mut found = outgoing("POST", "http://h/a", true);
        redirect(&mut found, StatusCode::FOUND, &location("/b"), "POST")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.method, Method::GET);
        let mut head = outgoing("HEAD", "http://h/a", false);
        redirect(&mut head, StatusCode::SEE_OTHER, &location("/b"), "HEAD")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head.method, Method::HEAD);
    }

    #[test]
    fn unusable_redirects_are_errors_with_their_status() {
        let mut out = outgoing("GET", "http://h/a", false);
        let missing = redirect(&mut out, StatusCode::FOUND, &HeaderMap::new(), "GET h")
            .err()
            .unwrap_or_else(|| panic!("followed nothing"));
        assert_eq!(missing.status, 302);
        assert!(missing.detail.unwrap_or_default().contains("Location"));
        let elsewhere = redirect(
            &mut out,
            StatusCode::MOVED_PERMANENTLY,
            &location("file:///etc/passwd"),
            "GET h",
        )
        .err()
        .unwrap_or_else(|| panic!("followed a file URL"));
        assert_eq!(elsewhere.status, 301);
        assert!(is_followed(StatusCode::PERMANENT_REDIRECT));
        assert!(!is_followed(StatusCode::NOT_MODIFIED));
    }

    #[test]
    fn sent_headers_show_the_chosen_content_type_but_not_the_credentials() {
        let mut request = request("POST", "http://h/");
        request.body = Some(HttpBody::Json(serde_json::json!(1)));
        request.headers = vec![("Accept".into(), "text/plain".into())];
        let out = prepare(&request).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sent_headers(&out),
            [
                ("accept".to_owned(), "text/plain".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned())
            ]
        );
    }
}
