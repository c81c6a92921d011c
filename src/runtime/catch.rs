//! `try`/`catch` with retries (decision 6, revised): a caught error runs `catch.do` (if any);
//! with a retry policy the try list then runs again while the policy allows, and once it no
//! longer does the last error propagates. Uncaught errors propagate at once. In every catch and
//! retry condition `.` is the error (decision 12).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::backoff::Backoff;
use super::engine::{Run, timeout_error};
use super::error::WorkflowError;
use super::event::EventKind;
use super::step::{Mark, StepScope};
use super::task::{Flow, Step};
use super::values::{self, eval_bool};
use crate::compile::{BASE_VARS, CatchBody, RetrySpec, TaskNode, TryBody};
use crate::document::ErrorFilter;
use crate::expr::{Val, from_json};
use crate::host::{Clock, Ids};

impl<'m> Run<'m> {
    pub(crate) async fn run_try(
        &self,
        node: &TaskNode,
        try_: &TryBody,
        input: Val,
        frame: &[Val],
        vars: &[Val],
        step: Option<&Arc<str>>,
    ) -> Result<Step, WorkflowError> {
        let catch = &try_.catch;
        let clock: &dyn Clock = &*self.executors.clock;
        let base = vars.get(..BASE_VARS.len()).unwrap_or_default();
        let limits = match &catch.retry {
            Some(retry) => Limits::new(retry, &input, vars, clock)?,
            None => Limits::default(),
        };
        // A resumed run goes on with the attempt that was running when it stopped.
        let mut retries: u64 = match (&self.replay, step) {
            (Some(replay), Some(step)) => replay.retries(step),
            _ => 0,
        };
        loop {
            let scope = StepScope::inside(step, &node.pointer, Mark::Attempt(retries));
            let attempt = self.run_block(try_.body, input.clone(), frame, &scope);
            let result = match limits.attempt_bound(clock) {
                None => attempt.await,
                Some(bound) => match clock.within(clock.deadline(bound), attempt).await {
                    Some(result) => result,
                    None => Err(timeout_error("Attempt", bound).at_instance(&node.pointer)),
                },
            };
            let error = match result {
                Ok(flow) => return Ok(flow.into()),
                Err(error) => error,
            };
            // The error is `.` of every condition and the catch's variable (default `$error`):
            // the catch's frame is the enclosing one plus that variable.
            let caught = from_json(&error.to_json());
            let mut inner = frame.to_vec();
            inner.push(caught.clone());
            let mut catch_vars = base.to_vec();
            catch_vars.extend_from_slice(&inner);
            if !catches(catch, &error, &caught, &catch_vars)? {
                return Err(error);
            }
            // `catch.do` handles every caught error, the ones retried included (as the
            // reference implementation does); its steps are named by the attempt it followed.
            let handled = match catch.do_ {
                Some(block) => {
                    let scope = StepScope::inside(step, &node.pointer, Mark::Attempt(retries));
                    self.run_block(block, input.clone(), &inner, &scope).await?
                }
                None => Flow::Done(input.clone()),
            };
            let Some(retry) = &catch.retry else {
                return Ok(handled.into());
            };
            // `then: end` in `catch.do` ends the workflow: there is nothing left to retry for.
            if let Flow::End(output) = handled {
                return Ok(Step::End(output));
            }
            let host = (clock, &*self.executors.ids);
            let Some(delay) = retry_delay(retry, &limits, retries + 1, &caught, &catch_vars, host)?
            else {
                // The policy gives up: the task never succeeded, so it faults with the last
                // error, which an enclosing `try` may catch.
                return Err(error);
            };
            retries += 1;
            self.task_event(node, step, || EventKind::TaskRetried {
                attempt: u32::try_from(retries).unwrap_or(u32::MAX),
                delay,
                error: error.clone(),
            });
            clock.sleep(delay).await;
        }
    }
}

/// Whether the catch takes this error: its filter, `when` and `exceptWhen` (with the error as
/// `.`).
fn catches(
    catch: &CatchBody,
    error: &WorkflowError,
    caught: &Val,
    vars: &[Val],
) -> Result<bool, WorkflowError> {
    if let Some(filter) = &catch.filter
        && !filter_matches(filter, error)
    {
        return Ok(false);
    }
    if let Some(when) = &catch.when
        && !eval_bool(when, caught.clone(), vars)?
    {
        return Ok(false);
    }
    if let Some(except_when) = &catch.except_when
        && eval_bool(except_when, caught.clone(), vars)?
    {
        return Ok(false);
    }
    Ok(true)
}

/// `errors.with`: every property present must equal the error's (type per decision 5).
pub(crate) fn filter_matches(filter: &ErrorFilter, error: &WorkflowError) -> bool {
    let same = |want: &Option<String>, got: &Option<String>| {
        want.as_ref()
            .is_none_or(|w| got.as_deref() == Some(w.as_str()))
    };
    filter.type_.as_ref().is_none_or(|t| error.type_matches(t))
        && filter.status.is_none_or(|s| s == error.status)
        && same(&filter.instance, &error.instance)
        && same(&filter.title, &error.title)
        && same(&filter.details, &error.detail)
}

/// The time bounds of a retry policy, resolved once per execution of the try task.
#[derive(Default)]
struct Limits {
    backoff: Option<Backoff>,
    attempt: Option<Duration>,
    deadline: Option<Instant>,
}

impl Limits {
    fn new(
        retry: &RetrySpec,
        input: &Val,
        vars: &[Val],
        clock: &dyn Clock,
    ) -> Result<Limits, WorkflowError> {
        let resolve = |spec: &Option<crate::compile::DurationSpec>| {
            spec.as_ref()
                .map(|d| values::duration(d, input, vars))
                .transpose()
        };
        let jitter = match &retry.jitter {
            Some((from, to)) => Some((
                values::duration(from, input, vars)?,
                values::duration(to, input, vars)?,
            )),
            None => None,
        };
        Ok(Limits {
            backoff: Some(Backoff {
                kind: retry.backoff,
                delay: resolve(&retry.delay)?.unwrap_or(Duration::ZERO),
                jitter,
            }),
            attempt: resolve(&retry.attempt_duration)?,
            // A limit too far away to represent is no limit.
            deadline: resolve(&retry.total_duration)?
                .and_then(|total| clock.instant().checked_add(total)),
        })
    }

    /// How long the next attempt may take: its own bound, cut by what is left of the total.
    fn attempt_bound(&self, clock: &dyn Clock) -> Option<Duration> {
        let left = self
            .deadline
            .map(|deadline| deadline.saturating_duration_since(clock.instant()));
        match (self.attempt, left) {
            (Some(a), Some(l)) => Some(a.min(l)),
            (a, l) => a.or(l),
        }
    }
}

/// The delay before retry `n`, or `None` when the policy does not retry this error now.
fn retry_delay(
    retry: &RetrySpec,
    limits: &Limits,
    n: u64,
    caught: &Val,
    vars: &[Val],
    (clock, ids): (&dyn Clock, &dyn Ids),
) -> Result<Option<Duration>, WorkflowError> {
    if retry.max_retries.is_some_and(|max| n > max) {
        return Ok(None);
    }
    if let Some(when) = &retry.when
        && !eval_bool(when, caught.clone(), vars)?
    {
        return Ok(None);
    }
    if let Some(except_when) = &retry.except_when
        && eval_bool(except_when, caught.clone(), vars)?
    {
        return Ok(None);
    }
    let Some(backoff) = &limits.backoff else {
        return Ok(None);
    };
    let delay = backoff.delay(n, ids.fraction());
    // No retry that would start after the total limit.
    if limits.deadline.is_some_and(|deadline| {
        clock
            .instant()
            .checked_add(delay)
            .is_none_or(|at| at >= deadline)
    }) {
        return Ok(None);
    }
    Ok(Some(delay))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ErrorKind;

    #[test]
    fn filters_match_every_given_property() {
        let error = WorkflowError::new(ErrorKind::Communication, "Not Found")
            .with_status(404)
            .at_instance("/do/0/get");
        let filter = |f: ErrorFilter| filter_matches(&f, &error);
        assert!(filter(ErrorFilter::default()));
        assert!(filter(ErrorFilter {
            type_: Some("https://serverlessworkflow.io/dsl/errors/types/communication".into()),
            status: Some(404),
            ..ErrorFilter::default()
        }));
        assert!(!filter(ErrorFilter {
            status: Some(503),
            ..ErrorFilter::default()
        }));
        assert!(filter(ErrorFilter {
            instance: Some("/do/0/get".into()),
            title: Some("Not Found".into()),
            ..ErrorFilter::default()
        }));
        assert!(!filter(ErrorFilter {
            details: Some("x".into()),
            ..ErrorFilter::default()
        }));
    }
}
