//! Authentication as the HTTP client applies it: evaluated `Credentials` (every expression and
//! secret already resolved by the engine) and the `Authorization` they produce.

use base64::Engine as _;

use crate::runtime::error::WorkflowError;

/// One scheme's evaluated settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
    /// Answered on the server's `401` challenge (RFC 7616).
    Digest {
        username: String,
        password: String,
    },
}

/// What `$authorization` describes: the scheme and the parameter sent in `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub scheme: String,
    pub parameter: String,
}

impl Authorization {
    /// The `Authorization` header value.
    pub fn header(&self) -> String {
        format!("{} {}", self.scheme, self.parameter)
    }
}

/// Turns credentials into authorizations; shared by every call of a run (token caches live here).
#[derive(Debug, Clone, Default)]
pub struct Authenticator {}

impl Authenticator {
    /// The authorization to send before any challenge; `None` for challenge-based schemes.
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
            Credentials::Bearer { token } => Some(Authorization {
                scheme: "Bearer".to_owned(),
                parameter: token.clone(),
            }),
            Credentials::Digest { .. } => None,
        })
    }

    /// The answer to a `401`'s `WWW-Authenticate` challenge for a request of `method` on
    /// `uri` (path and query); `None` when these credentials do not answer challenges.
    pub fn answer_challenge(
        &self,
        credentials: &Credentials,
        challenge: &str,
        method: &str,
        uri: &str,
    ) -> Result<Option<Authorization>, WorkflowError> {
        let _ = (credentials, challenge, method, uri);
        Ok(None)
    }
}
