//! End-to-end tests of `call: http`: the real binary against axum servers on 127.0.0.1 (ephemeral
//! ports): output modes, content types, headers/query/body, URI templates, status errors,
//! retries, refused connections, timeouts, the response cap, redirects and authentication.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine as _;
use serde_json::{Value, json};
use workflow::exit_code::ExitCode;

use crate::support::http_server::{TestServer, serve};
use crate::support::{self, BINARY};

/// What a run printed (`--format json`) and how long it took.
struct Ran {
    code: i32,
    result: Value,
    stderr: String,
    elapsed: Duration,
}

impl Ran {
    /// The finished process of a run started at `started`, its stdout parsed as JSON.
    fn finished(output: std::process::Output, started: Instant) -> Ran {
        let elapsed = started.elapsed();
        let ran = support::Ran::from(output);
        Ran {
            code: ran.code,
            result: ran.json(),
            stderr: ran.stderr,
            elapsed,
        }
    }

    fn output(&self) -> &Value {
        assert_eq!(
            self.code,
            ExitCode::Success.code(),
            "{}\n{}",
            self.result,
            self.stderr
        );
        &self.result["output"]
    }

    fn error(&self) -> &Value {
        assert_eq!(
            self.code,
            ExitCode::Faulted.code(),
            "{}\n{}",
            self.result,
            self.stderr
        );
        &self.result["error"]
    }
}

/// Runs a document made of `tasks` (the lines under `do:`) on `input`.
fn run(tasks: &str, input: Value, extra: &[&str]) -> Ran {
    let (_dir, file) = document(tasks);
    let started = Instant::now();
    let output = Command::new(BINARY)
        .env(
            "WORKFLOW_STATE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/journal-http"),
        )
        .arg("run")
        .arg(&file)
        .args(["--input", &input.to_string(), "--format", "json"])
        .args(["--progress", "none"])
        .args(extra)
        // Only the local server is ever contacted, never through a proxy.
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("WORKFLOW_MAX_RESPONSE_BYTES")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    Ran::finished(output, started)
}

/// A document file made of `tasks`, in a temporary directory (kept while the guard lives).
fn document(tasks: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = support::tempdir();
    let text = support::document("test", "http", "1.0.0", &format!("do:\n{tasks}"));
    let file = support::write(dir.path(), "http.yaml", &text);
    (dir, file)
}

/// One `call: http` task named `call` with the given `with` lines (indented by 8).
fn call(with: &str) -> String {
    format!("  - call:\n      call: http\n      with:\n{with}")
}

/// Echoes the request back as JSON: method, path, raw query, headers and body text.
async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                json!(String::from_utf8_lossy(value.as_bytes())),
            )
        })
        .collect();
    Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

fn echo_server() -> TestServer {
    serve(
        axum::Router::new()
            .route(
                "/text",
                get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "plain words") }),
            )
            .route(
                "/problem",
                get(|| async {
                    (
                        StatusCode::NOT_FOUND,
                        [(header::CONTENT_TYPE, "application/problem+json")],
                        r#"{"title":"No such pet","detail":"pet 9 does not exist"}"#,
                    )
                }),
            )
            .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
            .fallback(any(echo)),
    )
}

#[test]
fn content_output_parses_json_and_keeps_text() {
    let server = echo_server();
    let json_call = call(&format!(
        "        method: get\n        endpoint: {}\n",
        server.url("/pets/{id}")
    ));
    let ran = run(&json_call, json!({"id": 7}), &[]);
    assert_eq!(ran.output()["path"], "/pets/7");
    assert_eq!(ran.output()["method"], "GET");

    let text = call(&format!(
        "        method: get\n        endpoint: {}\n",
        server.url("/text")
    ));
    assert_eq!(run(&text, json!({}), &[]).output(), &json!("plain words"));

    let empty = call(&format!(
        "        method: get\n        endpoint: {}\n",
        server.url("/empty")
    ));
    assert_eq!(run(&empty, json!({}), &[]).output(), &json!(null));
}

#[test]
fn response_and_raw_outputs() {
    let server = echo_server();
    let response = call(&format!(
        "        method: get\n        endpoint: {}\n        headers:\n          accept: application/json\n        output: response\n",
        server.url("/r?x=1")
    ));
    let ran = run(&response, json!({}), &[]);
    let output = ran.output();
    assert_eq!(output["statusCode"], 200);
    assert_eq!(output["request"]["method"], "GET");
    assert_eq!(output["request"]["uri"], server.url("/r?x=1"));
    assert_eq!(output["request"]["headers"]["accept"], "application/json");
    assert_eq!(output["headers"]["content-type"], "application/json");
    assert_eq!(output["content"]["query"], "x=1");

    let raw = call(&format!(
        "        method: get\n        endpoint: {}\n        output: raw\n",
        server.url("/text")
    ));
    let ran = run(&raw, json!({}), &[]);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(ran.output().as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decoded, b"plain words");
}

#[test]
fn headers_query_and_body_are_evaluated() {
    let server = echo_server();
    let maps = call(&format!(
        "        method: post\n        endpoint: {}\n        headers:\n          x-trace: ${{ .trace }}\n          x-fixed: '3'\n        query:\n          q: ${{ .q }}\n          tag: '${{ [\"a\", \"b\"] }}'\n        body:\n          name: ${{ .name }}\n          tags: [1, 2]\n",
        server.url("/echo")
    ));
    let ran = run(
        &maps,
        json!({"trace": "abc", "q": "x y&z", "name": "Rex"}),
        &[],
    );
    let echoed = ran.output();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["headers"]["x-trace"], "abc");
    assert_eq!(echoed["headers"]["x-fixed"], "3");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(echoed["query"], "q=x+y%26z&tag=a&tag=b");
    let body: Value = serde_json::from_str(echoed["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body, json!({"name": "Rex", "tags": [1, 2]}));

    // Headers and query as one expression each; a string body is sent as text.
    let expressions = call(&format!(
        "        method: put\n        endpoint: {}\n        headers: '${{ {{\"x-from\": .who}} }}'\n        query: '${{ {{page: .page}} }}'\n        body: ${{ \"hello \\(.who)\" }}\n",
        server.url("/echo")
    ));
    let ran = run(&expressions, json!({"who": "ada", "page": 2}), &[]);
    let echoed = ran.output();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["headers"]["x-from"], "ada");
    assert_eq!(echoed["query"], "page=2");
    assert_eq!(echoed["body"], "hello ada");
    assert_eq!(
        echoed["headers"]["content-type"],
        "text/plain; charset=utf-8"
    );
}

#[test]
fn uri_templates_expand_top_level_keys_encoded_and_expressions_build_uris() {
    let server = echo_server();
    let template = call(&format!(
        "        method: get\n        endpoint:\n          uri: {}\n",
        server.url("/pets/{name}/{missing}?status={status}")
    ));
    let ran = run(&template, json!({"name": "a b/c", "status": "sold"}), &[]);
    assert_eq!(ran.output()["path"], "/pets/a%20b%2Fc/");
    assert_eq!(ran.output()["query"], "status=sold");

    let expression = call(&format!(
        "        method: get\n        endpoint: ${{ \"{}\" + (.pet.id | tostring) }}\n",
        server.url("/pets/")
    ));
    let ran = run(&expression, json!({"pet": {"id": 12}}), &[]);
    assert_eq!(ran.output()["path"], "/pets/12");

    // A composite value cannot be substituted: an expression error naming the variable.
    let ran = run(&template, json!({"name": ["x"]}), &[]);
    let error = ran.error();
    assert_eq!(error["status"], 400);
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/expression"
    );
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`{name}` holds an array")),
        "{error}"
    );
}

#[test]
fn error_statuses_become_errors_with_the_real_status() {
    let server = echo_server();
    let problem = call(&format!(
        "        method: get\n        endpoint: {}\n",
        server.url("/problem")
    ));
    let ran = run(&problem, json!({}), &[]);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
    );
    assert_eq!(error["status"], 404);
    assert_eq!(error["title"], "No such pet");
    assert_eq!(error["instance"], "/do/0/call");
    assert_eq!(
        error["detail"],
        format!(
            "GET {} answered 404 Not Found: pet 9 does not exist",
            server.url("/problem")
        )
    );
}

#[test]
fn a_try_retry_policy_retries_server_errors_with_its_delay() {
    let hits: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let server = serve(
        axum::Router::new()
            .route(
                "/flaky",
                get(|State(hits): State<Arc<Mutex<Vec<Instant>>>>| async move {
                    let count = match hits.lock() {
                        Ok(mut hits) => {
                            hits.push(Instant::now());
                            hits.len()
                        }
                        Err(_) => 0,
                    };
                    if count <= 2 {
                        (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
                    } else {
                        Json(json!({"attempt": count})).into_response()
                    }
                }),
            )
            .with_state(hits.clone()),
    );
    let tasks = format!(
        r#"  - guarded:
      try:
        - get:
            call: http
            with:
              method: get
              endpoint: {}
      catch:
        errors:
          with:
            type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
            status: 500
        retry:
          delay:
            milliseconds: 200
          backoff:
            constant: {{}}
          limit:
            attempt:
              count: 5
"#,
        server.url("/flaky")
    );
    let ran = run(&tasks, json!({}), &[]);
    assert_eq!(ran.output(), &json!({"attempt": 3}));
    let hits = hits.lock().map(|h| h.clone()).unwrap_or_default();
    assert_eq!(hits.len(), 3);
    for pair in hits.windows(2) {
        let spacing = pair[1].duration_since(pair[0]);
        assert!(
            spacing >= Duration::from_millis(190),
            "retried after {spacing:?}"
        );
    }
}

#[test]
fn a_refused_connection_is_a_communication_error_naming_the_address() {
    let (_reserved, port) = support::refusing_port();
    let tasks = call(&format!(
        "        method: get\n        endpoint: http://127.0.0.1:{port}/x\n"
    ));
    let ran = run(&tasks, json!({}), &[]);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
    );
    assert_eq!(error["status"], 503);
    assert_eq!(error["title"], "Cannot connect");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!(
            "GET http://127.0.0.1:{port}/x: cannot connect to 127.0.0.1:{port}"
        )),
        "{detail}"
    );
    assert!(detail.to_lowercase().contains("refused"), "{detail}");
}

#[test]
fn a_task_timeout_interrupts_a_hanging_server() {
    let server = serve(axum::Router::new().route(
        "/hang",
        get(|| async {
            std::future::pending::<()>().await;
            "never"
        }),
    ));
    let tasks = format!(
        "  - slow:\n      timeout:\n        after: PT0.5S\n      call: http\n      with:\n        method: get\n        endpoint: {}\n",
        server.url("/hang")
    );
    let ran = run(&tasks, json!({}), &[]);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/timeout"
    );
    assert_eq!(error["status"], 408);
    assert!(ran.elapsed >= Duration::from_millis(500));
    assert!(ran.elapsed < Duration::from_secs(10), "{:?}", ran.elapsed);
}

/// Runs like `run`, sampling the child's peak resident set (`VmHWM`) until it exits; `None`
/// where `/proc` does not say.
fn run_sampling_peak(tasks: &str, extra: &[&str]) -> (Ran, Option<u64>) {
    let (_dir, file) = document(tasks);
    let started = Instant::now();
    let mut child = Command::new(BINARY)
        .env(
            "WORKFLOW_STATE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/journal-http"),
        )
        .arg("run")
        .arg(&file)
        .args(["--format", "json", "--progress", "none"])
        .args(extra)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = None;
    loop {
        let sampled = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kb| kb * 1024);
        if sampled.is_some() {
            peak = peak.max(sampled);
        }
        if matches!(child.try_wait(), Ok(Some(_))) || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (Ran::finished(output, started), peak)
}

#[test]
fn the_response_cap_holds_against_a_100_mb_stream() {
    const CHUNK: usize = 64 * 1024;
    let server = serve(
        axum::Router::new()
            .route(
                "/stream",
                get(|| async {
                    // 1,600 chunks of 64 KiB: 100 MiB, no Content-Length.
                    let chunks = futures::stream::iter(
                        (0..1600).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; CHUNK]))),
                    );
                    Response::new(Body::from_stream(chunks))
                }),
            )
            .route("/announced", get(|| async { vec![b'y'; 2 * 1024 * 1024] })),
    );
    let stream = call(&format!(
        "        method: get\n        endpoint: {}\n",
        server.url("/stream")
    ));
    let ran = run(&stream, json!({}), &["--max-response-bytes", "8388608"]);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
    );
    assert_eq!(error["status"], 502);
    assert_eq!(error["title"], "HTTP response too large");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("8388608 bytes"), "{detail}");
    assert!(detail.contains(&server.url("/stream")), "{detail}");
    assert!(ran.elapsed < Duration::from_secs(10), "{:?}", ran.elapsed);

    // The process never holds the 100 MB: caught, it lingers a moment so its peak resident set
    // can be read while it is alive.
    let lingering = format!(
        "  - guarded:\n      try:\n        - get:\n            call: http\n            with:\n              method: get\n              endpoint: {}\n      catch:\n        as: failure\n        do:\n          - linger:\n              wait: PT0.3S\n          - show:\n              set: ${{ $failure }}\n",
        server.url("/stream")
    );
    let (ran, peak) = run_sampling_peak(&lingering, &["--max-response-bytes", "8388608"]);
    assert_eq!(ran.output()["title"], "HTTP response too large");
    if let Some(peak) = peak {
        assert!(peak < 80 * 1024 * 1024, "peak RSS {peak} bytes");
    } else {
        println!("note: /proc not readable here, peak memory not checked");
    }

    // The default cap (64 MiB) holds too.
    let ran = run(&stream, json!({}), &[]);
    assert_eq!(ran.error()["title"], "HTTP response too large");

    // A body announced larger than the cap fails before it is read.
    let announced = call(&format!(
        "        method: get\n        endpoint: {}\n",
        server.url("/announced")
    ));
    let ran = run(&announced, json!({}), &["--max-response-bytes", "1048576"]);
    let detail = ran.error()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("announces 2097152 bytes"), "{detail}");
    assert!(detail.contains("--max-response-bytes"), "{detail}");

    // A HEAD response announces the length but has no body: nothing to cap.
    let head = call(&format!(
        "        method: head\n        endpoint: {}\n        output: response\n",
        server.url("/announced")
    ));
    let ran = run(&head, json!({}), &["--max-response-bytes", "1048576"]);
    assert_eq!(ran.output()["headers"]["content-length"], "2097152");
    assert_eq!(ran.output()["content"], json!(null));
}

fn redirect_server() -> TestServer {
    let to = |status: StatusCode, location: &'static str| {
        move || async move { (status, [(header::LOCATION, location)]) }
    };
    serve(
        axum::Router::new()
            .route("/found", any(to(StatusCode::FOUND, "/landing?from=302")))
            .route("/see-other", any(to(StatusCode::SEE_OTHER, "/landing")))
            .route(
                "/temporary",
                any(to(StatusCode::TEMPORARY_REDIRECT, "/landing")),
            )
            .route("/loop", any(to(StatusCode::FOUND, "/loop")))
            .fallback(any(echo)),
    )
}

#[test]
fn redirects_are_followed_only_when_asked() {
    let server = redirect_server();
    let follow = |path: &str, method: &str, redirect: bool| {
        call(&format!(
            "        method: {method}\n        endpoint: {}\n        body: {{ a: 1 }}\n        redirect: {redirect}\n",
            server.url(path)
        ))
    };
    let ran = run(&follow("/found", "get", true), json!({}), &[]);
    assert_eq!(ran.output()["path"], "/landing");
    assert_eq!(ran.output()["query"], "from=302");

    // Not followed: the 3xx is an error with its real status (decision 8).
    let ran = run(&follow("/found", "get", false), json!({}), &[]);
    let error = ran.error();
    assert_eq!(error["status"], 302);
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
    );

    // 303 turns a POST into a GET without body; 307 keeps both.
    let ran = run(&follow("/see-other", "post", true), json!({}), &[]);
    assert_eq!(ran.output()["method"], "GET");
    assert_eq!(ran.output()["body"], "");
    let ran = run(&follow("/temporary", "post", true), json!({}), &[]);
    assert_eq!(ran.output()["method"], "POST");
    assert_eq!(ran.output()["body"], r#"{"a":1}"#);

    let ran = run(&follow("/loop", "get", true), json!({}), &[]);
    let error = ran.error();
    assert_eq!(error["status"], 302);
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("more than 10 redirects")),
        "{error}"
    );
}

/// Answers 200 only to the expected `Authorization` header, 401 with a challenge otherwise.
async fn guarded(headers: HeaderMap, expected: &'static str) -> Response {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if sent == expected {
        Json(json!({"ok": true})).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"test\"")],
            "who are you?",
        )
            .into_response()
    }
}

#[test]
fn basic_and_bearer_credentials_are_sent_and_exposed() {
    let server = serve(
        axum::Router::new()
            // base64("ada:s3cret")
            .route(
                "/basic",
                get(|h: HeaderMap| guarded(h, "Basic YWRhOnMzY3JldA==")),
            )
            .route("/bearer", get(|h: HeaderMap| guarded(h, "Bearer tok-1")))
            .route("/forbidden", get(|| async { StatusCode::FORBIDDEN })),
    );
    let basic = format!(
        "  - login:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: {}\n          authentication:\n            basic:\n              username: ${{ .user }}\n              password: ${{ .password }}\n      output:\n        as: '${{ {{ok: .ok, scheme: $authorization.scheme, parameter: $authorization.parameter}} }}'\n",
        server.url("/basic")
    );
    let ran = run(&basic, json!({"user": "ada", "password": "s3cret"}), &[]);
    assert_eq!(
        ran.output(),
        &json!({"ok": true, "scheme": "Basic", "parameter": "YWRhOnMzY3JldA=="})
    );
    let ran = run(&basic, json!({"user": "ada", "password": "wrong"}), &[]);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/authentication"
    );
    assert_eq!(error["status"], 401);

    let bearer = format!(
        "  - login:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: {}\n          authentication:\n            bearer:\n              token: tok-1\n      export:\n        as: '${{ {{token: $authorization.parameter}} }}'\n  - show:\n      set: ${{ $context }}\n",
        server.url("/bearer")
    );
    assert_eq!(
        run(&bearer, json!({}), &[]).output(),
        &json!({"token": "tok-1"})
    );

    let forbidden = call(&format!(
        "        method: get\n        endpoint: {}\n",
        server.url("/forbidden")
    ));
    let ran = run(&forbidden, json!({}), &[]);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/authorization"
    );
    assert_eq!(error["status"], 403);
}

#[test]
fn bad_endpoints_and_methods_are_clear_errors() {
    let not_a_url = call("        method: get\n        endpoint: ${ .where }\n");
    let ran = run(&not_a_url, json!({"where": "nowhere"}), &[]);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
    );
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`nowhere` is not an absolute URL")),
        "{error}"
    );
    let ran = run(&not_a_url, json!({"where": 3}), &[]);
    assert_eq!(ran.error()["status"], 400);
    assert!(
        ran.error()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("expected a URI string, got 3")),
        "{}",
        ran.error()
    );

    // Caught before anything runs: the document does not compile.
    let bad_method = call("        method: 'get it'\n        endpoint: http://127.0.0.1:9/\n");
    let (_dir, file) = document(&bad_method);
    let ran_code = Command::new(BINARY)
        .env(
            "WORKFLOW_STATE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/journal-http"),
        )
        .arg("run")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ran_code.status.code(), Some(ExitCode::Invalid.code()));
    assert!(String::from_utf8_lossy(&ran_code.stderr).contains("is not an HTTP method"));
}
