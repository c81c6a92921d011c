//! A protected service and an identity provider on 127.0.0.1 (ephemeral port) for the auth
//! integration tests. Every route CHECKS the credentials it receives: basic, bearer, digest
//! (a real challenge with server nonces), OAuth2 token requests (client, grant, counted), OIDC
//! discovery (counted).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::http_server::{TestServer, serve};

pub const USER: &str = "alice";
pub const PASSWORD: &str = "wonderland";
pub const BEARER: &str = "let-me-in";
pub const CLIENT_ID: &str = "app";
pub const CLIENT_SECRET: &str = "client-secret";
pub const SUBJECT_TOKEN: &str = "subject-token";
pub const REFRESH_TOKEN: &str = "refresh-me";
const REALM: &str = "test@127.0.0.1";

/// What the servers saw.
#[derive(Default)]
pub struct Seen {
    pub token_requests: Mutex<Vec<Value>>,
    pub discovery_requests: AtomicUsize,
    nonces: Mutex<HashSet<String>>,
    issued: Mutex<HashSet<String>>,
    base: Mutex<String>,
}

impl Seen {
    pub fn token_requests(&self) -> Vec<Value> {
        self.token_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn discoveries(&self) -> usize {
        self.discovery_requests.load(Ordering::SeqCst)
    }
}

pub struct Servers {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub seen: Arc<Seen>,
    /// Keeps the services up for the test; dropping it stops them.
    _running: TestServer,
}

/// Starts both services on one ephemeral port of 127.0.0.1, on a runtime of their own thread
/// (the tests run the binary synchronously).
pub fn start() -> Servers {
    let seen: Arc<Seen> = Arc::default();
    let router = Router::new()
        .route("/basic", get(basic))
        .route("/bearer", get(bearer))
        .route("/forbidden", get(forbidden))
        .route("/digest", get(digest))
        .route("/oauth", get(oauth_resource))
        .route("/realms/test/oauth2/token", post(token))
        .route("/realms/test/custom/token", post(token))
        .route("/realms/test/protocol/openid-connect/token", post(token))
        .route(
            "/realms/test/.well-known/openid-configuration",
            get(discovery),
        )
        .with_state(Arc::clone(&seen));
    let running = serve(router);
    let base = running.url("");
    *seen.base.lock().unwrap_or_else(|e| e.into_inner()) = base.clone();
    Servers {
        base,
        seen,
        _running: running,
    }
}

fn authorization(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn challenge(value: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, value)],
        axum::Json(json!({"error": "unauthorized"})),
    )
        .into_response()
}

async fn basic(headers: HeaderMap) -> Response {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    if authorization(&headers) == format!("Basic {expected}") {
        axum::Json(json!({"user": USER, "scheme": "basic"})).into_response()
    } else {
        challenge(format!("Basic realm=\"{REALM}\""))
    }
}

async fn bearer(headers: HeaderMap) -> Response {
    if authorization(&headers) == format!("Bearer {BEARER}") {
        axum::Json(json!({"user": USER, "scheme": "bearer"})).into_response()
    } else {
        challenge(format!("Bearer realm=\"{REALM}\""))
    }
}

/// Authenticated, but never allowed.
async fn forbidden(headers: HeaderMap) -> Response {
    if authorization(&headers) == format!("Bearer {BEARER}") {
        (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "forbidden"})),
        )
            .into_response()
    } else {
        challenge(format!("Bearer realm=\"{REALM}\""))
    }
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `name="value", name=value` pairs of a digest answer (values without commas are enough here).
fn digest_params(text: &str) -> Vec<(String, String)> {
    text.split(", ")
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

/// RFC 7616 with SHA-256 and qop=auth: a fresh nonce per challenge, the answer recomputed.
async fn digest(State(seen): State<Arc<Seen>>, uri: OriginalUri, headers: HeaderMap) -> Response {
    let answer = authorization(&headers);
    if let Some(params) = answer.strip_prefix("Digest ") {
        let params = digest_params(params);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let known_nonce = seen
            .nonces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&get("nonce"));
        let ha1 = sha256(&format!("{}:{REALM}:{PASSWORD}", get("username")));
        let ha2 = sha256(&format!("GET:{}", get("uri")));
        let expected = sha256(&format!(
            "{ha1}:{}:{}:{}:{}:{ha2}",
            get("nonce"),
            get("nc"),
            get("cnonce"),
            get("qop")
        ));
        if known_nonce
            && get("username") == USER
            && get("uri") == uri.0.to_string()
            && get("opaque") == "opaque-value"
            && get("response") == expected
        {
            return axum::Json(json!({"user": USER, "scheme": "digest"})).into_response();
        }
    }
    let nonce = format!("{:032x}", rand::random::<u128>());
    seen.nonces
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(nonce.clone());
    challenge(format!(
        "Basic realm=\"{REALM}\", Digest realm=\"{REALM}\", qop=\"auth\", algorithm=SHA-256, nonce=\"{nonce}\", opaque=\"opaque-value\""
    ))
}

/// Accepts only tokens the provider issued.
async fn oauth_resource(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    let answer = authorization(&headers);
    let token = answer.strip_prefix("Bearer ").unwrap_or_default();
    let issued = seen
        .issued
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(token);
    if issued {
        axum::Json(json!({"token": token})).into_response()
    } else {
        challenge("Bearer error=\"invalid_token\"".to_owned())
    }
}

async fn discovery(State(seen): State<Arc<Seen>>) -> Response {
    seen.discovery_requests.fetch_add(1, Ordering::SeqCst);
    let base = seen.base.lock().unwrap_or_else(|e| e.into_inner()).clone();
    axum::Json(json!({
        "issuer": format!("{base}/realms/test"),
        "token_endpoint": format!("{base}/realms/test/protocol/openid-connect/token"),
    }))
    .into_response()
}

/// A strict token endpoint: checks the client (post, basic) and the grant; counts requests.
async fn token(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: Bytes) -> Response {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    let mut params = if json_body {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        form(&String::from_utf8_lossy(&body))
    };
    if let Some(basic) = authorization(&headers).strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .unwrap_or_default();
        params["basic"] = json!(String::from_utf8_lossy(&decoded));
    }
    let number = {
        let mut requests = seen
            .token_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        requests.push(params.clone());
        requests.len()
    };
    let field = |name: &str| params[name].as_str().unwrap_or_default().to_owned();
    let client_ok = (field("client_id") == CLIENT_ID && field("client_secret") == CLIENT_SECRET)
        || field("basic") == format!("{CLIENT_ID}:{CLIENT_SECRET}");
    if !client_ok {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let granted = match field("grant_type").as_str() {
        "client_credentials" => true,
        "password" => field("username") == USER && field("password") == PASSWORD,
        "refresh_token" => field("refresh_token") == REFRESH_TOKEN,
        "urn:ietf:params:oauth:grant-type:token-exchange" => {
            field("subject_token") == SUBJECT_TOKEN
        }
        _ => false,
    };
    if !granted {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "invalid user credentials",
        );
    }
    let token = format!("token-{number}");
    seen.issued
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone());
    axum::Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 300}))
        .into_response()
}

fn refuse(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// A form body as a JSON object.
fn form(text: &str) -> Value {
    let decode = |part: &str| {
        let bytes = part.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            let hex = bytes
                .get(i + 1..i + 3)
                .map(|h| String::from_utf8_lossy(h).into_owned());
            match hex.and_then(|h| u8::from_str_radix(&h, 16).ok()) {
                Some(decoded) if byte == b'%' => {
                    out.push(decoded);
                    i += 3;
                }
                _ => {
                    out.push(byte);
                    i += 1;
                }
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
