//! The parser: builds the typed [`Document`] from a value that passed the schema check.
//!
//! Hand-written over `serde_json::Value` so every node gets its JSON pointer for free and every
//! unexpected shape becomes a `parse::unexpected-shape` diagnostic instead of a panic.

mod auth;
mod call;
mod event;
mod policy;
mod reader;
mod run;
mod task;
mod workflow;

use std::sync::Arc;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::document::Document;

pub use reader::UNEXPECTED_SHAPE;

/// Build the typed document from a value that passed the schema check.
///
/// All problems are collected; any error-severity diagnostic makes the result `Err`.
pub fn parse(value: &Value) -> Result<Document, Vec<Diagnostic>> {
    parse_shared(&Arc::new(value.clone()))
}

/// [`parse`] of a value the caller shares: the document keeps it as its `raw`, not a copy.
pub fn parse_shared(value: &Arc<Value>) -> Result<Document, Vec<Diagnostic>> {
    let mut parser = reader::Parser::default();
    let document = parser.document(value);
    let has_errors = parser.diagnostics.iter().any(Diagnostic::is_error);
    match document {
        Some(document) if !has_errors => Ok(document),
        _ => {
            if parser.diagnostics.is_empty() {
                // Defensive: a reader gave up without saying why.
                parser.unexpected("", "the document could not be read");
            }
            Err(parser.diagnostics)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::*;
    use saphyr::{LoadableYamlNode, Scalar, Yaml};
    use serde_json::json;

    /// Test-only YAML → JSON conversion (the real loader, with spans, lives in `yaml.rs`).
    fn to_json(yaml: &Yaml) -> Value {
        match yaml {
            Yaml::Value(Scalar::Null) => Value::Null,
            Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
            Yaml::Value(Scalar::Integer(i)) => json!(i),
            Yaml::Value(Scalar::FloatingPoint(f)) => {
                serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
            }
            Yaml::Value(Scalar::String(s)) | Yaml::Representation(s, _, _) => {
                Value::String(s.to_string())
            }
            Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
            Yaml::Mapping(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let key = match to_json(k) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (key, to_json(v))
                    })
                    .collect(),
            ),
            Yaml::Tagged(_, inner) => to_json(inner),
            Yaml::Alias(_) | Yaml::BadValue => Value::Null,
        }
    }

    use crate::test_support::spec_dir;

    fn load(path: &std::path::Path) -> Value {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        docs.first().map(to_json).unwrap_or(Value::Null)
    }

    fn example(name: &str) -> Option<Document> {
        let dir = spec_dir("examples")?;
        let value = load(&dir.join(name));
        Some(parse(&value).unwrap_or_else(|d| panic!("{name}: {d:#?}")))
    }

    fn yaml(text: &str) -> Value {
        let docs = Yaml::load_from_str(text).unwrap_or_else(|e| panic!("{e}"));
        docs.first().map(to_json).unwrap_or(Value::Null)
    }

    #[test]
    fn every_spec_example_parses() {
        let Some(dir) = spec_dir("examples") else {
            return;
        };
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.sort();
        assert!(
            paths.len() >= 60,
            "expected the spec examples, found {}",
            paths.len()
        );
        let mut failures = Vec::new();
        for path in &paths {
            if let Err(diagnostics) = parse(&load(path)) {
                failures.push(format!("{}: {diagnostics:#?}", path.display()));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    use crate::test_support::ctk_definitions;

    #[test]
    fn every_ctk_workflow_parses() {
        let Some(dir) = spec_dir("ctk/features") else {
            return;
        };
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for definition in ctk_definitions(&text) {
                count += 1;
                if let Err(diagnostics) = parse(&yaml(&definition)) {
                    panic!("{}: {diagnostics:#?}\n{definition}", entry.path().display());
                }
            }
        }
        assert!(
            count >= 21,
            "expected the CTK scenarios' workflows, found {count}"
        );
    }

    #[test]
    fn two_tasks_in_one_item_is_reported() {
        let Some(dir) = spec_dir("invalid") else {
            return;
        };
        let diagnostics =
            parse(&load(&dir.join("two-tasks-in-one-item.yaml"))).expect_err("invalid");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].pointer.as_deref(), Some("/do/0"));
        assert!(
            diagnostics[0].message.contains("`getPet`, `setMessage`"),
            "{}",
            diagnostics[0].message
        );
    }

    #[test]
    fn parsing_never_panics_on_mutated_examples() {
        let Some(dir) = spec_dir("examples") else {
            return;
        };
        let replacements = [
            json!(null),
            json!(-1),
            json!("x"),
            json!([]),
            json!({}),
            json!([{}]),
        ];
        let (mut runs, mut rejected) = (0, 0);
        for name in [
            "try-catch-retry-inline.yaml",
            "authentication-oauth2.yaml",
            "call-asyncapi-publish.yaml",
            "listen-to-any-until-consumed.yaml",
            "mock-service-extension.yaml",
            "run-container-cleanup-eventually.yaml",
            "call-mcp.yaml",
            "for.yaml",
            "fork.yaml",
            "raise-reusable.yaml",
            "call-grpc.yaml",
            "schedule-event-driven.yaml",
        ] {
            let original = load(&dir.join(name));
            let mut pointers = Vec::new();
            collect_pointers(&original, String::new(), &mut pointers);
            for pointer in &pointers {
                for replacement in &replacements {
                    let mut mutated = original.clone();
                    if let Some(slot) = mutated.pointer_mut(pointer) {
                        *slot = replacement.clone();
                    }
                    // Any outcome is fine but a panic; errors must carry a pointer.
                    runs += 1;
                    if let Err(diagnostics) = parse(&mutated) {
                        rejected += 1;
                        assert!(
                            diagnostics.iter().all(|d| d.pointer.is_some()),
                            "{name} {pointer}"
                        );
                    }
                }
            }
        }
        assert!(
            runs > 1_000 && rejected > runs / 2,
            "{rejected} of {runs} mutations rejected"
        );
    }

    fn collect_pointers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    collect_pointers(item, crate::pointer::join(&at, key), out);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    collect_pointers(item, crate::pointer::join_index(&at, index), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    #[test]
    fn try_catch_with_inline_retry() {
        let Some(doc) = example("try-catch-retry-inline.yaml") else {
            return;
        };
        let task = &doc.do_.tasks[0];
        assert_eq!(
            (task.name.as_str(), task.pointer.as_str()),
            ("tryGetPet", "/do/0/tryGetPet")
        );
        let TaskKind::Try(try_task) = &task.kind else {
            panic!("expected try, got {:?}", task.kind)
        };
        assert_eq!(try_task.try_.pointer, "/do/0/tryGetPet/try");
        assert_eq!(
            try_task.try_.tasks[0].pointer,
            "/do/0/tryGetPet/try/0/getPet"
        );
        let filter = try_task.catch.errors.as_ref().expect("filter");
        assert_eq!(filter.status, Some(503));
        assert_eq!(
            filter.type_.as_deref(),
            Some("https://serverlessworkflow.io/spec/1.0.0/errors/communication")
        );
        let Some(RetryRef::Inline(retry)) = &try_task.catch.retry else {
            panic!("expected inline retry")
        };
        assert_eq!(
            retry.delay.as_ref().and_then(|d| d.to_std().ok()),
            Some(std::time::Duration::from_secs(3))
        );
        assert_eq!(
            retry.backoff.as_ref().map(|b| b.kind),
            Some(BackoffKind::Exponential)
        );
        assert_eq!(retry.limit.as_ref().and_then(|l| l.attempt_count), Some(5));
        assert_eq!(try_task.catch.variable(), "error");
        // No expression reads `$task`: its definition is not kept.
        assert!(task.raw.is_null());
    }

    #[test]
    fn named_retry_error_and_function_references() {
        if let Some(doc) = example("try-catch-retry-reusable.yaml") {
            let TaskKind::Try(t) = &doc.do_.tasks[0].kind else {
                panic!("expected try")
            };
            let Some(RetryRef::Named(r)) = &t.catch.retry else {
                panic!("expected named retry")
            };
            assert!(
                doc.use_.retry(&r.name).is_some(),
                "{} should be defined",
                r.name
            );
            assert_eq!(r.pointer, "/do/0/tryGetPet/catch/retry");
        }
        if let Some(doc) = example("raise-reusable.yaml") {
            let TaskKind::Raise(raise) = &doc.do_.tasks[0].kind else {
                panic!("expected raise")
            };
            assert!(matches!(&raise.error, ErrorRef::Named(r) if r.name == "notImplemented"));
            let error = doc.use_.error("notImplemented").expect("use.errors entry");
            assert_eq!(error.value.status, 500);
            assert!(
                error
                    .value
                    .detail
                    .as_ref()
                    .and_then(StringOrExpr::as_expression)
                    .is_some()
            );
            assert_eq!(
                error
                    .value
                    .title
                    .as_ref()
                    .and_then(StringOrExpr::as_literal),
                Some("Not Implemented")
            );
        }
        if let Some(doc) = example("call-custom-function-inline.yaml") {
            let TaskKind::Call(CallTask::Function(call)) = &doc.do_.tasks[0].kind else {
                panic!("expected call")
            };
            assert_eq!(call.function.name, "getPetById");
            assert_eq!(
                call.with.as_ref().map(|w| w.value.clone()),
                Some(json!({"petId": 69}))
            );
            let function = doc.use_.function("getPetById").expect("function");
            assert_eq!(function.pointer, "/use/functions/getPetById");
            assert!(
                function
                    .common
                    .input
                    .as_ref()
                    .and_then(|i| i.schema.as_ref())
                    .is_some()
            );
            let visits = doc.tasks();
            let visit = visits
                .iter()
                .find(|v| v.task.pointer == "/use/functions/getPetById")
                .expect("visited");
            assert!(visit.parent.is_none());
        }
    }

    #[test]
    fn switch_cases_and_flow_directives() {
        let Some(doc) = example("switch-then-string.yaml") else {
            return;
        };
        let TaskKind::Switch(switch) = &doc.do_.tasks[0].kind else {
            panic!("expected switch")
        };
        let names: Vec<_> = switch.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["case1", "case2", "default"]);
        assert_eq!(
            switch.cases[0].when.as_ref().map(Expression::source),
            Some(".orderType == \"electronic\"")
        );
        assert!(switch.cases[2].when.is_none());
        assert_eq!(
            switch.cases[1].then,
            FlowDirective::Goto(Reference::new(
                "processPhysicalOrder",
                "/do/0/processOrder/switch/1/case2/then"
            ))
        );
        assert_eq!(switch.cases[1].pointer, "/do/0/processOrder/switch/1/case2");
        assert_eq!(doc.do_.tasks[1].common.then, FlowDirective::Exit);
        assert_eq!(doc.do_.tasks[3].common.then, FlowDirective::Continue);
        assert_eq!(doc.do_.position("processPhysicalOrder"), Some(2));
    }

    #[test]
    fn durations_in_wait_tasks() {
        let secs = |name: &str| {
            let doc = example(name)?;
            let TaskKind::Wait(wait) = &doc.do_.tasks[0].kind else {
                panic!("expected wait")
            };
            wait.duration.to_std().ok()
        };
        if spec_dir("examples").is_none() {
            return;
        }
        assert_eq!(
            secs("wait-duration-inline.yaml"),
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(
            secs("wait-duration-iso8601.yaml"),
            Some(std::time::Duration::from_secs(30))
        );
    }

    #[test]
    fn endpoint_forms() {
        if let Some(doc) = example("call-http-endpoint-interpolation.yaml") {
            let TaskKind::Call(CallTask::Http(http)) = &doc.do_.tasks[0].kind else {
                panic!("expected http")
            };
            assert!(
                matches!(&http.endpoint.uri, EndpointUri::Expression(e) if e.pointer == "/do/0/getPet/with/endpoint")
            );
            assert_eq!(http.method, "get");
            assert_eq!(http.output, HttpOutput::Content);
            assert!(!http.redirect);
        }
        if let Some(doc) = example("authentication-oauth2.yaml") {
            let TaskKind::Call(CallTask::Http(http)) = &doc.do_.tasks[0].kind else {
                panic!("expected http")
            };
            assert!(
                matches!(&http.endpoint.uri, EndpointUri::Template(t) if t.pointer == "/do/0/getPet/with/endpoint/uri")
            );
            let Some(AuthenticationRef::Inline(policy)) = &http.endpoint.authentication else {
                panic!("auth")
            };
            let AuthScheme::OAuth2(SchemeConfig::Inline(oauth)) = &policy.scheme else {
                panic!("oauth2")
            };
            assert_eq!(oauth.grant.as_deref(), Some("client_credentials"));
            assert_eq!(
                oauth.endpoints.as_ref().map(|e| e.token_path()),
                Some("/auth/token")
            );
        }
        if let Some(doc) = example("authentication-reusable.yaml") {
            assert_eq!(doc.use_.authentications.len(), 1);
        }
    }

    #[test]
    fn run_arguments_in_both_forms() {
        if let Some(doc) = example("run-shell-stdin-and-arguments.yaml") {
            let task = &doc.do_.tasks[1];
            let TaskKind::Run(run) = &task.kind else {
                panic!("expected run")
            };
            let Process::Shell(shell) = &run.process else {
                panic!("expected shell")
            };
            let Some(Arguments::List(args)) = &shell.arguments else {
                panic!("expected list")
            };
            let texts: Vec<_> = args.iter().map(StringOrExpr::text).collect();
            assert_eq!(texts, ["Foo", "Bar"]);
            assert!(
                shell
                    .stdin
                    .as_ref()
                    .and_then(StringOrExpr::as_expression)
                    .is_some()
            );
            assert!(run.await_);
            assert_eq!(run.return_, ProcessReturn::Stdout);
            assert!(matches!(
                task.common.input.as_deref(),
                Some(Input {
                    from: Some(Transform::Expression(_)),
                    ..
                })
            ));
        }
        let doc = parse(&yaml(
            "document: {dsl: 1.0.0, namespace: n, name: w, version: 1.0.0}\n\
             do:\n  - greet:\n      run:\n        return: all\n        shell:\n          command: echo\n          arguments:\n            name: ${ .name }\n",
        ))
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let TaskKind::Run(run) = &doc.do_.tasks[0].kind else {
            panic!("expected run")
        };
        assert_eq!(run.return_, ProcessReturn::All);
        let Process::Shell(shell) = &run.process else {
            panic!("expected shell")
        };
        assert!(
            matches!(&shell.arguments, Some(Arguments::Map(m)) if m.pointer == "/do/0/greet/run/shell/arguments")
        );
    }

    #[test]
    fn visitor_reaches_nested_and_extension_tasks() {
        if let Some(doc) = example("mock-service-extension.yaml") {
            let pointers: Vec<_> = doc.tasks().iter().map(|v| v.task.pointer.clone()).collect();
            assert_eq!(
                pointers,
                [
                    "/do/0/callHttp",
                    "/use/extensions/0/mockService/before/0/mockResponse"
                ]
            );
            assert_eq!(doc.use_.extensions[0].extend, ExtensionTarget::Call);
        }
        if let Some(doc) = example("for.yaml") {
            let visits = doc.tasks();
            assert_eq!(visits.len(), 2);
            assert_eq!(visits[1].task.pointer, "/do/0/checkup/do/0/waitForCheckup");
            assert_eq!(visits[1].depth, 1);
            assert_eq!(
                visits[1].parent.map(|l| l.pointer.as_str()),
                Some("/do/0/checkup/do")
            );
            let TaskKind::For(for_task) = &visits[0].task.kind else {
                panic!("expected for")
            };
            assert_eq!(
                (for_task.each.as_str(), for_task.at.as_str()),
                ("pet", "index")
            );
            assert_eq!(for_task.in_.source(), ".pets");
            assert!(for_task.while_.is_some());
        }
    }

    #[test]
    fn reports_problems_at_pointers_without_stopping() {
        let value = json!({
            "document": {"dsl": "1.0.3", "namespace": "n", "name": "w", "version": "1.0.0"},
            "do": [
                {"a": {"wait": "P1Y"}},
                {"b": {"set": {"x": 1}, "call": "http"}},
                {"c": {"bogus": 1}},
                {"d": {"wait": "PT1S"}, "e": {"wait": "PT1S"}},
                {"f": {"raise": {"error": {"type": "t", "status": "500"}}}}
            ]
        });
        let diagnostics = parse(&value).expect_err("errors");
        let found: Vec<_> = diagnostics
            .iter()
            .map(|d| (d.code, d.pointer.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            found,
            [
                // `P1Y` parses; its calendar unit is the analyzer's finding.
                ("parse::unexpected-shape", "/do/1/b".to_string()),
                ("parse::unexpected-shape", "/do/2/c".to_string()),
                ("parse::unexpected-shape", "/do/3".to_string()),
                (
                    "parse::unexpected-shape",
                    "/do/4/f/raise/error/status".to_string()
                ),
            ]
        );
        assert!(parse(&json!([1])).is_err());
        assert!(parse(&json!({})).is_err());
    }

    #[test]
    fn pointers_escape_task_names() {
        let doc = parse(&json!({
            "document": {"dsl": "1.0.0-alpha5", "namespace": "n", "name": "w", "version": "1.0.0"},
            "do": [{"a/b~c": {"set": "${ . }"}}]
        }))
        .unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(doc.meta.dsl, "1.0.0-alpha5");
        assert_eq!(doc.do_.tasks[0].pointer, "/do/0/a~1b~0c");
        assert!(matches!(&doc.do_.tasks[0].kind, TaskKind::Set(s) if !s.value.is_constant()));
        assert_eq!(doc.raw.pointer("/do/0/a~1b~0c/set"), Some(&json!("${ . }")));
    }
}
