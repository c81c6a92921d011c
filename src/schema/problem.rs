//! Turns raw `jsonschema` errors into structured problems, using the schema itself to know what
//! a failed rule meant (which keys an exactly-one rule names, which properties a place allows).

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::introspect;

/// One schema finding, located by the instance pointer `at` of the value it is about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    /// Keys the schema does not allow in the object at `at`; `allowed` is what it does allow.
    UnknownKeys {
        at: String,
        keys: Vec<String>,
        allowed: Vec<String>,
    },
    /// A required key is missing; `location` is the schema rule (some get their own wording).
    Missing {
        at: String,
        property: String,
        location: String,
    },
    /// The value has the wrong JSON type; `expected` holds schema type names.
    Type { at: String, expected: Vec<String> },
    /// The value is not one of a fixed set.
    Enum { at: String, options: Vec<Value> },
    /// A string does not match a pattern or format; `location` says which (see `introspect::meaning`).
    Text {
        at: String,
        location: String,
        rule: String,
    },
    /// An "exactly one of these keys" rule failed (none or several present).
    ExactlyOne {
        at: String,
        keys: Vec<String>,
        location: String,
    },
    /// Too few or too many properties, items or characters.
    Size {
        at: String,
        location: String,
        keyword: &'static str,
        limit: u64,
    },
    /// A number outside its range.
    Range {
        at: String,
        keyword: &'static str,
        limit: Value,
    },
    /// A property the schema forbids here (`false` schema).
    Forbidden { at: String, location: String },
    /// Anything else, with the validator's own words.
    Other { at: String, text: String },
}

impl Problem {
    pub(crate) fn at(&self) -> &str {
        match self {
            Problem::UnknownKeys { at, .. }
            | Problem::Missing { at, .. }
            | Problem::Type { at, .. }
            | Problem::Enum { at, .. }
            | Problem::Text { at, .. }
            | Problem::ExactlyOne { at, .. }
            | Problem::Size { at, .. }
            | Problem::Range { at, .. }
            | Problem::Forbidden { at, .. }
            | Problem::Other { at, .. } => at,
        }
    }
}

/// Structured problems from validator errors.
pub(crate) fn collect<'a>(
    errors: impl Iterator<Item = ValidationError<'a>>,
    schema: &Value,
) -> Vec<Problem> {
    let mut out = Vec::new();
    for error in errors {
        translate(&error, schema, &mut out);
    }
    out
}

fn translate(error: &ValidationError<'_>, schema: &Value, out: &mut Vec<Problem>) {
    let at = error.instance_path().as_str().to_string();
    let location = error.schema_path().as_str().to_string();
    let problem = match error.kind() {
        ValidationErrorKind::UnevaluatedProperties { unexpected }
        | ValidationErrorKind::AdditionalProperties { unexpected } => {
            let object_location = location.rsplit_once('/').map_or("", |(parent, _)| parent);
            Problem::UnknownKeys {
                at,
                keys: unexpected.clone(),
                allowed: introspect::allowed_properties(schema, object_location),
            }
        }
        ValidationErrorKind::Required { property } => Problem::Missing {
            at,
            property: property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string),
            location,
        },
        ValidationErrorKind::Type { .. } => Problem::Type {
            at,
            expected: introspect::expected_types(schema, &location),
        },
        ValidationErrorKind::Enum { options } => Problem::Enum {
            at,
            options: options.as_array().cloned().unwrap_or_default(),
        },
        ValidationErrorKind::Constant { expected_value } => Problem::Enum {
            at,
            options: vec![expected_value.as_ref().clone()],
        },
        ValidationErrorKind::Pattern { pattern } => Problem::Text {
            at,
            location,
            rule: pattern.clone(),
        },
        ValidationErrorKind::Format { format } => Problem::Text {
            at,
            location,
            rule: format.clone(),
        },
        ValidationErrorKind::OneOfNotValid { context }
        | ValidationErrorKind::OneOfMultipleValid { context } => {
            match introspect::exactly_one_keys(schema, &location) {
                Some(keys) => Problem::ExactlyOne { at, keys, location },
                None => return best_branch(error, context, schema, out),
            }
        }
        ValidationErrorKind::AnyOf { context } => {
            match introspect::format_alternatives(schema, &location) {
                Some(formats) => Problem::Text {
                    at,
                    location,
                    rule: formats.join(" or "),
                },
                None => return best_branch(error, context, schema, out),
            }
        }
        ValidationErrorKind::MinProperties { limit } => size(at, location, "minProperties", *limit),
        ValidationErrorKind::MaxProperties { limit } => size(at, location, "maxProperties", *limit),
        ValidationErrorKind::MinItems { limit } => size(at, location, "minItems", *limit),
        ValidationErrorKind::MaxItems { limit } => size(at, location, "maxItems", *limit),
        ValidationErrorKind::MinLength { limit } => size(at, location, "minLength", *limit),
        ValidationErrorKind::MaxLength { limit } => size(at, location, "maxLength", *limit),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => Problem::Range {
            at,
            keyword: "minimum",
            limit: limit.clone(),
        },
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => Problem::Range {
            at,
            keyword: "maximum",
            limit: limit.clone(),
        },
        ValidationErrorKind::FalseSchema => Problem::Forbidden { at, location },
        _ => Problem::Other {
            at,
            text: error.to_string(),
        },
    };
    out.push(problem);
}

fn size(at: String, location: String, keyword: &'static str, limit: u64) -> Problem {
    Problem::Size {
        at,
        location,
        keyword,
        limit,
    }
}

/// A `oneOf`/`anyOf` that is not one of our recognised shapes (the schema has none today; this
/// keeps a future one readable): report the errors of the alternative that got furthest into
/// the document, or the validator's sentence when no alternative stands out.
fn best_branch(
    error: &ValidationError<'_>,
    context: &[Vec<ValidationError<'static>>],
    schema: &Value,
    out: &mut Vec<Problem>,
) {
    let depth = |branch: &Vec<ValidationError<'static>>| {
        branch
            .iter()
            .map(|e| e.instance_path().as_str().matches('/').count())
            .max()
            .unwrap_or(0)
    };
    let here = error.instance_path().as_str().matches('/').count();
    match context
        .iter()
        .filter(|b| !b.is_empty())
        .max_by_key(|b| depth(b))
    {
        Some(branch) if depth(branch) > here => {
            branch.iter().for_each(|e| translate(e, schema, out))
        }
        _ => out.push(Problem::Other {
            at: error.instance_path().as_str().to_string(),
            text: "this value does not match any of the forms allowed here".to_string(),
        }),
    }
}
