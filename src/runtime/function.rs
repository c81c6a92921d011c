//! Custom function calls at run time. `with` is evaluated on the calling task's input and becomes
//! the function task's raw input (absent, the caller's input is passed on); the function task
//! runs with its own data flow (`input.schema`, `input.from`, `output.as`, ...) and its output
//! is the calling task's raw output. A remote function (catalog or URL) is fetched and checked
//! once per run, compiled once per call site, and run in a child run sharing this one's state.

use std::sync::Arc;

use reqwest::Url;

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::step::{Mark, StepScope};
use super::values::eval_tmpl;
use crate::compile::{FunctionBody, FunctionTarget, Machine, RemoteFunction};
use crate::expr::{Val, to_json};

impl Run<'_> {
    /// `caller` is the calling task's pointer and `step` its step name: the function's tasks
    /// are named under it, so they never collide with the caller's own steps.
    pub(crate) async fn call_function(
        &self,
        function: &FunctionBody,
        input: Val,
        vars: &[Val],
        caller: &str,
        step: Option<&Arc<str>>,
    ) -> Result<Val, WorkflowError> {
        let arguments = match &function.with {
            Some(with) => eval_tmpl(with, input.clone(), vars)?,
            None => input.clone(),
        };
        match &function.target {
            FunctionTarget::Inline(task) => {
                // Boxed: a function body may call functions in turn.
                let scope = StepScope::inside(step, caller, Mark::Once);
                let (output, _) = Box::pin(self.run_task(*task, arguments, &[], &scope, 1)).await?;
                Ok(output)
            }
            FunctionTarget::Remote(remote) => {
                let machine = self.remote_function(remote, &input, vars).await?;
                let child = self.child(&machine);
                let root = machine.block(machine.workflow.root).tasks.first().copied();
                let Some(task) = root else {
                    return Ok(arguments);
                };
                // The function's pointers are its own document's: prefix them all.
                let scope = StepScope::inside(step, "", Mark::Once);
                let (output, _) = Box::pin(child.run_task(task, arguments, &[], &scope, 1)).await?;
                Ok(output)
            }
        }
    }

    /// The machine of a remote function for its call site: fetched and checked once per URL,
    /// compiled once per call site.
    async fn remote_function(
        &self,
        remote: &RemoteFunction,
        input: &Val,
        vars: &[Val],
    ) -> Result<Arc<Machine>, WorkflowError> {
        let location = self.resource_location(&remote.endpoint, &remote.suffix, input, vars)?;
        let credentials = self.optional_credentials(remote.authentication.as_ref(), input, vars)?;
        let document = self
            .resources()
            .function_documents
            .get_or_init(location.as_str(), || {
                self.load_function(&location, &remote.name, credentials)
            })
            .await
            .map_err(|error| explain(error, remote))?;
        let key = format!("{location}\n{}", remote.caller);
        self.resources()
            .functions
            .get_or_init(&key, || async {
                crate::compile::function_machine(
                    &document,
                    location.as_str(),
                    &remote.name,
                    &remote.caller,
                )
                .map(Arc::new)
            })
            .await
    }

    async fn load_function(
        &self,
        location: &Url,
        name: &str,
        credentials: Option<crate::host::effects::credentials::Credentials>,
    ) -> Result<Arc<serde_json::Value>, WorkflowError> {
        let loader = &self.executors.loader;
        let text = loader
            .fetch(location, self.http_client(), credentials)
            .await?;
        let definition = to_json(&self.machine.workflow.definition);
        loader
            .function(&text, location.as_str(), name, definition.get("use"))
            .map(Arc::new)
    }
}

/// Says which function a loading failure is about. A catalog or server answering 404 means
/// the function does not exist: a `configuration` error, not a retryable communication one.
fn explain(error: WorkflowError, remote: &RemoteFunction) -> WorkflowError {
    let detail = format!(
        "function `{}`: {}",
        remote.reference,
        error.detail.as_deref().unwrap_or_default()
    );
    if error.status == 404 && error.type_ == ErrorKind::Communication.type_uri() {
        return WorkflowError::new(ErrorKind::Configuration, "Unknown custom function")
            .with_detail(detail);
    }
    error.with_detail(detail)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use serde_json::{Value, json};

    use crate::runtime::event::NoEvents;
    use crate::runtime::test_support::{Recorder, doc, fault, machine, no_processes, output};
    use crate::runtime::{Outcome, RunOptions, run};

    const INLINE: &str = r#"use:
  functions:
    double:
      input:
        schema:
          document:
            type: object
            required: [n]
      set:
        doubled: ${ .n * 2 }
    quadruple:
      call: double
      with:
        n: ${ .n * 2 }
do:
  - first:
      call: double
      with:
        n: ${ .value }
  - second:
      call: quadruple
      with:
        n: ${ .doubled }
"#;

    #[tokio::test]
    async fn with_becomes_the_function_input_and_its_output_the_callers() {
        let out = output(&doc(INLINE), json!({"value": 3})).await;
        assert_eq!(out, json!({"doubled": 24}));
    }

    #[tokio::test]
    async fn without_with_the_callers_input_is_passed_and_schemas_apply() {
        let body = "use:\n  functions:\n    double:\n      input:\n        schema:\n          document:\n            type: object\n            required: [n]\n      set:\n        doubled: ${ .n * 2 }\ndo:\n  - plain:\n      call: double\n";
        assert_eq!(
            output(&doc(body), json!({"n": 5})).await,
            json!({"doubled": 10})
        );
        let error = fault(&doc(body), json!({"m": 5})).await;
        assert!(error.type_.ends_with("/validation"), "{error:?}");
        assert_eq!(error.instance.as_deref(), Some("/do/0/plain/call/double"));
    }

    #[tokio::test]
    async fn function_tasks_report_under_the_calling_task() {
        let recorder = Recorder::new();
        let result = run(
            machine(&doc(INLINE)),
            json!({"value": 1}),
            RunOptions::default(),
            no_processes(),
            recorder.clone(),
        )
        .await;
        assert!(matches!(result.outcome, Outcome::Completed(_)));
        let started: Vec<String> = recorder
            .names()
            .into_iter()
            .filter(|(kind, task)| kind == "started" && !task.is_empty())
            .map(|(_, task)| task)
            .collect();
        assert_eq!(
            started,
            [
                "/do/0/first",
                "/do/0/first/call/double",
                "/do/1/second",
                "/do/1/second/call/quadruple",
                "/do/1/second/call/quadruple/call/double",
            ]
        );
    }

    fn catalog(dir: &Path) {
        let function = dir.join("functions/greet/1.0.0");
        std::fs::create_dir_all(&function).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            function.join("function.yaml"),
            "input:\n  schema:\n    document:\n      type: object\n      required: [name]\nset:\n  greeting: ${ \"hello \" + .name }\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("broken.yaml"), "set: {a: 1}\nwat: true\n")
            .unwrap_or_else(|e| panic!("{e}"));
    }

    async fn run_in(dir: &Path, body: &str, input: Value) -> Outcome {
        let options = RunOptions {
            document: Some(dir.join("workflow.yaml")),
            ..RunOptions::default()
        };
        run(
            machine(&doc(body)),
            input,
            options,
            no_processes(),
            Arc::new(NoEvents),
        )
        .await
        .outcome
    }

    #[tokio::test]
    async fn catalog_and_url_functions_are_read_from_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // The catalog's `file://` endpoint is relative to the workflow file's directory.
        catalog(&dir.path().join("catalog-root"));
        let url = format!(
            "file://{}/catalog-root/functions/greet/1.0.0",
            dir.path().display()
        );
        let body = format!(
            "use:\n  catalogs:\n    local:\n      endpoint: file://catalog-root\ndo:\n  - viaCatalog:\n      call: greet:1.0.0@local\n      with:\n        name: ${{ .who }}\n  - viaUrl:\n      call: {url}\n      with:\n        name: ${{ .greeting }}\n"
        );
        let outcome = run_in(dir.path(), &body, json!({"who": "ada"})).await;
        assert_eq!(
            outcome,
            Outcome::Completed(json!({"greeting": "hello hello ada"}))
        );
    }

    #[tokio::test]
    async fn remote_function_failures_name_the_function() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        catalog(dir.path());
        let missing = format!(
            "do:\n  - f:\n      call: file://{}/nope/function.yaml\n",
            dir.path().display()
        );
        let Outcome::Faulted(error) = run_in(dir.path(), &missing, json!({})).await else {
            panic!("should fault");
        };
        assert!(error.type_.ends_with("/configuration"), "{error:?}");
        let detail = error.detail.unwrap_or_default();
        assert!(detail.starts_with("function `file://"), "{detail}");
        assert!(detail.contains("nope/function.yaml"), "{detail}");
        let broken = format!(
            "do:\n  - f:\n      call: file://{}/broken.yaml\n",
            dir.path().display()
        );
        let Outcome::Faulted(error) = run_in(dir.path(), &broken, json!({})).await else {
            panic!("should fault");
        };
        assert_eq!(error.title.as_deref(), Some("Invalid custom function"));
        assert!(error.detail.unwrap_or_default().contains("wat"));
        // The function's own input schema is checked against `with`.
        let body = "use:\n  catalogs:\n    local:\n      endpoint: file://.\ndo:\n  - f:\n      call: greet:1.0.0@local\n      with:\n        nom: x\n";
        let Outcome::Faulted(error) = run_in(dir.path(), body, json!({})).await else {
            panic!("should fault");
        };
        assert!(error.type_.ends_with("/validation"), "{error:?}");
        assert_eq!(error.instance.as_deref(), Some("/do/0/f/call/greet"));
    }
}
