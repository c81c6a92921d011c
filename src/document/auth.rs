//! Authentication policies (`basic`, `bearer`, `digest`, `oauth2`, `oidc`), inline, secret-based,
//! or referenced by name from `use.authentications`.

use serde::Serialize;

use super::common::{Expression, Reference, StringOrExpr, UriTemplate};

/// Where a call may name its authentication: inline, or `{ use: name }` of `use.authentications`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AuthenticationRef {
    Inline(AuthenticationPolicy),
    Named(Reference),
}

/// One authentication policy with exactly one scheme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthenticationPolicy {
    pub scheme: AuthScheme,
    pub pointer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AuthScheme {
    Basic(SchemeConfig<UserPassword>),
    Bearer(SchemeConfig<BearerAuth>),
    Digest(SchemeConfig<UserPassword>),
    OAuth2(SchemeConfig<OAuth2Auth>),
    Oidc(SchemeConfig<OAuth2Auth>),
}

impl AuthScheme {
    /// The scheme's key in the document (`basic`, `oauth2`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            AuthScheme::Basic(_) => "basic",
            AuthScheme::Bearer(_) => "bearer",
            AuthScheme::Digest(_) => "digest",
            AuthScheme::OAuth2(_) => "oauth2",
            AuthScheme::Oidc(_) => "oidc",
        }
    }
}

/// A scheme's settings written inline, or `{ use: secretName }`: read from a `use.secrets` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SchemeConfig<T> {
    Inline(T),
    Secret(Reference),
}

/// `basic` and `digest` credentials; either may be an expression (`${ .username }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPassword {
    pub username: StringOrExpr,
    pub password: StringOrExpr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BearerAuth {
    pub token: StringOrExpr,
}

/// Settings shared by `oauth2` and `oidc` (`endpoints` is only meaningful for `oauth2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct OAuth2Auth {
    pub authority: Option<Authority>,
    /// `authorization_code`, `client_credentials`, `password`, `refresh_token` or the token
    /// exchange URN, as written.
    pub grant: Option<String>,
    pub client: Option<OAuth2Client>,
    /// Token request encoding, `application/x-www-form-urlencoded` when absent.
    pub request_encoding: Option<String>,
    pub issuers: Vec<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub username: Option<StringOrExpr>,
    pub password: Option<StringOrExpr>,
    pub subject: Option<OAuth2Token>,
    pub actor: Option<OAuth2Token>,
    pub endpoints: Option<OAuth2Endpoints>,
}

/// The OAuth2 authority: a URI template, or an expression when written `${ }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Authority {
    Template(UriTemplate),
    Expression(Expression),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuth2Client {
    pub id: Option<StringOrExpr>,
    pub secret: Option<StringOrExpr>,
    pub assertion: Option<StringOrExpr>,
    /// `client_secret_basic`, `client_secret_post` (default), `client_secret_jwt`,
    /// `private_key_jwt` or `none`, as written.
    pub authentication: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuth2Token {
    pub token: StringOrExpr,
    pub type_: String,
}

/// Paths relative to the authority; `None` means the default (`/oauth2/token`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct OAuth2Endpoints {
    pub token: Option<String>,
    pub revocation: Option<String>,
    pub introspection: Option<String>,
}

impl OAuth2Endpoints {
    pub const DEFAULT_TOKEN: &'static str = "/oauth2/token";
    pub const DEFAULT_REVOCATION: &'static str = "/oauth2/revoke";
    pub const DEFAULT_INTROSPECTION: &'static str = "/oauth2/introspect";

    pub fn token_path(&self) -> &str {
        self.token.as_deref().unwrap_or(Self::DEFAULT_TOKEN)
    }
}
