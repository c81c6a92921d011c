//! Authentication policies end to end: the real `workflow` binary calls services on 127.0.0.1
//! that check the credentials (basic, bearer, digest with a real challenge, OAuth2 grants with a
//! counting token endpoint, OIDC discovery), inline, by `use`, and secret-based; failures are
//! `authentication` (401) or `authorization` (403) errors; `$authorization` reaches `output.as`.

use serde_json::{Value, json};

use crate::support::auth_server::{
    self, BEARER, CLIENT_ID, CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, SUBJECT_TOKEN, Servers, USER,
};
use crate::support::{self, Ran};

/// Writes the document (`BASE` replaced by the servers' URL, then the header added), runs it
/// with `--format json` and the given environment, and returns the exit code and the result.
fn run(servers: &Servers, body: &str, input: Value, env: &[(&str, &str)]) -> (i32, Value) {
    let dir = support::tempdir();
    let text = support::document(
        "test",
        "auth",
        "1.0.0",
        &body.replace("BASE", &servers.base),
    );
    let path = support::write(dir.path(), "auth.yaml", &text);
    let mut command = support::journaled("auth");
    command
        .args(["run", "--format", "json", "--input"])
        .arg(input.to_string())
        .arg(&path)
        .envs(env.iter().copied());
    let ran = Ran::of(&mut command);
    (ran.code, ran.json())
}

fn completed(servers: &Servers, body: &str, input: Value, env: &[(&str, &str)]) -> Value {
    let (code, result) = run(servers, body, input, env);
    support::completed(code, &result).clone()
}

fn faulted(servers: &Servers, body: &str, input: Value, env: &[(&str, &str)]) -> Value {
    let (code, result) = run(servers, body, input, env);
    support::faulted(code, &result).clone()
}

/// One GET task on `path` with `authentication` (YAML flow text) and an output shape.
fn call(name: &str, path: &str, authentication: &str) -> String {
    format!(
        "  - {name}:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: BASE{path}\n          authentication: {authentication}\n"
    )
}

#[test]
fn basic_inline_with_expressions_and_by_name() {
    let servers = auth_server::start();
    let body = format!(
        "use:\n  authentications:\n    shared:\n      basic: {{ username: {USER}, password: {PASSWORD} }}\ndo:\n{}      export:\n        as: '${{ {{first: .user}} }}'\n{}      output:\n        as: '${{ {{first: $context.first, second: .user}} }}'\n",
        call(
            "inline",
            "/basic",
            "{ basic: { username: '${ .username }', password: '${ .password }' } }"
        ),
        call("named", "/basic", "{ use: shared }"),
    );
    let output = completed(
        &servers,
        &body,
        json!({"username": USER, "password": PASSWORD}),
        &[],
    );
    assert_eq!(output, json!({"first": USER, "second": USER}));
}

#[test]
fn wrong_basic_password_is_an_authentication_error() {
    let servers = auth_server::start();
    let body = format!(
        "do:\n{}",
        call(
            "get",
            "/basic",
            &format!("{{ basic: {{ username: {USER}, password: guess }} }}")
        )
    );
    let error = faulted(&servers, &body, json!({}), &[]);
    assert_eq!(error["status"], 401, "{error:#}");
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/authentication"
    );
    assert_eq!(error["instance"], "/do/0/get");
    assert!(!error.to_string().contains("guess"), "{error:#}");
}

#[test]
fn bearer_exposes_authorization_to_output_as() {
    let servers = auth_server::start();
    let body = format!(
        "do:\n{}      output:\n        as: '${{ {{user: .user, authorization: $authorization}} }}'\n",
        call("get", "/bearer", "{ bearer: { token: '${ .token }' } }")
    );
    let output = completed(&servers, &body, json!({"token": BEARER}), &[]);
    assert_eq!(
        output,
        json!({"user": USER, "authorization": {"scheme": "Bearer", "parameter": BEARER}})
    );
}

#[test]
fn forbidden_is_an_authorization_error() {
    let servers = auth_server::start();
    let body = format!(
        "do:\n{}",
        call(
            "get",
            "/forbidden",
            &format!("{{ bearer: {{ token: {BEARER} }} }}")
        )
    );
    let error = faulted(&servers, &body, json!({}), &[]);
    assert_eq!(error["status"], 403, "{error:#}");
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/authorization"
    );
}

#[test]
fn digest_answers_a_real_challenge() {
    let servers = auth_server::start();
    let body = format!(
        "do:\n{}      output:\n        as: '${{ {{scheme: .scheme, sent: $authorization.scheme}} }}'\n",
        call(
            "get",
            "/digest?page=1",
            &format!("{{ digest: {{ username: {USER}, password: {PASSWORD} }} }}")
        )
    );
    let output = completed(&servers, &body, json!({}), &[]);
    assert_eq!(output, json!({"scheme": "digest", "sent": "Digest"}));

    let wrong = format!(
        "do:\n{}",
        call(
            "get",
            "/digest",
            &format!("{{ digest: {{ username: {USER}, password: guess }} }}")
        )
    );
    let error = faulted(&servers, &wrong, json!({}), &[]);
    assert_eq!(error["status"], 401, "{error:#}");
    assert!(
        error["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/authentication"))
    );
}

#[test]
fn secret_based_basic_and_bearer() {
    let servers = auth_server::start();
    let body = format!(
        "use:\n  secrets: [CREDS, TOKEN]\n  authentications:\n    fromSecret:\n      basic: {{ use: CREDS }}\ndo:\n{}{}      output:\n        as: '${{ .scheme }}'\n",
        call("first", "/basic", "{ use: fromSecret }"),
        call("second", "/bearer", "{ bearer: { use: TOKEN } }"),
    );
    // Upper-case secret names: their environment variables are the same whatever case rule
    // the secrets loader applies.
    let creds = json!({"username": USER, "password": PASSWORD}).to_string();
    let output = completed(
        &servers,
        &body,
        json!({}),
        &[
            ("WORKFLOW_SECRET_CREDS", &creds),
            ("WORKFLOW_SECRET_TOKEN", BEARER),
        ],
    );
    assert_eq!(output, json!("bearer"));
}

/// An `oauth2` policy (YAML block lines indented under `oauth2:`).
fn oauth2(name: &str, settings: &str) -> String {
    let settings: String = settings
        .lines()
        .map(|line| format!("              {line}\n"))
        .collect();
    format!(
        "  - {name}:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: BASE/oauth\n          authentication:\n            oauth2:\n{settings}"
    )
}

#[test]
fn client_credentials_token_is_fetched_once_per_run() {
    let servers = auth_server::start();
    let post = format!(
        "authority: BASE/realms/test\ngrant: client_credentials\nclient: {{ id: {CLIENT_ID}, secret: {CLIENT_SECRET} }}\nscopes: [api]"
    );
    let body = format!(
        "do:\n{}{}      output:\n        as: '${{ {{token: .token, authorization: $authorization}} }}'\n",
        oauth2("first", &post),
        oauth2("second", &post)
    );
    let output = completed(&servers, &body, json!({}), &[]);
    assert_eq!(
        output,
        json!({"token": "token-1", "authorization": {"scheme": "Bearer", "parameter": "token-1"}})
    );
    let requests = servers.seen.token_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0]["client_secret"], CLIENT_SECRET);
    assert_eq!(requests[0]["scope"], "api");

    // client_secret_basic, a custom token path and JSON encoding.
    let basic = format!(
        "authority: BASE/realms/test\nendpoints: {{ token: /custom/token }}\ngrant: client_credentials\nrequest: {{ encoding: application/json }}\nclient: {{ id: {CLIENT_ID}, secret: {CLIENT_SECRET}, authentication: client_secret_basic }}"
    );
    let body = format!("do:\n{}", oauth2("only", &basic));
    assert_eq!(
        completed(&servers, &body, json!({}), &[]),
        json!({"token": "token-2"})
    );
    let requests = servers.seen.token_requests();
    assert_eq!(requests[1]["basic"], format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(requests[1].get("client_secret"), None);
}

#[test]
fn password_refresh_and_exchange_grants() {
    let servers = auth_server::start();
    let client = format!("client: {{ id: {CLIENT_ID}, secret: {CLIENT_SECRET} }}");
    let body = format!(
        "do:\n{}{}{}",
        oauth2(
            "password",
            &format!(
                "authority: BASE/realms/test\ngrant: password\n{client}\nusername: {USER}\npassword: '${{ .password }}'"
            )
        ),
        oauth2(
            "refresh",
            &format!(
                "authority: BASE/realms/test\ngrant: refresh_token\n{client}\nsubject: {{ token: {REFRESH_TOKEN}, type: 'urn:ietf:params:oauth:token-type:refresh_token' }}"
            )
        ),
        oauth2(
            "exchange",
            &format!(
                "authority: BASE/realms/test\ngrant: urn:ietf:params:oauth:grant-type:token-exchange\n{client}\nsubject: {{ token: {SUBJECT_TOKEN}, type: 'urn:ietf:params:oauth:token-type:access_token' }}\naudiences: [downstream]"
            )
        ),
    );
    let output = completed(&servers, &body, json!({"password": PASSWORD}), &[]);
    assert_eq!(output, json!({"token": "token-3"}));
    let grants: Vec<Value> = servers
        .seen
        .token_requests()
        .iter()
        .map(|r| r["grant_type"].clone())
        .collect();
    assert_eq!(
        grants,
        [
            "password",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ]
    );
    assert_eq!(servers.seen.token_requests()[2]["audience"], "downstream");
}

#[test]
fn token_endpoint_refusal_is_an_authentication_error() {
    let servers = auth_server::start();
    let body = format!(
        "do:\n{}",
        oauth2(
            "get",
            &format!(
                "authority: BASE/realms/test\ngrant: password\nclient: {{ id: {CLIENT_ID}, secret: {CLIENT_SECRET} }}\nusername: {USER}\npassword: guess"
            )
        )
    );
    let error = faulted(&servers, &body, json!({}), &[]);
    assert_eq!(error["status"], 401, "{error:#}");
    assert_eq!(error["title"], "Token request refused");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.ends_with("answered 400: `invalid_grant`: invalid user credentials"),
        "{detail}"
    );
    assert!(!detail.contains("guess") && !detail.contains(CLIENT_SECRET));
}

#[test]
fn oidc_discovers_the_token_endpoint_once() {
    let servers = auth_server::start();
    let policy = format!(
        "{{ oidc: {{ authority: BASE/realms/test, grant: client_credentials, client: {{ id: {CLIENT_ID}, secret: {CLIENT_SECRET} }} }} }}"
    );
    let body = format!(
        "do:\n{}{}",
        call("first", "/oauth", &policy),
        call("second", "/oauth", &policy)
    );
    assert_eq!(
        completed(&servers, &body, json!({}), &[]),
        json!({"token": "token-1"})
    );
    assert_eq!(servers.seen.discoveries(), 1);
    assert_eq!(servers.seen.token_requests().len(), 1);
}

#[test]
fn secret_based_oauth2_reads_the_dsl_fields() {
    let servers = auth_server::start();
    let body = "use:\n  secrets: [IDP]\ndo:\n  - get:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: BASE/oauth\n          authentication:\n            oauth2: { use: IDP }\n";
    let secret = json!({
        "authority": format!("{}/realms/test", servers.base),
        "grant": "client_credentials",
        "client": {"id": CLIENT_ID, "secret": CLIENT_SECRET},
    })
    .to_string();
    let output = completed(
        &servers,
        body,
        json!({}),
        &[("WORKFLOW_SECRET_IDP", &secret)],
    );
    assert_eq!(output, json!({"token": "token-1"}));

    let error = faulted(
        &servers,
        body,
        json!({}),
        &[(
            "WORKFLOW_SECRET_IDP",
            r#"{"authority": "http://127.0.0.1:9"}"#,
        )],
    );
    assert_eq!(error["status"], 400, "{error:#}");
    assert_eq!(error["detail"], "secret `IDP`: `grant` is missing");
}
