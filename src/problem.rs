//! Workflow errors as the DSL's problem-details objects (RFC 7807): what `raise` produces, what
//! `catch` filters, what a faulted run reports.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Prefix of the standard error types raised by the runtime (CHECKLIST decision 5).
pub const ERROR_TYPE_PREFIX: &str = "https://serverlessworkflow.io/spec/1.0.0/errors/";
/// The spelling used by the conformance features; a catch filter's `type` matches it too.
pub const LEGACY_ERROR_TYPE_PREFIX: &str = "https://serverlessworkflow.io/dsl/errors/types/";
/// The spelling of the specification's main branch after the project was renamed (decision 16);
/// a catch filter's `type` matches it too, raised errors keep [`ERROR_TYPE_PREFIX`].
pub const RENAMED_ERROR_TYPE_PREFIX: &str =
    "https://open-workflow-specification.org/spec/1.0.0/errors/";

/// The standard error kinds and their default statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Configuration,
    Validation,
    Expression,
    Authentication,
    Authorization,
    Timeout,
    Communication,
    Runtime,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Configuration => "configuration",
            ErrorKind::Validation => "validation",
            ErrorKind::Expression => "expression",
            ErrorKind::Authentication => "authentication",
            ErrorKind::Authorization => "authorization",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Communication => "communication",
            ErrorKind::Runtime => "runtime",
        }
    }

    pub fn default_status(self) -> u16 {
        match self {
            ErrorKind::Configuration | ErrorKind::Validation | ErrorKind::Expression => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Authorization => 403,
            ErrorKind::Timeout => 408,
            ErrorKind::Communication | ErrorKind::Runtime => 500,
        }
    }

    pub fn type_uri(self) -> String {
        format!("{ERROR_TYPE_PREFIX}{}", self.name())
    }
}

/// A problem-details error. `instance` is the JSON pointer of the task that raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowError {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl WorkflowError {
    /// A standard error of `kind` with its default status.
    pub fn new(kind: ErrorKind, title: impl Into<String>) -> Self {
        WorkflowError {
            type_: kind.type_uri(),
            status: kind.default_status(),
            instance: None,
            title: Some(title.into()),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Sets `instance` unless a deeper task already set it.
    pub fn at_instance(mut self, instance: &str) -> Self {
        if self.instance.is_none() {
            self.instance = Some(instance.to_string());
        }
        self
    }

    /// The problem-details object, as `$error` and the `--format json` result show it.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("type".into(), json!(self.type_));
        object.insert("status".into(), json!(self.status));
        if let Some(instance) = &self.instance {
            object.insert("instance".into(), json!(instance));
        }
        if let Some(title) = &self.title {
            object.insert("title".into(), json!(title));
        }
        if let Some(detail) = &self.detail {
            object.insert("detail".into(), json!(detail));
        }
        Value::Object(object)
    }

    /// Whether a catch filter's `type` names this error's type, accepting the legacy spelling of
    /// the standard types (decision 5) and the renamed project's spelling (decision 16).
    pub fn type_matches(&self, filter_type: &str) -> bool {
        if self.type_ == filter_type {
            return true;
        }
        let standard_kind = |uri: &'_ str| -> Option<String> {
            [
                ERROR_TYPE_PREFIX,
                LEGACY_ERROR_TYPE_PREFIX,
                RENAMED_ERROR_TYPE_PREFIX,
            ]
            .iter()
            .find_map(|prefix| uri.strip_prefix(prefix))
            .filter(|kind| !kind.is_empty())
            .map(str::to_string)
        };
        matches!((standard_kind(&self.type_), standard_kind(filter_type)), (Some(a), Some(b)) if a == b)
    }
}

impl std::fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({})",
            self.title.as_deref().unwrap_or(&self.type_),
            self.status
        )?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(instance) = &self.instance {
            write!(f, " at {instance}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WorkflowError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_errors_carry_type_and_default_status() {
        let error =
            WorkflowError::new(ErrorKind::Timeout, "Task timed out").at_instance("/do/0/wait");
        assert_eq!(
            error.to_json(),
            json!({
                "type": "https://serverlessworkflow.io/spec/1.0.0/errors/timeout",
                "status": 408,
                "instance": "/do/0/wait",
                "title": "Task timed out"
            })
        );
    }

    #[test]
    fn the_innermost_instance_wins() {
        let error = WorkflowError::new(ErrorKind::Runtime, "boom")
            .at_instance("/do/0/a/try/0/b")
            .at_instance("/do/0/a");
        assert_eq!(error.instance.as_deref(), Some("/do/0/a/try/0/b"));
    }

    #[test]
    fn legacy_type_spelling_matches_the_standard_one() {
        let error = WorkflowError::new(ErrorKind::Communication, "down");
        assert!(error.type_matches("https://serverlessworkflow.io/dsl/errors/types/communication"));
        assert!(
            error.type_matches("https://serverlessworkflow.io/spec/1.0.0/errors/communication")
        );
        assert!(!error.type_matches("https://serverlessworkflow.io/dsl/errors/types/runtime"));
        assert!(error.type_matches(
            "https://open-workflow-specification.org/spec/1.0.0/errors/communication"
        ));
        assert!(
            !error
                .type_matches("https://open-workflow-specification.org/spec/1.0.0/errors/timeout")
        );
        assert!(!error.type_matches("https://open-workflow-specification.org/spec/1.0.0/errors/"));
        let custom = WorkflowError {
            type_: "urn:x".into(),
            ..error
        };
        assert!(custom.type_matches("urn:x"));
    }
}
