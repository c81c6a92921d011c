//! Custom function definitions as the loader hands them to the compiler: a `function.yaml`
//! holds one task; it is wrapped as the only task of a small workflow document (carrying the
//! calling workflow's `use.secrets`, `use.catalogs` and `use.authentications`, so it may use
//! them), and that document goes through the same front end as any workflow (YAML, schema,
//! parse, analysis). `compile::function_machine` then compiles it for each call site.

use serde_json::{Map, Value, json};

use crate::compile::{escape_name as escape, invalid_function};
use crate::problem::WorkflowError;
use crate::source::Source;

/// How many problems an "invalid function" error lists.
const LISTED_PROBLEMS: usize = 5;
/// The parts of the caller's `use` a function may rely on.
const SHARED_USE: [&str; 3] = ["secrets", "catalogs", "authentications"];

/// Checks the definition `text` read from `location` and returns it wrapped as a workflow
/// document whose only task is named `name`.
pub(crate) fn check_function(
    text: &str,
    location: &str,
    name: &str,
    caller_use: Option<&Value>,
) -> Result<Value, WorkflowError> {
    let loaded = crate::yaml::load(&Source::new(location, text)).map_err(|diagnostic| {
        invalid_function(
            location,
            format!("it is not YAML or JSON: {}", diagnostic.message),
        )
    })?;
    if !loaded.value.is_object() {
        return Err(invalid_function(
            location,
            "it must hold one task definition (an object such as `call: http` or `run: ...`)"
                .to_owned(),
        ));
    }
    let mut uses = Map::new();
    if let Some(Value::Object(caller_use)) = caller_use {
        for key in SHARED_USE {
            if let Some(value) = caller_use.get(key) {
                uses.insert(key.to_owned(), value.clone());
            }
        }
    }
    let mut wrapped = json!({
        "document": {"dsl": "1.0.3", "namespace": "functions", "name": "function", "version": "0.0.0"},
        "do": [{name: loaded.value}],
    });
    if !uses.is_empty()
        && let Some(root) = wrapped.as_object_mut()
    {
        root.insert("use".to_owned(), Value::Object(uses));
    }
    let checked = crate::frontend::check_source(Source::new(location, wrapped.to_string()));
    if checked.has_errors() {
        let prefix = format!("/do/0/{}", escape(name));
        let problems: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| match d.pointer.as_deref() {
                Some(at) if at.starts_with(&prefix) => {
                    let inside = &at[prefix.len()..];
                    format!(
                        "{} (at `{}`)",
                        d.message,
                        if inside.is_empty() { "/" } else { inside }
                    )
                }
                _ => d.message.clone(),
            })
            .collect();
        let more = problems.len().saturating_sub(LISTED_PROBLEMS);
        let mut detail = problems
            .into_iter()
            .take(LISTED_PROBLEMS)
            .collect::<Vec<_>>()
            .join("; ");
        if more > 0 {
            detail.push_str(&format!("; and {more} more"));
        }
        return Err(invalid_function(location, detail));
    }
    Ok(wrapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_secrets_are_visible_to_the_function() {
        let text = "set:\n  token: ${ $secrets.apiKey }\n";
        let error = check_function(text, "f.yaml", "f", None).err();
        let detail = error.and_then(|e| e.detail).unwrap_or_default();
        assert!(detail.contains("apiKey"), "{detail}");
        let caller_use = json!({"secrets": ["apiKey"], "errors": {"x": {}}});
        let wrapped = check_function(text, "f.yaml", "f", Some(&caller_use))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(wrapped["use"], json!({"secrets": ["apiKey"]}));
    }

    #[test]
    fn invalid_definitions_explain_where() {
        let error = check_function(
            "set: {a: 1}\nbogus: 2\n",
            "https://c.test/f.yaml",
            "f",
            None,
        )
        .err()
        .unwrap_or_else(|| panic!("accepted"));
        assert!(error.type_.ends_with("/configuration"));
        assert_eq!(error.title.as_deref(), Some("Invalid custom function"));
        let detail = error.detail.unwrap_or_default();
        assert!(
            detail.starts_with("the function defined at `https://c.test/f.yaml` is invalid"),
            "{detail}"
        );
        assert!(detail.contains("bogus"), "{detail}");
        let detail = check_function("[1, 2]", "f.yaml", "f", None)
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert!(detail.contains("one task definition"), "{detail}");
        let detail = check_function("a: [", "f.yaml", "f", None)
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert!(detail.contains("not YAML or JSON"), "{detail}");
    }
}
