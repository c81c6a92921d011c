//! `runtime::unsupported`: what the DSL allows but this runtime cannot execute yet. The document
//! is valid, so these are warnings; `run` compiles such a task to a fault raised only when the
//! run reaches it, and `validate` says so beforehand, naming the thing (`--strict` refuses it).

use super::Context;
use crate::diagnostic::Diagnostic;
use crate::document::{CallTask, Process, SchemaDef, SchemaSource, TaskKind};
use crate::pointer::join;

/// The code of every finding here.
const CODE: &str = "runtime::unsupported";

pub(crate) fn check(cx: &mut Context) {
    let document = cx.document;
    let mut schemas: Vec<&SchemaDef> = Vec::new();
    schemas.extend(document.input.as_ref().and_then(|i| i.schema.as_ref()));
    schemas.extend(document.output.as_ref().and_then(|o| o.schema.as_ref()));
    for visit in document.tasks() {
        let task = visit.task;
        let common = &task.common;
        schemas.extend(common.input.as_ref().and_then(|i| i.schema.as_ref()));
        schemas.extend(common.output.as_ref().and_then(|o| o.schema.as_ref()));
        schemas.extend(common.export.as_ref().and_then(|e| e.schema.as_ref()));
        match &task.kind {
            TaskKind::Call(CallTask::AsyncApi(_)) => cx.push(
                Diagnostic::warning(
                    CODE,
                    format!(
                        "task `{}` uses `call: asyncapi`, which this runtime cannot execute yet: \
                         the run faults when it reaches this task",
                        task.name
                    ),
                )
                .at_pointer(join(&task.pointer, "call"))
                .with_label("not executed by this runtime")
                .with_help(
                    "publish with `emit` and receive with `listen` (NATS, HTTP) instead, or keep \
                     this task out of the path the run takes",
                ),
            ),
            TaskKind::Run(run) => {
                if let Process::Script(script) = &run.process {
                    let language = script.language.to_ascii_lowercase();
                    if !matches!(language.as_str(), "js" | "javascript" | "python") {
                        cx.push(
                            Diagnostic::warning(
                                CODE,
                                format!(
                                    "task `{}` runs a `{}` script, which this runtime cannot \
                                     execute (javascript or python): the run faults when it \
                                     reaches this task",
                                    task.name, script.language
                                ),
                            )
                            .at_pointer(join(
                                &join(&join(&task.pointer, "run"), "script"),
                                "language",
                            ))
                            .with_label("not javascript or python")
                            .with_help("run it with `run: shell` (e.g. `ruby script.rb`) instead"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    for schema in schemas {
        schema_finding(cx, schema);
    }
}

/// A schema this runtime cannot check: its data would fault the run where it is checked.
fn schema_finding(cx: &mut Context, schema: &SchemaDef) {
    let format = schema.format.split(':').next().unwrap_or_default();
    if !format.eq_ignore_ascii_case("json") {
        cx.push(
            Diagnostic::warning(
                CODE,
                format!(
                    "schema format `{}` cannot be checked by this runtime yet (only `json`): the \
                     run faults where this schema applies",
                    schema.format
                ),
            )
            .at_pointer(join(&schema.pointer, "format"))
            .with_label("not checked by this runtime"),
        );
    } else if let SchemaSource::Resource(resource) = &schema.source {
        cx.push(
            Diagnostic::warning(
                CODE,
                format!(
                    "schemas from an external `resource` (`{}`) are not supported yet by this \
                     runtime: the run faults where this schema applies",
                    resource.endpoint.uri.text()
                ),
            )
            .at_pointer(join(&schema.pointer, "resource"))
            .with_label("not loaded by this runtime")
            .with_help("write the JSON Schema inline, under `document:`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze::test_support::{analyze_yaml, codes, doc, pointed_text};

    #[test]
    fn asyncapi_calls_and_other_script_languages_are_named() {
        let text = doc(concat!(
            "do:\n",
            "  - publish:\n      call: asyncapi\n      with:\n        document: {endpoint: https://example.com/a.json}\n        operation: send\n        server: {name: s}\n        message: {payload: {}}\n",
            "  - box:\n      run:\n        script:\n          language: ruby\n          code: puts 1\n",
            "  - fine:\n      run:\n        script:\n          language: python\n          code: print(1)\n",
        ));
        let (_, found) = analyze_yaml(&text);
        let ours: Vec<_> = found.iter().filter(|d| d.code == super::CODE).collect();
        assert_eq!(ours.len(), 2, "{:?}", codes(&found));
        assert!(ours.iter().all(|d| !d.is_error()));
        assert!(
            ours[0].message.contains("`call: asyncapi`"),
            "{}",
            ours[0].message
        );
        assert_eq!(pointed_text(&text, ours[0]), "asyncapi");
        assert!(ours[1].message.contains("`ruby`"), "{}", ours[1].message);
        assert_eq!(pointed_text(&text, ours[1]), "ruby");
    }

    #[test]
    fn external_and_non_json_schemas_are_named() {
        let text = doc(concat!(
            "input:\n  schema:\n    resource:\n      endpoint: https://example.com/in.json\n",
            "do:\n",
            "  - a:\n      set: {x: 1}\n      output:\n        schema:\n          format: avro\n          document: {type: record}\n",
            "  - b:\n      set: {x: 1}\n      output:\n        schema:\n          document: {type: object}\n",
        ));
        let (_, found) = analyze_yaml(&text);
        let ours: Vec<_> = found.iter().filter(|d| d.code == super::CODE).collect();
        assert_eq!(ours.len(), 2, "{:?}", codes(&found));
        assert!(
            ours.iter()
                .any(|d| d.message.contains("https://example.com/in.json"))
        );
        assert!(ours.iter().any(|d| d.message.contains("`avro`")));
    }
}
