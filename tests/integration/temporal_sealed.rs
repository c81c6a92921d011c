//! Secret values in `call` activities on Temporal: the worker's `--secrets` give the values,
//! and what crosses Temporal (the activity's input, its result) carries seals instead, opened by
//! the worker that runs the activity. The service gets the real values (in headers, a body and a
//! secret-based basic authentication); Temporal's own CLI shows a history without them, in the
//! requests and in the answer that echoed one.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::http_server;
use crate::support::temporal::{self, document};

const SECRET: &str = "k3y-Sealed-9931";
const PASSWORD: &str = "pw-Sealed-4410";

#[test]
fn secret_values_in_a_call_are_sealed_out_of_the_history() {
    let test = "temporal_sealed::secret_values_in_a_call_are_sealed_out_of_the_history";
    let Some((server, dir)) = temporal::setup(test, &[]) else {
        return;
    };
    let secrets = dir.path().join("secrets.json");
    let login = json!({"username": "ada", "password": PASSWORD});
    std::fs::write(
        &secrets,
        json!({"apiKey": SECRET, "login": login}).to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let kept = Arc::clone(&seen);
    let expected = {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("ada:{PASSWORD}"))
        )
    };
    let router = axum::Router::new()
        .route(
            "/private",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let given = headers
                    .get("authorization")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string);
                let status = if given.as_deref() == Some(expected.as_str()) {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::UNAUTHORIZED
                };
                async move { (status, axum::Json(json!({"private": "yes"}))) }
            }),
        )
        .route(
            "/echo",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                    let key = headers
                        .get("x-api-key")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    if let Ok(mut seen) = kept.lock() {
                        seen.push((key.clone(), body.clone()));
                    }
                    async move { axum::Json(json!({"echo": key, "note": body["note"]})) }
                },
            ),
        );
    let web = http_server::serve(router);
    let file = document(
        dir.path(),
        "sealed.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: sealed, version: '0.1.0'}}\n\
             use:\n  secrets: [apiKey, login]\n\
             do:\n  - login:\n      call: http\n      with:\n        method: get\n        \
             endpoint:\n          uri: {}\n          authentication:\n            basic:\n              \
             use: login\n      export:\n        as: '${{ {{private: .private}} }}'\n  - ask:\n      call: http\n      with:\n        method: post\n        \
             endpoint: {}\n        headers:\n          x-api-key: ${{ $secrets.apiKey }}\n        \
             body:\n          key: ${{ \"Bearer \" + $secrets.apiKey }}\n          \
             note: plain-marker-5521\n      output:\n        as: '${{ . + $context }}'\n",
            web.url("/private"),
            web.url("/echo")
        ),
    );
    let worker_args = ["--secrets", &secrets.to_string_lossy()];
    let _worker = server.worker_with("sealed", "a", &worker_args);
    let json = server.completed(&file, "sealed");
    // The service got the values; the run's result has the echo masked, as a local run's.
    let got = seen.lock().map(|seen| seen.clone()).unwrap_or_default();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, SECRET);
    assert_eq!(got[0].1["key"], format!("Bearer {SECRET}"));
    assert_eq!(json["output"]["echo"], "***", "{json}");
    assert_eq!(json["output"]["note"], "plain-marker-5521");
    // The secret-based basic authentication reached the service (401 would fault the run).
    assert_eq!(json["output"]["private"], "yes", "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    let history = server.history_text(&id);
    // The history's payloads are readable here (the marker is in the request and the answer),
    // and the secret is in neither.
    assert!(
        history.matches("plain-marker-5521").count() >= 2,
        "{history}"
    );
    for secret in [SECRET, PASSWORD] {
        assert!(
            !history.contains(secret),
            "{secret} is in the history:\n{history}"
        );
    }
    // Replayed with the same secrets, the history is deterministic.
    let replayed = std::process::Command::new(crate::support::BINARY)
        .args(["worker", "--temporal", &server.address, "--replay", &id])
        .args(worker_args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
}

#[test]
fn a_secret_passed_to_a_child_workflow_is_sealed_in_its_input() {
    let test = "temporal_sealed::a_secret_passed_to_a_child_workflow_is_sealed_in_its_input";
    let Some((server, dir)) = temporal::setup(test, &[]) else {
        return;
    };
    let secrets = dir.path().join("secrets.json");
    std::fs::write(&secrets, json!({"apiKey": SECRET}).to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = dir.path().join("seen");
    std::fs::create_dir(dir.path().join("workflows")).unwrap_or_else(|e| panic!("{e}"));
    document(
        &dir.path().join("workflows"),
        "child.yaml",
        &format!(
            "document: {{dsl: '1.0.0', namespace: test, name: child, version: '0.1.0'}}\n\
             do:\n  - keep:\n      run:\n        shell:\n          command: 'printf %s \"$KEY\" > {}'\n          \
             environment:\n            KEY: ${{ .key }}\n        return: none\n      output:\n        \
             as: '${{ {{got: $input.key}} }}'\n",
            seen.display()
        ),
    );
    let parent = document(
        dir.path(),
        "parent.yaml",
        "document: {dsl: '1.0.0', namespace: test, name: parent, version: '0.1.0'}\n\
         use:\n  secrets: [apiKey]\n\
         do:\n  - child:\n      run:\n        workflow:\n          namespace: test\n          \
         name: child\n          version: '0.1.0'\n          input:\n            \
         key: ${ $secrets.apiKey }\n",
    );
    let worker_args = ["--secrets", &secrets.to_string_lossy()];
    let _worker = server.worker_in("kin", "a", dir.path(), &worker_args);
    let json = server.completed(&parent, "kin");
    // The child's process had the value; the results are masked.
    assert_eq!(std::fs::read_to_string(&seen).unwrap_or_default(), SECRET);
    assert_eq!(json["output"]["got"], "***", "{json}");
    let id = json["id"].as_str().unwrap_or_default().to_string();
    let listed = server.cli(&["workflow", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    let child = listed
        .split_whitespace()
        .find(|word| word.starts_with(&format!("{id}-")))
        .unwrap_or_else(|| panic!("no child of {id}:\n{listed}"))
        .to_string();
    for run in [&id, &child] {
        let history = server.history_text(run);
        assert!(history.contains("printf") || run == &id, "{history}");
        assert!(
            !history.contains(SECRET),
            "the secret is in the history of {run}:\n{history}"
        );
    }
}
