//! The embedded schema text and its compiled validator, built once per process.

use std::sync::LazyLock;

use serde_json::Value;

/// Our JSON Schema (draft 2020-12) of DSL 1.0.3, printed by `workflow schema`.
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/workflow.json");

/// The schema as a JSON value: the translator reads it to explain errors (allowed properties,
/// the alternatives of a rule), so messages follow the schema instead of a copy of it.
pub(crate) static SCHEMA: LazyLock<Result<Value, SchemaError>> = LazyLock::new(|| {
    serde_json::from_str(SCHEMA_TEXT).map_err(|e| SchemaError::NotJson(e.to_string()))
});

/// Why the schema cannot check documents: a defect of this build, reported as an internal
/// diagnostic. The causes are kept as text because the errors they come from are not `Clone`,
/// and every check shares the one failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SchemaError {
    #[error("the embedded schema is not JSON: {0}")]
    NotJson(String),
    #[error("the schema does not compile: {0}")]
    DoesNotCompile(String),
}

/// The compiled validator. Compiling takes milliseconds, so it happens once, never per call.
pub(crate) static VALIDATOR: LazyLock<Result<jsonschema::Validator, SchemaError>> =
    LazyLock::new(|| match SCHEMA.as_ref() {
        Ok(schema) => compile(schema),
        Err(e) => Err(e.clone()),
    });

/// Compiles the validator now, if no one has yet: for a thread to do while others get on.
pub fn prepare() {
    LazyLock::force(&VALIDATOR);
}

/// Compiles a schema with the options every schema in this crate uses. Formats are asserted,
/// as the upstream spec's own CI does (ajv with ajv-formats), so `date-time`, `uri` and
/// `json-pointer` mistakes are caught before run time.
pub(crate) fn compile(schema: &Value) -> Result<jsonschema::Validator, SchemaError> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| SchemaError::DoesNotCompile(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_compiles_and_accepts_a_minimal_workflow() {
        let validator = VALIDATOR.as_ref().expect("schema compiles");
        let doc = serde_json::json!({
            "document": {"dsl": "1.0.3", "namespace": "default", "name": "hello", "version": "0.1.0"},
            "do": [{"greet": {"set": {"message": "hello"}}}]
        });
        assert!(validator.is_valid(&doc));
        let missing_do = serde_json::json!({"document": doc["document"].clone()});
        assert!(!validator.is_valid(&missing_do));
    }
}
