//! The schema stage's entry point: a loaded document in, every schema finding out, as
//! diagnostics located by JSON pointer (the caller turns pointers into spans).

use serde_json::Value;

use super::validator::{SCHEMA, VALIDATOR};
use super::{problem, render};
use crate::diagnostic::Diagnostic;

/// All schema findings in one pass, each with `pointer` set (span left None: the caller fills it).
///
/// A document that is not a mapping, or that is a 0.x (states-based) workflow, gets exactly one
/// diagnostic saying so instead of a wall of schema errors.
pub fn check(document: &Value) -> Vec<Diagnostic> {
    if let Some(diagnostic) = not_a_mapping(document).or_else(|| legacy_version(document)) {
        return vec![diagnostic];
    }
    let (schema, validator) = match (SCHEMA.as_ref(), VALIDATOR.as_ref()) {
        (Ok(schema), Ok(validator)) => (schema, validator),
        (Err(e), _) | (_, Err(e)) => {
            return vec![
                Diagnostic::error(
                    "schema::internal",
                    format!("cannot check the document: {e}"),
                )
                .at_pointer(""),
            ];
        }
    };
    let problems = problem::collect(validator.iter_errors(document), schema);
    render::diagnostics(problems, document)
}

fn not_a_mapping(document: &Value) -> Option<Diagnostic> {
    let found = match document {
        Value::Object(_) => return None,
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "empty",
    };
    let message = if found == "empty" {
        "the document is empty: a workflow is a mapping with `document` and `do` at the top level"
            .to_string()
    } else {
        format!(
            "a workflow is a mapping with `document` and `do` at the top level; this document is {found}"
        )
    };
    Some(
        Diagnostic::error("schema::not-a-mapping", message)
            .at_pointer("")
            .with_help("start from `document: {dsl: '1.0.3', namespace: default, name: my-workflow, version: '0.1.0'}` and a `do:` list of tasks"),
    )
}

/// A Serverless Workflow 0.8/0.9 document: `specVersion` or `states`, and no `document`.
fn legacy_version(document: &Value) -> Option<Diagnostic> {
    let map = document.as_object()?;
    if map.contains_key("document") {
        return None;
    }
    let marker = ["specVersion", "states"]
        .into_iter()
        .find(|key| map.contains_key(*key))?;
    Some(
        Diagnostic::error(
            "dsl::legacy-version",
            "this is a Serverless Workflow 0.x document (states-based DSL); workflow supports DSL 1.0.x",
        )
        .at_pointer(crate::pointer::join("", marker))
        .on_key()
        .with_help(
            "rewrite it for DSL 1.0: metadata goes under `document` (dsl, namespace, name, version), \
             `states` become a `do` list of tasks, `transition`/`end` become `then`, and function \
             references become `call` tasks; there is no automatic conversion",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(tasks: Value) -> Value {
        json!({
            "document": {"dsl": "1.0.3", "namespace": "default", "name": "pets", "version": "0.1.0"},
            "do": tasks
        })
    }

    fn http(with: Value) -> Value {
        doc(json!([{"getPet": {"call": "http", "with": with}}]))
    }

    /// The one diagnostic of a document, with its code, pointer, message and help.
    fn only(document: &Value) -> Diagnostic {
        let found = check(document);
        assert_eq!(found.len(), 1, "expected one diagnostic, got {found:#?}");
        found.into_iter().next().expect("one diagnostic")
    }

    #[test]
    fn a_valid_document_has_no_findings() {
        let ok = http(
            json!({"method": "get", "endpoint": "https://petstore.swagger.io/v2/pet/{petId}"}),
        );
        assert_eq!(check(&ok), vec![]);
    }

    #[test]
    fn unknown_property_names_the_call_and_suggests_the_fix() {
        let d = only(&http(
            json!({"method": "get", "endpont": "https://example.com"}),
        ));
        assert_eq!(d.code, "schema::unknown-property");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/getPet/with/endpont"));
        assert!(d.on_key);
        assert_eq!(
            d.message,
            "unknown property `endpont` in http call `getPet`"
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `endpoint`?"));
    }

    #[test]
    fn unknown_property_on_the_task_itself_lists_what_is_allowed() {
        let mut document = http(json!({"method": "get", "endpoint": "https://example.com"}));
        document["do"][0]["getPet"]["foo"] = json!("bar");
        let d = only(&document);
        assert_eq!(d.code, "schema::unknown-property");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/getPet/foo"));
        assert_eq!(d.message, "unknown property `foo` in http call `getPet`");
        let help = d.help.expect("help");
        assert!(help.starts_with("allowed here: `call`"), "{help}");
        assert!(help.contains("`with`") && help.contains("`then`"), "{help}");
    }

    #[test]
    fn missing_property_names_the_call() {
        let d = only(&http(json!({"method": "get"})));
        assert_eq!(d.code, "schema::missing-property");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/getPet/with"));
        assert_eq!(
            d.message,
            "http call `getPet` is missing the required property `endpoint`"
        );
    }

    #[test]
    fn wrong_type_says_what_was_expected_and_found() {
        let mut document = doc(json!([{"a": {"set": {"x": 1}}}]));
        document["document"]["version"] = json!(1.5);
        let d = only(&document);
        assert_eq!(
            d.message,
            "expected a string, found a number for `document.version`"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("quote it to make it a string: `'1.5'`")
        );
        let d = only(&http(
            json!({"method": 5, "endpoint": "https://example.com"}),
        ));
        assert_eq!(d.code, "schema::type");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/getPet/with/method"));
        assert_eq!(
            d.message,
            "expected a string, found an integer for `with.method` in http call `getPet`"
        );
    }

    #[test]
    fn enum_lists_the_values_and_suggests_one() {
        let d = only(&http(
            json!({"method": "get", "endpoint": "https://x.org", "output": "contnet"}),
        ));
        assert_eq!(d.code, "schema::enum");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/getPet/with/output"));
        assert_eq!(
            d.message,
            "`contnet` is not an allowed value for `with.output` in http call `getPet`: expected one of `raw`, `content`, `response`"
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `content`?"));
    }

    #[test]
    fn pattern_says_what_the_pattern_means() {
        let mut document = doc(json!([{"a": {"set": {"x": 1}}}]));
        document["document"]["name"] = json!("My Flow");
        let d = only(&document);
        assert_eq!(d.code, "schema::pattern");
        assert_eq!(d.pointer.as_deref(), Some("/document/name"));
        assert_eq!(
            d.message,
            "`My Flow` is not a valid name: use letters, digits and `-`, at most 63 characters"
        );
    }

    #[test]
    fn durations_and_endpoints_explain_their_forms() {
        let d = only(&doc(json!([{"pause": {"wait": "5s"}}])));
        assert_eq!(d.code, "schema::pattern");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/pause/wait"));
        assert!(
            d.message
                .starts_with("`5s` is not a duration: write an ISO 8601 duration such as `PT5S`"),
            "{}",
            d.message
        );
        let d = only(&http(json!({"method": "get", "endpoint": "petstore/pets"})));
        assert_eq!(d.pointer.as_deref(), Some("/do/0/getPet/with/endpoint"));
        assert!(
            d.message
                .starts_with("`petstore/pets` is neither an absolute URI"),
            "{}",
            d.message
        );
    }

    #[test]
    fn unknown_task_kind_suggests_the_kind() {
        let d = only(&doc(json!([{"getPet": {"cal": "http", "with": {}}}])));
        assert_eq!(d.code, "schema::unknown-task-kind");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/getPet/cal"));
        assert!(
            d.message.starts_with(
                "task `getPet` has no known kind: a task holds exactly one of `call`, `do`"
            ),
            "{}",
            d.message
        );
        assert_eq!(
            d.help.as_deref(),
            Some("did you mean `call` instead of `cal`?")
        );
    }

    #[test]
    fn two_kinds_in_one_task_is_one_finding() {
        let d = only(&doc(
            json!([{"t": {"call": "http", "with": {"method": "get", "endpoint": "https://x.org"}, "set": {"a": 1}}}]),
        ));
        assert_eq!(d.code, "schema::multiple-task-kinds");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/t/set"));
        assert!(
            d.message
                .starts_with("task `t` has more than one kind (`call` and `set`)"),
            "{}",
            d.message
        );
    }

    #[test]
    fn two_tasks_in_one_item() {
        let d = only(&doc(
            json!([{"getPet": {"set": {"a": 1}}, "setMessage": {"set": {"b": 2}}}]),
        ));
        assert_eq!(d.code, "schema::task-item");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/setMessage"));
        assert_eq!(
            d.message,
            "a task list item holds exactly one task; this one has `getPet` and `setMessage`"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("start `setMessage` on its own line with `- ` to make it a separate task")
        );
    }

    #[test]
    fn run_needs_exactly_one_process() {
        let d = only(&doc(
            json!([{"build": {"run": {"shell": {"command": "make"}, "script": {"language": "js", "code": "1"}}}}]),
        ));
        assert_eq!(d.code, "schema::one-of");
        assert_eq!(d.pointer.as_deref(), Some("/do/0/build/run/shell"));
        assert_eq!(
            d.message,
            "`run` in run task `build` has both `script` and `shell`; use only one of `container`, `script`, `shell`, `workflow`"
        );
        let d = only(&doc(
            json!([{"build": {"run": {"shel": {"command": "make"}}}}]),
        ));
        assert_eq!(d.code, "schema::unknown-property");
        assert_eq!(d.help.as_deref(), Some("did you mean `shell`?"));
    }

    #[test]
    fn nested_until_is_named() {
        let listen =
            json!({"listen": {"to": {"any": [], "until": {"any": [], "until": "${ true }"}}}});
        let d = only(&doc(json!([{"wait4": listen}])));
        assert_eq!(d.code, "schema::not-allowed");
        assert_eq!(
            d.pointer.as_deref(),
            Some("/do/0/wait4/listen/to/until/until")
        );
        assert_eq!(d.message, "an `until` strategy cannot have its own `until`");
    }

    #[test]
    fn secret_and_inline_credentials_do_not_mix() {
        let auth = json!({"basic": {"use": "creds", "username": "u"}});
        let d = only(&http(
            json!({"method": "get", "endpoint": {"uri": "https://x.org", "authentication": auth}}),
        ));
        assert_eq!(d.code, "schema::not-allowed");
        assert_eq!(
            d.pointer.as_deref(),
            Some("/do/0/getPet/with/endpoint/authentication/basic/username")
        );
        assert_eq!(
            d.message,
            "`username` cannot be combined with `use` in `with.endpoint.authentication.basic` in http call `getPet`"
        );
    }

    #[test]
    fn missing_top_level_keys_and_unknown_ones() {
        let meta = json!({"dsl": "1.0.3", "namespace": "a", "name": "b", "version": "1.0.0"});
        // `dp` explains the missing `do`: one finding, not two.
        let found = check(&json!({"document": meta, "dp": []}));
        let codes: Vec<_> = found
            .iter()
            .map(|d| (d.code, d.pointer.clone().unwrap_or_default()))
            .collect();
        assert_eq!(codes, vec![("schema::unknown-property", "/dp".to_string())]);
        assert_eq!(found[0].message, "unknown property `dp` in the workflow");
        assert_eq!(found[0].help.as_deref(), Some("did you mean `do`?"));
        // An unrelated unknown key does not hide the missing one.
        let found = check(&json!({"document": meta, "timout": "PT1S"}));
        let codes: Vec<_> = found
            .iter()
            .map(|d| (d.code, d.pointer.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("schema::missing-property", String::new()),
                ("schema::unknown-property", "/timout".to_string())
            ]
        );
        assert_eq!(
            found[0].message,
            "the workflow is missing the required property `do`"
        );
        assert_eq!(found[1].help.as_deref(), Some("did you mean `timeout`?"));
    }

    #[test]
    fn several_problems_are_all_reported_in_document_order() {
        let document = doc(json!([
            {"a": {"wait": "soon"}},
            {"b": {"set": {}}},
            {"c": {"call": "http", "with": {"method": "get"}}}
        ]));
        let pointers: Vec<_> = check(&document)
            .into_iter()
            .filter_map(|d| d.pointer)
            .collect();
        assert_eq!(
            pointers,
            vec!["/do/0/a/wait", "/do/1/b/set", "/do/2/c/with"]
        );
    }

    #[test]
    fn smaller_rules_have_their_own_words() {
        let grpc = json!({"call": "grpc", "with": {
            "proto": {"endpoint": "file://app/greet.proto"},
            "service": {"name": "Greeter", "host": "localhost", "port": 70000},
            "method": "SayHello"
        }});
        let d = only(&doc(json!([{ "greet": grpc }])));
        assert_eq!(d.code, "schema::range");
        assert_eq!(
            d.message,
            "`70000` is out of range for `with.service.port` in grpc call `greet`: the maximum is 65535"
        );

        let event = json!({"emit": {"event": {"with": {"source": "https://x.org", "type": "t", "time": "yesterday"}}}});
        let d = only(&doc(json!([{ "tell": event }])));
        assert_eq!(d.code, "schema::format");
        assert_eq!(
            d.pointer.as_deref(),
            Some("/do/0/tell/emit/event/with/time")
        );
        assert!(
            d.message
                .starts_with("`yesterday` is neither an RFC 3339 date-time"),
            "{}",
            d.message
        );

        let d = only(&doc(json!([{ "nothing": {"set": {}} }])));
        assert_eq!(
            (d.code, d.message.as_str()),
            (
                "schema::empty",
                "`set` in set task `nothing` must not be empty"
            )
        );

        let cases =
            json!({"switch": [{"a": {"when": "${ .x }", "then": "end"}, "b": {"then": "exit"}}]});
        let d = only(&doc(json!([{ "pick": cases }])));
        assert_eq!(d.code, "schema::list-item");
        assert_eq!(
            d.message,
            "a switch item holds exactly one case; this one has `a` and `b`"
        );

        let d = only(&doc(json!({"getPet": {"set": {"a": 1}}})));
        assert_eq!(d.code, "schema::type");
        assert_eq!(d.message, "expected a list, found a mapping for `do`");
        assert!(d.help.is_some_and(|h| h.contains("`- taskName:")));

        let d = only(&http(
            json!({"method": "get", "endpoint": {"uri": "https://x.org", "authentication": {}}}),
        ));
        assert_eq!(d.code, "schema::one-of");
        assert_eq!(
            d.message,
            "`with.endpoint.authentication` in http call `getPet` needs one of `use`, `basic`, `bearer`, `digest`, `oauth2`, `oidc`"
        );
    }

    #[test]
    fn legacy_documents_get_one_diagnostic() {
        let d =
            only(&json!({"id": "greeting", "specVersion": "0.8", "start": "Greet", "states": []}));
        assert_eq!(d.code, "dsl::legacy-version");
        assert_eq!(d.pointer.as_deref(), Some("/specVersion"));
        assert_eq!(
            d.message,
            "this is a Serverless Workflow 0.x document (states-based DSL); workflow supports DSL 1.0.x"
        );
        assert!(
            d.help
                .is_some_and(|h| h.contains("`states` become a `do` list"))
        );
    }

    #[test]
    fn documents_that_are_not_mappings_get_one_diagnostic() {
        let d = only(&json!(["do", "something"]));
        assert_eq!(d.code, "schema::not-a-mapping");
        assert_eq!(d.pointer.as_deref(), Some(""));
        assert!(
            d.message.ends_with("this document is a list"),
            "{}",
            d.message
        );
        assert_eq!(only(&json!(null)).code, "schema::not-a-mapping");
    }
}
