//! HTTP as the engine hands it to the network: a fully evaluated `HttpRequest` (method, URL,
//! query, headers, body, redirect rule, credentials) and the `HttpResponse` that came back.
//! The engine maps statuses to errors and shapes `output`; the client only does the I/O.

mod body;
mod client;
mod failure;
pub(crate) mod response;

use futures::future::BoxFuture;

pub use client::{HttpSettings, ReqwestHttp};
pub(crate) use failure::display_url_text as display_url;
pub(crate) use failure::root_causes;

use super::auth::{Authorization, Credentials};
use crate::problem::WorkflowError;

/// A request to send, every expression already evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Upper case (`GET`, `POST`, ...).
    pub method: String,
    /// Absolute URL, templates expanded; `query` is appended to it.
    pub url: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<HttpBody>,
    /// Follow 3xx responses (CHECKLIST decision 8).
    pub redirect: bool,
    /// Applied by the client: up front (basic, bearer, oauth2, oidc) or on a challenge (digest).
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HttpBody {
    /// Sent as `application/json` unless the request's headers name another content type.
    Json(serde_json::Value),
    /// Sent as is (a body that evaluated to a string).
    Text(String),
}

/// What came back. Any status is a response here; the engine decides what is an error.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// At most the client's body cap; a larger body is a `communication` error, never cut.
    pub body: Vec<u8>,
    /// The request as finally sent (after redirects and authentication), for `output: response`.
    pub sent: SentRequest,
    /// The authorization used, for `$authorization`.
    pub authorization: Option<Authorization>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// Sends HTTP requests. Cancel-safe: dropping the future abandons the request.
pub trait HttpClient: Send + Sync {
    /// Connection, DNS, TLS and body-cap failures are `communication` errors with a clear
    /// detail; credentials that cannot be obtained are `authentication` errors.
    fn send(&self, request: HttpRequest)
    -> BoxFuture<'static, Result<HttpResponse, WorkflowError>>;

    /// Starts whatever the first call would have to set up (the real client loads the system's
    /// root certificates), on a thread of its own, so that it overlaps the run's start-up.
    fn prepare_in_background(&self) {}
}
