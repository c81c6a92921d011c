//! Placing a call's `parameters` into the request its operation describes: each declared
//! parameter goes to its path segment, query, header or cookie; the body is the parameter named
//! like the body (the Swagger 2 body parameter, OpenAPI 3 `x-codegen-request-body-name`, else
//! `body`) or, when no such parameter is given, the object of every parameter the operation
//! does not declare. A missing required parameter, or one the operation has no place for, is a
//! `validation` error. A `null` value counts as absent.

use serde_json::{Map, Value};

use super::encode;
use super::operation::{Location, Operation};
use crate::diagnostic::did_you_mean;
use crate::host::effects::http::{HttpBody, HttpRequest};
use crate::problem::{ErrorKind, WorkflowError};

const FORM: &str = "application/x-www-form-urlencoded";

/// The request for `operation` with `parameters`; `redirect` and credentials are the caller's.
pub(crate) fn build(
    operation: &Operation,
    parameters: &Map<String, Value>,
) -> Result<HttpRequest, WorkflowError> {
    let server = operation.server.as_ref().map_err(|problem| {
        WorkflowError::new(
            ErrorKind::Configuration,
            "No server for the OpenAPI operation",
        )
        .with_detail(format!("operation `{}`: {problem}", operation.id))
    })?;
    let given = |name: &str| parameters.get(name).filter(|v| !v.is_null());
    let mut missing: Vec<String> = Vec::new();
    let mut path = operation.path.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    let mut form = Vec::new();
    for parameter in &operation.parameters {
        let Some(value) = given(&parameter.name) else {
            if parameter.required {
                missing.push(format!(
                    "`{}` (in {})",
                    parameter.name,
                    place(parameter.location)
                ));
            }
            continue;
        };
        match parameter.location {
            Location::Path => {
                let written = encode::path_value(parameter, value);
                path = path.replace(&format!("{{{}}}", parameter.name), &written);
            }
            Location::Query => query.extend(encode::query_pairs(parameter, value)),
            Location::Header => {
                headers.push((
                    parameter.name.clone(),
                    encode::header_value(parameter, value),
                ));
            }
            Location::Cookie => cookies.push(encode::cookie_pair(parameter, value)),
            Location::FormData => form.extend(encode::query_pairs(parameter, value)),
        }
    }
    // Everything the operation does not declare is a candidate for the body.
    let mut undeclared: Map<String, Value> = parameters
        .iter()
        .filter(|(name, value)| {
            !value.is_null() && !operation.parameters.iter().any(|p| &p.name == *name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    // A `{name}` the document forgot to declare is still a path parameter.
    let declared = |name: &String| operation.parameters.iter().any(|p| &p.name == name);
    for name in template_names(&path).into_iter().filter(|n| !declared(n)) {
        match undeclared.remove(&name) {
            Some(value) => {
                let parameter = super::operation::Parameter {
                    name: name.clone(),
                    location: Location::Path,
                    required: true,
                    style: super::operation::Style::Simple,
                    explode: false,
                };
                let written = encode::path_value(&parameter, &value);
                path = path.replace(&format!("{{{name}}}"), &written);
            }
            None => missing.push(format!("`{name}` (in path)")),
        }
    }
    let mut body = None;
    let mut content_type = None;
    if let Some(spec) = &operation.body {
        let value = match undeclared.remove(&spec.name) {
            Some(whole) => Some(whole),
            None if !undeclared.is_empty() => Some(Value::Object(std::mem::take(&mut undeclared))),
            None => None,
        };
        match value {
            Some(value) => {
                let media_type = spec.media_type.as_deref();
                let (encoded, header) = body_for(operation, media_type, value)?;
                body = Some(encoded);
                content_type = header;
            }
            None if spec.required => {
                missing.push(format!("`{}` (the request body)", spec.name));
            }
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(
            WorkflowError::new(ErrorKind::Validation, "Missing OpenAPI parameter").with_detail(
                format!(
                    "operation `{}` requires {}",
                    operation.id,
                    missing.join(", ")
                ),
            ),
        );
    }
    if let Some((name, _)) = undeclared.iter().next() {
        return Err(unknown(operation, name));
    }
    if !form.is_empty() {
        body = Some(HttpBody::Text(encode::form_urlencode(&form)));
        content_type = Some(FORM.to_owned());
    }
    if let Some(content_type) = content_type {
        headers.push(("Content-Type".to_owned(), content_type));
    }
    if !operation.accept.is_empty() {
        headers.push(("Accept".to_owned(), operation.accept.join(", ")));
    }
    if !cookies.is_empty() {
        headers.push(("Cookie".to_owned(), cookies.join("; ")));
    }
    Ok(HttpRequest {
        method: operation.method.clone(),
        url: format!("{server}{path}"),
        query,
        headers,
        body,
        redirect: false,
        credentials: None,
    })
}

/// The body in the operation's media type, and the `Content-Type` to send when it is not the
/// client's JSON default.
fn body_for(
    operation: &Operation,
    media_type: Option<&str>,
    value: Value,
) -> Result<(HttpBody, Option<String>), WorkflowError> {
    let Some(media_type) = media_type else {
        return Ok((HttpBody::Json(value), None));
    };
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    if essence == "application/json" {
        return Ok((HttpBody::Json(value), None));
    }
    if essence == FORM {
        let pairs: Vec<(String, String)> =
            match &value {
                Value::Object(map) => map
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), encode::text(v)))
                    .collect(),
                other => {
                    return Err(WorkflowError::new(ErrorKind::Validation, "Invalid OpenAPI body")
                    .with_detail(format!(
                        "operation `{}` takes a form body: an object of fields, not {other}",
                        operation.id
                    )));
                }
            };
        return Ok((
            HttpBody::Text(encode::form_urlencode(&pairs)),
            Some(media_type.to_owned()),
        ));
    }
    if essence.starts_with("multipart/") {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Unsupported OpenAPI body").with_detail(
                format!(
                    "operation `{}` takes `{media_type}` bodies, which this runtime cannot send",
                    operation.id
                ),
            ),
        );
    }
    Ok(match value {
        // Text for text media types; any JSON flavour (`+json`) stays JSON.
        Value::String(text) if !essence.contains("json") => {
            (HttpBody::Text(text), Some(media_type.to_owned()))
        }
        other => (HttpBody::Json(other), Some(media_type.to_owned())),
    })
}

/// The `{name}`s left in a path template.
fn template_names(path: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|at| open + at) else {
            break;
        };
        let name = &rest[open + 1..close];
        if !name.is_empty() && !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
        rest = &rest[close + 1..];
    }
    names
}

fn unknown(operation: &Operation, name: &str) -> WorkflowError {
    let mut known: Vec<&str> = operation
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    known.extend(operation.body.as_ref().map(|b| b.name.as_str()));
    let mut detail = format!("operation `{}` has no parameter `{name}`", operation.id);
    if let Some(close) = did_you_mean(name, known.iter().copied()) {
        detail.push_str(&format!("; did you mean `{close}`?"));
    }
    if known.is_empty() {
        detail.push_str(" (it takes no parameters)");
    } else {
        let listed: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        detail.push_str(&format!("; it takes {}", listed.join(", ")));
    }
    WorkflowError::new(ErrorKind::Validation, "Unknown OpenAPI parameter").with_detail(detail)
}

fn place(location: Location) -> &'static str {
    match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Header => "header",
        Location::Cookie => "cookie",
        Location::FormData => "form data",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::ApiDocument;
    use reqwest::Url;
    use serde_json::json;

    fn document(root: Value) -> ApiDocument {
        let url = Url::parse("http://127.0.0.1:7/api.json").unwrap_or_else(|e| panic!("{e}"));
        ApiDocument::parse(&root.to_string(), url).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn swagger() -> ApiDocument {
        document(json!({
            "swagger": "2.0", "basePath": "/v2", "schemes": ["http"],
            "paths": {
                "/pet/findByStatus": {"get": {"operationId": "findPetsByStatus",
                    "produces": ["application/json"],
                    "parameters": [{"name": "status", "in": "query", "required": true,
                        "type": "array", "collectionFormat": "multi"}]}},
                "/pet/{petId}": {
                    "get": {"operationId": "getPetById", "parameters": [
                        {"name": "petId", "in": "path", "required": true, "type": "integer"},
                        {"name": "api_key", "in": "header", "type": "string"}]},
                    "post": {"operationId": "updatePetWithForm", "consumes": [FORM], "parameters": [
                        {"name": "petId", "in": "path", "required": true},
                        {"name": "name", "in": "formData"}, {"name": "status", "in": "formData"}]}},
                "/pet": {"post": {"operationId": "addPet", "parameters": [
                    {"name": "body", "in": "body", "required": true, "schema": {}}]}}
            }
        }))
    }

    fn request(
        doc: &ApiDocument,
        id: &str,
        parameters: Value,
    ) -> Result<HttpRequest, WorkflowError> {
        let operation = doc.operation(id)?;
        build(operation, parameters.as_object().unwrap_or(&Map::new()))
    }

    #[test]
    fn swagger_parameters_land_in_path_query_header_and_body() {
        let doc = swagger();
        let found = request(
            &doc,
            "findPetsByStatus",
            json!({"status": ["available", "sold"]}),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(found.method, "GET");
        assert_eq!(found.url, "http://127.0.0.1:7/v2/pet/findByStatus");
        assert_eq!(
            found.query,
            [
                ("status".into(), "available".into()),
                ("status".into(), "sold".into())
            ]
        );
        assert_eq!(
            found.headers,
            [("Accept".into(), "application/json".into())]
        );
        let pet = request(
            &doc,
            "getPetById",
            json!({"petId": "1/../2", "api_key": "k"}),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(pet.url, "http://127.0.0.1:7/v2/pet/1%2F..%2F2");
        assert_eq!(pet.headers, [("api_key".into(), "k".into())]);
        assert_eq!(pet.body, None);
        // The body parameter by its name, or the undeclared parameters as the body.
        let named =
            request(&doc, "addPet", json!({"body": {"id": 7}})).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(named.body, Some(HttpBody::Json(json!({"id": 7}))));
        let rest = request(&doc, "addPet", json!({"id": 7, "name": "Rex"}))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            rest.body,
            Some(HttpBody::Json(json!({"id": 7, "name": "Rex"})))
        );
        let form = request(
            &doc,
            "updatePetWithForm",
            json!({"petId": 3, "name": "a b", "status": null}),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(form.url, "http://127.0.0.1:7/v2/pet/3");
        assert_eq!(form.body, Some(HttpBody::Text("name=a%20b".into())));
        assert_eq!(form.headers, [("Content-Type".into(), FORM.into())]);
    }

    #[test]
    fn openapi3_bodies_cookies_and_media_types() {
        let doc = document(json!({
            "openapi": "3.0.0", "servers": [{"url": "/api"}],
            "paths": {"/items/{id}": {"put": {
                "operationId": "putItem",
                "parameters": [{"name": "id", "in": "path"},
                               {"name": "session", "in": "cookie"},
                               {"name": "tags", "in": "query", "explode": false}],
                "requestBody": {"content": {"application/merge-patch+json": {}}},
                "responses": {"200": {"content": {"application/json": {}}}}
            }, "post": {
                "operationId": "postNote",
                "requestBody": {"required": true, "content": {"text/plain": {}}}
            }}}
        }));
        let put = request(
            &doc,
            "putItem",
            json!({"id": 5, "session": "s1", "tags": ["a", "b"], "name": "x"}),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(put.url, "http://127.0.0.1:7/api/items/5");
        assert_eq!(put.query, [("tags".into(), "a,b".into())]);
        assert_eq!(put.body, Some(HttpBody::Json(json!({"name": "x"}))));
        assert_eq!(
            put.headers,
            [
                ("Content-Type".into(), "application/merge-patch+json".into()),
                ("Accept".into(), "application/json".into()),
                ("Cookie".into(), "session=s1".into())
            ]
        );
        // `id` fills the path although `postNote` forgot to declare it.
        let note = request(&doc, "postNote", json!({"id": 4, "body": "hello"}))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(note.url, "http://127.0.0.1:7/api/items/4");
        assert_eq!(note.body, Some(HttpBody::Text("hello".into())));
        // `body` names the whole body, so `extra` has nowhere to go.
        let detail = request(
            &doc,
            "postNote",
            json!({"id": 1, "body": "hello", "extra": 2}),
        )
        .err()
        .and_then(|e| e.detail)
        .unwrap_or_default();
        assert!(detail.contains("no parameter `extra`"), "{detail}");
    }

    #[test]
    fn missing_and_unknown_parameters_are_validation_errors() {
        let doc = swagger();
        let error = request(&doc, "getPetById", json!({"petId": null}))
            .err()
            .unwrap_or_else(|| panic!("should fail"));
        assert_eq!(error.status, 400);
        assert!(error.type_.ends_with("/validation"));
        assert_eq!(
            error.detail.as_deref(),
            Some("operation `getPetById` requires `petId` (in path)")
        );
        let error = request(&doc, "addPet", json!({}))
            .err()
            .unwrap_or_else(|| panic!("should fail"));
        assert_eq!(
            error.detail.as_deref(),
            Some("operation `addPet` requires `body` (the request body)")
        );
        let error = request(&doc, "getPetById", json!({"petId": 1, "api-key": "k"}))
            .err()
            .unwrap_or_else(|| panic!("should fail"));
        assert_eq!(error.title.as_deref(), Some("Unknown OpenAPI parameter"));
        assert_eq!(
            error.detail.as_deref(),
            Some(
                "operation `getPetById` has no parameter `api-key`; did you mean `api_key`?; it takes `petId`, `api_key`"
            )
        );
    }

    #[test]
    fn undeclared_path_variables_are_still_filled() {
        let doc = document(json!({
            "openapi": "3.1.0", "servers": [{"url": "https://api.test"}],
            "paths": {"/users/{user}/posts/{post}": {"get": {"operationId": "getPost",
                "parameters": [{"name": "post", "in": "path"}]}}}
        }));
        let found = request(&doc, "getPost", json!({"user": "a b", "post": 2}))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(found.url, "https://api.test/users/a%20b/posts/2");
        let detail = request(&doc, "getPost", json!({"post": 2}))
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert_eq!(detail, "operation `getPost` requires `user` (in path)");
    }

    #[test]
    fn an_operation_without_a_server_is_a_configuration_error() {
        let url = Url::parse("file:///tmp/api.json").unwrap_or_else(|e| panic!("{e}"));
        let text = json!({"swagger": "2.0", "paths": {"/x": {"get": {"operationId": "x"}}}});
        let doc = ApiDocument::parse(&text.to_string(), url).unwrap_or_else(|e| panic!("{e:?}"));
        let error = request(&doc, "x", json!({}))
            .err()
            .unwrap_or_else(|| panic!("should fail"));
        assert!(error.type_.ends_with("/configuration"));
        assert!(error.detail.unwrap_or_default().contains("no `host`"));
    }
}
