//! The `Authenticator` against a real token endpoint and OIDC discovery document served by axum
//! on 127.0.0.1: grants, client authentication methods, encodings, caching, refresh, failures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use super::*;
use crate::host::effects::credentials::*;
use crate::problem::WorkflowError;

/// What the fake identity provider saw and how it answers.
#[derive(Default)]
struct Idp {
    token_requests: Mutex<Vec<Value>>,
    discovery_requests: Mutex<usize>,
    base: Mutex<String>,
    /// `expires_in` of issued tokens.
    lifetime: Mutex<u64>,
}

type Shared = Arc<Idp>;

/// Starts the provider; returns its base URL (`http://127.0.0.1:port`).
async fn start(lifetime: u64) -> (String, Shared) {
    let idp: Shared = Arc::default();
    *idp.lifetime.lock().unwrap_or_else(|e| e.into_inner()) = lifetime;
    let router = Router::new()
        .route("/realms/test/oauth2/token", post(token))
        .route("/realms/test/protocol/openid-connect/token", post(token))
        .route(
            "/realms/test/.well-known/openid-configuration",
            get(discovery),
        )
        .with_state(Arc::clone(&idp));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .unwrap_or_else(|e| panic!("address: {e}"))
    );
    *idp.base.lock().unwrap_or_else(|e| e.into_inner()) = base.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, idp)
}

async fn discovery(State(idp): State<Shared>) -> (StatusCode, axum::Json<Value>) {
    *idp.discovery_requests
        .lock()
        .unwrap_or_else(|e| e.into_inner()) += 1;
    let base = idp.base.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (
        StatusCode::OK,
        axum::Json(json!({
            "issuer": format!("{base}/realms/test"),
            "token_endpoint": format!("{base}/realms/test/protocol/openid-connect/token"),
        })),
    )
}

/// Checks the client and the grant like a strict provider; records every request.
async fn token(
    State(idp): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut params = if header("content-type") == "application/json" {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        form(&String::from_utf8_lossy(&body))
    };
    if let Some(basic) = header("authorization").strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .unwrap_or_default();
        params["basic"] = json!(String::from_utf8_lossy(&decoded));
    }
    let number = {
        let mut requests = idp.token_requests.lock().unwrap_or_else(|e| e.into_inner());
        requests.push(params.clone());
        requests.len()
    };
    // Slow enough that concurrent callers overlap.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let field = |name: &str| params[name].as_str().unwrap_or_default().to_owned();
    let client_ok = (field("client_id") == "app" && field("client_secret") == "secret")
        || field("basic") == "app:secret"
        || field("client_assertion") == "signed.jwt.here";
    if !client_ok {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or bad secret",
        );
    }
    let granted = match field("grant_type").as_str() {
        "client_credentials" => true,
        "password" => field("username") == "alice" && field("password") == "wonderland",
        "refresh_token" => field("refresh_token") == "rt-1",
        Grant::TOKEN_EXCHANGE => {
            field("subject_token") == "subject-token"
                && field("subject_token_type") == "urn:ietf:params:oauth:token-type:access_token"
        }
        _ => false,
    };
    if !granted {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the grant was refused",
        );
    }
    let lifetime = *idp.lifetime.lock().unwrap_or_else(|e| e.into_inner());
    let access_token = if field("scope") == "jwt" {
        // An unsigned JWT naming this provider as its issuer.
        let base = idp.base.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let claims = json!({"iss": format!("{base}/realms/test"), "n": number}).to_string();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        format!("eyJhbGciOiJub25lIn0.{payload}.")
    } else {
        format!("token-{number}")
    };
    (
        StatusCode::OK,
        axum::Json(json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": lifetime,
            "refresh_token": "rt-1",
        })),
    )
}

fn refuse(status: StatusCode, error: &str, description: &str) -> (StatusCode, axum::Json<Value>) {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
}

/// A form body as a JSON object (a repeated key keeps its last value).
fn form(text: &str) -> Value {
    let decode = |part: &str| {
        let bytes = part.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = String::from_utf8_lossy(&bytes[i + 1..i + 3]).into_owned();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut object = serde_json::Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        object.insert(decode(key), json!(decode(value)));
    }
    Value::Object(object)
}

fn settings(base: &str, grant: Grant) -> OAuth2Credentials {
    OAuth2Credentials {
        authority: format!("{base}/realms/test"),
        grant,
        client_id: Some("app".into()),
        client_secret: Some("secret".into()),
        client_assertion: None,
        client_authentication: ClientAuthentication::ClientSecretPost,
        encoding: RequestEncoding::Form,
        issuers: vec![],
        scopes: vec!["api".into()],
        audiences: vec![],
        username: None,
        password: None,
        subject: None,
        actor: None,
        token_endpoint: None,
    }
}

async fn header(auth: &Authenticator, credentials: &Credentials) -> Result<String, WorkflowError> {
    auth.authorize(credentials)
        .await
        .map(|a| a.map(|a| a.header()).unwrap_or_default())
}

fn requests(idp: &Idp) -> Vec<Value> {
    idp.token_requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

#[tokio::test]
async fn client_credentials_token_is_cached_across_calls() {
    let (base, idp) = start(3600).await;
    let auth = Authenticator::default();
    let credentials = Credentials::OAuth2(Box::new(settings(&base, Grant::ClientCredentials)));
    assert_eq!(
        header(&auth, &credentials).await,
        Ok("Bearer token-1".into())
    );
    assert_eq!(
        header(&auth, &credentials).await,
        Ok("Bearer token-1".into())
    );
    // A clone shares the cache.
    assert_eq!(
        header(&auth.clone(), &credentials).await,
        Ok("Bearer token-1".into())
    );
    let seen = requests(&idp);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["grant_type"], "client_credentials");
    assert_eq!(seen[0]["scope"], "api");
    assert_eq!(seen[0]["client_id"], "app");
    // Other scopes are another token.
    let mut other = settings(&base, Grant::ClientCredentials);
    other.scopes = vec!["admin".into()];
    let other = Credentials::OAuth2(Box::new(other));
    assert_eq!(header(&auth, &other).await, Ok("Bearer token-2".into()));
    assert_eq!(requests(&idp).len(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_request() {
    let (base, idp) = start(3600).await;
    let auth = Authenticator::default();
    let credentials = Credentials::OAuth2(Box::new(settings(&base, Grant::ClientCredentials)));
    let calls = (0..8).map(|_| header(&auth, &credentials));
    let headers = futures::future::join_all(calls).await;
    assert!(
        headers.iter().all(|h| h.as_deref() == Ok("Bearer token-1")),
        "{headers:?}"
    );
    assert_eq!(requests(&idp).len(), 1);
}

#[tokio::test]
async fn secret_basic_json_encoding_and_assertions() {
    let (base, idp) = start(3600).await;
    let auth = Authenticator::default();
    let mut basic = settings(&base, Grant::ClientCredentials);
    basic.client_authentication = ClientAuthentication::ClientSecretBasic;
    basic.encoding = RequestEncoding::Json;
    basic.audiences = vec!["a".into(), "b".into()];
    assert_eq!(
        header(&auth, &Credentials::OAuth2(Box::new(basic))).await,
        Ok("Bearer token-1".into())
    );
    let mut jwt = settings(&base, Grant::ClientCredentials);
    jwt.client_authentication = ClientAuthentication::PrivateKeyJwt;
    jwt.client_secret = None;
    jwt.client_assertion = Some("signed.jwt.here".into());
    assert_eq!(
        header(&auth, &Credentials::OAuth2(Box::new(jwt))).await,
        Ok("Bearer token-2".into())
    );
    let seen = requests(&idp);
    assert_eq!(seen[0]["basic"], "app:secret");
    assert_eq!(seen[0]["audience"], json!(["a", "b"]));
    assert_eq!(seen[0].get("client_secret"), None);
    assert_eq!(
        seen[1]["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
}

#[tokio::test]
async fn password_refresh_and_exchange_grants() {
    let (base, idp) = start(3600).await;
    let auth = Authenticator::default();
    let mut password = settings(&base, Grant::Password);
    password.username = Some("alice".into());
    password.password = Some("wonderland".into());
    let mut refresh = settings(&base, Grant::RefreshToken);
    refresh.subject = Some(TokenCredential {
        token: "rt-1".into(),
        type_: "urn:ietf:params:oauth:token-type:refresh_token".into(),
    });
    let mut exchange = settings(&base, Grant::TokenExchange);
    exchange.subject = Some(TokenCredential {
        token: "subject-token".into(),
        type_: "urn:ietf:params:oauth:token-type:access_token".into(),
    });
    exchange.actor = Some(TokenCredential {
        token: "actor-token".into(),
        type_: "urn:ietf:params:oauth:token-type:jwt".into(),
    });
    for (n, oauth) in [password, refresh, exchange].into_iter().enumerate() {
        let got = header(&auth, &Credentials::OAuth2(Box::new(oauth))).await;
        assert_eq!(got, Ok(format!("Bearer token-{}", n + 1)));
    }
    let seen = requests(&idp);
    assert_eq!(seen[0]["username"], "alice");
    assert_eq!(seen[1]["refresh_token"], "rt-1");
    assert_eq!(seen[2]["actor_token"], "actor-token");
    assert_eq!(seen[2]["grant_type"], Grant::TOKEN_EXCHANGE);
}

#[tokio::test]
async fn refusals_are_authentication_errors_with_the_reason() {
    let (base, _idp) = start(3600).await;
    let auth = Authenticator::default();
    let mut wrong_password = settings(&base, Grant::Password);
    wrong_password.username = Some("alice".into());
    wrong_password.password = Some("guess".into());
    let error = header(&auth, &Credentials::OAuth2(Box::new(wrong_password)))
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong password must fail"));
    assert_eq!(error.status, 401);
    assert!(error.type_.ends_with("/authentication"));
    assert_eq!(
        error.detail.as_deref(),
        Some(&*format!(
            "the token endpoint {base}/realms/test/oauth2/token answered 400: `invalid_grant`: the grant was refused"
        ))
    );
    let mut wrong_client = settings(&base, Grant::ClientCredentials);
    wrong_client.client_secret = Some("nope".into());
    let error = header(&auth, &Credentials::OAuth2(Box::new(wrong_client)))
        .await
        .err();
    assert!(
        error
            .and_then(|e| e.detail)
            .is_some_and(|d| d.contains("answered 401: `invalid_client`"))
    );
    let mut missing = settings(&base, Grant::ClientCredentials);
    missing.token_endpoint = Some("/nowhere".into());
    let error = header(&auth, &Credentials::OAuth2(Box::new(missing)))
        .await
        .err();
    assert!(
        error.is_some_and(
            |e| e.status == 401 && e.detail.is_some_and(|d| d.contains("answered 404"))
        )
    );
}

#[tokio::test]
async fn unreachable_endpoints_are_communication_errors() {
    // Bound but not listening: the port refuses connections, and no other test can take it
    // while `reserved` lives (a listener bound and dropped would free it for the next bind).
    let reserved = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    reserved
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!(
        "http://{}",
        reserved.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let auth = Authenticator::default();
    for credentials in [
        Credentials::OAuth2(Box::new(settings(&base, Grant::ClientCredentials))),
        Credentials::Oidc(Box::new(settings(&base, Grant::ClientCredentials))),
    ] {
        let error = header(&auth, &credentials).await.err();
        let Some(error) = error else {
            panic!("a closed port must fail");
        };
        assert!(error.type_.ends_with("/communication"), "{error:?}");
        assert!(error.detail.is_some_and(|d| d.starts_with(&base)));
    }
}

#[tokio::test]
async fn oidc_discovers_the_endpoint_once_per_authority() {
    let (base, idp) = start(3600).await;
    let auth = Authenticator::default();
    let first = Credentials::Oidc(Box::new(settings(&base, Grant::ClientCredentials)));
    let mut other_scope = settings(&base, Grant::ClientCredentials);
    other_scope.scopes = vec!["other".into()];
    // The authority may also name the discovery document itself.
    other_scope.authority = format!("{base}/realms/test/.well-known/openid-configuration");
    let second = Credentials::Oidc(Box::new(other_scope));
    assert_eq!(header(&auth, &first).await, Ok("Bearer token-1".into()));
    assert_eq!(header(&auth, &first).await, Ok("Bearer token-1".into()));
    assert_eq!(header(&auth, &second).await, Ok("Bearer token-2".into()));
    assert_eq!(requests(&idp).len(), 2);
    assert_eq!(
        *idp.discovery_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
        1
    );
    let mut missing = settings(&base, Grant::ClientCredentials);
    missing.authority = format!("{base}/realms/none");
    let error = header(&auth, &Credentials::Oidc(Box::new(missing)))
        .await
        .err();
    assert!(
        error.is_some_and(
            |e| e.status == 401 && e.detail.is_some_and(|d| d.contains("answered 404"))
        )
    );
}

#[tokio::test]
async fn expired_tokens_are_refreshed_and_invalidated_ones_refetched() {
    // `expires_in: 0`: never reused, so the next call uses the issued refresh token.
    let (base, idp) = start(0).await;
    let auth = Authenticator::default();
    let credentials = Credentials::OAuth2(Box::new(settings(&base, Grant::ClientCredentials)));
    assert_eq!(
        header(&auth, &credentials).await,
        Ok("Bearer token-1".into())
    );
    assert_eq!(
        header(&auth, &credentials).await,
        Ok("Bearer token-2".into())
    );
    let seen = requests(&idp);
    assert_eq!(seen[1]["grant_type"], "refresh_token");
    assert_eq!(seen[1]["refresh_token"], "rt-1");

    let (base, idp) = start(3600).await;
    let credentials = Credentials::OAuth2(Box::new(settings(&base, Grant::ClientCredentials)));
    assert_eq!(
        header(&auth, &credentials).await,
        Ok("Bearer token-1".into())
    );
    auth.invalidate(&credentials).await;
    assert_eq!(
        header(&auth, &credentials).await,
        Ok("Bearer token-2".into())
    );
    // Invalidated means gone, not refreshed: the policy's own grant is used again.
    assert_eq!(requests(&idp)[1]["grant_type"], "client_credentials");
}

#[tokio::test]
async fn issuers_reject_tokens_from_elsewhere() {
    let (base, _idp) = start(3600).await;
    let auth = Authenticator::default();
    // Opaque tokens: nothing to check, accepted.
    let mut opaque = settings(&base, Grant::ClientCredentials);
    opaque.issuers = vec!["http://trusted".into()];
    assert!(
        header(&auth, &Credentials::OAuth2(Box::new(opaque)))
            .await
            .is_ok()
    );
    // JWTs (scope `jwt` on this provider) name their issuer.
    let mut trusted = settings(&base, Grant::ClientCredentials);
    trusted.scopes = vec!["jwt".into()];
    trusted.issuers = vec![format!("{base}/realms/test")];
    let ok = header(&auth, &Credentials::OAuth2(Box::new(trusted.clone()))).await;
    assert!(ok.is_ok_and(|h| h.starts_with("Bearer eyJ")));
    trusted.issuers = vec!["http://trusted".into()];
    let error = header(&auth, &Credentials::OAuth2(Box::new(trusted)))
        .await
        .err();
    let Some(error) = error else {
        panic!("a token from an unlisted issuer must be refused");
    };
    assert_eq!(error.status, 401);
    assert_eq!(error.title.as_deref(), Some("Untrusted token issuer"));
}
