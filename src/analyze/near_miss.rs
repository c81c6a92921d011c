//! Parts of a document that the schema tolerates but that would silently do nothing (decision
//! 15): unknown keys in the open mappings of the DSL (a catch filter's `detail` for `details`,
//! an event attribute `datacontentype`, ...) and an empty `run.shell.command`. Each finding is a
//! warning, with a did-you-mean when a known key is close.
//!
//! The walk follows the DSL's structure over the loaded YAML value (task lists, `try`/`catch`,
//! `emit`, `listen`, calls, `use`), never the data inside `set`, `input`, `with.body` and the
//! like, where any key is the user's own.

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::pointer;
use crate::schema::likely;

/// `catch.errors.with`: the properties an error filter compares (the runtime reads no other).
pub(crate) const ERROR_FILTER_KEYS: &[&str] = &["type", "status", "instance", "title", "details"];
/// `catch.errors`: only `with` means something.
const CATCH_ERRORS_KEYS: &[&str] = &["with"];
/// `emit.event`: only `with` is read (the official schema tolerates other keys).
const EMIT_EVENT_KEYS: &[&str] = &["with"];
/// CloudEvents context attributes; other keys are extension attributes, so only a near miss is
/// reported.
pub(crate) const EVENT_ATTRIBUTES: &[&str] = &[
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
];
/// An event filter's `correlate` entry.
const CORRELATION_KEYS: &[&str] = &["from", "expect"];
/// The schemes of an authentication policy (plus `use`, naming a reusable one).
const AUTH_POLICY_KEYS: &[&str] = &["basic", "bearer", "digest", "oauth2", "oidc", "use"];
/// `oauth2.endpoints`.
const OAUTH2_ENDPOINT_KEYS: &[&str] = &["token", "revocation", "introspection"];
/// `oauth2.request` / `oidc.request`.
const OAUTH2_REQUEST_KEYS: &[&str] = &["encoding"];
/// `call: mcp` arguments and their nested mappings (open in the official schema).
const MCP_KEYS: &[&str] = &[
    "method",
    "parameters",
    "timeout",
    "protocolVersion",
    "transport",
    "client",
];
const MCP_TRANSPORT_KEYS: &[&str] = &["http", "stdio", "options"];
const MCP_HTTP_KEYS: &[&str] = &["endpoint", "headers"];
const MCP_STDIO_KEYS: &[&str] = &["command", "arguments", "environment"];
const MCP_CLIENT_KEYS: &[&str] = &["name", "version", "description"];

/// Every near-miss key and empty shell command of the document, as warnings located by pointer.
pub(crate) fn check(root: &Value) -> Vec<Diagnostic> {
    let mut walk = Walk { found: Vec::new() };
    if let Some(root) = root.as_object() {
        walk.document(root);
    }
    walk.found
}

/// How sure an unknown key is to be a mistake.
#[derive(Clone, Copy)]
enum Openness {
    /// Nothing reads an unknown key here: every one is reported.
    Closed,
    /// Unknown keys may be meant (extension attributes, vendor options): only near misses.
    Extensible,
}

struct Walk {
    found: Vec<Diagnostic>,
}

impl Walk {
    fn document(&mut self, root: &Map<String, Value>) {
        if let Some(uses) = root.get("use").and_then(Value::as_object) {
            for (name, policy) in object_entries(uses.get("authentications")) {
                self.auth_policy(&pointer::join("/use/authentications", name), policy);
            }
            for (name, function) in object_entries(uses.get("functions")) {
                self.task(&pointer::join("/use/functions", name), function);
            }
        }
        if let Some(on) = root.get("schedule").and_then(|s| s.get("on")) {
            self.consumption("/schedule/on", on);
        }
        self.task_list("/do", root.get("do"));
    }

    fn task_list(&mut self, at: &str, list: Option<&Value>) {
        let Some(items) = list.and_then(Value::as_array) else {
            return;
        };
        for (index, item) in items.iter().enumerate() {
            let item_at = pointer::join_index(at, index);
            for (name, task) in object_entries(Some(item)) {
                self.task(&pointer::join(&item_at, name), task);
            }
        }
    }

    fn task(&mut self, at: &str, task: &Value) {
        let Some(task) = task.as_object() else {
            return;
        };
        self.task_list(&pointer::join(at, "do"), task.get("do"));
        if let Some(fork) = task.get("fork") {
            self.task_list(&format!("{at}/fork/branches"), fork.get("branches"));
        }
        self.task_list(&pointer::join(at, "try"), task.get("try"));
        if let Some(catch) = task.get("catch").and_then(Value::as_object) {
            self.catch(&pointer::join(at, "catch"), catch);
        }
        if let Some(event) = task.get("emit").and_then(|emit| emit.get("event")) {
            let event_at = format!("{at}/emit/event");
            self.keys(
                &event_at,
                event,
                EMIT_EVENT_KEYS,
                Openness::Closed,
                "`emit.event`",
            );
            if let Some(with) = event.get("with") {
                self.event_attributes(&pointer::join(&event_at, "with"), with);
            }
        }
        if let Some(to) = task.get("listen").and_then(|listen| listen.get("to")) {
            self.consumption(&format!("{at}/listen/to"), to);
        }
        if let Some(shell) = task.get("run").and_then(|run| run.get("shell")) {
            self.shell(&format!("{at}/run/shell"), shell);
        }
        if let Some(with) = task.get("with").and_then(Value::as_object) {
            let with_at = pointer::join(at, "with");
            if task.get("call").and_then(Value::as_str) == Some("mcp") {
                self.mcp(&with_at, with);
            }
            if let Some(policy) = with.get("authentication") {
                self.auth_policy(&pointer::join(&with_at, "authentication"), policy);
            }
            if let Some(policy) = with.get("endpoint").and_then(|e| e.get("authentication")) {
                self.auth_policy(&format!("{with_at}/endpoint/authentication"), policy);
            }
        }
    }

    fn catch(&mut self, at: &str, catch: &Map<String, Value>) {
        if let Some(errors) = catch.get("errors") {
            let errors_at = pointer::join(at, "errors");
            if let Some(map) = errors.as_object() {
                for key in map.keys().filter(|key| key.as_str() != "with") {
                    let mut warning = unknown(&errors_at, key, "`catch.errors`");
                    warning = if ERROR_FILTER_KEYS.contains(&key.as_str()) {
                        warning.with_help(format!(
                            "error filter properties go under `with`: `errors: {{ with: {{ {key}: ... }} }}`"
                        ))
                    } else {
                        with_suggestion(warning, key, CATCH_ERRORS_KEYS)
                    };
                    self.found.push(warning);
                }
            }
            if let Some(with) = errors.get("with") {
                self.keys(
                    &pointer::join(&errors_at, "with"),
                    with,
                    ERROR_FILTER_KEYS,
                    Openness::Closed,
                    "an error filter",
                );
            }
        }
        self.task_list(&pointer::join(at, "do"), catch.get("do"));
    }

    fn consumption(&mut self, at: &str, strategy: &Value) {
        if let Some(one) = strategy.get("one") {
            self.event_filter(&pointer::join(at, "one"), one);
        }
        for all_or_any in ["all", "any"] {
            if let Some(filters) = strategy.get(all_or_any).and_then(Value::as_array) {
                let list_at = pointer::join(at, all_or_any);
                for (index, filter) in filters.iter().enumerate() {
                    self.event_filter(&pointer::join_index(&list_at, index), filter);
                }
            }
        }
        if let Some(until) = strategy.get("until").filter(|until| until.is_object()) {
            self.consumption(&pointer::join(at, "until"), until);
        }
    }

    fn event_filter(&mut self, at: &str, filter: &Value) {
        if let Some(with) = filter.get("with") {
            self.event_attributes(&pointer::join(at, "with"), with);
        }
        let correlate_at = pointer::join(at, "correlate");
        for (name, entry) in object_entries(filter.get("correlate")) {
            self.keys(
                &pointer::join(&correlate_at, name),
                entry,
                CORRELATION_KEYS,
                Openness::Closed,
                "a correlation",
            );
        }
    }

    /// CloudEvents attributes: an unknown key is an extension attribute, unless it is a near
    /// miss of a context attribute (`datacontentype`, `dataContentType`).
    fn event_attributes(&mut self, at: &str, attributes: &Value) {
        let Some(map) = attributes.as_object() else {
            return;
        };
        for key in map.keys() {
            if EVENT_ATTRIBUTES.contains(&key.as_str()) {
                continue;
            }
            let lower = key.to_ascii_lowercase();
            let meant = EVENT_ATTRIBUTES
                .iter()
                .find(|attribute| **attribute == lower)
                .copied()
                .or_else(|| likely(key, EVENT_ATTRIBUTES.iter().copied()));
            if let Some(meant) = meant {
                self.found.push(
                    Diagnostic::warning(
                        "keys::near-miss",
                        format!(
                            "`{key}` is not a CloudEvents attribute: it would be an extension attribute"
                        ),
                    )
                    .at_pointer(pointer::join(at, key))
                    .on_key()
                    .with_label("an extension attribute, probably a misspelling")
                    .with_help(format!("did you mean `{meant}`?")),
                );
            }
        }
    }

    fn auth_policy(&mut self, at: &str, policy: &Value) {
        self.keys(
            at,
            policy,
            AUTH_POLICY_KEYS,
            Openness::Extensible,
            "an authentication policy",
        );
        for scheme in ["oauth2", "oidc"] {
            let Some(properties) = policy.get(scheme) else {
                continue;
            };
            let scheme_at = pointer::join(at, scheme);
            if let Some(endpoints) = properties.get("endpoints") {
                self.keys(
                    &pointer::join(&scheme_at, "endpoints"),
                    endpoints,
                    OAUTH2_ENDPOINT_KEYS,
                    Openness::Closed,
                    "`endpoints`",
                );
            }
            if let Some(request) = properties.get("request") {
                self.keys(
                    &pointer::join(&scheme_at, "request"),
                    request,
                    OAUTH2_REQUEST_KEYS,
                    Openness::Closed,
                    "`request`",
                );
            }
        }
    }

    fn mcp(&mut self, at: &str, with: &Map<String, Value>) {
        self.keys_of(
            at,
            with,
            MCP_KEYS,
            Openness::Extensible,
            "`call: mcp` arguments",
        );
        if let Some(transport) = with.get("transport") {
            let transport_at = pointer::join(at, "transport");
            self.keys(
                &transport_at,
                transport,
                MCP_TRANSPORT_KEYS,
                Openness::Extensible,
                "`transport`",
            );
            for (key, allowed) in [("http", MCP_HTTP_KEYS), ("stdio", MCP_STDIO_KEYS)] {
                if let Some(value) = transport.get(key) {
                    let what = format!("`transport.{key}`");
                    let value_at = pointer::join(&transport_at, key);
                    self.keys(&value_at, value, allowed, Openness::Extensible, &what);
                }
            }
        }
        if let Some(client) = with.get("client") {
            let client_at = pointer::join(at, "client");
            self.keys(
                &client_at,
                client,
                MCP_CLIENT_KEYS,
                Openness::Extensible,
                "`client`",
            );
        }
    }

    /// `run.shell.command` that is empty or blank: the run would fault (`configuration`).
    fn shell(&mut self, at: &str, shell: &Value) {
        let Some(command) = shell.get("command").and_then(Value::as_str) else {
            return;
        };
        if command.trim().is_empty() {
            self.found.push(
                Diagnostic::warning("run::empty-command", "the shell command is empty")
                    .at_pointer(pointer::join(at, "command"))
                    .with_label("nothing to run")
                    .with_help(
                        "a run reaching this task faults with a `configuration` error; give the command to run",
                    ),
            );
        }
    }

    fn keys(&mut self, at: &str, value: &Value, allowed: &[&str], open: Openness, what: &str) {
        if let Some(map) = value.as_object() {
            self.keys_of(at, map, allowed, open, what);
        }
    }

    fn keys_of(
        &mut self,
        at: &str,
        map: &Map<String, Value>,
        allowed: &[&str],
        open: Openness,
        what: &str,
    ) {
        for key in map.keys().filter(|key| !allowed.contains(&key.as_str())) {
            let near = likely(key, allowed.iter().copied());
            match (open, near) {
                (Openness::Closed, _) | (Openness::Extensible, Some(_)) => {
                    let warning = unknown(at, key, what);
                    self.found.push(with_suggestion(warning, key, allowed));
                }
                (Openness::Extensible, None) => {}
            }
        }
    }
}

/// "`detail` is not a property of an error filter: it is ignored".
fn unknown(at: &str, key: &str, what: &str) -> Diagnostic {
    Diagnostic::warning(
        "keys::near-miss",
        format!("`{key}` is not a property of {what}: it is ignored"),
    )
    .at_pointer(pointer::join(at, key))
    .on_key()
    .with_label("ignored")
}

fn with_suggestion(warning: Diagnostic, key: &str, allowed: &[&str]) -> Diagnostic {
    match likely(key, allowed.iter().copied()) {
        Some(meant) => warning.with_help(format!("did you mean `{meant}`?")),
        None => warning.with_help(format!(
            "the properties here are {}",
            super::quoted_list(allowed.iter().copied())
        )),
    }
}

/// The entries of a mapping (none for anything else).
fn object_entries(value: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    value.and_then(Value::as_object).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(doc: Value) -> Vec<(String, String, Option<String>)> {
        check(&doc)
            .into_iter()
            .map(|d| (d.code.to_owned(), d.pointer.unwrap_or_default(), d.help))
            .collect()
    }

    fn workflow(tasks: Value) -> Value {
        json!({"document": {"dsl": "1.0.3", "namespace": "t", "name": "n", "version": "1.0.0"}, "do": tasks})
    }

    #[test]
    fn a_catch_filter_detail_is_a_near_miss_of_details() {
        let doc = workflow(json!([{"guard": {
            "try": [{"x": {"set": {"a": 1}}}],
            "catch": {"errors": {"with": {"status": 503, "detail": "boom"}}}
        }}]));
        assert_eq!(
            found(doc),
            [(
                "keys::near-miss".to_owned(),
                "/do/0/guard/catch/errors/with/detail".to_owned(),
                Some("did you mean `details`?".to_owned())
            )]
        );
    }

    #[test]
    fn filter_properties_outside_with_and_unknown_filter_keys_are_reported() {
        let doc = workflow(json!([{"guard": {
            "try": [{"x": {"set": {"a": 1}}}],
            "catch": {
                "errors": {"type": "urn:x", "with": {"code": 1}},
                "do": [{"inner": {
                    "try": [{"y": {"set": {"a": 1}}}],
                    "catch": {"errors": {"wiht": {"status": 1}}}
                }}]
            }
        }}]));
        let found = found(doc);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].1, "/do/0/guard/catch/errors/type");
        assert!(found[0].2.as_deref().unwrap_or("").contains("under `with`"));
        assert_eq!(found[1].1, "/do/0/guard/catch/errors/with/code");
        assert!(found[1].2.as_deref().unwrap_or("").contains("`details`"));
        assert_eq!(found[2].1, "/do/0/guard/catch/do/0/inner/catch/errors/wiht");
        assert_eq!(found[2].2.as_deref(), Some("did you mean `with`?"));
    }

    #[test]
    fn event_attributes_report_near_misses_but_keep_extensions() {
        let doc = workflow(json!([
            {"send": {"emit": {"event": {"with": {
                "source": "urn:s", "type": "t", "datacontentype": "x", "dataContentType": "y",
                "myextension": "fine"
            }}}}},
            {"wait": {"listen": {"to": {"any": [
                {"with": {"tpye": "t"}, "correlate": {"order": {"from": ".id", "expected": "1"}}}
            ]}}}}
        ]));
        let pointers: Vec<String> = found(doc).into_iter().map(|f| f.1).collect();
        assert_eq!(
            pointers,
            [
                "/do/0/send/emit/event/with/datacontentype",
                "/do/0/send/emit/event/with/dataContentType",
                "/do/1/wait/listen/to/any/0/with/tpye",
                "/do/1/wait/listen/to/any/0/correlate/order/expected",
            ]
        );
    }

    #[test]
    fn data_positions_are_never_inspected() {
        let doc = workflow(json!([{"data": {
            "set": {"catch": {"errors": {"with": {"detail": 1}}}},
            "output": {"as": {"errors": {"wiht": 1}}}
        }}]));
        assert!(found(doc).is_empty());
    }

    #[test]
    fn empty_shell_commands_are_reported() {
        let doc = workflow(json!([
            {"blank": {"run": {"shell": {"command": "  "}}}},
            {"fine": {"run": {"shell": {"command": "ls"}}}}
        ]));
        assert_eq!(
            found(doc)
                .into_iter()
                .map(|f| (f.0, f.1))
                .collect::<Vec<_>>(),
            [(
                "run::empty-command".to_owned(),
                "/do/0/blank/run/shell/command".to_owned()
            )]
        );
    }

    #[test]
    fn authentication_and_mcp_near_misses() {
        let doc = workflow(json!([{"ask": {"call": "mcp", "with": {
            "method": "tools/list",
            "transport": {"stdio": {"command": "srv", "argumnets": []}},
            "vendorOption": true
        }}}]));
        let mut doc = doc;
        doc["use"] = json!({"authentications": {"svc": {
            "oauth2": {"authority": "https://a", "grant": "client_credentials",
                "endpoints": {"tokn": "/t"}},
            "beare": {"token": "x"}
        }}});
        let pointers: Vec<String> = found(doc).into_iter().map(|f| f.1).collect();
        assert_eq!(
            pointers,
            [
                "/use/authentications/svc/beare",
                "/use/authentications/svc/oauth2/endpoints/tokn",
                "/do/0/ask/with/transport/stdio/argumnets",
            ]
        );
    }

    /// The key lists above are the schema's: a property added to the schema must be added here.
    #[test]
    fn key_lists_match_the_schema() {
        let schema: Value =
            serde_json::from_str(crate::schema::SCHEMA_TEXT).expect("the schema is JSON");
        let properties = |pointer: &str| -> Vec<String> {
            let mut keys: Vec<String> = schema
                .pointer(pointer)
                .and_then(Value::as_object)
                .unwrap_or_else(|| panic!("{pointer} in the schema"))
                .keys()
                .cloned()
                .collect();
            keys.sort();
            keys
        };
        let sorted = |keys: &[&str]| {
            let mut keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            keys.sort();
            keys
        };
        let cases: [(&str, &[&str]); 11] = [
            ("/$defs/errorFilter/properties", ERROR_FILTER_KEYS),
            (
                "/$defs/catch/properties/errors/properties",
                CATCH_ERRORS_KEYS,
            ),
            ("/$defs/eventProperties/properties", EVENT_ATTRIBUTES),
            (
                "/$defs/eventFilter/properties/correlate/additionalProperties/properties",
                CORRELATION_KEYS,
            ),
            (
                "/$defs/emitTask/properties/emit/properties/event/properties",
                EMIT_EVENT_KEYS,
            ),
            (
                "/$defs/authenticationSchemes/properties/oauth2/else/properties/endpoints/properties",
                OAUTH2_ENDPOINT_KEYS,
            ),
            (
                "/$defs/oauth2Properties/properties/request/properties",
                OAUTH2_REQUEST_KEYS,
            ),
            ("/$defs/mcpArguments/properties", MCP_KEYS),
            (
                "/$defs/mcpArguments/properties/transport/properties",
                MCP_TRANSPORT_KEYS,
            ),
            (
                "/$defs/mcpArguments/properties/transport/properties/stdio/properties",
                MCP_STDIO_KEYS,
            ),
            (
                "/$defs/mcpArguments/properties/client/properties",
                MCP_CLIENT_KEYS,
            ),
        ];
        for (pointer, keys) in cases {
            assert_eq!(properties(pointer), sorted(keys), "{pointer}");
        }
        assert_eq!(
            properties("/$defs/mcpArguments/properties/transport/properties/http/properties"),
            sorted(MCP_HTTP_KEYS)
        );
        let mut schemes = properties("/$defs/authenticationSchemes/properties");
        schemes.push("use".to_owned());
        schemes.sort();
        assert_eq!(schemes, sorted(AUTH_POLICY_KEYS));
    }
}
