//! The check that every declared secret has a value: a missing secret is an `authorization`
//! error (403, CHECKLIST §4) raised before the first task, saying how to provide it.

use super::load::{Secrets, env_name};
use crate::problem::{ErrorKind, WorkflowError};

/// `Ok` when `provided` holds a value for every name of `declared`.
pub fn require_declared(declared: &[String], provided: &Secrets) -> Result<(), WorkflowError> {
    let missing: Vec<&String> = declared
        .iter()
        .filter(|name| !provided.contains_key(name.as_str()))
        .collect();
    let detail = match missing.as_slice() {
        [] => return Ok(()),
        [name] => format!(
            "the workflow declares the secret `{name}` in `use.secrets` but no value was given: \
             set the environment variable {}=... or pass --secrets FILE with an entry `{name}` \
             (JSON, YAML or dotenv)",
            env_name(name)
        ),
        names => {
            let listed: Vec<String> = names
                .iter()
                .map(|name| format!("`{name}` ({}=...)", env_name(name)))
                .collect();
            format!(
                "the workflow declares secrets in `use.secrets` that no source gives a value for: \
                 {}; set those environment variables or pass --secrets FILE with these entries \
                 (JSON, YAML or dotenv)",
                listed.join(", ")
            )
        }
    };
    let title = if missing.len() == 1 {
        "Missing secret"
    } else {
        "Missing secrets"
    };
    Err(WorkflowError::new(ErrorKind::Authorization, title).with_detail(detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn every_declared_secret_must_have_a_value() {
        let mut provided = Secrets::new();
        provided.insert("token".into(), json!("abcd"));
        assert_eq!(require_declared(&names(&["token"]), &provided), Ok(()));
        assert_eq!(require_declared(&[], &Secrets::new()), Ok(()));
        // An empty value is a value.
        provided.insert("empty".into(), json!(""));
        assert_eq!(require_declared(&names(&["empty"]), &provided), Ok(()));
    }

    #[test]
    fn one_missing_secret_names_both_ways_to_provide_it() {
        let error = require_declared(&names(&["apiKey"]), &Secrets::new())
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(error.status, 403);
        assert!(error.type_.ends_with("/errors/authorization"));
        assert_eq!(error.title.as_deref(), Some("Missing secret"));
        let detail = error.detail.unwrap_or_default();
        assert!(detail.contains("`apiKey`"), "{detail}");
        assert!(detail.contains("WORKFLOW_SECRET_APIKEY=..."), "{detail}");
        assert!(detail.contains("--secrets FILE"), "{detail}");
    }

    #[test]
    fn several_missing_secrets_are_listed_together() {
        let mut provided = Secrets::new();
        provided.insert("b".into(), json!("value"));
        let error = require_declared(&names(&["a", "b", "c-d"]), &provided)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(error.title.as_deref(), Some("Missing secrets"));
        let detail = error.detail.unwrap_or_default();
        assert!(
            detail.contains("`a` (WORKFLOW_SECRET_A=...), `c-d` (WORKFLOW_SECRET_C_D=...)"),
            "{detail}"
        );
        assert!(!detail.contains("`b`"), "{detail}");
    }
}
