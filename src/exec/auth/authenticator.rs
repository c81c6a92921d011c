//! The `Authenticator`: turns credentials into the `Authorization` to send, shared by every
//! call of a run. OAuth2/OIDC tokens are cached until shortly before they expire, and callers
//! asking for the same token at once wait for one request; OIDC discovery is cached per URL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::sync::{Mutex as AsyncMutex, OnceCell};
use tokio::time::Instant;

use super::digest::{self, DigestRequest};
use super::oauth2;
use super::token_client::{self, Token};
use crate::host::effects::credentials::{
    Authorization, Credentials, Grant, OAuth2Credentials, TokenCredential,
};
use crate::problem::WorkflowError;

/// A token is not reused during the last part of its life: at most this long before it expires
/// (and at most half its lifetime, for very short-lived tokens).
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// How long a token whose answer gave no `expires_in` is reused.
const UNDATED_LIFETIME: Duration = Duration::from_secs(300);
const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";

/// Turns credentials into authorizations; clones share the HTTP client and the caches.
#[derive(Debug, Clone)]
pub struct Authenticator {
    client: reqwest::Client,
    tokens: Arc<Mutex<HashMap<TokenKey, TokenSlot>>>,
    discovery: Arc<Mutex<HashMap<String, Arc<OnceCell<String>>>>>,
}

/// Which token a cached entry holds: the endpoint and every setting that shapes the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    endpoint: String,
    settings: OAuth2Credentials,
}

/// One key's token; holding its lock is what makes concurrent callers wait for one request.
type TokenSlot = Arc<AsyncMutex<Option<CachedToken>>>;

#[derive(Debug, Clone)]
struct CachedToken {
    access_token: String,
    refresh_token: Option<String>,
    valid_until: Instant,
}

impl Default for Authenticator {
    /// With a default HTTP client (tests; the real runtime shares its client through `new`).
    fn default() -> Self {
        Authenticator::new(reqwest::Client::new())
    }
}

impl Authenticator {
    /// Token and discovery requests go through `client`.
    pub fn new(client: reqwest::Client) -> Self {
        Authenticator {
            client,
            tokens: Arc::default(),
            discovery: Arc::default(),
        }
    }

    /// The authorization to send before any challenge; `None` for challenge-based schemes
    /// (digest). OAuth2 and OIDC fetch a token here, or reuse the cached one.
    pub async fn authorize(
        &self,
        credentials: &Credentials,
    ) -> Result<Option<Authorization>, WorkflowError> {
        Ok(match credentials {
            Credentials::Basic { username, password } => Some(Authorization {
                scheme: "Basic".to_owned(),
                parameter: base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}")),
            }),
            Credentials::Bearer { token } => Some(bearer(token.clone())),
            Credentials::Digest { .. } => None,
            Credentials::OAuth2(settings) => {
                let endpoint = oauth2::token_url(settings)?;
                Some(bearer(self.token(endpoint, settings).await?))
            }
            Credentials::Oidc(settings) => {
                let endpoint = self.discover(settings).await?;
                Some(bearer(self.token(endpoint, settings).await?))
            }
        })
    }

    /// The answer to a `401`'s `WWW-Authenticate` challenge for a request of `method` on
    /// `uri` (path and query); `None` when these credentials do not answer challenges. A
    /// challenge the credentials cannot answer is an `authentication` error.
    pub fn answer_challenge(
        &self,
        credentials: &Credentials,
        challenge: &str,
        method: &str,
        uri: &str,
    ) -> Result<Option<Authorization>, WorkflowError> {
        let Credentials::Digest { username, password } = credentials else {
            return Ok(None);
        };
        let cnonce = digest::client_nonce();
        let request = DigestRequest {
            username,
            password,
            method,
            uri,
            cnonce: &cnonce,
        };
        digest::answer(challenge, &request).map(Some)
    }

    /// Forgets the cached token of these credentials (a resource server refused it), so the
    /// next `authorize` requests a new one.
    pub async fn invalidate(&self, credentials: &Credentials) {
        let (Credentials::OAuth2(settings) | Credentials::Oidc(settings)) = credentials else {
            return;
        };
        let endpoint = match credentials {
            Credentials::Oidc(_) => self.cached_discovery(settings),
            _ => oauth2::token_url(settings).ok(),
        };
        let Some(endpoint) = endpoint else {
            return;
        };
        let key = TokenKey {
            endpoint,
            settings: (**settings).clone(),
        };
        let slot = lock(&self.tokens).get(&key).cloned();
        if let Some(slot) = slot {
            *slot.lock().await = None;
        }
    }

    /// A valid access token for `settings` at `endpoint`: the cached one, a refreshed one (when
    /// the endpoint gave a refresh token), or a new one. One request per key at a time.
    async fn token(
        &self,
        endpoint: String,
        settings: &OAuth2Credentials,
    ) -> Result<String, WorkflowError> {
        let key = TokenKey {
            endpoint,
            settings: settings.clone(),
        };
        let slot = Arc::clone(lock(&self.tokens).entry(key.clone()).or_default());
        let mut cached = slot.lock().await;
        let now = Instant::now();
        if let Some(token) = cached.as_ref().filter(|t| t.valid_until > now) {
            return Ok(token.access_token.clone());
        }
        let refreshed = match cached.as_ref().and_then(|t| t.refresh_token.clone()) {
            Some(refresh_token) => self.refresh(&key, refresh_token).await.ok(),
            None => None,
        };
        let token = match refreshed {
            Some(token) => token,
            None => {
                let request = oauth2::token_request(settings, key.endpoint.clone())?;
                token_client::fetch_token(&self.client, &request).await?
            }
        };
        oauth2::check_issuer(&token.access_token, &settings.issuers)?;
        let access_token = token.access_token.clone();
        *cached = Some(CachedToken {
            valid_until: Instant::now() + reuse_period(token.expires_in),
            access_token: token.access_token,
            refresh_token: token.refresh_token,
        });
        Ok(access_token)
    }

    /// Uses a refresh token the endpoint issued earlier (RFC 6749 §6). A failure is not
    /// reported: the caller falls back to the policy's own grant.
    async fn refresh(&self, key: &TokenKey, refresh_token: String) -> Result<Token, WorkflowError> {
        let mut settings = key.settings.clone();
        settings.grant = Grant::RefreshToken;
        settings.subject = Some(TokenCredential {
            token: refresh_token,
            type_: REFRESH_TOKEN_TYPE.to_owned(),
        });
        settings.actor = None;
        let request = oauth2::token_request(&settings, key.endpoint.clone())?;
        token_client::fetch_token(&self.client, &request).await
    }

    /// The token endpoint named by the OIDC discovery document, read once per URL per run.
    async fn discover(&self, settings: &OAuth2Credentials) -> Result<String, WorkflowError> {
        let url = oauth2::discovery_url(settings)?;
        let cell = Arc::clone(lock(&self.discovery).entry(url.clone()).or_default());
        cell.get_or_try_init(|| token_client::discover_token_endpoint(&self.client, &url))
            .await
            .cloned()
    }

    fn cached_discovery(&self, settings: &OAuth2Credentials) -> Option<String> {
        let url = oauth2::discovery_url(settings).ok()?;
        lock(&self.discovery).get(&url)?.get().cloned()
    }
}

fn bearer(token: String) -> Authorization {
    Authorization {
        scheme: "Bearer".to_owned(),
        parameter: token,
    }
}

/// How long a token with this `expires_in` is reused.
fn reuse_period(expires_in: Option<Duration>) -> Duration {
    match expires_in {
        None => UNDATED_LIFETIME,
        Some(lifetime) => lifetime - EXPIRY_MARGIN.min(lifetime / 2),
    }
}

/// The caches hold plain data: a panic elsewhere cannot leave them half-written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_periods_keep_a_margin() {
        assert_eq!(
            reuse_period(Some(Duration::from_secs(3600))),
            Duration::from_secs(3570)
        );
        assert_eq!(
            reuse_period(Some(Duration::from_secs(10))),
            Duration::from_secs(5)
        );
        assert_eq!(reuse_period(Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(reuse_period(None), UNDATED_LIFETIME);
    }

    #[tokio::test]
    async fn basic_and_bearer_are_immediate_and_digest_waits_for_a_challenge() {
        let auth = Authenticator::default();
        let basic = auth
            .authorize(&Credentials::Basic {
                username: "serverless-workflow".into(),
                password: "conformance-test".into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            basic.map(|a| a.header()).as_deref(),
            Some("Basic c2VydmVybGVzcy13b3JrZmxvdzpjb25mb3JtYW5jZS10ZXN0")
        );
        let bearer = auth
            .authorize(&Credentials::Bearer {
                token: "abc".into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(bearer.map(|a| a.header()).as_deref(), Some("Bearer abc"));
        let digest = Credentials::Digest {
            username: "u".into(),
            password: "p".into(),
        };
        assert_eq!(auth.authorize(&digest).await, Ok(None));
        let answer = auth
            .answer_challenge(
                &digest,
                r#"Digest realm="r", nonce="n", qop="auth""#,
                "GET",
                "/a",
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        let answer = answer.unwrap_or_else(|| panic!("digest answers challenges"));
        assert_eq!(answer.scheme, "Digest");
        assert!(answer.parameter.contains(r#"uri="/a""#));
        assert!(answer.parameter.contains("nc=00000001"));
        let basic = Credentials::Bearer { token: "t".into() };
        assert_eq!(
            auth.answer_challenge(&basic, "Digest nonce=n", "GET", "/"),
            Ok(None)
        );
    }
}
