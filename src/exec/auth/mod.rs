//! Authentication as the HTTP client applies it: evaluated `Credentials`, the `Authorization`
//! they produce, and the `Authenticator` that obtains it (OAuth2/OIDC token requests with a
//! per-run token cache, digest challenge answers).

mod authenticator;
mod credentials;
mod digest;
mod from_secret;
mod oauth2;
mod token_client;

#[cfg(test)]
mod authenticator_tests;

pub use authenticator::Authenticator;
pub use credentials::{
    Authorization, ClientAuthentication, Credentials, Grant, OAuth2Credentials, RequestEncoding,
    TokenCredential,
};
pub(crate) use from_secret::from_secret;
