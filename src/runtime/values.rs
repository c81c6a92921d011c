//! Small pieces the engine uses at every step: building `Val` objects, the runtime arguments
//! (`$task`, `$workflow`, `$runtime`, date-time descriptors), evaluating compiled transforms and
//! durations, checking schemas, and turning evaluation failures into problem-details errors.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::compile::{Compiled, DurationSpec, SchemaCheck, TaskNode, Tmpl, Transform};
use crate::expr::{EvalError, Val, to_json};
use crate::problem::{ErrorKind, WorkflowError};

pub(crate) use crate::expr::{obj, string};

/// The text of a string value, or its JSON text for any other value.
pub(crate) fn text_of(value: &Val) -> String {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => to_json(other).to_string(),
    }
}

/// The text of a string value only.
pub(crate) fn as_text(value: &Val) -> Option<String> {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

/// The spec's date-time descriptor: `{ iso8601, epoch: { seconds, milliseconds } }`.
pub(crate) fn descriptor(at: DateTime<Utc>) -> Val {
    let millis = at.timestamp_millis();
    obj([
        (
            "iso8601",
            string(at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        ),
        (
            "epoch",
            obj([
                ("seconds", Val::from(millis.div_euclid(1000) as isize)),
                ("milliseconds", Val::from(millis as isize)),
            ]),
        ),
    ])
}

/// `$runtime`.
pub(crate) fn runtime_var() -> Val {
    obj([
        ("name", string("workflow")),
        ("version", string(env!("CARGO_PKG_VERSION"))),
        ("metadata", obj([])),
    ])
}

/// `$task` for one execution; `output` is the raw output once the task has one.
pub(crate) fn task_var(node: &TaskNode, input: &Val, output: &Val, started: &Val) -> Val {
    obj([
        ("name", string(node.name.as_ref())),
        ("reference", string(node.pointer.as_ref())),
        ("definition", node.definition.clone()),
        ("input", input.clone()),
        ("output", output.clone()),
        ("startedAt", started.clone()),
    ])
}

/// A jq failure while evaluating the field at `at`.
pub(crate) fn expression_error(at: &str, error: EvalError) -> WorkflowError {
    WorkflowError::new(ErrorKind::Expression, "Expression evaluation failed")
        .with_detail(format!("`{at}`: {}", error.message))
}

pub(crate) fn eval_expr(
    compiled: &Compiled,
    input: Val,
    vars: &[Val],
) -> Result<Val, WorkflowError> {
    compiled
        .expr
        .eval(input, vars)
        .map_err(|e| expression_error(&compiled.at, e))
}

pub(crate) fn eval_bool(
    compiled: &Compiled,
    input: Val,
    vars: &[Val],
) -> Result<bool, WorkflowError> {
    compiled
        .expr
        .eval_bool(input, vars)
        .map_err(|e| expression_error(&compiled.at, e))
}

pub(crate) fn eval_tmpl(tmpl: &Tmpl, input: Val, vars: &[Val]) -> Result<Val, WorkflowError> {
    tmpl.template
        .eval(input, vars)
        .map_err(|e| expression_error(&tmpl.at, e))
}

/// A template that must produce a string (error type, event source, command...).
pub(crate) fn eval_text(tmpl: &Tmpl, input: Val, vars: &[Val]) -> Result<String, WorkflowError> {
    let value = eval_tmpl(tmpl, input, vars)?;
    as_text(&value).ok_or_else(|| {
        WorkflowError::new(ErrorKind::Expression, "Expression evaluation failed").with_detail(
            format!(
                "`{}`: expected a string, got {}",
                tmpl.at,
                short_json(&value)
            ),
        )
    })
}

pub(crate) fn transform(t: &Transform, input: Val, vars: &[Val]) -> Result<Val, WorkflowError> {
    match t {
        Transform::Expr(compiled) => eval_expr(compiled, input, vars),
        Transform::Template(tmpl) => eval_tmpl(tmpl, input, vars),
    }
}

/// Resolves a duration; an expression must yield an ISO 8601 string such as `PT1S`.
pub(crate) fn duration(
    spec: &DurationSpec,
    input: &Val,
    vars: &[Val],
) -> Result<std::time::Duration, WorkflowError> {
    match spec {
        DurationSpec::Fixed(fixed) => Ok(*fixed),
        DurationSpec::Expr(compiled) => {
            let value = eval_expr(compiled, input.clone(), vars)?;
            let bad = |why: String| {
                WorkflowError::new(ErrorKind::Expression, "Invalid duration")
                    .with_detail(format!("`{}`: {why}", compiled.at))
            };
            let text = as_text(&value).ok_or_else(|| {
                bad(format!(
                    "expected an ISO 8601 duration string, got {}",
                    short_json(&value)
                ))
            })?;
            crate::document::parse_iso8601(&text).map_err(|e| bad(e.to_string()))
        }
    }
}

/// Checks `value` against a schema; `what` names the data ("Task input", "Workflow output").
pub(crate) fn check_schema(
    check: &SchemaCheck,
    value: &Val,
    what: &str,
) -> Result<(), WorkflowError> {
    match check {
        SchemaCheck::Json { validator, at } => {
            let json = to_json(value);
            let problems: Vec<String> = validator
                .iter_errors(&json)
                .take(5)
                .map(|error| {
                    let path = error.instance_path().as_str().to_owned();
                    let place = if path.is_empty() {
                        "/".to_owned()
                    } else {
                        path
                    };
                    format!("at `{place}`: {error}")
                })
                .collect();
            if problems.is_empty() {
                Ok(())
            } else {
                Err(WorkflowError::new(
                    ErrorKind::Validation,
                    format!("{what} does not match its schema"),
                )
                .with_detail(format!("{} (schema at `{at}`)", problems.join("; "))))
            }
        }
        SchemaCheck::Unsupported { message, at } => Err(WorkflowError::new(
            ErrorKind::Configuration,
            message.clone(),
        )
        .with_detail(format!("schema at `{at}`"))),
    }
}

/// A value's JSON text, shortened for messages.
pub(crate) fn short_json(value: &Val) -> String {
    // Masked before it is cut: a secret cut in half would no longer be recognised.
    crate::secrets::shorten(&to_json(value).to_string(), 77, "...")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn descriptors_carry_iso_and_epoch() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T10:20:30.456Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            to_json(&descriptor(at)),
            json!({
                "iso8601": "2024-05-01T10:20:30.456Z",
                "epoch": {"seconds": 1714558830, "milliseconds": 1714558830456i64}
            })
        );
    }

    #[test]
    fn text_and_short_json() {
        assert_eq!(text_of(&string("a")), "a");
        assert_eq!(text_of(&Val::from(3usize)), "3");
        assert_eq!(as_text(&Val::Null), None);
        let long = string("x".repeat(200));
        assert!(short_json(&long).ends_with("..."));
        assert_eq!(short_json(&long).chars().count(), 80);
    }
}
