//! Running task lists and single tasks: flow directives, the per-task data flow in the spec's
//! order (if, input schema, input.from, body, output.as, output schema, export.as, export
//! schema), timeouts, the step budget, error instances and task lifecycle events.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::engine::{Run, RunningGuard, timeout_error};
use super::error::{ErrorKind, WorkflowError};
use super::event::{EventKind, Next};
use super::interrupt;
use super::replay::Completed;
use super::step::{Repeats, StepScope};
use super::values::{self, check_schema};
use crate::compile::{
    AUTHORIZATION, BlockId, Body, CONTEXT, INPUT, OUTPUT, TASK, TaskId, TaskNode, Transition,
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
    /// the position. `scope` names the tasks' steps. Boxed: this is where the recursion through
    /// nested lists is broken.
    pub(crate) fn run_block<'a>(
        &'a self,
        block: BlockId,
        input: Val,
        frame: &'a [Val],
        scope: &'a StepScope,
    ) -> BoxFuture<'a, Result<Flow, WorkflowError>> {
        Box::pin(async move {
            let tasks = &self.machine.block(block).tasks;
            let mut position = 0;
            let mut data = input;
            let mut repeats = Repeats::default();
            while let Some(&task) = tasks.get(position) {
                let repeat = repeats.start(position);
                let (output, transition) = self.run_task(task, data, frame, scope, repeat).await?;
                data = output;
                match transition {
                    Transition::Continue => position += 1,
                    Transition::Exit => break,
                    Transition::End => return Ok(Flow::End(data)),
                    Transition::Goto(target) => {
                        repeats.jumped(position, tasks.len());
                        position = target;
                    }
                }
            }
            Ok(Flow::Done(data))
        })
    }

    /// Runs one task on its raw input; returns its transformed output and where to go next.
    /// `repeat` counts the task's executions in this run of its list (from 1), for its step
    /// name. A step the replay holds as completed is not executed: its recorded output is.
    /// Errors leaving the task carry its pointer as `instance` unless a deeper task set it.
    pub(crate) async fn run_task(
        &self,
        id: TaskId,
        raw: Val,
        frame: &[Val],
        scope: &StepScope,
        repeat: u32,
    ) -> Result<(Val, Transition), WorkflowError> {
        let node = self.machine.task(id);
        let step = scope.name(&node.pointer, repeat);
        let step = step.as_ref();
        let fault = |error: WorkflowError| {
            let error = error.at_instance(&node.pointer);
            self.task_event(node, step, || EventKind::TaskFaulted {
                error: error.clone(),
            });
            error
        };
        if let Some(replay) = &self.replay
            && let Some(done) = step.and_then(|step| replay.completed(step))
        {
            return self.replayed(id, step, done).map_err(fault);
        }
        // Millions of cheap tasks in a row still let timers and cancellation in.
        interrupt::yield_point().await;
        self.task_event(node, step, || EventKind::TaskCreated);
        if let Err(error) = self.step() {
            return Err(fault(error));
        }
        let mut vars = self.vars(frame);
        vars[INPUT] = raw.clone();
        let started = node
            .uses_task_var
            .then(|| values::descriptor(self.executors.clock.now()));
        if let Some(started) = &started {
            vars[TASK] = values::task_var(node, &raw, &Val::Null, started);
        }
        if let Some(condition) = &node.flow.if_ {
            match values::eval_bool(condition, raw.clone(), &vars) {
                Ok(true) => {}
                Ok(false) => {
                    self.task_event(node, step, || EventKind::TaskSkipped);
                    return Ok((raw, Transition::Continue));
                }
                Err(error) => {
                    return Err(fault(interrupt::unless_stopped(error).await));
                }
            }
        }
        self.task_event(node, step, || EventKind::TaskStarted);
        let mut guard = RunningGuard::new(self, node, step);
        // An expression interrupted by a timeout or a cancellation never faults the task: the
        // task waits (`give_way`) until the timer or the token that interrupted it wins.
        let result = match &node.timeout {
            // The work is built inside the call: a named local would stay beside the future
            // that moved it, in the task's (hot, copied) future.
            None => {
                interrupt::give_way(self.execute(node, raw, frame, vars, started.as_ref(), step))
                    .await
            }
            Some(timeout) => match values::duration(&timeout.after, &raw, &vars) {
                Err(error) => Err(interrupt::unless_stopped(error).await),
                Ok(after) => {
                    let clock = &self.executors.clock;
                    let deadline = clock.deadline(after);
                    match interrupt::within(
                        clock,
                        deadline,
                        self.execute(node, raw, frame, vars, started.as_ref(), step),
                    )
                    .await
                    {
                        Some(result) => result,
                        None => Err(timeout_error("Task", after)),
                    }
                }
            },
        };
        RunningGuard::disarm(&mut guard);
        match result {
            Ok(done) => {
                self.task_event(node, step, || EventKind::TaskCompleted {
                    output: done.0.clone(),
                    next: self.next_of(id, done.1),
                    replayed: false,
                    masked: false,
                });
                if has_side_effects(&node.body) {
                    self.durable().await;
                }
                Ok(done)
            }
            Err(error) => Err(fault(error)),
        }
    }

    /// A step the journal holds as completed: its `$context` is restored and its output and
    /// way on are taken as recorded, without executing anything.
    fn replayed(
        &self,
        id: TaskId,
        step: Option<&Arc<str>>,
        done: &Completed,
    ) -> Result<(Val, Transition), WorkflowError> {
        let node = self.machine.task(id);
        self.step()?;
        let transition = self.transition_of(id, &done.next)?;
        if self.context() != done.context {
            // Recorded again, so a replay of this run restores it too.
            self.step_event(&node.pointer, step, || EventKind::ContextChanged {
                context: done.context.clone(),
                masked: false,
            });
            self.set_context(done.context.clone());
        }
        self.task_event(node, step, || EventKind::TaskCompleted {
            output: done.output.clone(),
            next: done.next.clone(),
            replayed: true,
            masked: false,
        });
        Ok((done.output.clone(), transition))
    }

    /// The recorded form of a transition: a jump names its target.
    fn next_of(&self, id: TaskId, transition: Transition) -> Next {
        match transition {
            Transition::Continue => Next::Continue,
            Transition::Exit => Next::Exit,
            Transition::End => Next::End,
            Transition::Goto(position) => self
                .parent_block(id)
                .and_then(|block| self.machine.block(block).tasks.get(position).copied())
                .map_or(Next::Continue, |target| {
                    Next::Goto(Arc::clone(&self.machine.task(target).name))
                }),
        }
    }

    /// A recorded way on, resolved in the task's list of the document being run.
    fn transition_of(&self, id: TaskId, next: &Next) -> Result<Transition, WorkflowError> {
        Ok(match next {
            Next::Continue => Transition::Continue,
            Next::Exit => Transition::Exit,
            Next::End => Transition::End,
            Next::Goto(name) => {
                let tasks = self
                    .parent_block(id)
                    .map(|block| self.machine.block(block).tasks.as_slice())
                    .unwrap_or_default();
                let position = tasks
                    .iter()
                    .position(|&task| self.machine.task(task).name == *name);
                match position {
                    Some(position) => Transition::Goto(position),
                    None => {
                        return Err(WorkflowError::new(
                            ErrorKind::Runtime,
                            "Cannot replay the recorded run",
                        )
                        .with_detail(format!(
                            "the journal says the flow went on to `{name}`, which is not in \
                             the task's list any more (was the document changed?)"
                        )));
                    }
                }
            }
        })
    }

    /// The task's data flow around its body, in the spec's order.
    async fn execute(
        &self,
        node: &TaskNode,
        raw: Val,
        frame: &[Val],
        mut vars: Vec<Val>,
        started: Option<&Val>,
        step: Option<&Arc<str>>,
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
        let (output, transition) = match self.body(node, input, frame, &vars, step).await? {
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
            self.step_event(&node.pointer, step, || EventKind::ContextChanged {
                context: context.clone(),
                masked: false,
            });
            self.set_context(context);
        } else if let Some(schema) = &flow.export_schema {
            check_schema(schema, &vars[CONTEXT], "Context")?;
        }
        Ok((output, transition))
    }
}

/// Whether a task's body may act on the outside world (a process, an event, a call): its
/// completion is made durable before the next task starts. Pure bodies, and containers whose
/// children are made durable one by one, are not waited for.
fn has_side_effects(body: &Body) -> bool {
    !matches!(
        body,
        Body::Set(_)
            | Body::Do(_)
            | Body::Switch(_)
            | Body::For(_)
            | Body::Fork(_)
            | Body::Try(_)
            | Body::Raise(_)
            | Body::Wait(_)
            | Body::Unsupported(_)
    )
}
