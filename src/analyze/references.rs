//! `ref::undefined-*`: names of `use` entries referenced by tasks must exist: custom functions
//! (`call: name`), catalogs (`call: fn:1.0.0@catalog`), retry policies (`catch.retry`), errors
//! (`raise.error`), timeouts (`timeout`) and authentications (`authentication: { use }`); and
//! secret-based authentication (`basic: { use: secret }`) must name a declared secret.

use serde_json::Value;

use super::{Context, quoted_list, secrets};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::document::{CallTask, ErrorRef, Reference, RetryRef, TaskKind, TimeoutRef};
use crate::pointer;

/// `call` values that name a built-in call type rather than a function.
const CALL_TYPES: [&str; 6] = ["http", "openapi", "grpc", "asyncapi", "a2a", "mcp"];

/// The catalog a runtime may provide without declaring it (spec: "the default catalog").
const DEFAULT_CATALOG: &str = "default";

/// Authentication scheme keys; `{ use: secret }` under one of them reads a secret.
const SCHEMES: [&str; 5] = ["basic", "bearer", "digest", "oauth2", "oidc"];

/// Keys whose values are user data, where an `authentication` key means nothing to the DSL.
const DATA_KEYS: [&str; 11] = [
    "body",
    "metadata",
    "data",
    "set",
    "headers",
    "query",
    "arguments",
    "parameters",
    "payload",
    "environment",
    "variables",
];

/// One kind of `use` entry: how messages name it and where it is declared.
struct Section {
    code: &'static str,
    what: &'static str,
    key: &'static str,
}

const FUNCTION: Section = Section {
    code: "ref::undefined-function",
    what: "function",
    key: "functions",
};
const CATALOG: Section = Section {
    code: "ref::undefined-catalog",
    what: "catalog",
    key: "catalogs",
};
const RETRY: Section = Section {
    code: "ref::undefined-retry",
    what: "retry policy",
    key: "retries",
};
const ERROR: Section = Section {
    code: "ref::undefined-error",
    what: "error",
    key: "errors",
};
const TIMEOUT: Section = Section {
    code: "ref::undefined-timeout",
    what: "timeout",
    key: "timeouts",
};
const AUTHENTICATION: Section = Section {
    code: "ref::undefined-authentication",
    what: "authentication policy",
    key: "authentications",
};

pub(crate) fn check(cx: &mut Context) {
    let document = cx.document;
    let uses = &document.use_;
    let functions: Vec<&str> = uses.functions.iter().map(|f| f.name.as_str()).collect();
    let catalogs: Vec<&str> = uses.catalogs.iter().map(|c| c.name.as_str()).collect();
    let retries: Vec<&str> = uses.retries.iter().map(|r| r.name.as_str()).collect();
    let errors: Vec<&str> = uses.errors.iter().map(|e| e.name.as_str()).collect();
    let timeouts: Vec<&str> = uses.timeouts.iter().map(|t| t.name.as_str()).collect();

    if let Some(TimeoutRef::Named(reference)) = &document.timeout {
        require(cx, &TIMEOUT, reference, &timeouts, &[]);
    }
    for visit in document.tasks() {
        let task = visit.task;
        if let Some(TimeoutRef::Named(reference)) = &task.common.timeout {
            require(cx, &TIMEOUT, reference, &timeouts, &[]);
        }
        match &task.kind {
            TaskKind::Call(CallTask::Function(call)) => {
                if let Some((_, _, catalog)) = call.catalog_parts() {
                    if catalog != DEFAULT_CATALOG {
                        let reference = Reference::new(catalog, &call.function.pointer);
                        require(cx, &CATALOG, &reference, &catalogs, &[DEFAULT_CATALOG]);
                    }
                } else if !call.function.name.contains("://") {
                    require(cx, &FUNCTION, &call.function, &functions, &CALL_TYPES);
                }
            }
            TaskKind::Raise(raise) => {
                if let ErrorRef::Named(reference) = &raise.error {
                    require(cx, &ERROR, reference, &errors, &[]);
                }
            }
            TaskKind::Try(task) => {
                if let Some(RetryRef::Named(reference)) = &task.catch.retry {
                    require(cx, &RETRY, reference, &retries, &[]);
                }
            }
            _ => {}
        }
    }
    authentication_uses(cx, &document.raw);
}

/// Reports `reference` unless `defined` holds its name. `also` are other valid spellings offered
/// as corrections (the built-in call types for a misspelt `call: htpp`).
fn require(
    cx: &mut Context,
    section: &Section,
    reference: &Reference,
    defined: &[&str],
    also: &[&str],
) {
    let name = reference.name.as_str();
    if defined.contains(&name) {
        return;
    }
    let candidates = defined.iter().chain(also).copied();
    let help = match did_you_mean(name, candidates) {
        Some(close) => format!("did you mean `{close}`?"),
        None if defined.is_empty() => {
            format!("declare it under `use.{}`", section.key)
        }
        None => format!(
            "`use.{}` defines {}",
            section.key,
            quoted_list(defined.iter().copied())
        ),
    };
    cx.push(
        Diagnostic::error(
            section.code,
            format!("{} `{name}` is not defined", section.what),
        )
        .at_pointer(&reference.pointer)
        .with_label(format!("not in `use.{}`", section.key))
        .with_help(help),
    );
}

/// Finds `authentication: { use: name }` and `<scheme>: { use: secret }` anywhere in the raw
/// document (they sit in endpoints, external resources, and several call types; walking the
/// JSON finds them all with one rule). User data (`body`, `set`...) is skipped.
fn authentication_uses(cx: &mut Context, root: &Value) {
    let authentications: Vec<String> = cx
        .document
        .use_
        .authentications
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let defined: Vec<&str> = authentications.iter().map(String::as_str).collect();
    // (value, pointer, key naming it); an explicit stack, so deep documents cannot overflow.
    let mut stack: Vec<(&Value, String, &str)> = Vec::new();
    if let Value::Object(map) = root {
        for (key, value) in map {
            if key != "document" {
                stack.push((value, pointer::join("", key), key));
            }
        }
    }
    while let Some((value, at, key)) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(name) = lone_use(value) {
                    let use_pointer = pointer::join(&at, "use");
                    if key == "authentication" {
                        let reference = Reference::new(name, use_pointer);
                        require(cx, &AUTHENTICATION, &reference, &defined, &[]);
                    } else if SCHEMES.contains(&key) && is_policy(&at) {
                        secrets::check_declared(cx, name, &use_pointer, None);
                    }
                    continue;
                }
                for (child_key, child) in map {
                    if !DATA_KEYS.contains(&child_key.as_str()) {
                        stack.push((child, pointer::join(&at, child_key), child_key));
                    }
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    stack.push((item, pointer::join_index(&at, index), key));
                }
            }
            _ => {}
        }
    }
}

/// The name of `{ use: name }` (an object with that one string entry).
fn lone_use(value: &Value) -> Option<&str> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get("use")?.as_str()
}

/// Whether the scheme at `scheme_pointer` belongs to an authentication policy: under an
/// `authentication` key, or an entry of `use.authentications`.
fn is_policy(scheme_pointer: &str) -> bool {
    let Some(policy) = pointer::parent(scheme_pointer) else {
        return false;
    };
    policy.ends_with("/authentication") || pointer::parent(policy) == Some("/use/authentications")
}

#[cfg(test)]
mod tests {
    use crate::analyze::test_support::{analyze_yaml, codes, doc, pointed_text};

    #[test]
    fn every_kind_of_use_reference_is_checked() {
        let text = doc(concat!(
            "use:\n",
            "  errors:\n    notFound: {type: 'https://e/x', status: 404}\n",
            "  retries:\n    fast: {delay: PT1S}\n",
            "  timeouts:\n    short: {after: PT1S}\n",
            "  functions:\n    getPet:\n      call: http\n      with: {method: get, endpoint: 'https://p'}\n",
            "  authentications:\n    petAuth:\n      bearer: {token: abc}\n",
            "timeout: shrt\n",
            "do:\n",
            "  - a:\n      call: getPets\n",
            "  - b:\n      raise:\n        error: notFund\n",
            "  - c:\n      try:\n        - x:\n            set: {}\n      catch:\n        retry: slow\n",
            "  - d:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: https://p\n          authentication:\n            use: petAuht\n",
            "  - e:\n      call: log:1.0.0@mine\n",
            "  - f:\n      call: log:1.0.0@default\n",
            "  - g:\n      call: https://example.com/function.yaml\n",
            "  - h:\n      call: htpp\n",
        ));
        let (_, found) = analyze_yaml(&text);
        let mut got: Vec<(&str, String, String)> = found
            .iter()
            .map(|d| {
                (
                    d.code,
                    pointed_text(&text, d),
                    d.help.clone().unwrap_or_default(),
                )
            })
            .collect();
        got.sort();
        let expected = [
            (
                "ref::undefined-authentication",
                "petAuht",
                "did you mean `petAuth`?",
            ),
            (
                "ref::undefined-catalog",
                "log:1.0.0@mine",
                "declare it under `use.catalogs`",
            ),
            (
                "ref::undefined-error",
                "notFund",
                "did you mean `notFound`?",
            ),
            (
                "ref::undefined-function",
                "getPets",
                "did you mean `getPet`?",
            ),
            ("ref::undefined-function", "htpp", "did you mean `http`?"),
            (
                "ref::undefined-retry",
                "slow",
                "`use.retries` defines `fast`",
            ),
            ("ref::undefined-timeout", "shrt", "did you mean `short`?"),
        ];
        let expected: Vec<(&str, String, String)> = expected
            .iter()
            .map(|(c, p, h)| (*c, p.to_string(), h.to_string()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn data_that_looks_like_authentication_is_ignored() {
        let text = doc(
            "do:\n  - a:\n      set:\n        authentication:\n          use: nothing\n        basic:\n          use: nothing\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), Vec::<&str>::new());
    }

    #[test]
    fn reusable_policies_may_read_declared_secrets() {
        let text = doc(
            "use:\n  secrets: [creds]\n  authentications:\n    a:\n      basic:\n        use: creds\n    b:\n      oauth2:\n        use: missing\ndo:\n  - x:\n      set: {}\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["ref::undeclared-secret"]);
        assert_eq!(pointed_text(&text, &found[0]), "missing");
    }
}
