//! Running task lists and single tasks: flow directives, the per-task data flow in the spec's
//! order (if, input schema, input.from, body, output.as, output schema, export.as, export
//! schema), timeouts, the step budget, error instances and task lifecycle events.

use chrono::Utc;
use futures::future::BoxFuture;

use super::engine::{Run, RunningGuard, timeout_error};
use super::error::WorkflowError;
use super::event::EventKind;
use super::values::{self, check_schema};
use crate::compile::{
    AUTHORIZATION, BlockId, CONTEXT, INPUT, OUTPUT, TASK, TaskId, TaskNode, Transition,
};
use crate::expr::Val;

/// How a task list (or a task body) ended.
#[derive(Debug)]
pub(crate) enum Flow {
    /// Normal completion with this output.
    Done(Val),
    /// A `then: end` somewhere inside: the workflow ends with this output.
    End(Val),
}

impl Flow {
    pub(crate) fn into_value(self) -> Val {
        match self {
            Flow::Done(value) | Flow::End(value) => value,
        }
    }
}

/// What a task body produced.
pub(crate) enum Step {
    /// The raw output, and a transition overriding the task's `then` (a switch case's).
    Next(Val, Option<Transition>),
    /// A nested `then: end`: skip this task's output stages and end the workflow.
    End(Val),
    /// A call's raw output and the `$authorization` it used (for `output.as` and `export.as`).
    Authorized(Val, Val),
}

impl From<Flow> for Step {
    fn from(flow: Flow) -> Self {
        match flow {
            Flow::Done(value) => Step::Next(value, None),
            Flow::End(value) => Step::End(value),
        }
    }
}

impl<'m> Run<'m> {
    /// Runs a task list: each task's output is the next one's input; `then` directives move
    /// the position. Boxed: this is where the recursion through nested lists is broken.
    pub(crate) fn run_block<'a>(
        &'a self,
        block: BlockId,
        input: Val,
        frame: &'a [Val],
    ) -> BoxFuture<'a, Result<Flow, WorkflowError>> {
        Box::pin(async move {
            let tasks = &self.machine.block(block).tasks;
            let mut position = 0;
            let mut data = input;
            while let Some(&task) = tasks.get(position) {
                let (output, transition) = self.run_task(task, data, frame).await?;
                data = output;
                match transition {
                    Transition::Continue => position += 1,
                    Transition::Exit => break,
                    Transition::End => return Ok(Flow::End(data)),
                    Transition::Goto(target) => position = target,
                }
            }
            Ok(Flow::Done(data))
        })
    }

    /// Runs one task on its raw input; returns its transformed output and where to go next.
    /// Errors leaving the task carry its pointer as `instance` unless a deeper task set it.
    pub(crate) async fn run_task(
        &self,
        id: TaskId,
        raw: Val,
        frame: &[Val],
    ) -> Result<(Val, Transition), WorkflowError> {
        let node = self.machine.task(id);
        self.task_event(&node.pointer, || EventKind::TaskCreated);
        let fault = |error: WorkflowError| {
            let error = error.at_instance(&node.pointer);
            self.task_event(&node.pointer, || EventKind::TaskFaulted {
                error: error.clone(),
            });
            error
        };
        if let Err(error) = self.step() {
            return Err(fault(error));
        }
        let mut vars = self.vars(frame);
        vars[INPUT] = raw.clone();
        let started = node.uses_task_var.then(|| values::descriptor(Utc::now()));
        if let Some(started) = &started {
            vars[TASK] = values::task_var(node, &raw, &Val::Null, started);
        }
        if let Some(condition) = &node.flow.if_ {
            match values::eval_bool(condition, raw.clone(), &vars) {
                Ok(true) => {}
                Ok(false) => {
                    self.task_event(&node.pointer, || EventKind::TaskSkipped);
                    return Ok((raw, Transition::Continue));
                }
                Err(error) => return Err(fault(error)),
            }
        }
        self.task_event(&node.pointer, || EventKind::TaskStarted);
        let mut guard = RunningGuard::new(self, &node.pointer);
        let result = match &node.timeout {
            None => self.execute(node, raw, frame, vars, started.as_ref()).await,
            Some(timeout) => match values::duration(&timeout.after, &raw, &vars) {
                Err(error) => Err(error),
                Ok(after) => {
                    let work = self.execute(node, raw, frame, vars, started.as_ref());
                    match tokio::time::timeout(after, work).await {
                        Ok(result) => result,
                        Err(_) => Err(timeout_error("Task", after)),
                    }
                }
            },
        };
        RunningGuard::disarm(&mut guard);
        match result {
            Ok(done) => {
                self.task_event(&node.pointer, || EventKind::TaskCompleted {
                    output: done.0.clone(),
                });
                Ok(done)
            }
            Err(error) => Err(fault(error)),
        }
    }

    /// The task's data flow around its body, in the spec's order.
    async fn execute(
        &self,
        node: &TaskNode,
        raw: Val,
        frame: &[Val],
        mut vars: Vec<Val>,
        started: Option<&Val>,
    ) -> Result<(Val, Transition), WorkflowError> {
        let flow = &node.flow;
        if let Some(schema) = &flow.input_schema {
            check_schema(schema, &raw, "Task input")?;
        }
        let input = match &flow.input_from {
            Some(from) => values::transform(from, raw.clone(), &vars)?,
            None => raw.clone(),
        };
        vars[INPUT] = input.clone();
        let (output, transition) = match self.body(node, input, frame, &vars).await? {
            Step::End(value) => return Ok((value, Transition::End)),
            Step::Next(value, transition) => (value, transition.unwrap_or(node.then)),
            Step::Authorized(value, authorization) => {
                vars[AUTHORIZATION] = authorization;
                (value, node.then)
            }
        };
        let has_output_stages = flow.output_as.is_some()
            || flow.output_schema.is_some()
            || flow.export_as.is_some()
            || flow.export_schema.is_some();
        if !has_output_stages {
            return Ok((output, transition));
        }
        // Inner tasks may have exported since the task started.
        vars[CONTEXT] = self.context();
        if let Some(started) = started {
            vars[TASK] = values::task_var(node, &raw, &output, started);
        }
        let output = match &flow.output_as {
            Some(as_) => values::transform(as_, output, &vars)?,
            None => output,
        };
        if let Some(schema) = &flow.output_schema {
            check_schema(schema, &output, "Task output")?;
        }
        if let Some(export) = &flow.export_as {
            vars[OUTPUT] = output.clone();
            let context = values::transform(export, output.clone(), &vars)?;
            if let Some(schema) = &flow.export_schema {
                check_schema(schema, &context, "Exported context")?;
            }
            self.set_context(context);
        } else if let Some(schema) = &flow.export_schema {
            check_schema(schema, &vars[CONTEXT], "Context")?;
        }
        Ok((output, transition))
    }
}
