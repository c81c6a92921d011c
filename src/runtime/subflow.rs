//! `run: workflow`: the child is found and compiled by the host's loader, once per run, then run as
//! a workflow of the same family: same executors, event sink, cancellation, secrets and step
//! budget, one level deeper. Its input is the task's `input` (evaluated) or the task's input;
//! its output is the task's raw output. A child's error keeps its type, status, title and
//! detail; its `instance` becomes the calling task's pointer followed by the child's, so
//! `/do/1/child/do/0/inner` reads as "task `inner` of the workflow run by `/do/1/child`".

use std::sync::Arc;

use super::engine::{Place, Run};
use super::error::{ErrorKind, WorkflowError};
use super::event::{EventKind, EventSink};
use super::family::MAX_DEPTH;
use super::values::eval_tmpl;
use crate::compile::SubflowSpec;
use crate::expr::Val;
use crate::host::ChildWorkflow;
use crate::host::Executors;

impl Run<'_> {
    pub(crate) async fn run_subflow(
        &self,
        pointer: &Arc<str>,
        spec: &SubflowSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Val, WorkflowError> {
        let depth = self.place.depth + 1;
        if depth > MAX_DEPTH {
            return Err(
                WorkflowError::new(ErrorKind::Configuration, "Sub-workflow depth limit")
                    .with_detail(format!(
                        "running {}/{}:{} would nest sub-workflows {depth} deep; the limit is \
                 {MAX_DEPTH} (does a workflow run itself?)",
                        spec.namespace, spec.name, spec.version
                    )),
            );
        }
        let child_input = match &spec.input {
            Some(template) => eval_tmpl(template, input.clone(), vars)?,
            None => input.clone(),
        };
        let caller = self.place.document.as_deref();
        let key = format!(
            "{}\n{}/{}:{}",
            caller
                .map(|path| path.display().to_string())
                .unwrap_or_default(),
            spec.namespace,
            spec.name,
            spec.version
        );
        let loader = &self.executors.loader;
        let child = self
            .resources()
            .workflows
            .get_or_init(&key, || async {
                loader
                    .workflow(caller, &spec.namespace, &spec.name, &spec.version)
                    .await
                    .map(Arc::new)
            })
            .await?;
        let place = Place {
            family: Arc::clone(&self.place.family),
            depth,
            document: Some(Arc::from(child.path.as_path())),
        };
        let child_run = ChildRun {
            child,
            place,
            executors: self.executors.clone(),
            events: Arc::clone(&self.events),
        };
        if !spec.await_ {
            // Its outcome reaches the events only; the run waits for it before it ends.
            self.place.family.spawn_background(async move {
                let _ = child_run.run(child_input).await;
            });
            return Ok(input);
        }
        child_run
            .run(child_input)
            .await
            .map_err(|error| within(pointer, error))
    }
}

/// A sub-workflow's missing secret: only the top-level workflow's declared secrets are loaded,
/// so the usual advice (set the variable) is not enough; say what else is needed.
pub(super) fn missing_secret(mut error: WorkflowError, depth: usize) -> WorkflowError {
    if depth > 0 {
        let note = "a sub-workflow's secrets must also be declared in the `use.secrets` of the \
                    workflow run from the command line, which loads them";
        error.detail = Some(match error.detail.take() {
            Some(detail) => format!("{detail}; {note}"),
            None => note.to_owned(),
        });
    }
    error
}

/// A child's error as the parent reports it: its instance prefixed with the calling task.
fn within(pointer: &str, mut error: WorkflowError) -> WorkflowError {
    error.instance = Some(match error.instance.as_deref() {
        None | Some("") | Some("/") => pointer.to_owned(),
        Some(inner) if inner.starts_with('/') => format!("{pointer}{inner}"),
        Some(inner) => format!("{pointer}/{inner}"),
    });
    error
}

/// Everything a child run needs, owned, so that it can also run in the background.
struct ChildRun {
    child: Arc<ChildWorkflow>,
    place: Place,
    executors: Executors,
    events: Arc<dyn EventSink>,
}

impl ChildRun {
    /// Runs the child to its end, publishing its own workflow events under a new run id.
    async fn run(self, input: Val) -> Result<Val, WorkflowError> {
        let id = self.executors.ids.run_id();
        // A host that runs sub-workflows elsewhere (Temporal child workflows) gets it whole.
        if let Some(elsewhere) =
            self.executors
                .loader
                .run_elsewhere(&self.child, &id, crate::expr::to_json(&input))
        {
            return elsewhere
                .await
                .map(|output| crate::expr::from_json(&output));
        }
        let run = Run::new(
            &self.child.machine,
            &id,
            &input,
            self.place,
            self.executors,
            self.events,
            // A sub-workflow is one step of its parent: on a resume it runs again as a whole.
            None,
        );
        run.workflow_event(|| EventKind::WorkflowStarted);
        let mut cancelled = CancelledGuard {
            run: &run,
            armed: true,
        };
        let result = run.workflow(input).await;
        cancelled.armed = false;
        match &result {
            Ok(output) => run.workflow_event(|| EventKind::WorkflowCompleted {
                output: output.clone(),
            }),
            Err(error) => run.workflow_event(|| EventKind::WorkflowFaulted {
                error: error.clone(),
            }),
        }
        result
    }
}

/// Publishes the child's `WorkflowCancelled` when its run is dropped unfinished (the parent task
/// timed out, the run was cancelled).
struct CancelledGuard<'r, 'm> {
    run: &'r Run<'m>,
    armed: bool,
}

impl Drop for CancelledGuard<'_, '_> {
    fn drop(&mut self) {
        if self.armed {
            self.run.workflow_event(|| EventKind::WorkflowCancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_instances_are_prefixed_with_the_calling_task() {
        let error = |instance: Option<&str>| WorkflowError {
            instance: instance.map(str::to_owned),
            ..WorkflowError::new(ErrorKind::Runtime, "x")
        };
        let at = |instance| within("/do/1/child", error(instance)).instance;
        assert_eq!(
            at(Some("/do/0/inner")).as_deref(),
            Some("/do/1/child/do/0/inner")
        );
        assert_eq!(at(Some("/")).as_deref(), Some("/do/1/child"));
        assert_eq!(at(None).as_deref(), Some("/do/1/child"));
        assert_eq!(at(Some("custom")).as_deref(), Some("/do/1/child/custom"));
    }
}
