//! HTTP as the engine hands it to the network: a fully evaluated `HttpRequest` (method, URL,
//! query, headers, body, redirect rule, credentials) and the `HttpResponse` that came back.
//! The engine maps statuses to errors and shapes `output`; the client only does the I/O.

mod body;
mod client;
mod failure;
pub(crate) mod response;

pub use client::{HttpSettings, ReqwestHttp};
pub(crate) use failure::display_url_text as display_url;
pub(crate) use failure::root_causes;

// The contract is the engine's (`crate::host::effects::http`).
use crate::host::effects::http::{HttpBody, HttpClient, HttpRequest, HttpResponse, SentRequest};
