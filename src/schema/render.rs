//! From structured problems to diagnostics: one real problem, one diagnostic, in words that name
//! the task and its kind, with the fix when it is likely ("did you mean `endpoint`?").

use std::collections::HashSet;

use serde_json::Value;

use super::dedupe::{likely, prune, suggestion};
use super::place::{Place, TASK_KINDS, kinds_present};
use super::problem::Problem;
use crate::diagnostic::Diagnostic;
use crate::pointer;

/// Diagnostics for the problems of one document, de-duplicated and in document order.
pub(crate) fn diagnostics(problems: Vec<Problem>, document: &Value) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    // What was said where, so a repeat is found without comparing with every finding so far.
    let mut said = HashSet::new();
    for problem in &prune(problems, document) {
        for diagnostic in render(problem, document) {
            let key = (
                diagnostic.code,
                diagnostic.pointer.clone(),
                diagnostic.message.clone(),
            );
            if said.insert(key) {
                out.push(diagnostic);
            }
        }
    }
    out.sort_by_cached_key(|d| document_order(document, d.pointer.as_deref().unwrap_or("")));
    out
}

fn render(problem: &Problem, document: &Value) -> Vec<Diagnostic> {
    let place = Place::of(document, problem.at());
    let value = document.pointer(problem.at());
    match problem {
        Problem::UnknownKeys { at, keys, allowed } => keys
            .iter()
            .map(|key| unknown_key(&place, at, key, allowed, value))
            .collect(),
        Problem::Missing {
            at,
            property,
            location,
        } => vec![missing(&place, at, property, location)],
        Problem::Type { at, expected } => vec![wrong_type(&place, at, expected, value)],
        Problem::Enum { at, options } => vec![not_in_enum(&place, at, options, value)],
        Problem::Text { at, location, rule } => vec![bad_text(at, location, rule, value)],
        Problem::ExactlyOne { at, keys, location } => {
            vec![exactly_one(&place, at, keys, location, value)]
        }
        Problem::Size {
            at,
            location,
            keyword,
            limit,
        } => vec![size(&place, at, location, keyword, *limit, value)],
        Problem::Range { at, keyword, limit } => {
            let shown = value.map_or_else(String::new, Value::to_string);
            let message = format!(
                "`{shown}` is out of range for {}: the {keyword} is {limit}",
                place.value_subject()
            );
            vec![Diagnostic::error("schema::range", message).at_pointer(at)]
        }
        Problem::Forbidden { at, location } => vec![forbidden(&place, at, location)],
        Problem::Other { at, text } => {
            vec![
                Diagnostic::error(
                    "schema::invalid",
                    format!("{text} ({})", place.value_subject()),
                )
                .at_pointer(at),
            ]
        }
    }
}

fn unknown_key(
    place: &Place,
    at: &str,
    key: &str,
    allowed: &[String],
    object: Option<&Value>,
) -> Diagnostic {
    let subject = place.object_subject();
    let pointer = pointer::join(at, key);
    // Allowed by another branch of the rule, but not with what else the object holds.
    if allowed.iter().any(|a| a == key) {
        let uses_secret = object.and_then(|o| o.get("use")).is_some() && key != "use";
        let message = if uses_secret {
            format!("`{key}` cannot be combined with `use` in {subject}")
        } else {
            format!("`{key}` is not allowed here in {subject}")
        };
        let diagnostic = Diagnostic::error("schema::not-allowed", message)
            .at_pointer(pointer)
            .on_key();
        return if uses_secret {
            diagnostic.with_help("`use` reads the whole configuration from a secret; keep either `use` or the inline fields")
        } else {
            diagnostic
        };
    }
    let diagnostic = Diagnostic::error(
        "schema::unknown-property",
        format!("unknown property `{key}` in {subject}"),
    )
    .at_pointer(pointer)
    .on_key();
    match suggestion(key, allowed) {
        Some(s) => diagnostic.with_help(format!("did you mean `{s}`?")),
        None if !allowed.is_empty() => {
            diagnostic.with_help(format!("allowed here: {}", backticked(allowed)))
        }
        None => diagnostic,
    }
}

fn missing(place: &Place, at: &str, property: &str, location: &str) -> Diagnostic {
    let subject = place.object_subject();
    if location.contains("/dependentRequired") {
        return Diagnostic::error(
            "schema::not-allowed",
            format!("`until` is only allowed together with `any` in {subject}"),
        )
        .at_pointer(pointer::join(at, "until"))
        .on_key();
    }
    let message = if location == "/$defs/containerLifetime/then/required" {
        format!("{subject} has `cleanup: eventually` but no `after` duration")
    } else {
        format!("{subject} is missing the required property `{property}`")
    };
    with_key(
        Diagnostic::error("schema::missing-property", message).at_pointer(at),
        at,
    )
}

fn wrong_type(place: &Place, at: &str, expected: &[String], value: Option<&Value>) -> Diagnostic {
    let expected = expected
        .iter()
        .map(|t| type_noun(t))
        .collect::<Vec<_>>()
        .join(" or ");
    let found = value.map_or("nothing", found_noun);
    let message = format!(
        "expected {expected}, found {found} for {}",
        place.value_subject()
    );
    let diagnostic = Diagnostic::error("schema::type", message).at_pointer(at);
    let is_task_list = value.is_some_and(Value::is_object) && expected == "a list" && {
        let key = pointer::tokens(at).last().unwrap_or_default();
        matches!(key.as_str(), "do" | "try" | "branches" | "before" | "after")
    };
    // YAML reads `version: 1.0` as a number and `enabled: true` as a boolean.
    let unquoted_scalar =
        expected.starts_with("a string") && value.is_some_and(|v| v.is_number() || v.is_boolean());
    if is_task_list {
        diagnostic
            .with_help("a task list is a YAML list: write each task as an item, `- taskName: {…}`")
    } else if unquoted_scalar {
        let shown = value.map_or_else(String::new, show);
        diagnostic.with_help(format!("quote it to make it a string: `'{shown}'`"))
    } else {
        diagnostic
    }
}

fn not_in_enum(place: &Place, at: &str, options: &[Value], value: Option<&Value>) -> Diagnostic {
    let names: Vec<String> = options.iter().map(show).collect();
    let message = format!(
        "{} is not an allowed value for {}: expected one of {}",
        quoted(value),
        place.value_subject(),
        backticked(&names)
    );
    let diagnostic = Diagnostic::error("schema::enum", message).at_pointer(at);
    match value
        .and_then(Value::as_str)
        .and_then(|v| likely(v, names.iter().map(String::as_str)))
    {
        Some(s) => diagnostic.with_help(format!("did you mean `{s}`?")),
        None => diagnostic,
    }
}

fn bad_text(at: &str, location: &str, rule: &str, value: Option<&Value>) -> Diagnostic {
    let (code, meaning) = if location.ends_with("/pattern") {
        (
            "schema::pattern",
            super::introspect::meaning(location).map(str::to_string),
        )
    } else {
        (
            "schema::format",
            super::introspect::meaning(location).map(str::to_string),
        )
    };
    let meaning = meaning.unwrap_or_else(|| match rule {
        "uri-template or uri" => "not a valid URI or URI template".to_string(),
        _ if code == "schema::pattern" => format!("not matching the pattern `{rule}`"),
        _ => format!("not a valid {rule}"),
    });
    let diagnostic =
        Diagnostic::error(code, format!("{} is {meaning}", quoted(value))).at_pointer(at);
    if location == "/$defs/label/pattern" {
        diagnostic.with_help("a name starts and ends with a letter or digit, such as `my-workflow`")
    } else {
        diagnostic
    }
}

fn exactly_one(
    place: &Place,
    at: &str,
    keys: &[String],
    location: &str,
    value: Option<&Value>,
) -> Diagnostic {
    let object = value.and_then(Value::as_object);
    if location == "/$defs/taskKind/oneOf" {
        return task_kind(place, at, value.unwrap_or(&Value::Null));
    }
    let present: Vec<&String> = keys
        .iter()
        .filter(|k| object.is_some_and(|o| o.contains_key(*k)))
        .collect();
    let subject = place.object_subject();
    match present.as_slice() {
        [] => with_key(
            Diagnostic::error(
                "schema::one-of",
                format!("{subject} needs one of {}", backticked(keys)),
            )
            .at_pointer(at),
            at,
        ),
        [first, second, ..] => Diagnostic::error(
            "schema::one-of",
            format!(
                "{subject} has both `{first}` and `{second}`; use only one of {}",
                backticked(keys)
            ),
        )
        .at_pointer(pointer::join(at, second))
        .on_key(),
        [_] => Diagnostic::error(
            "schema::one-of",
            format!("{subject} needs exactly one of {}", backticked(keys)),
        )
        .at_pointer(at),
    }
}

/// A task whose kind cannot be told (no kind key) or is ambiguous (several).
fn task_kind(place: &Place, at: &str, task: &Value) -> Diagnostic {
    let name = place.task.as_ref().map_or("?", |t| t.name.as_str());
    let kinds = kinds_present(task);
    let all = TASK_KINDS
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if let [first, second, ..] = kinds.as_slice() {
        return Diagnostic::error(
            "schema::multiple-task-kinds",
            format!("task `{name}` has more than one kind (`{first}` and `{second}`); a task has exactly one"),
        )
        .at_pointer(pointer::join(at, second))
        .on_key()
        .with_help("split it into separate tasks, each in its own list item");
    }
    let keys: Vec<&String> = task
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let message = if keys.is_empty() {
        format!("task `{name}` is empty: a task holds exactly one of {all}")
    } else {
        format!("task `{name}` has no known kind: a task holds exactly one of {all}")
    };
    let diagnostic = Diagnostic::error("schema::unknown-task-kind", message);
    let typo = keys
        .iter()
        .find_map(|key| likely(key, TASK_KINDS).map(|kind| (*key, kind)));
    match typo {
        Some((key, kind)) => diagnostic
            .at_pointer(pointer::join(at, key))
            .on_key()
            .with_help(format!("did you mean `{kind}` instead of `{key}`?")),
        None => diagnostic.at_pointer(at).on_key(),
    }
}

fn size(
    place: &Place,
    at: &str,
    location: &str,
    keyword: &str,
    limit: u64,
    value: Option<&Value>,
) -> Diagnostic {
    let keys: Vec<&String> = value
        .and_then(Value::as_object)
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let item_kind = match location {
        "/$defs/taskItem/minProperties" | "/$defs/taskItem/maxProperties" => {
            Some(("schema::task-item", "task list item", "task"))
        }
        "/$defs/switchItem/minProperties" | "/$defs/switchItem/maxProperties" => {
            Some(("schema::list-item", "switch item", "case"))
        }
        "/$defs/extensionItem/minProperties" | "/$defs/extensionItem/maxProperties" => {
            Some(("schema::list-item", "extension list item", "extension"))
        }
        _ => None,
    };
    if let Some((code, item, what)) = item_kind {
        return match keys.as_slice() {
            [first, second, ..] => Diagnostic::error(
                code,
                format!(
                    "{} {item} holds exactly one {what}; this one has `{first}` and `{second}`",
                    article(item)
                ),
            )
            .at_pointer(pointer::join(at, second))
            .on_key()
            .with_help(format!(
                "start `{second}` on its own line with `- ` to make it a separate {what}"
            )),
            _ => Diagnostic::error(
                code,
                format!("a {item} holds exactly one {what}; this one is empty"),
            )
            .at_pointer(at),
        };
    }
    let subject = place.value_subject();
    let message = match (keyword, limit) {
        ("minProperties", 1) if location == "/$defs/duration/minProperties" => {
            format!(
                "{subject} needs at least one of `days`, `hours`, `minutes`, `seconds`, `milliseconds`"
            )
        }
        ("minItems", 1) if location.starts_with("/$defs/switchTask") => {
            format!("{subject} needs at least one case")
        }
        ("minProperties" | "minItems" | "minLength", 1) => format!("{subject} must not be empty"),
        ("minProperties", n) => format!("{subject} needs at least {n} properties"),
        ("maxProperties", n) => format!("{subject} may have at most {n} properties"),
        ("minItems", n) => format!("{subject} needs at least {n} items"),
        ("maxItems", n) => format!("{subject} may have at most {n} items"),
        ("minLength", n) => format!("{subject} needs at least {n} characters"),
        (_, n) => format!("{subject} may have at most {n} characters"),
    };
    let code = if limit == 1 && keyword.starts_with("min") {
        "schema::empty"
    } else {
        "schema::size"
    };
    Diagnostic::error(code, message).at_pointer(at)
}

fn forbidden(place: &Place, at: &str, location: &str) -> Diagnostic {
    let message = match location {
        "/$defs/eventUntil/else/properties/until" => {
            "an `until` strategy cannot have its own `until`".to_string()
        }
        "/$defs/containerLifetime/else/properties/after" => {
            "`after` is only allowed when `cleanup` is `eventually`".to_string()
        }
        _ => format!("{} is not allowed here", place.value_subject()),
    };
    with_key(
        Diagnostic::error("schema::not-allowed", message).at_pointer(at),
        at,
    )
}

/// Point at the mapping key of `at` when there is one (not for the root or list items).
fn with_key(diagnostic: Diagnostic, at: &str) -> Diagnostic {
    let last = pointer::tokens(at).last();
    match last {
        Some(token) if token.parse::<usize>().is_err() => diagnostic.on_key(),
        _ => diagnostic,
    }
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn type_noun(schema_type: &str) -> &'static str {
    match schema_type {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        "null" => "null",
        _ => "another type",
    }
}

fn found_noun(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "a mapping",
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

/// A value as the user wrote it: strings bare, everything else as JSON.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value quoted for a sentence: "`get`", or "an empty string".
fn quoted(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) if s.is_empty() => "an empty string".to_string(),
        Some(v) => format!("`{}`", show(v)),
        None => "the value".to_string(),
    }
}

fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sort key giving document order: each step's position among its siblings.
fn document_order(document: &Value, at: &str) -> Vec<usize> {
    let mut key = Vec::new();
    let mut value = Some(document);
    for token in pointer::tokens(at) {
        let (index, next) = match value {
            Some(Value::Object(map)) => (
                map.keys().position(|k| *k == token).unwrap_or(usize::MAX),
                map.get(&token),
            ),
            Some(Value::Array(items)) => {
                let i = token.parse::<usize>().unwrap_or(usize::MAX);
                (i, items.get(i))
            }
            _ => (usize::MAX, None),
        };
        key.push(index);
        value = next;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn document_order_follows_keys_and_indices() {
        let doc = json!({"document": {}, "do": [{"a": {}}, {"b": {"z": 1, "y": 2}}]});
        assert_eq!(document_order(&doc, "/do/1/b/y"), vec![1, 1, 0, 1]);
        assert!(document_order(&doc, "/document") < document_order(&doc, "/do/0"));
        assert!(document_order(&doc, "/do/1/b/z") < document_order(&doc, "/do/1/b/y"));
    }

    #[test]
    fn words_for_values_and_types() {
        assert_eq!(quoted(Some(&json!(""))), "an empty string");
        assert_eq!(quoted(Some(&json!("get"))), "`get`");
        assert_eq!(quoted(Some(&json!([1]))), "`[1]`");
        assert_eq!(found_noun(&json!(1.5)), "a number");
        assert_eq!(found_noun(&json!(2)), "an integer");
        assert_eq!(type_noun("object"), "a mapping");
        assert_eq!(article("extension list item"), "an");
    }
}
