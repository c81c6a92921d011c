//! Reading our own schema to explain an error: which properties a place allows, which keys an
//! "exactly one of" rule names, and what a pattern or format means in words.

use std::collections::BTreeSet;

use serde_json::Value;

/// The keywords that apply subschemas to the same instance (as opposed to its children).
const IN_PLACE_APPLICATORS: [&str; 4] = ["$ref", "if", "then", "else"];
const IN_PLACE_LISTS: [&str; 3] = ["allOf", "anyOf", "oneOf"];

/// Property names declared by the schema object at `location` (a canonical schema pointer such
/// as `/$defs/httpArguments`), following in-place applicators. Sorted, without duplicates.
pub(crate) fn allowed_properties(schema: &Value, location: &str) -> Vec<String> {
    let mut names = BTreeSet::new();
    let mut visited = BTreeSet::new();
    if let Some(node) = schema.pointer(location) {
        collect_properties(schema, node, &mut names, &mut visited, 0);
    }
    names.into_iter().collect()
}

fn collect_properties(
    schema: &Value,
    node: &Value,
    names: &mut BTreeSet<String>,
    visited: &mut BTreeSet<String>,
    depth: usize,
) {
    // The schema is ours and small; the depth bound only guards against a future cycle.
    if depth > 16 {
        return;
    }
    let Some(object) = node.as_object() else {
        return;
    };
    if let Some(Value::Object(properties)) = object.get("properties") {
        // A property set to `false` is named only to be forbidden.
        names.extend(
            properties
                .iter()
                .filter(|(_, s)| **s != Value::Bool(false))
                .map(|(k, _)| k.clone()),
        );
    }
    for keyword in IN_PLACE_APPLICATORS {
        match (keyword, object.get(keyword)) {
            ("$ref", Some(Value::String(reference))) => {
                let target = reference.trim_start_matches('#');
                if let Some(next) = schema
                    .pointer(target)
                    .filter(|_| visited.insert(target.to_string()))
                {
                    collect_properties(schema, next, names, visited, depth + 1);
                }
            }
            (_, Some(sub)) if keyword != "$ref" => {
                collect_properties(schema, sub, names, visited, depth + 1)
            }
            _ => {}
        }
    }
    for keyword in IN_PLACE_LISTS {
        if let Some(Value::Array(branches)) = object.get(keyword) {
            for branch in branches {
                collect_properties(schema, branch, names, visited, depth + 1);
            }
        }
    }
}

/// If the `oneOf` at `location` is an "exactly one of these keys" rule (every branch is
/// `{required: [key]}`, possibly with a `not`), the keys in order.
pub(crate) fn exactly_one_keys(schema: &Value, location: &str) -> Option<Vec<String>> {
    let branches = schema.pointer(location)?.as_array()?;
    branches
        .iter()
        .map(|branch| {
            let object = branch.as_object()?;
            if object.keys().any(|k| k != "required" && k != "not") {
                return None;
            }
            match object.get("required")?.as_array()?.as_slice() {
                [Value::String(key)] => Some(key.clone()),
                _ => None,
            }
        })
        .collect()
}

/// If the `anyOf` at `location` only offers alternative formats, their names.
pub(crate) fn format_alternatives(schema: &Value, location: &str) -> Option<Vec<String>> {
    let branches = schema.pointer(location)?.as_array()?;
    branches
        .iter()
        .map(|branch| match branch.as_object()?.get("format")? {
            Value::String(format) if branch.as_object()?.len() == 1 => Some(format.clone()),
            _ => None,
        })
        .collect()
}

/// The expected JSON types named by the `type` keyword at `location`.
pub(crate) fn expected_types(schema: &Value, location: &str) -> Vec<String> {
    match schema.pointer(location) {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// What a `pattern` or `format` at a schema location asks for, completing "`value` is ...".
/// Keyed by location so the same regular expression can be explained per context.
pub(crate) fn meaning(location: &str) -> Option<&'static str> {
    const EXPRESSION_OR_URI: &str = "neither an absolute URI (starting with a scheme such as `https://`) \
         nor a runtime expression `${ … }`";
    const OAUTH2_ENDPOINTS: &str =
        "/$defs/authenticationSchemes/properties/oauth2/else/properties/endpoints/";
    Some(match location {
        "/$defs/label/pattern" => {
            "not a valid name: use letters, digits and `-`, at most 63 characters"
        }
        "/$defs/semanticVersion/pattern" => {
            "not a semantic version: write MAJOR.MINOR.PATCH, such as `1.0.0`"
        }
        "/$defs/duration/pattern" => {
            "not a duration: write an ISO 8601 duration such as `PT5S` or `P1DT2H`, a runtime \
             expression `${ … }`, or a mapping such as `{seconds: 5}`"
        }
        "/$defs/runtimeExpression/pattern" => "not a runtime expression: wrap it in `${ … }`",
        "/$defs/stringMapOrExpression/pattern" => {
            "neither a mapping of strings nor a runtime expression `${ … }`"
        }
        "/$defs/uriTemplate/pattern" => {
            "not an absolute URI: it must start with a scheme such as `https://`"
        }
        "/$defs/uriTemplateOrExpression/else/pattern" | "/$defs/endpoint/else/pattern" => {
            EXPRESSION_OR_URI
        }
        "/$defs/grpcArguments/properties/service/properties/host/pattern" => {
            "not a valid host name: use letters, digits, `-` and `.`, at most 63 characters"
        }
        "/$defs/jsonPointerOrExpression/else/format" => {
            "neither a JSON pointer (such as `/do/0/task`) nor a runtime expression `${ … }`"
        }
        "/$defs/dateTimeOrExpression/else/format" => {
            "neither an RFC 3339 date-time (such as `2025-01-31T12:00:00Z`) nor a runtime expression `${ … }`"
        }
        endpoint if endpoint.starts_with(OAUTH2_ENDPOINTS) && endpoint.ends_with("/format") => {
            "not a valid URI template"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validator::SCHEMA;

    fn schema() -> &'static Value {
        SCHEMA.as_ref().expect("schema parses")
    }

    #[test]
    fn allowed_properties_follow_refs_and_branches() {
        let call = allowed_properties(schema(), "/$defs/httpCall");
        assert!(
            call.contains(&"with".to_string()) && call.contains(&"then".to_string()),
            "{call:?}"
        );
        let basic = allowed_properties(schema(), "/$defs/usernamePassword");
        assert_eq!(basic, vec!["password", "use", "username"]);
        let root = allowed_properties(schema(), "");
        assert!(root.contains(&"evaluate".to_string()));
    }

    #[test]
    fn recognises_exactly_one_rules() {
        let kinds = exactly_one_keys(schema(), "/$defs/taskKind/oneOf").expect("task kinds");
        assert_eq!(kinds.len(), 12);
        assert_eq!(
            exactly_one_keys(schema(), "/$defs/runConfiguration/oneOf"),
            Some(vec![
                "container".into(),
                "script".into(),
                "shell".into(),
                "workflow".into()
            ])
        );
        assert_eq!(
            format_alternatives(schema(), "/$defs/uriTemplate/anyOf"),
            Some(vec!["uri-template".into(), "uri".into()])
        );
    }

    /// Every `pattern` and every lone `format` in the schema has words for its error message,
    /// and every `oneOf` is an exactly-one rule the translator understands.
    #[test]
    fn every_pattern_format_and_one_of_is_explained() {
        fn walk(node: &Value, at: String, missing: &mut Vec<String>) {
            match node {
                Value::Object(map) => {
                    for (key, value) in map {
                        let here = crate::pointer::join(&at, key);
                        let in_format_alternatives =
                            at.ends_with("/anyOf/0") || at.ends_with("/anyOf/1");
                        let explained = match key.as_str() {
                            "pattern" => meaning(&here).is_some(),
                            "format" => in_format_alternatives || meaning(&here).is_some(),
                            "oneOf" => {
                                exactly_one_keys(SCHEMA.as_ref().expect("schema"), &here).is_some()
                            }
                            _ => true,
                        };
                        // Skip property names (a property called `format`) and `if` conditions.
                        let is_keyword = !at.ends_with("/properties");
                        if is_keyword && !explained && !at.contains("/if") {
                            missing.push(here.clone());
                        }
                        walk(value, here, missing);
                    }
                }
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        walk(item, crate::pointer::join_index(&at, i), missing);
                    }
                }
                _ => {}
            }
        }
        let mut missing = Vec::new();
        walk(schema(), String::new(), &mut missing);
        assert!(missing.is_empty(), "unexplained schema rules: {missing:?}");
    }
}
