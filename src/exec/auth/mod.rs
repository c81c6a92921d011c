//! Authentication as the HTTP client applies it: evaluated `Credentials`, the `Authorization`
//! they produce, and the `Authenticator` that obtains it (OAuth2/OIDC token requests with a
//! per-run token cache, digest challenge answers).

mod authenticator;
mod digest;
mod oauth2;
mod token_client;

#[cfg(test)]
mod authenticator_tests;

pub use authenticator::Authenticator;
