//! OAuth2 token requests (RFC 6749, token exchange RFC 8693, JWT client assertions RFC 7523):
//! where the token endpoint (or the OIDC discovery document) is, what the request carries, and
//! the issuer check of the token. Sending them is `token_client.rs`; caching, the `Authenticator`.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::host::effects::credentials::{
    ClientAuthentication, Grant, OAuth2Credentials, RequestEncoding,
};
use crate::problem::{ErrorKind, WorkflowError};

/// `endpoints.token` when the document gives none.
pub(crate) const DEFAULT_TOKEN_PATH: &str = "/oauth2/token";
/// Where an OIDC authority publishes its metadata (OpenID Connect Discovery 1.0 §4).
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The token endpoint of an `oauth2` policy: `endpoints.token` appended to the authority (the
/// DSL calls it a path relative to the authority), or used as is when it is an absolute URL.
pub(crate) fn token_url(credentials: &OAuth2Credentials) -> Result<String, WorkflowError> {
    let path = credentials
        .token_endpoint
        .as_deref()
        .unwrap_or(DEFAULT_TOKEN_PATH);
    if is_absolute(path) {
        return Ok(path.to_owned());
    }
    Ok(join(&authority(credentials)?, path))
}

/// The discovery document of an `oidc` policy; an authority already naming it is kept.
pub(crate) fn discovery_url(credentials: &OAuth2Credentials) -> Result<String, WorkflowError> {
    let authority = authority(credentials)?;
    if authority.trim_end_matches('/').ends_with(DISCOVERY_PATH) {
        Ok(authority)
    } else {
        Ok(join(&authority, DISCOVERY_PATH))
    }
}

fn authority(credentials: &OAuth2Credentials) -> Result<String, WorkflowError> {
    let authority = credentials.authority.trim();
    if authority.is_empty() {
        return Err(configuration("the policy has no `authority`".to_owned()));
    }
    if !is_absolute(authority) {
        return Err(configuration(format!(
            "the authority `{authority}` is not an absolute http(s) URL"
        )));
    }
    Ok(authority.to_owned())
}

pub(super) fn is_absolute(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// A token request ready to send: the body's parameters in order, and the client's basic
/// credentials when it authenticates with `client_secret_basic`.
#[derive(Debug, PartialEq)]
pub(crate) struct TokenRequest {
    pub url: String,
    pub params: Vec<(&'static str, String)>,
    pub basic: Option<String>,
    pub encoding: RequestEncoding,
}

/// Builds the token request, or says which setting is missing (`configuration` errors).
pub(crate) fn token_request(
    credentials: &OAuth2Credentials,
    url: String,
) -> Result<TokenRequest, WorkflowError> {
    let mut params: Vec<(&'static str, String)> =
        vec![("grant_type", credentials.grant.as_str().to_owned())];
    let required = |value: &Option<String>, what: &str| {
        value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
            configuration(format!(
                "the `{}` grant needs {what}",
                credentials.grant.as_str()
            ))
        })
    };
    match credentials.grant {
        Grant::AuthorizationCode => {
            return Err(configuration(
                "the `authorization_code` grant needs a browser login, which a command-line run cannot do; use `client_credentials`, `password`, `refresh_token` or token exchange".to_owned(),
            ));
        }
        Grant::ClientCredentials => {}
        Grant::Password => {
            params.push(("username", required(&credentials.username, "`username`")?));
            params.push(("password", required(&credentials.password, "`password`")?));
        }
        Grant::RefreshToken => {
            let token = credentials.subject.as_ref().map(|s| s.token.clone());
            params.push((
                "refresh_token",
                required(&token, "the refresh token in `subject.token`")?,
            ));
        }
        Grant::TokenExchange => {
            let Some(subject) = &credentials.subject else {
                return Err(configuration(
                    "token exchange needs a `subject` token".to_owned(),
                ));
            };
            params.push(("subject_token", subject.token.clone()));
            params.push(("subject_token_type", subject.type_.clone()));
            if let Some(actor) = &credentials.actor {
                params.push(("actor_token", actor.token.clone()));
                params.push(("actor_token_type", actor.type_.clone()));
            }
        }
    }
    if !credentials.scopes.is_empty() {
        params.push(("scope", credentials.scopes.join(" ")));
    }
    for audience in &credentials.audiences {
        params.push(("audience", audience.clone()));
    }

    let method = credentials.client_authentication;
    let client_id = credentials.client_id.clone().filter(|id| !id.is_empty());
    let mut basic = None;
    match method {
        ClientAuthentication::None => {
            if let Some(id) = client_id {
                params.push(("client_id", id));
            }
        }
        _ => {
            let Some(id) = client_id else {
                return Err(configuration(format!(
                    "client authentication `{}` needs `client.id`",
                    method.as_str()
                )));
            };
            match method {
                ClientAuthentication::ClientSecretBasic => {
                    let Some(secret) = &credentials.client_secret else {
                        return Err(configuration(
                            "client authentication `client_secret_basic` needs `client.secret`"
                                .to_owned(),
                        ));
                    };
                    // RFC 6749 §2.3.1: both are form-encoded before the basic encoding.
                    let pair = format!("{}:{}", form_encode(&id), form_encode(secret));
                    basic = Some(base64::engine::general_purpose::STANDARD.encode(pair));
                }
                ClientAuthentication::ClientSecretPost => {
                    params.push(("client_id", id));
                    if let Some(secret) = &credentials.client_secret {
                        params.push(("client_secret", secret.clone()));
                    }
                }
                _ => {
                    let Some(assertion) = &credentials.client_assertion else {
                        return Err(configuration(format!(
                            "client authentication `{}` needs `client.assertion` (a signed JWT): this runtime does not sign assertions itself",
                            method.as_str()
                        )));
                    };
                    params.push(("client_id", id));
                    params.push(("client_assertion_type", JWT_BEARER_ASSERTION.to_owned()));
                    params.push(("client_assertion", assertion.clone()));
                }
            }
        }
    }
    Ok(TokenRequest {
        url,
        params,
        basic,
        encoding: credentials.encoding,
    })
}

/// `application/x-www-form-urlencoded` for one value: unreserved bytes kept, space as `+`.
pub(crate) fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The request body: the form encoding, or a JSON object whose repeated keys become arrays.
pub(crate) fn body(request: &TokenRequest) -> (&'static str, String) {
    match request.encoding {
        RequestEncoding::Form => {
            let pairs: Vec<String> = request
                .params
                .iter()
                .map(|(key, value)| format!("{key}={}", form_encode(value)))
                .collect();
            (RequestEncoding::FORM, pairs.join("&"))
        }
        RequestEncoding::Json => {
            let mut object = Map::new();
            for (key, value) in &request.params {
                let value = Value::String(value.clone());
                match object.get_mut(*key) {
                    None => {
                        object.insert((*key).to_owned(), value);
                    }
                    Some(Value::Array(items)) => items.push(value),
                    Some(first) => {
                        let first = first.take();
                        object.insert((*key).to_owned(), Value::Array(vec![first, value]));
                    }
                }
            }
            (RequestEncoding::JSON, Value::Object(object).to_string())
        }
    }
}

/// Checks the token's `iss` against `issuers` when the token is a JWT whose payload names one.
/// The signature is not verified (the resource server does that): opaque tokens pass.
pub(crate) fn check_issuer(token: &str, issuers: &[String]) -> Result<(), WorkflowError> {
    if issuers.is_empty() {
        return Ok(());
    }
    let Some(issuer) = jwt_issuer(token) else {
        return Ok(());
    };
    let normalized = |s: &str| s.trim_end_matches('/').to_owned();
    if issuers.iter().any(|i| normalized(i) == normalized(&issuer)) {
        Ok(())
    } else {
        Err(
            WorkflowError::new(ErrorKind::Authentication, "Untrusted token issuer").with_detail(
                format!(
                    "the token was issued by `{issuer}`, which is not one of the policy's `issuers` ({})",
                    issuers.join(", ")
                ),
            ),
        )
    }
}

fn jwt_issuer(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

fn configuration(detail: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Invalid OAuth2 configuration").with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::effects::credentials::TokenCredential;

    fn settings(grant: Grant) -> OAuth2Credentials {
        OAuth2Credentials {
            authority: "http://127.0.0.1:9/realms/test/".into(),
            grant,
            client_id: Some("app".into()),
            client_secret: Some("s e/cret".into()),
            client_assertion: None,
            client_authentication: ClientAuthentication::ClientSecretPost,
            encoding: RequestEncoding::Form,
            issuers: vec![],
            scopes: vec![],
            audiences: vec![],
            username: None,
            password: None,
            subject: None,
            actor: None,
            token_endpoint: None,
        }
    }

    fn request(credentials: &OAuth2Credentials) -> Result<TokenRequest, WorkflowError> {
        token_request(credentials, "http://t".into())
    }

    fn detail(result: Result<TokenRequest, WorkflowError>) -> String {
        match result {
            Err(error) => {
                assert!(error.type_.ends_with("/configuration"), "{error:?}");
                error.detail.unwrap_or_default()
            }
            Ok(ok) => panic!("expected a configuration error, got {ok:?}"),
        }
    }

    #[test]
    fn endpoints_are_appended_to_the_authority() {
        let mut oauth = settings(Grant::ClientCredentials);
        assert_eq!(
            token_url(&oauth).ok().as_deref(),
            Some("http://127.0.0.1:9/realms/test/oauth2/token")
        );
        oauth.token_endpoint = Some("auth/token".into());
        assert_eq!(
            token_url(&oauth).ok().as_deref(),
            Some("http://127.0.0.1:9/realms/test/auth/token")
        );
        oauth.token_endpoint = Some("https://other/token".into());
        assert_eq!(
            token_url(&oauth).ok().as_deref(),
            Some("https://other/token")
        );
        assert_eq!(
            discovery_url(&oauth).ok().as_deref(),
            Some("http://127.0.0.1:9/realms/test/.well-known/openid-configuration")
        );
        oauth.authority = "http://k/r/.well-known/openid-configuration".into();
        assert_eq!(
            discovery_url(&oauth).ok().as_deref(),
            Some("http://k/r/.well-known/openid-configuration")
        );
        oauth.authority = "keycloak/realms/x".into();
        // An absolute endpoint does not need the authority...
        assert!(token_url(&oauth).is_ok());
        // ...a relative one does.
        oauth.token_endpoint = None;
        assert!(token_url(&oauth).is_err());
        oauth.authority = " ".into();
        let error = discovery_url(&oauth).err();
        assert_eq!(
            error.and_then(|e| e.detail).as_deref(),
            Some("the policy has no `authority`")
        );
    }

    #[test]
    fn client_credentials_with_secret_post_and_scopes() {
        let mut oauth = settings(Grant::ClientCredentials);
        oauth.scopes = vec!["api".into(), "read".into()];
        oauth.audiences = vec!["a1".into(), "a2".into()];
        let built = request(&oauth).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(built.basic, None);
        assert_eq!(
            body(&built),
            (
                "application/x-www-form-urlencoded",
                "grant_type=client_credentials&scope=api+read&audience=a1&audience=a2&client_id=app&client_secret=s+e%2Fcret".to_owned()
            )
        );
        oauth.encoding = RequestEncoding::Json;
        let built = request(&oauth).unwrap_or_else(|e| panic!("{e:?}"));
        let (content_type, text) = body(&built);
        assert_eq!(content_type, "application/json");
        let json: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"grant_type": "client_credentials", "scope": "api read",
                "audience": ["a1", "a2"], "client_id": "app", "client_secret": "s e/cret"})
        );
    }

    #[test]
    fn secret_basic_puts_the_client_in_the_header() {
        let mut oauth = settings(Grant::Password);
        oauth.client_authentication = ClientAuthentication::ClientSecretBasic;
        oauth.username = Some("alice".into());
        oauth.password = Some("pw".into());
        let built = request(&oauth).unwrap_or_else(|e| panic!("{e:?}"));
        let decoded = built
            .basic
            .as_deref()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        assert_eq!(decoded.as_deref(), Some("app:s+e%2Fcret"));
        assert_eq!(
            body(&built).1,
            "grant_type=password&username=alice&password=pw"
        );
    }

    #[test]
    fn token_exchange_refresh_and_assertions() {
        let mut oauth = settings(Grant::TokenExchange);
        oauth.client_authentication = ClientAuthentication::PrivateKeyJwt;
        oauth.client_assertion = Some("eyJ.x.y".into());
        oauth.subject = Some(TokenCredential {
            token: "sub".into(),
            type_: "urn:ietf:params:oauth:token-type:access_token".into(),
        });
        oauth.actor = Some(TokenCredential {
            token: "act".into(),
            type_: "urn:ietf:params:oauth:token-type:jwt".into(),
        });
        let built = request(&oauth).unwrap_or_else(|e| panic!("{e:?}"));
        let keys: Vec<&str> = built.params.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "grant_type",
                "subject_token",
                "subject_token_type",
                "actor_token",
                "actor_token_type",
                "client_id",
                "client_assertion_type",
                "client_assertion"
            ]
        );
        assert_eq!(built.params[0].1, Grant::TOKEN_EXCHANGE);

        let mut refresh = settings(Grant::RefreshToken);
        refresh.client_authentication = ClientAuthentication::None;
        refresh.subject = oauth.subject.clone();
        let built = request(&refresh).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            body(&built).1,
            "grant_type=refresh_token&refresh_token=sub&client_id=app"
        );
    }

    #[test]
    fn missing_settings_are_configuration_errors() {
        let mut password = settings(Grant::Password);
        password.username = Some("alice".into());
        assert_eq!(
            detail(request(&password)),
            "the `password` grant needs `password`"
        );
        assert!(detail(request(&settings(Grant::AuthorizationCode))).contains("browser"));
        assert!(detail(request(&settings(Grant::RefreshToken))).contains("subject.token"));
        assert!(detail(request(&settings(Grant::TokenExchange))).contains("`subject`"));
        let mut no_id = settings(Grant::ClientCredentials);
        no_id.client_id = None;
        assert!(detail(request(&no_id)).contains("needs `client.id`"));
        let mut jwt = settings(Grant::ClientCredentials);
        jwt.client_authentication = ClientAuthentication::ClientSecretJwt;
        assert!(detail(request(&jwt)).contains("does not sign assertions"));
        let mut basic = settings(Grant::ClientCredentials);
        basic.client_authentication = ClientAuthentication::ClientSecretBasic;
        basic.client_secret = None;
        assert!(detail(request(&basic)).contains("needs `client.secret`"));
    }

    #[test]
    fn issuers_are_checked_on_jwt_payloads_only() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"http://idp/realms/a","sub":"x"}"#);
        let jwt = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
        let accepted = vec!["http://idp/realms/a/".to_owned()];
        assert!(check_issuer(&jwt, &accepted).is_ok());
        assert!(check_issuer(&jwt, &[]).is_ok());
        assert!(check_issuer("opaque-token", &["http://other".to_owned()]).is_ok());
        let error = check_issuer(&jwt, &["http://other".to_owned()]).err();
        assert_eq!(error.as_ref().map(|e| e.status), Some(401));
        assert!(
            error
                .and_then(|e| e.detail)
                .is_some_and(|d| d.contains("`http://idp/realms/a`"))
        );
    }
}
