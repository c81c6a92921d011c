//! `call: grpc` against a real server we did not write the client for: Python's grpcio serving
//! `tests/peers/grpc/greeter.proto` (unary, server-streaming, failing, slow and flaky methods),
//! plaintext and over TLS with a certificate made here. The proto is compiled by the workflow
//! itself (no protoc). Also `validate` on local protos, and a gRPC call as one durable step.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::grpc_peer::{self, GrpcPeer};
use crate::support::services::{self, Need};
use crate::support::{BINARY, Ran, document, journaled, tempdir, write};

const SERVICE: &str = "interop.greeter.v1.Greeter";

fn needs(test: &str) -> bool {
    services::ready(test, &[Need::python("grpc"), Need::python("grpc_tools")])
}

/// A scratch directory holding a copy of the peer's protos next to the documents, so that
/// `endpoint: file://greeter.proto` is a path relative to the document.
fn scratch() -> tempfile::TempDir {
    let dir = tempdir();
    for name in ["greeter.proto", "types.proto"] {
        std::fs::copy(grpc_peer::peer_dir().join(name), dir.path().join(name))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

/// One `call: grpc` task named `call` with the given `with` lines after `service`'s host/port.
fn call_task(port: u16, method: &str, rest: &str) -> String {
    format!(
        "  - call:\n      call: grpc\n      with:\n        proto:\n          endpoint: file://greeter.proto\n        service:\n          name: {SERVICE}\n          host: 127.0.0.1\n          port: {port}\n        method: {method}\n{rest}"
    )
}

fn run(dir: &Path, body: &str, input: &str) -> Ran {
    let file = write(dir, "flow.yaml", &document("test", "grpc", "1.0.0", body));
    Ran::of(
        journaled("grpc")
            .args([
                "run",
                "--format",
                "json",
                "--progress",
                "none",
                "--input",
                input,
            ])
            .arg(&file),
    )
}

#[test]
fn unary_calls_map_json_both_ways() {
    if !needs("grpc::unary_calls_map_json_both_ways") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    let body = format!(
        "do:\n{}",
        call_task(
            peer.port,
            "SayHello",
            "        arguments:\n          name: ${ .who }\n          big_number: '9007199254740993'\n          mood: GRUMPY\n          sentAt: '2026-01-02T03:04:05.250Z'\n          tags: ${ .tags }\n          address: { street_name: Main Street, city: Lyon }\n          extra: { nested: { list: [1, two] } }\n"
        )
    );
    let ran = run(dir.path(), &body, r#"{"who": "Ada", "tags": ["x", "y"]}"#);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let output = ran.output();
    assert_eq!(output["message"], "Hello, Ada!");
    assert_eq!(
        output["bigNumber"], "9007199254740993",
        "64-bit as a string"
    );
    assert_eq!(output["mood"], "GRUMPY", "enums by name");
    assert_eq!(output["sentAt"], "2026-01-02T03:04:05.250Z");
    assert_eq!(output["tags"], json!(["x", "y"]));
    assert_eq!(
        output["address"],
        json!({"streetName": "Main Street", "city": "Lyon"})
    );
    assert_eq!(output["extra"]["nested"]["list"][1], "two");
    assert_eq!(output["calls"], 0, "fields at their default are present");
    assert_eq!(output["authorization"], "", "no credentials, no metadata");
}

#[test]
fn authentication_policies_become_the_authorization_metadata() {
    if !needs("grpc::authentication_policies_become_the_authorization_metadata") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    let with_auth = |name: &str, auth: &str| {
        call_task(peer.port, "SayHello", "        arguments: { name: a }\n")
            .replace("  - call:\n", &format!("  - {name}:\n"))
            .replace(
                "          port: ",
                &format!("          authentication:\n            {auth}\n          port: "),
            )
    };
    let body = format!(
        "use:\n  authentications:\n    service:\n      bearer:\n        token: ${{ $secrets.token }}\n  secrets: [token]\ndo:\n{}      export:\n        as: '${{ {{basic: .authorization}} }}'\n{}      output:\n        as: '${{ {{basic: $context.basic, bearer: .authorization}} }}'\n",
        with_auth("inline", "basic: { username: ada, password: pw }"),
        with_auth("named", "use: service"),
    );
    let file = write(
        dir.path(),
        "flow.yaml",
        &document("test", "grpc", "1.0.0", &body),
    );
    let ran = Ran::of(
        journaled("grpc")
            .args(["run", "--format", "json", "--progress", "none"])
            .arg(&file)
            .env("WORKFLOW_SECRET_TOKEN", "t0k3n-from-a-secret"),
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let output = ran.output();
    assert_eq!(output["basic"], "Basic YWRhOnB3", "base64 of ada:pw");
    // The server received the secret token and echoed it: it is masked in what is printed.
    let bearer = output["bearer"].as_str().unwrap_or_default();
    assert!(!bearer.is_empty(), "{output}");
    assert!(
        !ran.stdout.contains("t0k3n-from-a-secret"),
        "{}",
        ran.stdout
    );
    assert!(
        !ran.stderr.contains("t0k3n-from-a-secret"),
        "{}",
        ran.stderr
    );
}

#[test]
fn server_streams_become_an_array_in_order() {
    if !needs("grpc::server_streams_become_an_array_in_order") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    let body = format!(
        "do:\n{}",
        call_task(
            peer.port,
            "CountTo",
            "        arguments:\n          up_to: 5\n"
        )
    );
    let output = run(dir.path(), &body, "{}").output();
    let values: Vec<i64> = output
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {output}"))
        .iter()
        .filter_map(|m| m["value"].as_i64())
        .collect();
    assert_eq!(values, [1, 2, 3, 4, 5]);
    let empty = format!(
        "do:\n{}",
        call_task(peer.port, "CountTo", "        arguments: {}\n")
    );
    assert_eq!(run(dir.path(), &empty, "{}").output(), json!([]));
}

#[test]
fn failing_statuses_map_to_http_statuses_and_can_be_caught() {
    if !needs("grpc::failing_statuses_map_to_http_statuses_and_can_be_caught") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    let expected = [
        ("INVALID_ARGUMENT", 400),
        ("NOT_FOUND", 404),
        ("PERMISSION_DENIED", 403),
        ("ALREADY_EXISTS", 409),
        ("RESOURCE_EXHAUSTED", 429),
        ("UNAVAILABLE", 503),
        ("INTERNAL", 500),
        ("UNAUTHENTICATED", 401),
        ("FAILED_PRECONDITION", 500),
    ];
    // One try per code; each catch exports what it caught into `$context`.
    let mut body = String::from("do:\n");
    for (index, (code, _)) in expected.iter().enumerate() {
        let call = call_task(
            peer.port,
            "Fail",
            &format!("        arguments:\n          code: {code}\n          message: no luck\n"),
        );
        let indented: String = call.lines().map(|line| format!("    {line}\n")).collect();
        body.push_str(&format!(
            "  - t{index}:\n      try:\n{indented}      catch:\n        as: failure\n        do:\n          - keep:\n              set:\n                status: ${{ $failure.status }}\n                type: ${{ $failure.type }}\n                detail: ${{ $failure.detail }}\n      export:\n        as: '${{ $context + {{\"{code}\": .}} }}'\n"
        ));
    }
    body.push_str("  - all:\n      set: ${ $context }\n");
    let output = run(dir.path(), &body, "{}").output();
    for (code, status) in expected {
        let caught = &output[code];
        assert_eq!(caught["status"], status, "{code}: {output:#}");
        assert_eq!(
            caught["type"],
            "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
        );
        let detail = caught["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with(&format!("{code}: no luck")), "{detail}");
    }
}

#[test]
fn unavailable_is_retried_like_an_http_503() {
    if !needs("grpc::unavailable_is_retried_like_an_http_503") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    let key = format!("retry-{}", std::process::id());
    let task = call_task(
        peer.port,
        "Flaky",
        &format!("        arguments:\n          key: {key}\n          succeedOn: 3\n"),
    )
    .lines()
    .map(|line| format!("          {line}\n"))
    .collect::<String>();
    let body = format!(
        "do:\n  - guarded:\n      try:\n{task}      catch:\n        errors:\n          with:\n            type: https://serverlessworkflow.io/spec/1.0.0/errors/communication\n            status: 503\n        retry:\n          delay: {{ milliseconds: 10 }}\n          limit:\n            attempt:\n              count: 5\n"
    );
    let output = run(dir.path(), &body, "{}").output();
    assert_eq!(output["message"], "ok after 3");
    assert_eq!(output["calls"], 3);
}

#[test]
fn the_task_timeout_is_the_deadline_and_cancels_the_call() {
    if !needs("grpc::the_task_timeout_is_the_deadline_and_cancels_the_call") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    // The server sees the deadline.
    let quick = format!(
        "do:\n{}      timeout:\n        after: PT30S\n",
        call_task(
            peer.port,
            "Slow",
            "        arguments:\n          seconds: 0.05\n"
        )
    );
    let output = run(dir.path(), &quick, "{}").output();
    let left = output["deadlineSeconds"].as_f64().unwrap_or(-1.0);
    assert!(left > 0.0 && left <= 30.0, "deadline seen: {output}");
    // Without a timeout there is no deadline.
    let open = format!(
        "do:\n{}",
        call_task(
            peer.port,
            "Slow",
            "        arguments:\n          seconds: 0.01\n"
        )
    );
    assert_eq!(
        run(dir.path(), &open, "{}").output()["deadlineSeconds"],
        -1.0
    );
    // A timeout that runs out is a `timeout` error and the server sees the call cancelled.
    let key = format!("slow-{}", std::process::id());
    let slow = format!(
        "do:\n{}      timeout:\n        after: PT1S\n",
        call_task(
            peer.port,
            "Slow",
            &format!("        arguments:\n          seconds: 30\n          key: {key}\n")
        )
    );
    let started = std::time::Instant::now();
    let error = run(dir.path(), &slow, "{}").error();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/timeout"
    );
    assert!(
        peer.wait_for(&format!("CANCELLED {key}"), Duration::from_secs(20))
            .is_some(),
        "the server never saw the call cancelled"
    );
}

#[test]
fn bad_arguments_and_missing_methods_are_clear_errors() {
    if !needs("grpc::bad_arguments_and_missing_methods_are_clear_errors") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    // Built by an expression: only the run can see the misspelt field.
    let typo = format!(
        "do:\n{}",
        call_task(
            peer.port,
            "SayHello",
            "        arguments:\n          address: ${ .address }\n"
        )
    );
    let error = run(dir.path(), &typo, r#"{"address": {"cty": "x"}}"#).error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/validation"
    );
    assert_eq!(
        error["detail"],
        "`address.cty` is not a field of `interop.greeter.v1.Address` (did you mean `city`?)"
    );
    let wrong_type = format!(
        "do:\n{}",
        call_task(
            peer.port,
            "CountTo",
            "        arguments:\n          upTo: ${ .n }\n"
        )
    );
    let error = run(dir.path(), &wrong_type, r#"{"n": "many"}"#).error();
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not a valid `interop.greeter.v1.CountRequest`"),
        "{error}"
    );
    // A server that does not know the method (the proto says more than it serves).
    let unknown_dir = scratch();
    let extended = std::fs::read_to_string(unknown_dir.path().join("greeter.proto"))
        .unwrap_or_default()
        .replace(
            "service Greeter {",
            "service Greeter {\n  rpc Missing (HelloRequest) returns (HelloReply);",
        );
    write(unknown_dir.path(), "greeter.proto", &extended);
    let missing = format!("do:\n{}", call_task(peer.port, "Missing", ""));
    let error = run(unknown_dir.path(), &missing, "{}").error();
    assert_eq!(error["status"], 501, "{error}");
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("UNIMPLEMENTED"),
        "{error}"
    );
}

#[test]
fn a_server_that_is_not_there_is_unavailable() {
    let dir = scratch();
    let (_socket, port) = crate::support::refusing_port();
    let body = format!("do:\n{}", call_task(port, "SayHello", ""));
    let error = run(dir.path(), &body, "{}").error();
    assert_eq!(error["status"], 503, "{error}");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("UNAVAILABLE: cannot connect to 127.0.0.1:{port}")),
        "{detail}"
    );
}

#[test]
fn validate_checks_local_protos_at_the_task() {
    let dir = scratch();
    let task = |method: &str, rest: &str| call_task(50051, method, rest);
    let cases = [
        (
            task(
                "SayHello",
                "        arguments:\n          name: x\n          adress: { street_name: y }\n",
            ),
            "/do/0/call/with/arguments/adress",
            "`adress` is not a field of `interop.greeter.v1.HelloRequest` (did you mean `address`?)",
        ),
        (
            task(
                "SayHello",
                "        arguments:\n          address: { streetNam: y }\n",
            ),
            "/do/0/call/with/arguments/address/streetNam",
            "`address.streetNam` is not a field of `interop.greeter.v1.Address` (did you mean `streetName`?)",
        ),
        (
            task("SayHelo", ""),
            "/do/0/call/with/method",
            "did you mean `SayHello`?",
        ),
        (
            task("SayHello", "").replace(SERVICE, "interop.greeter.v1.Greter"),
            "/do/0/call/with/service/name",
            "did you mean `interop.greeter.v1.Greeter`?",
        ),
        (
            task("Collect", ""),
            "/do/0/call/with/method",
            "is a client-streaming method",
        ),
    ];
    for (body, pointer, message) in cases {
        let file = write(
            dir.path(),
            "flow.yaml",
            &document("test", "grpc", "1.0.0", &format!("do:\n{body}")),
        );
        let ran = Ran::of(
            assert_cmd::Command::new(BINARY)
                .args(["validate", "--format", "json"])
                .arg(&file),
        );
        assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
        let json: Value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}"));
        let found = &json["files"][0]["diagnostics"][0];
        assert_eq!(found["pointer"], pointer, "{json:#}");
        assert!(
            found["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{json:#}"
        );
    }
    // A proto that does not compile is reported with its line and column.
    write(
        dir.path(),
        "broken.proto",
        "syntax = \"proto3\";\nmessage A {\n  Missing b = 1;\n}\n",
    );
    let broken = task("SayHello", "").replace("file://greeter.proto", "file://broken.proto");
    let file = write(
        dir.path(),
        "flow.yaml",
        &document("test", "grpc", "1.0.0", &format!("do:\n{broken}")),
    );
    let ran = Ran::of(assert_cmd::Command::new(BINARY).arg("validate").arg(&file));
    assert_eq!(ran.code, 3);
    assert!(ran.stderr.contains("broken.proto:3:"), "{}", ran.stderr);
    // The valid call validates.
    let good = write(
        dir.path(),
        "flow.yaml",
        &document(
            "test",
            "grpc",
            "1.0.0",
            &format!(
                "do:\n{}",
                task("SayHello", "        arguments:\n          name: ${ .n }\n")
            ),
        ),
    );
    let ran = Ran::of(assert_cmd::Command::new(BINARY).arg("validate").arg(&good));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn a_proto_missing_at_validation_is_a_warning_and_a_fault_at_run_time() {
    let dir = scratch();
    let body = format!("do:\n{}", call_task(50051, "SayHello", ""))
        .replace("file://greeter.proto", "file://absent.proto");
    let file = write(
        dir.path(),
        "flow.yaml",
        &document("test", "grpc", "1.0.0", &body),
    );
    let ran = Ran::of(
        assert_cmd::Command::new(BINARY)
            .args(["validate", "--format", "json"])
            .arg(&file),
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let json: Value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}"));
    let found = &json["files"][0]["diagnostics"][0];
    assert_eq!(
        found["pointer"], "/do/0/call/with/proto/endpoint",
        "{json:#}"
    );
    assert!(
        found["message"]
            .as_str()
            .unwrap_or_default()
            .contains("does not exist here"),
        "{json:#}"
    );
    let error = run(dir.path(), &body, "{}").error();
    assert_eq!(error["status"], 400, "{error}");
    assert_eq!(error["title"], "Resource not found", "{error}");
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("absent.proto"),
        "{error}"
    );
}

#[test]
fn tls_is_used_on_request_with_the_trusted_roots() {
    if !needs("grpc::tls_is_used_on_request_with_the_trusted_roots") {
        return;
    }
    let certs = tempdir();
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap_or_else(|e| panic!("{e}"));
    let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
    let cert_file = write(certs.path(), "cert.pem", &cert.pem());
    let key_file = write(certs.path(), "key.pem", &key.serialize_pem());
    let peer = GrpcPeer::start(&[
        "--tls-cert",
        &cert_file.display().to_string(),
        "--tls-key",
        &key_file.display().to_string(),
    ]);
    let dir = scratch();
    let body = format!(
        "do:\n{}",
        call_task(peer.port, "SayHello", "        arguments: {name: tls}\n")
            .replace("host: 127.0.0.1", "host: localhost")
            .replace(
                "      call: grpc\n",
                "      call: grpc\n      metadata:\n        grpc: { tls: true }\n"
            )
    );
    let file = write(
        dir.path(),
        "flow.yaml",
        &document("test", "grpc", "1.0.0", &body),
    );
    let run_with = |ca: Option<&Path>| {
        let mut command = journaled("grpc");
        command
            .args(["run", "--format", "json", "--progress", "none"])
            .arg(&file);
        match ca {
            Some(ca) => command.env("SSL_CERT_FILE", ca),
            None => command.env_remove("SSL_CERT_FILE"),
        };
        Ran::of(&mut command)
    };
    // Trusted through SSL_CERT_FILE: the call goes through.
    assert_eq!(
        run_with(Some(&cert_file)).output()["message"],
        "Hello, tls!"
    );
    // With the system's roots only, the self-signed certificate is refused.
    let error = run_with(None).error();
    assert_eq!(error["status"], 503, "{error}");
    // Plaintext to a TLS server fails too.
    let plain = body.replace("grpc: { tls: true }", "grpc: { tls: false }");
    let error = run(dir.path(), &plain, "{}").error();
    assert_eq!(
        error["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/communication",
        "{error}"
    );
}

#[test]
fn a_grpc_call_is_one_durable_step_on_retry() {
    if !needs("grpc::a_grpc_call_is_one_durable_step_on_retry") {
        return;
    }
    let peer = grpc_peer::shared();
    let dir = scratch();
    let state = dir.path().join("state");
    let unique = format!(
        "durable-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    let flaky = |name: &str, key: &str, succeed_on: u32| {
        call_task(
            peer.port,
            "Flaky",
            &format!(
                "        arguments:\n          key: '{key}'\n          succeedOn: {succeed_on}\n"
            ),
        )
        .replace("  - call:\n", &format!("  - {name}:\n"))
    };
    let body = format!(
        "do:\n{}{}{}",
        flaky("first", &format!("{unique}-a"), 1),
        flaky("second", &format!("{unique}-b"), 2),
        flaky("again", &format!("{unique}-a"), 1),
    );
    let file = write(
        dir.path(),
        "flow.yaml",
        &document("test", "grpc", "1.0.0", &body),
    );
    let first = Ran::of(
        assert_cmd::Command::new(BINARY)
            .args([
                "run",
                "--format",
                "json",
                "--progress",
                "none",
                "--state-dir",
            ])
            .arg(&state)
            .arg(&file),
    );
    let error = first.error();
    assert_eq!(error["status"], 503, "{error}");
    let run_id = first.json()["id"].as_str().unwrap_or_default().to_owned();
    let retried = Ran::of(
        assert_cmd::Command::new(BINARY)
            .args([
                "retry",
                "--format",
                "json",
                "--progress",
                "none",
                "--state-dir",
            ])
            .arg(&state)
            .arg(&run_id),
    );
    // `first` was not called again: `again` is the key's second call, not its third.
    assert_eq!(retried.output()["calls"], 2, "{}", retried.stderr);
}

#[test]
fn the_bundled_example_runs_against_the_peer() {
    if !needs("grpc::the_bundled_example_runs_against_the_peer") {
        return;
    }
    let peer = grpc_peer::shared();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let dir = tempdir();
    for name in ["greeter.proto", "types.proto"] {
        std::fs::create_dir_all(dir.path().join("protos")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(
            root.join("protos").join(name),
            dir.path().join("protos").join(name),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let example = std::fs::read_to_string(root.join("grpc-greetings.yaml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("port: 50051", &format!("port: {}", peer.port));
    let file = write(dir.path(), "grpc-greetings.yaml", &example);
    let ran = Ran::of(
        journaled("grpc")
            .args(["run", "--format", "json", "--progress", "none"])
            .args(["--input", r#"{"names": ["Ada", "Grace", "Linus"]}"#])
            .arg(&file),
    );
    assert_eq!(
        ran.output(),
        json!({
            "greetings": ["Hello, Ada!", "Hello, Grace!", "Hello, Linus!"],
            "counted": [1, 2, 3]
        })
    );
}

#[test]
fn the_example_protos_are_the_peers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["greeter.proto", "types.proto"] {
        let read = |path: std::path::PathBuf| {
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        assert_eq!(
            read(root.join("workflows/protos").join(name)),
            read(grpc_peer::peer_dir().join(name)),
            "workflows/protos/{name} must stay a copy of tests/peers/grpc/{name}"
        );
    }
}

#[test]
fn protos_are_fetched_over_http_with_their_imports_and_credentials() {
    if !needs("grpc::protos_are_fetched_over_http_with_their_imports_and_credentials") {
        return;
    }
    use axum::extract::Path as UrlPath;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::{Arc, Mutex};
    let peer = grpc_peer::shared();
    let fetched = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&fetched);
    let server = crate::support::http_server::serve(axum::Router::new().route(
        "/protos/{name}",
        axum::routing::get(move |UrlPath(name): UrlPath<String>, headers: HeaderMap| {
            let seen = Arc::clone(&seen);
            async move {
                // base64("repo:pw")
                if headers.get("authorization").and_then(|v| v.to_str().ok())
                    != Some("Basic cmVwbzpwdw==")
                {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                if let Ok(mut seen) = seen.lock() {
                    seen.push(name.clone());
                }
                match std::fs::read_to_string(grpc_peer::peer_dir().join(&name)) {
                    Ok(text) => (StatusCode::OK, text),
                    Err(_) => (StatusCode::NOT_FOUND, String::new()),
                }
            }
        }),
    ));
    let dir = tempdir();
    let proto = format!(
        "endpoint:\n                  uri: {}\n                  authentication:\n                    basic: {{ username: repo, password: pw }}",
        server.url("/protos/greeter.proto")
    );
    let body = format!(
        "do:\n  - each:\n      for:\n        each: name\n        in: ${{ [\"a\", \"b\", \"c\"] }}\n      do:\n        - call:\n{}",
        call_task(
            peer.port,
            "SayHello",
            "        arguments: { name: '${ $name }' }\n"
        )
        .lines()
        .skip(1)
        .map(|line| format!("      {line}\n"))
        .collect::<String>()
        .replace("endpoint: file://greeter.proto", &proto)
    );
    let ran = run(dir.path(), &body, "{}");
    assert_eq!(ran.output()["message"], "Hello, c!", "{}", ran.stderr);
    let mut names = fetched.lock().map(|f| f.clone()).unwrap_or_default();
    names.sort();
    // Read once per run for the three calls, with the import beside it.
    assert_eq!(names, ["greeter.proto", "types.proto"]);
}
