//! Evaluated credentials (every expression and secret already resolved by the engine) and the
//! `Authorization` they produce. `Debug` never shows a password, secret, assertion or token, so
//! a request printed in a log or a failed test cannot leak one. Credentials serialize (a
//! Temporal activity's input carries them) only with their secret values sealed
//! (`temporal::secrets`).

use std::fmt;

/// One scheme's evaluated settings.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    /// A token from `{authority}{endpoints.token}`.
    OAuth2(Box<OAuth2Credentials>),
    /// A token from the endpoint named by `{authority}/.well-known/openid-configuration`.
    Oidc(Box<OAuth2Credentials>),
}

impl Credentials {
    /// The scheme's key in the DSL (`basic`, `oauth2`, ...).
    pub fn scheme_name(&self) -> &'static str {
        match self {
            Credentials::Basic { .. } => "basic",
            Credentials::Bearer { .. } => "bearer",
            Credentials::Digest { .. } => "digest",
            Credentials::OAuth2(_) => "oauth2",
            Credentials::Oidc(_) => "oidc",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &Hidden)
                .finish(),
            Credentials::Bearer { .. } => f.debug_struct("Bearer").field("token", &Hidden).finish(),
            Credentials::Digest { username, .. } => f
                .debug_struct("Digest")
                .field("username", username)
                .field("password", &Hidden)
                .finish(),
            Credentials::OAuth2(settings) => f.debug_tuple("OAuth2").field(settings).finish(),
            Credentials::Oidc(settings) => f.debug_tuple("Oidc").field(settings).finish(),
        }
    }
}

/// The settings `oauth2` and `oidc` share, evaluated.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OAuth2Credentials {
    /// The authority's URL (for `oidc`, it may already end with the discovery path).
    pub authority: String,
    pub grant: Grant,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// A signed JWT sent as `client_assertion` (`client_secret_jwt`, `private_key_jwt`).
    pub client_assertion: Option<String>,
    pub client_authentication: ClientAuthentication,
    pub encoding: RequestEncoding,
    /// Accepted `iss` values of the token; empty accepts any.
    pub issuers: Vec<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    /// `password` grant.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Token exchange's subject; the refresh token of the `refresh_token` grant.
    pub subject: Option<TokenCredential>,
    pub actor: Option<TokenCredential>,
    /// `oauth2` only: `endpoints.token`, a path relative to the authority or an absolute URL;
    /// `None` means `/oauth2/token`.
    pub token_endpoint: Option<String>,
}

impl fmt::Debug for OAuth2Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &Option<String>| value.as_ref().map(|_| Hidden);
        f.debug_struct("OAuth2Credentials")
            .field("authority", &self.authority)
            .field("grant", &self.grant)
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("client_assertion", &hidden(&self.client_assertion))
            .field("client_authentication", &self.client_authentication)
            .field("encoding", &self.encoding)
            .field("issuers", &self.issuers)
            .field("scopes", &self.scopes)
            .field("audiences", &self.audiences)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("subject", &self.subject)
            .field("actor", &self.actor)
            .field("token_endpoint", &self.token_endpoint)
            .finish()
    }
}

/// `oauth2.grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Grant {
    /// Needs a browser and a redirect: refused with a `configuration` error.
    AuthorizationCode,
    ClientCredentials,
    Password,
    RefreshToken,
    TokenExchange,
}

impl Grant {
    pub const TOKEN_EXCHANGE: &'static str = "urn:ietf:params:oauth:grant-type:token-exchange";

    /// The DSL spelling, which is also the `grant_type` sent.
    pub fn parse(text: &str) -> Option<Grant> {
        Some(match text {
            "authorization_code" => Grant::AuthorizationCode,
            "client_credentials" => Grant::ClientCredentials,
            "password" => Grant::Password,
            "refresh_token" => Grant::RefreshToken,
            Self::TOKEN_EXCHANGE => Grant::TokenExchange,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
            Grant::TokenExchange => Self::TOKEN_EXCHANGE,
        }
    }
}

/// `oauth2.client.authentication`: how the client proves itself to the token endpoint.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum ClientAuthentication {
    /// `Authorization: Basic` with the form-encoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body (the DSL's default).
    #[default]
    ClientSecretPost,
    /// `client.assertion` sent as a JWT bearer client assertion (RFC 7523); this runtime does
    /// not sign assertions itself.
    ClientSecretJwt,
    PrivateKeyJwt,
    /// A public client: only `client_id`.
    None,
}

impl ClientAuthentication {
    pub fn parse(text: &str) -> Option<ClientAuthentication> {
        Some(match text {
            "client_secret_basic" => ClientAuthentication::ClientSecretBasic,
            "client_secret_post" => ClientAuthentication::ClientSecretPost,
            "client_secret_jwt" => ClientAuthentication::ClientSecretJwt,
            "private_key_jwt" => ClientAuthentication::PrivateKeyJwt,
            "none" => ClientAuthentication::None,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthentication::ClientSecretBasic => "client_secret_basic",
            ClientAuthentication::ClientSecretPost => "client_secret_post",
            ClientAuthentication::ClientSecretJwt => "client_secret_jwt",
            ClientAuthentication::PrivateKeyJwt => "private_key_jwt",
            ClientAuthentication::None => "none",
        }
    }
}

/// `oauth2.request.encoding` of the token request.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum RequestEncoding {
    #[default]
    Form,
    Json,
}

impl RequestEncoding {
    pub const FORM: &'static str = "application/x-www-form-urlencoded";
    pub const JSON: &'static str = "application/json";

    pub fn parse(text: &str) -> Option<RequestEncoding> {
        match text {
            Self::FORM => Some(RequestEncoding::Form),
            Self::JSON => Some(RequestEncoding::Json),
            _ => None,
        }
    }
}

/// `oauth2.subject` / `oauth2.actor`: a token and its type URN.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TokenCredential {
    pub token: String,
    pub type_: String,
}

impl fmt::Debug for TokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCredential")
            .field("token", &Hidden)
            .field("type_", &self.type_)
            .finish()
    }
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

/// Stands for a secret in `Debug` output.
struct Hidden;

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_every_secret() {
        let oauth = OAuth2Credentials {
            authority: "http://127.0.0.1:1/realm".into(),
            grant: Grant::Password,
            client_id: Some("app".into()),
            client_secret: Some("s3cr3t-client".into()),
            client_assertion: Some("s3cr3t-jwt".into()),
            client_authentication: ClientAuthentication::ClientSecretBasic,
            encoding: RequestEncoding::Json,
            issuers: vec![],
            scopes: vec!["api".into()],
            audiences: vec![],
            username: Some("alice".into()),
            password: Some("s3cr3t-pass".into()),
            subject: Some(TokenCredential {
                token: "s3cr3t-subject".into(),
                type_: "urn:ietf:params:oauth:token-type:access_token".into(),
            }),
            actor: None,
            token_endpoint: None,
        };
        let all = [
            Credentials::Basic {
                username: "bob".into(),
                password: "s3cr3t-basic".into(),
            },
            Credentials::Bearer {
                token: "s3cr3t-bearer".into(),
            },
            Credentials::Digest {
                username: "carol".into(),
                password: "s3cr3t-digest".into(),
            },
            Credentials::OAuth2(Box::new(oauth.clone())),
            Credentials::Oidc(Box::new(oauth)),
        ];
        for credentials in &all {
            let shown = format!("{credentials:?}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains("<hidden>"), "{shown}");
        }
        assert!(format!("{:?}", all[0]).contains("bob"));
        assert!(format!("{:?}", all[3]).contains("alice"));
        let names: Vec<&str> = all.iter().map(Credentials::scheme_name).collect();
        assert_eq!(names, ["basic", "bearer", "digest", "oauth2", "oidc"]);
    }

    #[test]
    fn dsl_spellings_round_trip() {
        for grant in [
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token",
            Grant::TOKEN_EXCHANGE,
        ] {
            assert_eq!(Grant::parse(grant).map(Grant::as_str), Some(grant));
        }
        assert_eq!(Grant::parse("implicit"), None);
        for method in [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
        ] {
            assert_eq!(
                ClientAuthentication::parse(method).map(ClientAuthentication::as_str),
                Some(method)
            );
        }
        assert_eq!(ClientAuthentication::parse("tls_client_auth"), None);
        assert_eq!(
            RequestEncoding::parse("application/json"),
            Some(RequestEncoding::Json)
        );
        assert_eq!(RequestEncoding::parse("text/plain"), None);
        assert_eq!(
            ClientAuthentication::default().as_str(),
            "client_secret_post"
        );
    }

    #[test]
    fn header_joins_scheme_and_parameter() {
        let authorization = Authorization {
            scheme: "Bearer".into(),
            parameter: "abc".into(),
        };
        assert_eq!(authorization.header(), "Bearer abc");
    }
}
