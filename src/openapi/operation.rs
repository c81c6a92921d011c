//! One operation of an OpenAPI document, extracted once when the document is loaded: method,
//! path template, parameters (path-level ones merged under operation-level ones, `$ref`s
//! resolved) with how each is serialized, the request body it takes, what it answers with, and
//! the server it is sent to. Both dialects end up in this one shape.

use super::problem::{Problem, problem};
use reqwest::Url;
use serde_json::{Map, Value};

use super::{refs, server};

/// Which OpenAPI family a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `swagger: "2.0"`.
    Swagger2,
    /// `openapi: 3.0.x` or `3.1.x`.
    OpenApi3,
}

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
    Header,
    Cookie,
    /// Swagger 2 `in: formData`: a field of a URL-encoded form body.
    FormData,
}

/// How a parameter's value is written (OpenAPI 3 `style`, Swagger 2 `collectionFormat` mapped
/// onto the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `a,b,c` (path and header default).
    Simple,
    /// `.a.b` in a path.
    Label,
    /// `;name=a,b` in a path.
    Matrix,
    /// `name=a&name=b` or `name=a,b` (query and cookie default).
    Form,
    SpaceDelimited,
    PipeDelimited,
    /// Swagger 2 `tsv`.
    TabDelimited,
    /// `name[key]=value` for objects in a query.
    DeepObject,
    /// OpenAPI 3 `content`: the value serialized as JSON text.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parameter {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub style: Style,
    pub explode: bool,
}

/// The request body an operation takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BodySpec {
    /// The workflow parameter holding the whole body: the Swagger 2 body parameter's name, an
    /// OpenAPI 3 `x-codegen-request-body-name`, or `body`.
    pub name: String,
    pub required: bool,
    /// The media type to send (JSON preferred among those listed); `None`: JSON.
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operation {
    pub id: String,
    /// Upper case.
    pub method: String,
    /// The path template (`/pet/{petId}`).
    pub path: String,
    pub parameters: Vec<Parameter>,
    pub body: Option<BodySpec>,
    /// Media types of successful responses, for `Accept`.
    pub accept: Vec<String>,
    /// The base URL without a trailing `/`, or why the document gives none.
    pub server: Result<String, Problem>,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation with an `operationId`, in document order: the operation, or why it cannot be
/// used (a broken `$ref`, a parameter without a name). Duplicated ids keep their first use.
pub(crate) fn extract(
    root: &Value,
    dialect: Dialect,
    location: &Url,
) -> Vec<(String, Result<Operation, Problem>)> {
    let mut found: Vec<(String, Result<Operation, Problem>)> = Vec::new();
    let Some(paths) = root.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        let item = match refs::resolve(root, item) {
            Ok(item) => item,
            Err(_) => continue,
        };
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            if found.iter().any(|(known, _)| known == id) {
                continue;
            }
            let context = Context {
                root,
                dialect,
                location,
                item,
                operation,
            };
            let built = context.operation(id, method, path);
            found.push((id.to_owned(), built));
        }
    }
    found
}

/// What building one operation looks at.
struct Context<'a> {
    root: &'a Value,
    dialect: Dialect,
    location: &'a Url,
    item: &'a Value,
    operation: &'a Value,
}

impl Context<'_> {
    fn operation(&self, id: &str, method: &str, path: &str) -> Result<Operation, Problem> {
        let mut parameters: Vec<Parameter> = Vec::new();
        let mut body = None;
        // Path-level first; an operation-level parameter with the same name and place wins.
        for owner in [self.item, self.operation] {
            let listed = owner.get("parameters").and_then(Value::as_array);
            for raw in listed.into_iter().flatten() {
                let raw = refs::resolve(self.root, raw)?;
                match self.parameter(raw)? {
                    Declared::Body(spec) => body = Some(spec),
                    Declared::Parameter(parameter) => {
                        parameters.retain(|p| {
                            !(p.name == parameter.name && p.location == parameter.location)
                        });
                        parameters.push(parameter);
                    }
                }
            }
        }
        if self.dialect == Dialect::OpenApi3 {
            body = self.request_body()?;
        }
        let server = match self.dialect {
            Dialect::Swagger2 => server::swagger2(self.root, self.operation, self.location),
            Dialect::OpenApi3 => {
                server::openapi3(self.root, self.item, self.operation, self.location)
            }
        };
        Ok(Operation {
            id: id.to_owned(),
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            parameters,
            body,
            accept: self.accept(),
            server,
        })
    }

    fn parameter(&self, raw: &Value) -> Result<Declared, Problem> {
        let Some(name) = raw.get("name").and_then(Value::as_str) else {
            return Err(Problem::from("a parameter has no `name`"));
        };
        let place = raw.get("in").and_then(Value::as_str).unwrap_or_default();
        let required = raw.get("required").and_then(Value::as_bool) == Some(true);
        let location = match place {
            "path" => Location::Path,
            "query" => Location::Query,
            "header" => Location::Header,
            "cookie" => Location::Cookie,
            "formData" if self.dialect == Dialect::Swagger2 => Location::FormData,
            "body" if self.dialect == Dialect::Swagger2 => {
                return Ok(Declared::Body(BodySpec {
                    name: name.to_owned(),
                    required,
                    media_type: self.swagger_consumes(),
                }));
            }
            other => {
                return Err(problem!(
                    "the parameter `{name}` has an unknown `in: {other}`"
                ));
            }
        };
        let (style, explode) = match self.dialect {
            Dialect::Swagger2 => swagger_style(raw, location),
            Dialect::OpenApi3 => openapi3_style(raw, location),
        };
        Ok(Declared::Parameter(Parameter {
            name: name.to_owned(),
            location,
            // Path parameters are always required, whatever the document says.
            required: required || location == Location::Path,
            style,
            explode,
        }))
    }

    /// OpenAPI 3 `requestBody`, `$ref` resolved.
    fn request_body(&self) -> Result<Option<BodySpec>, Problem> {
        let Some(raw) = self.operation.get("requestBody") else {
            return Ok(None);
        };
        let raw = refs::resolve(self.root, raw)?;
        let types: Vec<&str> = raw
            .get("content")
            .and_then(Value::as_object)
            .map(|content| content.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let name = self
            .operation
            .get("x-codegen-request-body-name")
            .and_then(Value::as_str)
            .unwrap_or("body");
        Ok(Some(BodySpec {
            name: name.to_owned(),
            required: raw.get("required").and_then(Value::as_bool) == Some(true),
            media_type: preferred(&types),
        }))
    }

    /// Swagger 2 `consumes` (the operation's, else the document's).
    fn swagger_consumes(&self) -> Option<String> {
        let types = listed_strings(self.operation, "consumes")
            .or_else(|| listed_strings(self.root, "consumes"))
            .unwrap_or_default();
        preferred(&types)
    }

    /// Media types of successful answers: Swagger `produces`, OpenAPI 3 2xx/default content.
    fn accept(&self) -> Vec<String> {
        let types: Vec<&str> = match self.dialect {
            Dialect::Swagger2 => listed_strings(self.operation, "produces")
                .or_else(|| listed_strings(self.root, "produces"))
                .unwrap_or_default(),
            Dialect::OpenApi3 => {
                let responses = self.operation.get("responses").and_then(Value::as_object);
                let mut types = Vec::new();
                for (status, response) in responses.into_iter().flatten() {
                    if !(status.starts_with('2') || status == "default") {
                        continue;
                    }
                    let Ok(response) = refs::resolve(self.root, response) else {
                        continue;
                    };
                    let content = response.get("content").and_then(Value::as_object);
                    for media_type in content.into_iter().flat_map(Map::keys) {
                        if !types.contains(&media_type.as_str()) {
                            types.push(media_type.as_str());
                        }
                    }
                }
                types
            }
        };
        types.into_iter().map(str::to_owned).collect()
    }
}

enum Declared {
    Parameter(Parameter),
    Body(BodySpec),
}

fn listed_strings<'a>(owner: &'a Value, key: &str) -> Option<Vec<&'a str>> {
    let list = owner.get(key)?.as_array()?;
    Some(list.iter().filter_map(Value::as_str).collect())
}

/// A JSON media type when one is listed, else the first one.
fn preferred(types: &[&str]) -> Option<String> {
    types
        .iter()
        .find(|t| t.contains("json"))
        .or_else(|| types.first())
        .map(|t| (*t).to_owned())
}

/// Swagger 2 `collectionFormat` (default `csv`) as a style.
fn swagger_style(raw: &Value, location: Location) -> (Style, bool) {
    let format = raw
        .get("collectionFormat")
        .and_then(Value::as_str)
        .unwrap_or("csv");
    match format {
        "multi" => (Style::Form, true),
        "ssv" => (Style::SpaceDelimited, false),
        "tsv" => (Style::TabDelimited, false),
        "pipes" => (Style::PipeDelimited, false),
        _ => match location {
            Location::Query | Location::FormData | Location::Cookie => (Style::Form, false),
            Location::Path | Location::Header => (Style::Simple, false),
        },
    }
}

/// OpenAPI 3 `style` and `explode`, with the defaults of each location.
fn openapi3_style(raw: &Value, location: Location) -> (Style, bool) {
    if raw.get("content").is_some() {
        return (Style::Json, false);
    }
    let default = match location {
        Location::Query | Location::Cookie | Location::FormData => Style::Form,
        Location::Path | Location::Header => Style::Simple,
    };
    let style = match raw.get("style").and_then(Value::as_str) {
        Some("simple") => Style::Simple,
        Some("label") => Style::Label,
        Some("matrix") => Style::Matrix,
        Some("form") => Style::Form,
        Some("spaceDelimited") => Style::SpaceDelimited,
        Some("pipeDelimited") => Style::PipeDelimited,
        Some("deepObject") => Style::DeepObject,
        _ => default,
    };
    let explode = raw
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(style == Style::Form);
    (style, explode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn location() -> Url {
        Url::parse("http://127.0.0.1:1/doc.json").unwrap_or_else(|e| panic!("{e}"))
    }

    fn one(root: &Value, dialect: Dialect, id: &str) -> Result<Operation, Problem> {
        extract(root, dialect, &location())
            .into_iter()
            .find(|(found, _)| found == id)
            .map(|(_, op)| op)
            .unwrap_or_else(|| panic!("no operation {id}"))
    }

    #[test]
    fn swagger2_parameters_body_and_formats() {
        let root = json!({
            "swagger": "2.0", "host": "pets.test", "consumes": ["application/xml", "application/json"],
            "produces": ["application/json"],
            "parameters": {"limit": {"name": "limit", "in": "query", "type": "integer"}},
            "paths": {"/pet/{petId}": {
                "parameters": [{"name": "petId", "in": "path", "type": "integer"},
                               {"name": "trace", "in": "header", "type": "string"}],
                "post": {"operationId": "updatePet", "parameters": [
                    {"name": "trace", "in": "header", "required": true, "type": "string"},
                    {"$ref": "#/parameters/limit"},
                    {"name": "tags", "in": "query", "type": "array", "collectionFormat": "multi"},
                    {"name": "ids", "in": "query", "type": "array", "collectionFormat": "pipes"},
                    {"name": "pet", "in": "body", "required": true, "schema": {}}]},
                "get": {"operationId": "getPet"}
            }}
        });
        let op = one(&root, Dialect::Swagger2, "updatePet").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(op.method, "POST");
        assert_eq!(op.path, "/pet/{petId}");
        let shape: Vec<(&str, Location, bool, Style, bool)> = op
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.location, p.required, p.style, p.explode))
            .collect();
        assert_eq!(
            shape,
            [
                ("petId", Location::Path, true, Style::Simple, false),
                ("trace", Location::Header, true, Style::Simple, false),
                ("limit", Location::Query, false, Style::Form, false),
                ("tags", Location::Query, false, Style::Form, true),
                ("ids", Location::Query, false, Style::PipeDelimited, false),
            ]
        );
        assert_eq!(
            op.body,
            Some(BodySpec {
                name: "pet".into(),
                required: true,
                media_type: Some("application/json".into())
            })
        );
        assert_eq!(op.accept, ["application/json"]);
        assert_eq!(op.server, Ok("http://pets.test".to_owned()));
        let get = one(&root, Dialect::Swagger2, "getPet").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(get.parameters.len(), 2);
        assert_eq!(get.body, None);
    }

    #[test]
    fn openapi3_styles_request_bodies_and_responses() {
        let root = json!({
            "openapi": "3.1.0", "servers": [{"url": "https://api.test/v1"}],
            "components": {
                "requestBodies": {"Pet": {"required": true, "content": {
                    "application/xml": {}, "application/json": {}}}},
                "parameters": {"q": {"name": "q", "in": "query", "style": "spaceDelimited"}}
            },
            "paths": {"/pets": {"post": {
                "operationId": "addPet",
                "x-codegen-request-body-name": "pet",
                "requestBody": {"$ref": "#/components/requestBodies/Pet"},
                "parameters": [
                    {"$ref": "#/components/parameters/q"},
                    {"name": "tags", "in": "query"},
                    {"name": "filter", "in": "query", "style": "deepObject", "explode": true},
                    {"name": "session", "in": "cookie", "explode": false},
                    {"name": "meta", "in": "header", "content": {"application/json": {}}}
                ],
                "responses": {"200": {"content": {"application/json": {}}},
                              "404": {"content": {"text/plain": {}}}}
            }}}
        });
        let op = one(&root, Dialect::OpenApi3, "addPet").unwrap_or_else(|e| panic!("{e}"));
        let styles: Vec<(&str, Style, bool)> = op
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.style, p.explode))
            .collect();
        assert_eq!(
            styles,
            [
                ("q", Style::SpaceDelimited, false),
                ("tags", Style::Form, true),
                ("filter", Style::DeepObject, true),
                ("session", Style::Form, false),
                ("meta", Style::Json, false),
            ]
        );
        assert_eq!(
            op.body,
            Some(BodySpec {
                name: "pet".into(),
                required: true,
                media_type: Some("application/json".into())
            })
        );
        assert_eq!(op.accept, ["application/json"]);
        assert_eq!(op.server, Ok("https://api.test/v1".to_owned()));
    }

    #[test]
    fn broken_operations_are_reported_alone_and_first_ids_win() {
        let root = json!({"paths": {
            "/a": {"get": {"operationId": "a", "parameters": [{"$ref": "#/nope"}]}},
            "/b": {"get": {"operationId": "b", "parameters": [{"in": "query"}]},
                   "put": {"operationId": "a"}},
            "/c": {"get": {"operationId": "c", "parameters": [{"name": "x", "in": "body"}]}},
            "/d": {"get": {"summary": "no id"}}
        }});
        let found = extract(&root, Dialect::OpenApi3, &location());
        let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let problems: Vec<String> = found
            .into_iter()
            .map(|(_, op)| op.err().map(|p| p.0).unwrap_or_default())
            .collect();
        assert!(problems[0].contains("points to nothing"), "{problems:?}");
        assert!(problems[1].contains("no `name`"), "{problems:?}");
        assert!(problems[2].contains("unknown `in: body`"), "{problems:?}");
    }
}
