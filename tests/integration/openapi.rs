//! End-to-end tests of `call: openapi` and custom functions: the real binary against an axum
//! server on 127.0.0.1 that serves a Swagger 2 document (JSON), an OpenAPI 3 document (YAML),
//! a function catalog, and echoes every other request back as JSON.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::support::http_server::{TestServer, serve};
use crate::support::{Ran, completed, document, faulted, journaled, tempdir, write};

/// What the server shares with its handlers: its own URL and how often each path was asked.
#[derive(Default)]
struct Shared {
    /// Set once the server is bound, before any request.
    base: Mutex<String>,
    hits: Mutex<HashMap<String, usize>>,
}

impl Shared {
    fn hit(&self, path: &str) {
        if let Ok(mut hits) = self.hits.lock() {
            *hits.entry(path.to_owned()).or_default() += 1;
        }
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .map(|hits| hits.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

struct Server {
    base: String,
    shared: Arc<Shared>,
    /// Keeps the server up for the test; dropping it stops it.
    _running: TestServer,
}

/// Starts the server on 127.0.0.1 with an ephemeral port (bound before this returns).
fn start() -> Server {
    let shared = Arc::new(Shared::default());
    let app = Router::new()
        .route("/v2/swagger.json", get(swagger))
        .route("/v3/openapi.yaml", get(openapi3))
        .route(
            "/catalog/functions/shout/1.0.0/function.yaml",
            get(shout_function),
        )
        .fallback(echo)
        .with_state(Arc::clone(&shared));
    let running = serve(app);
    let base = running.url("");
    *shared.base.lock().unwrap_or_else(PoisonError::into_inner) = base.clone();
    Server {
        base,
        shared,
        _running: running,
    }
}

async fn swagger(State(shared): State<Arc<Shared>>) -> Response {
    shared.hit("/v2/swagger.json");
    let base = shared
        .base
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let host = base.trim_start_matches("http://");
    let document = json!({
        "swagger": "2.0",
        "info": {"title": "pets", "version": "1"},
        "host": host, "basePath": "/v2", "schemes": ["http"],
        "paths": {
            "/pet/{petId}": {"get": {
                "operationId": "getPetById", "produces": ["application/json"],
                "parameters": [
                    {"name": "petId", "in": "path", "required": true, "type": "integer"},
                    {"name": "api_key", "in": "header", "type": "string"}]}},
            "/pet/findByStatus": {"get": {
                "operationId": "findPetsByStatus",
                "parameters": [{"name": "status", "in": "query", "required": true,
                    "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"}]}},
            "/pet": {"post": {
                "operationId": "addPet", "consumes": ["application/json"],
                "parameters": [{"name": "body", "in": "body", "required": true,
                    "schema": {"type": "object"}}]}}
        }
    });
    axum::Json(document).into_response()
}

const OPENAPI3: &str = r#"openapi: 3.0.3
info: {title: items, version: '1'}
servers:
  - url: /{base}
    variables:
      base: {default: v3}
components:
  parameters:
    trace: {name: X-Trace, in: header, schema: {type: string}}
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - $ref: '#/components/parameters/trace'
        - {name: tags, in: query, schema: {type: array, items: {type: string}}}
      responses:
        '200': {description: ok, content: {application/json: {}}}
  /items:
    get:
      operationId: searchItems
      parameters:
        - {name: tags, in: query, explode: false, schema: {type: array}}
    post:
      operationId: createItem
      requestBody:
        required: true
        content: {application/json: {}}
"#;

async fn openapi3(State(shared): State<Arc<Shared>>) -> Response {
    shared.hit("/v3/openapi.yaml");
    ([("content-type", "application/yaml")], OPENAPI3).into_response()
}

async fn shout_function(State(shared): State<Arc<Shared>>) -> Response {
    shared.hit("/catalog/shout");
    let definition = "input:\n  schema:\n    document:\n      type: object\n      required: [text]\nset:\n  shouted: ${ .text | ascii_upcase }\n";
    ([("content-type", "application/yaml")], definition).into_response()
}

/// Every other request, described back.
async fn echo(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.hit(uri.path());
    if uri.path().starts_with("/catalog/") {
        return (StatusCode::NOT_FOUND, "no such function").into_response();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    axum::Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "pairs": pairs,
        "trace": header("x-trace"),
        "apiKey": header("api_key"),
        "accept": header("accept"),
        "contentType": header("content-type"),
        "body": body,
    }))
    .into_response()
}

/// Runs `workflow run FILE --format json` in `dir`; returns the exit code and the JSON result.
fn run_in(dir: &Path, body: &str, input: &str) -> (i32, Value) {
    let file = write(
        dir,
        "workflow.yaml",
        &document("test", "openapi", "1.0.0", body),
    );
    let ran = Ran::of(
        journaled("openapi")
            .arg("run")
            .arg(&file)
            .args(["--format", "json", "--input", input]),
    );
    (ran.code, ran.json())
}

#[test]
fn swagger_2_parameters_go_to_path_header_query_and_body() {
    let server = start();
    let dir = tempdir();
    let doc = format!("{}/v2/swagger.json", server.base);
    let body = format!(
        r#"do:
  - pet:
      call: openapi
      with:
        document: {{ endpoint: "{doc}" }}
        operationId: getPetById
        parameters: {{ petId: "${{ .id }}", api_key: secret-key }}
      export: {{ as: "${{ $context + {{pet: .}} }}" }}
  - find:
      call: openapi
      with:
        document: {{ endpoint: "{doc}" }}
        operationId: findPetsByStatus
        parameters: {{ status: [available, sold] }}
      export: {{ as: "${{ $context + {{find: .}} }}" }}
  - add:
      call: openapi
      with:
        document: {{ endpoint: "{doc}" }}
        operationId: addPet
        parameters: {{ name: Rex, tag: dog }}
      export: {{ as: "${{ $context + {{add: .}} }}" }}
  - all:
      set: "${{ $context }}"
"#
    );
    let (code, result) = run_in(dir.path(), &body, r#"{"id": 7}"#);
    let output = completed(code, &result);
    assert_eq!(output["pet"]["path"], "/v2/pet/7");
    assert_eq!(output["pet"]["apiKey"], "secret-key");
    assert_eq!(output["pet"]["accept"], "application/json");
    assert_eq!(
        output["find"]["pairs"],
        json!([["status", "available"], ["status", "sold"]])
    );
    assert_eq!(output["add"]["method"], "POST");
    assert_eq!(output["add"]["body"], json!({"name": "Rex", "tag": "dog"}));
    assert_eq!(output["add"]["contentType"], "application/json");
    // Three calls, one document load.
    assert_eq!(server.shared.hits("/v2/swagger.json"), 1);
}

#[test]
fn openapi_3_yaml_document_with_relative_server_and_response_output() {
    let server = start();
    let dir = tempdir();
    let doc = format!("{}/v3/openapi.yaml", server.base);
    let body = format!(
        r#"do:
  - item:
      call: openapi
      with:
        document: {{ endpoint: "{doc}" }}
        operationId: getItem
        parameters: {{ id: 5, X-Trace: t-1, tags: [a, b] }}
        output: response
      export: {{ as: "${{ $context + {{item: .}} }}" }}
  - search:
      call: openapi
      with:
        document: {{ endpoint: "{doc}" }}
        operationId: searchItems
        parameters: {{ tags: [a, b] }}
      export: {{ as: "${{ $context + {{search: .}} }}" }}
  - create:
      call: openapi
      with:
        document: {{ endpoint: "{doc}" }}
        operationId: createItem
        parameters:
          body: {{ name: "${{ $workflow.input.name }}" }}
      export: {{ as: "${{ $context + {{create: .}} }}" }}
  - all:
      set: "${{ $context }}"
"#
    );
    let (code, result) = run_in(dir.path(), &body, r#"{"name": "widget"}"#);
    let output = completed(code, &result);
    let item = &output["item"];
    assert_eq!(item["statusCode"], 200);
    assert_eq!(item["request"]["method"], "GET");
    let uri = item["request"]["uri"].as_str().unwrap_or_default();
    assert!(
        uri.starts_with(&format!("{}/v3/items/5?", server.base)),
        "{uri}"
    );
    assert_eq!(item["content"]["path"], "/v3/items/5");
    assert_eq!(item["content"]["trace"], "t-1");
    assert_eq!(
        item["content"]["pairs"],
        json!([["tags", "a"], ["tags", "b"]])
    );
    assert_eq!(output["search"]["pairs"], json!([["tags", "a,b"]]));
    assert_eq!(output["create"]["method"], "POST");
    assert_eq!(output["create"]["body"], json!({"name": "widget"}));
    assert_eq!(server.shared.hits("/v3/openapi.yaml"), 1);
}

#[test]
fn a_document_is_read_from_a_file_next_to_the_workflow() {
    let server = start();
    let dir = tempdir();
    let spec = OPENAPI3.replace("url: /{base}", &format!("url: {}/{{base}}", server.base));
    std::fs::create_dir(dir.path().join("specs")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("specs/items.yaml"), spec).unwrap_or_else(|e| panic!("{e}"));
    let body = r#"do:
  - item:
      call: openapi
      with:
        document: { endpoint: "file://specs/items.yaml" }
        operationId: getItem
        parameters: { id: 9 }
"#;
    let (code, result) = run_in(dir.path(), body, "{}");
    let output = completed(code, &result);
    assert_eq!(output["path"], "/v3/items/9");
    assert_eq!(server.shared.hits("/v3/openapi.yaml"), 0);
}

#[test]
fn a_missing_operation_names_the_close_match() {
    let server = start();
    let dir = tempdir();
    let body = format!(
        "do:\n  - pet:\n      call: openapi\n      with:\n        document: {{ endpoint: \"{}/v2/swagger.json\" }}\n        operationId: getPetByID\n        parameters: {{ petId: 1 }}\n",
        server.base
    );
    let (code, result) = run_in(dir.path(), &body, "{}");
    let error = faulted(code, &result);
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
    );
    assert_eq!(error["status"], 400);
    assert_eq!(error["title"], "OpenAPI operation not found");
    assert_eq!(error["instance"], "/do/0/pet");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("did you mean `getPetById`?"), "{detail}");
}

#[test]
fn a_missing_required_parameter_is_a_validation_error() {
    let server = start();
    let dir = tempdir();
    let body = format!(
        "do:\n  - pet:\n      call: openapi\n      with:\n        document: {{ endpoint: \"{}/v2/swagger.json\" }}\n        operationId: getPetById\n        parameters: {{ api_key: k }}\n",
        server.base
    );
    let (code, result) = run_in(dir.path(), &body, "{}");
    let error = faulted(code, &result);
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/validation"
    );
    assert_eq!(error["status"], 400);
    assert_eq!(
        error["detail"],
        "operation `getPetById` requires `petId` (in path)"
    );
    // Nothing was sent for the pet.
    assert_eq!(server.shared.hits("/v2/pet/"), 0);
}

#[test]
fn a_hundred_branches_load_the_document_once() {
    let server = start();
    let dir = tempdir();
    let branches: String = (0..100)
        .map(|i| {
            format!(
                "          - b{i}:\n              call: openapi\n              with:\n                document: {{ endpoint: \"{}/v2/swagger.json\" }}\n                operationId: getPetById\n                parameters: {{ petId: {i} }}\n",
                server.base
            )
        })
        .collect();
    let body = format!(
        "do:\n  - all:\n      fork:\n        branches:\n{branches}      output:\n        as: \"${{ map(.path) | length }}\"\n"
    );
    let (code, result) = run_in(dir.path(), &body, "{}");
    assert_eq!(completed(code, &result), &json!(100));
    assert_eq!(server.shared.hits("/v2/swagger.json"), 1);
}

#[test]
fn custom_functions_inline_from_a_served_catalog_and_from_a_file() {
    let server = start();
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("functions")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("functions/twice.yaml"),
        "set:\n  twice: ${ .n * 2 }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let body = format!(
        r#"use:
  catalogs:
    test:
      endpoint: "{base}/catalog"
  functions:
    getPet:
      call: openapi
      with:
        document: {{ endpoint: "{base}/v2/swagger.json" }}
        operationId: getPetById
        parameters: {{ petId: "${{ .petId }}" }}
do:
  - inline:
      call: getPet
      with: {{ petId: 3 }}
      export: {{ as: "${{ $context + {{inline: .path}} }}" }}
  - cataloged:
      call: shout:1.0.0@test
      with: {{ text: hi }}
      export: {{ as: "${{ $context + {{cataloged: .}} }}" }}
  - again:
      call: shout:1.0.0@test
      with: {{ text: "${{ .shouted + \"!\" }}" }}
      export: {{ as: "${{ $context + {{again: .}} }}" }}
  - fromFile:
      call: file://functions/twice.yaml
      with: {{ n: 21 }}
      export: {{ as: "${{ $context + {{file: .}} }}" }}
  - all:
      set: "${{ $context }}"
"#,
        base = server.base
    );
    let (code, result) = run_in(dir.path(), &body, "{}");
    let output = completed(code, &result);
    assert_eq!(output["inline"], "/v2/pet/3");
    assert_eq!(output["cataloged"], json!({"shouted": "HI"}));
    assert_eq!(output["again"], json!({"shouted": "HI!"}));
    assert_eq!(output["file"], json!({"twice": 42}));
    // Two call sites of the cataloged function, one fetch.
    assert_eq!(server.shared.hits("/catalog/shout"), 1);
}

#[test]
fn an_unknown_catalog_function_is_a_configuration_error() {
    let server = start();
    let dir = tempdir();
    let body = format!(
        "use:\n  catalogs:\n    test:\n      endpoint: \"{}/catalog\"\ndo:\n  - log:\n      call: whisper:2.0.0@test\n",
        server.base
    );
    let (code, result) = run_in(dir.path(), &body, "{}");
    let error = faulted(code, &result);
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
    );
    assert_eq!(error["title"], "Unknown custom function");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("function `whisper:2.0.0@test`"),
        "{detail}"
    );
    assert!(
        detail.contains("/catalog/functions/whisper/2.0.0/function.yaml"),
        "{detail}"
    );
}
