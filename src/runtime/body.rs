//! Task bodies: set, do, switch, for, fork, raise, wait, and the dispatch to emit, run and try.
//! Each body receives the task's transformed input and the expression variables, and returns
//! the raw output.

use std::sync::Arc;

use futures::future::{self, BoxFuture};

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::event::EventKind;
use super::step::{Mark, StepScope};
use super::task::{Flow, Step};
use super::values::{self, eval_bool, eval_expr, eval_tmpl, short_json, text_of};
use crate::compile::{BASE_VARS, Body, Case, ErrorSpec, ForBody, ForkBody, TaskId, TaskNode};
use crate::expr::Val;

impl<'m> Run<'m> {
    /// Every arm that talks to the outside world (and `try`, with its retry loop) is boxed: a
    /// future is as large as its largest state, and this one is inside the future of every
    /// task, which is moved for each task the engine runs. A `set` in a loop of 100,000 paid
    /// for the largest call's state on every iteration; one allocation per call costs nothing
    /// beside the call's own I/O.
    pub(crate) async fn body(
        &self,
        node: &TaskNode,
        input: Val,
        frame: &[Val],
        vars: &[Val],
        step: Option<&Arc<str>>,
    ) -> Result<Step, WorkflowError> {
        match &node.body {
            Body::Set(template) => Ok(Step::Next(eval_tmpl(template, input, vars)?, None)),
            Body::Do(block) => {
                let scope = StepScope::inside(step, &node.pointer, Mark::Once);
                Ok(self.run_block(*block, input, frame, &scope).await?.into())
            }
            Body::Switch(cases) => switch(cases, input, vars),
            Body::For(for_) => self.run_for(node, for_, input, frame, vars, step).await,
            Body::Fork(fork) => {
                let scope = StepScope::inside(step, &node.pointer, Mark::Once);
                self.run_fork(fork, input, frame, &scope).await
            }
            Body::Try(try_) => Box::pin(self.run_try(node, try_, input, frame, vars, step)).await,
            Body::Raise(error) => Err(raise(error, input, vars)?),
            Body::Wait(duration) => {
                let after = values::duration(duration, &input, vars)?;
                self.executors.clock.sleep(after).await;
                Ok(Step::Next(input, None))
            }
            Body::Emit(emit) => Ok(Step::Next(
                Box::pin(self.emit_event(emit, input, vars, step)).await?,
                None,
            )),
            Body::Listen(listen) => {
                Box::pin(self.run_listen(node, listen, input, frame, vars, step)).await
            }
            Body::Process(process) => {
                let output =
                    Box::pin(self.run_process(&node.pointer, step, process, input, vars)).await?;
                Ok(Step::Next(output, None))
            }
            Body::Http(spec) => {
                Box::pin(self.call_http(&node.pointer, step, spec, input, vars)).await
            }
            Body::OpenApi(call) => Box::pin(self.call_openapi(call, input, vars)).await,
            Body::Grpc(call) => Box::pin(self.call_grpc(node, call, input, vars)).await,
            Body::AsyncApi(call) => {
                Box::pin(self.call_asyncapi(node, call, input, frame, vars, step)).await
            }
            Body::Function(call) => Ok(Step::Next(
                Box::pin(self.call_function(call, input, vars, &node.pointer, step)).await?,
                None,
            )),
            Body::Container(container) => {
                let output =
                    Box::pin(self.run_container(node, step, container, input, vars)).await?;
                Ok(Step::Next(output, None))
            }
            Body::Subflow(subflow) => {
                let output =
                    Box::pin(self.run_subflow(&node.pointer, subflow, input, vars)).await?;
                Ok(Step::Next(output, None))
            }
            Body::Mcp(spec) => Ok(Step::Next(
                Box::pin(self.call_mcp(&node.pointer, step, spec, input, vars)).await?,
                None,
            )),
            Body::A2a(spec) => Ok(Step::Next(
                Box::pin(self.call_a2a(spec, input, vars)).await?,
                None,
            )),
            Body::Unsupported(message) => Err(WorkflowError::new(
                ErrorKind::Configuration,
                message.clone(),
            )),
        }
    }

    /// `for`: `in` is evaluated once; each iteration's input is the previous one's output;
    /// `while` is checked before each iteration with the loop variables bound.
    async fn run_for(
        &self,
        node: &TaskNode,
        for_: &ForBody,
        input: Val,
        frame: &[Val],
        vars: &[Val],
        step: Option<&Arc<str>>,
    ) -> Result<Step, WorkflowError> {
        let collection = eval_expr(&for_.in_, input.clone(), vars)?;
        let items = match collection {
            Val::Arr(items) => items,
            // jq truthiness (decision 13): nothing to iterate, like an empty array.
            Val::Null => jaq_json::Rc::default(),
            other => {
                return Err(WorkflowError::new(
                    ErrorKind::Expression,
                    "Expression evaluation failed",
                )
                .with_detail(format!(
                    "`{}`: `for.in` must produce an array, got {}",
                    for_.in_.at,
                    short_json(&other)
                )));
            }
        };
        // Live views show `[i/n]`; `while` may stop the loop sooner.
        self.step_event(&node.pointer, step, || EventKind::TaskIterations {
            total: items.len(),
        });
        // The body's frame: the enclosing one plus the item and index, overwritten each turn.
        let mut inner = Vec::with_capacity(frame.len() + 2);
        inner.extend_from_slice(frame);
        inner.extend([Val::Null, Val::Null]);
        let item_slot = frame.len();
        let mut while_vars = for_.while_.as_ref().map(|_| {
            let mut v = vars.get(..BASE_VARS.len()).unwrap_or_default().to_vec();
            v.extend_from_slice(&inner);
            v
        });
        let mut data = input;
        for (index, item) in items.iter().enumerate() {
            inner[item_slot] = item.clone();
            inner[item_slot + 1] = Val::from(index);
            if let (Some(condition), Some(while_vars)) = (&for_.while_, while_vars.as_mut()) {
                let base = BASE_VARS.len() + item_slot;
                while_vars[base] = item.clone();
                while_vars[base + 1] = Val::from(index);
                if !eval_bool(condition, data.clone(), while_vars)? {
                    break;
                }
            }
            let scope = StepScope::inside(step, &node.pointer, Mark::Iteration(index));
            match self.run_block(for_.body, data, &inner, &scope).await? {
                Flow::Done(output) => data = output,
                Flow::End(output) => return Ok(Step::End(output)),
            }
        }
        Ok(Step::Next(data, None))
    }

    /// `fork`: every branch gets the same input. Without `compete` the output is the array of
    /// branch outputs in declaration order and the first fault cancels the others; with it, the
    /// first branch to complete successfully wins and the others are dropped (cancelled).
    async fn run_fork(
        &self,
        fork: &ForkBody,
        input: Val,
        frame: &[Val],
        scope: &StepScope,
    ) -> Result<Step, WorkflowError> {
        let branches = &self.machine.block(fork.branches).tasks;
        let started: Vec<BoxFuture<'_, Result<(Val, bool), WorkflowError>>> = branches
            .iter()
            .map(|&task| self.branch(task, input.clone(), frame, scope))
            .collect();
        if started.is_empty() {
            return Ok(Step::Next(Val::from_iter(Vec::new()), None));
        }
        if fork.compete {
            let ((output, ended), losers) = future::select_ok(started).await?;
            drop(losers);
            return Ok(if ended {
                Step::End(output)
            } else {
                Step::Next(output, None)
            });
        }
        let results = future::try_join_all(started).await?;
        let ended = results.iter().any(|(_, ended)| *ended);
        let outputs = Val::from_iter(results.into_iter().map(|(output, _)| output));
        Ok(if ended {
            Step::End(outputs)
        } else {
            Step::Next(outputs, None)
        })
    }

    /// One fork branch: its task's output, and whether it asked to end the workflow.
    fn branch<'a>(
        &'a self,
        task: TaskId,
        input: Val,
        frame: &'a [Val],
        scope: &'a StepScope,
    ) -> BoxFuture<'a, Result<(Val, bool), WorkflowError>> {
        Box::pin(async move {
            let (output, transition) = self.run_task(task, input, frame, scope, 1).await?;
            Ok((output, transition == crate::compile::Transition::End))
        })
    }
}

/// The first case whose `when` holds, else the default case, else the switch's own `then`.
fn switch(cases: &[Case], input: Val, vars: &[Val]) -> Result<Step, WorkflowError> {
    let mut default = None;
    for case in cases {
        match &case.when {
            None => {
                if default.is_none() {
                    default = Some(case.then);
                }
            }
            Some(when) => {
                if eval_bool(when, input.clone(), vars)? {
                    return Ok(Step::Next(input, Some(case.then)));
                }
            }
        }
    }
    Ok(Step::Next(input, default))
}

/// The error a `raise` task raises; `instance` defaults to the task's pointer (set by the
/// caller on the way out).
fn raise(spec: &ErrorSpec, input: Val, vars: &[Val]) -> Result<WorkflowError, WorkflowError> {
    let type_ = values::eval_text(&spec.type_, input.clone(), vars)?;
    let optional = |field: &Option<crate::compile::Tmpl>| -> Result<Option<String>, WorkflowError> {
        match field {
            None => Ok(None),
            Some(template) => eval_tmpl(template, input.clone(), vars).map(|v| match v {
                Val::Null => None,
                other => Some(text_of(&other)),
            }),
        }
    };
    Ok(WorkflowError {
        type_,
        status: spec.status,
        instance: optional(&spec.instance)?,
        title: optional(&spec.title)?,
        detail: optional(&spec.detail)?,
    })
}
