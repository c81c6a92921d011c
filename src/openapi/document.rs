//! A loaded OpenAPI description: parsed once (JSON or YAML), its dialect recognised, and every
//! operation extracted and indexed by `operationId`, so a call only looks its operation up.

use super::problem::Problem;
use reqwest::Url;
use serde_json::Value;

use super::operation::{self, Dialect, Operation};
use crate::diagnostic::did_you_mean;
use crate::problem::{ErrorKind, WorkflowError};
use crate::source::Source;

/// How many operation ids an "operation not found" error lists.
const LISTED_IDS: usize = 12;

#[derive(Debug)]
pub(crate) struct ApiDocument {
    pub dialect: Dialect,
    /// Where the document was read from.
    pub location: Url,
    /// In document order; broken ones keep why.
    operations: Vec<(String, Result<Operation, Problem>)>,
}

impl ApiDocument {
    /// Parses `text` read from `location`.
    pub(crate) fn parse(text: &str, location: Url) -> Result<ApiDocument, WorkflowError> {
        let source = Source::new(location.as_str(), text);
        let root = crate::yaml::load(&source)
            .map_err(|diagnostic| {
                invalid(&location).with_detail(format!(
                    "`{location}` is neither JSON nor YAML: {}",
                    diagnostic.message
                ))
            })?
            .value;
        let dialect = dialect(&root).ok_or_else(|| {
            invalid(&location).with_detail(format!(
                "`{location}` is not an OpenAPI document: it has neither `swagger: \"2.0\"` nor \
                 `openapi: 3.x`"
            ))
        })?;
        let operations = operation::extract(&root, dialect, &location);
        Ok(ApiDocument {
            dialect,
            location,
            operations,
        })
    }

    /// The operation called `id`, or a `configuration` error naming the close matches.
    pub(crate) fn operation(&self, id: &str) -> Result<&Operation, WorkflowError> {
        match self.operations.iter().find(|(known, _)| known == id) {
            Some((_, Ok(operation))) => Ok(operation),
            Some((_, Err(problem))) => Err(WorkflowError::new(
                ErrorKind::Configuration,
                "Unusable OpenAPI operation",
            )
            .with_detail(format!(
                "operation `{id}` of `{}` cannot be called: {problem}",
                self.location
            ))),
            None => Err(self.not_found(id)),
        }
    }

    fn not_found(&self, id: &str) -> WorkflowError {
        let ids: Vec<&str> = self.operations.iter().map(|(id, _)| id.as_str()).collect();
        let dialect = match self.dialect {
            Dialect::Swagger2 => "Swagger 2.0",
            Dialect::OpenApi3 => "OpenAPI 3",
        };
        let mut detail = format!("`{}` ({dialect}) has no operation `{id}`", self.location);
        if let Some(close) = did_you_mean(id, ids.iter().copied()) {
            detail.push_str(&format!("; did you mean `{close}`?"));
        }
        if ids.is_empty() {
            detail.push_str(" (it defines no `operationId` at all)");
        } else {
            let shown: Vec<String> = ids
                .iter()
                .take(LISTED_IDS)
                .map(|i| format!("`{i}`"))
                .collect();
            let more = ids.len().saturating_sub(LISTED_IDS);
            detail.push_str(&format!("; it defines {}", shown.join(", ")));
            if more > 0 {
                detail.push_str(&format!(" and {more} more"));
            }
        }
        WorkflowError::new(ErrorKind::Configuration, "OpenAPI operation not found")
            .with_detail(detail)
    }
}

fn invalid(location: &Url) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Invalid OpenAPI document").with_detail(format!(
        "`{location}` could not be read as an OpenAPI document"
    ))
}

fn dialect(root: &Value) -> Option<Dialect> {
    let version = |key| match root.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    if version("swagger").is_some_and(|v| v.starts_with('2')) {
        Some(Dialect::Swagger2)
    } else if version("openapi").is_some_and(|v| v.starts_with('3')) {
        Some(Dialect::OpenApi3)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:1/api.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn yaml_and_json_documents_of_both_dialects_load() {
        let yaml = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /pets:\n    get:\n      operationId: listPets\n";
        let doc = ApiDocument::parse(yaml, url()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(doc.dialect, Dialect::OpenApi3);
        let op = doc
            .operation("listPets")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(op.method, "GET");
        let json = r#"{"swagger": "2.0", "paths": {"/p": {"delete": {"operationId": "del"}}}}"#;
        let doc = ApiDocument::parse(json, url()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(doc.dialect, Dialect::Swagger2);
        assert_eq!(
            doc.operation("del").map(|op| op.method.as_str()),
            Ok("DELETE")
        );
    }

    #[test]
    fn missing_operations_name_close_matches_and_the_known_ids() {
        let json = r#"{"swagger": "2.0", "paths": {"/p": {"get": {"operationId": "findPetsByStatus"},
            "put": {"operationId": "updatePet"}}}}"#;
        let doc = ApiDocument::parse(json, url()).unwrap_or_else(|e| panic!("{e:?}"));
        let error = doc
            .operation("findPetByStatus")
            .err()
            .unwrap_or_else(|| panic!("found"));
        assert_eq!(error.status, 400);
        assert!(error.type_.ends_with("/configuration"));
        assert_eq!(error.title.as_deref(), Some("OpenAPI operation not found"));
        let detail = error.detail.unwrap_or_default();
        assert!(
            detail.contains("did you mean `findPetsByStatus`?"),
            "{detail}"
        );
        assert!(
            detail.contains("it defines `findPetsByStatus`, `updatePet`"),
            "{detail}"
        );
    }

    #[test]
    fn documents_that_are_not_openapi_are_refused() {
        let error = ApiDocument::parse("{\"hello\": 1}", url()).err();
        let detail = error.and_then(|e| e.detail).unwrap_or_default();
        assert!(detail.contains("not an OpenAPI document"), "{detail}");
        let error = ApiDocument::parse("a: [1,", url()).err();
        let detail = error.and_then(|e| e.detail).unwrap_or_default();
        assert!(detail.contains("neither JSON nor YAML"), "{detail}");
        let empty =
            ApiDocument::parse("openapi: '3.1.0'\n", url()).unwrap_or_else(|e| panic!("{e:?}"));
        let detail = empty
            .operation("x")
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert!(detail.contains("defines no `operationId`"), "{detail}");
    }
}
