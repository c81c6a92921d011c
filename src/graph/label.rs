//! The words on the picture: what each task does in a line or two, conditions, error filters and
//! retry policies, all shortened so a node stays readable. Text here is unescaped; each writer
//! escapes it for its own language.

use crate::document::{
    AsyncApiCall, BackoffKind, CallTask, Catch, ConsumptionStrategy, Document, Duration, ErrorRef,
    Expression, Process, RetryPolicy, RetryRef, Schedule, ScriptSource, Task, TaskKind, Until,
};

use super::model::shorten;

/// Longest task name shown before it is cut.
const NAME: usize = 40;
/// Longest detail line (endpoint, command, expression) shown before it is cut.
const DETAIL: usize = 40;

/// The label of a task drawn as one node: its name, its kind, and a detail line when one helps.
pub(crate) fn task_lines(task: &Task) -> Vec<String> {
    let mut lines = vec![shorten(&task.name, NAME)];
    let (kind, detail) = kind_and_detail(&task.kind);
    lines.push(kind);
    if let Some(detail) = detail.filter(|d| !d.is_empty()) {
        lines.push(shorten(&detail, DETAIL));
    }
    lines
}

/// The title of the subgraph a composite task is drawn as (`tryGetPet · try`).
pub(crate) fn cluster_title(task: &Task) -> String {
    let kind = match &task.kind {
        TaskKind::Fork(fork) if fork.compete => "fork (compete)".to_string(),
        other => kind_and_detail(other).0,
    };
    format!("{} · {kind}", shorten(&task.name, NAME))
}

fn kind_and_detail(kind: &TaskKind) -> (String, Option<String>) {
    match kind {
        TaskKind::Call(call) => call_lines(call),
        TaskKind::Do(_) => ("do".into(), None),
        TaskKind::Fork(_) => ("fork".into(), None),
        TaskKind::For(_) => ("for".into(), None),
        TaskKind::Try(_) => ("try".into(), None),
        TaskKind::Set(_) => ("set".into(), None),
        TaskKind::Switch(_) => ("switch".into(), None),
        TaskKind::Emit(emit) => (
            "emit".into(),
            emit.event.type_.as_ref().map(|t| t.text().to_string()),
        ),
        TaskKind::Raise(raise) => ("raise".into(), Some(raised(&raise.error))),
        TaskKind::Wait(wait) => ("wait".into(), Some(duration(&wait.duration))),
        TaskKind::Listen(listen) => ("listen".into(), Some(strategy(&listen.to))),
        TaskKind::Run(run) => match &run.process {
            Process::Shell(shell) => ("run shell".into(), Some(shell.command.text().to_string())),
            Process::Script(script) => {
                let detail = match &script.source {
                    ScriptSource::Inline(_) => script.language.clone(),
                    ScriptSource::External(resource) => {
                        format!("{} {}", script.language, resource.endpoint.uri.text())
                    }
                };
                ("run script".into(), Some(detail))
            }
            Process::Container(container) => {
                ("run container".into(), Some(container.image.clone()))
            }
            Process::Workflow(flow) => (
                "run workflow".into(),
                Some(format!("{}/{}:{}", flow.namespace, flow.name, flow.version)),
            ),
        },
    }
}

fn call_lines(call: &CallTask) -> (String, Option<String>) {
    let detail = match call {
        CallTask::Http(http) => Some(format!(
            "{} {}",
            http.method.to_uppercase(),
            without_scheme(http.endpoint.uri.text())
        )),
        CallTask::OpenApi(openapi) => Some(openapi.operation_id.clone()),
        CallTask::Grpc(grpc) => Some(format!("{}.{}", grpc.service.name, grpc.method)),
        CallTask::AsyncApi(asyncapi) => Some(asyncapi_detail(asyncapi)),
        CallTask::A2a(a2a) => Some(a2a.method.clone()),
        CallTask::Mcp(mcp) => Some(mcp.method.clone()),
        CallTask::Function(_) => None,
    };
    (format!("call {}", shorten(call.call_name(), NAME)), detail)
}

fn asyncapi_detail(call: &AsyncApiCall) -> String {
    let target = call
        .operation
        .as_deref()
        .or(call.channel.as_deref())
        .unwrap_or_default();
    let verb = if call.subscription.is_some() {
        "subscribe"
    } else {
        "publish"
    };
    format!("{verb} {target}").trim_end().to_string()
}

/// `https://host/path` → `host/path`: the scheme costs width and says little.
fn without_scheme(uri: &str) -> &str {
    uri.split_once("://").map_or(uri, |(_, rest)| rest)
}

/// `to one event`, `to all of 2 events`, `to any event until .done`: what a listener waits for.
pub(crate) fn strategy(consumed: &ConsumptionStrategy) -> String {
    let events = |n: usize| {
        if n == 1 {
            "1 event".to_string()
        } else {
            format!("{n} events")
        }
    };
    match consumed {
        ConsumptionStrategy::All { filters, .. } => format!("to all of {}", events(filters.len())),
        ConsumptionStrategy::Any { filters, until, .. } => {
            let base = match filters.len() {
                0 => "to any event".to_string(),
                n => format!("to any of {}", events(n)),
            };
            match until.as_deref() {
                Some(Until::Expression(expression)) => {
                    format!("{base} until {}", condition(expression))
                }
                Some(Until::Events(inner)) => {
                    format!("{base} until {}", strategy(inner).trim_start_matches("to "))
                }
                None => base,
            }
        }
        ConsumptionStrategy::One { .. } => "to one event".into(),
    }
}

fn raised(error: &ErrorRef) -> String {
    match error {
        ErrorRef::Named(reference) => reference.name.clone(),
        ErrorRef::Inline(def) => match def.title.as_ref() {
            Some(title) => title.text().to_string(),
            None => last_segment(def.type_.text()).to_string(),
        },
    }
}

/// `https://serverlessworkflow.io/spec/1.0.0/errors/communication` → `communication`.
fn last_segment(uri: &str) -> &str {
    let trimmed = uri.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// When a scheduled workflow starts, for the start node (`every 1h`, `cron 0 * * * *`).
pub(crate) fn schedule(schedule: &Schedule) -> Option<String> {
    if let Some(every) = &schedule.every {
        return Some(format!("every {}", duration(every)));
    }
    if let Some(cron) = &schedule.cron {
        return Some(format!("cron {}", shorten(cron, 30)));
    }
    if let Some(after) = &schedule.after {
        return Some(format!("again {} after each run", duration(after)));
    }
    schedule
        .on
        .as_ref()
        .map(|on| format!("on {}", strategy(on).trim_start_matches("to ")))
}

/// A duration as a person writes it: `3s`, `1h 30m`, `PT15M`, or the expression.
pub(crate) fn duration(duration: &Duration) -> String {
    match duration {
        Duration::Inline {
            days,
            hours,
            minutes,
            seconds,
            milliseconds,
            ..
        } => {
            let parts: Vec<String> = [
                (*days, "d"),
                (*hours, "h"),
                (*minutes, "m"),
                (*seconds, "s"),
                (*milliseconds, "ms"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, unit)| format!("{n}{unit}"))
            .collect();
            if parts.is_empty() {
                "0s".into()
            } else {
                parts.join(" ")
            }
        }
        Duration::Iso8601 { text, .. } => text.clone(),
        Duration::Expression(expression) => condition(expression),
    }
}

/// An expression without its `${ }`, shortened for an edge or a diamond.
pub(crate) fn condition(expression: &Expression) -> String {
    shorten(expression.source(), 36)
}

/// What a catch handles, for the label of the dashed edge into it.
pub(crate) fn caught(catch: &Catch) -> String {
    let mut parts = Vec::new();
    if let Some(filter) = &catch.errors {
        if let Some(type_) = &filter.type_ {
            parts.push(last_segment(type_).to_string());
        }
        if let Some(status) = filter.status {
            parts.push(format!("status {status}"));
        }
        if let Some(title) = &filter.title {
            parts.push(format!("title {}", shorten(title, 24)));
        }
        if let Some(details) = &filter.details {
            parts.push(format!("details {}", shorten(details, 24)));
        }
        if let Some(instance) = &filter.instance {
            parts.push(format!("at {}", shorten(instance, 24)));
        }
    }
    if let Some(when) = &catch.when {
        parts.push(format!("when {}", condition(when)));
    }
    if let Some(except) = &catch.except_when {
        parts.push(format!("unless {}", condition(except)));
    }
    if parts.is_empty() {
        "any error".into()
    } else {
        parts.join(", ")
    }
}

/// The retry policy of a catch as an edge label (`retry ×5 exponential 3s`), if it has one.
pub(crate) fn retry(catch: &Catch, document: &Document) -> Option<String> {
    let policy = match catch.retry.as_ref()? {
        RetryRef::Inline(policy) => policy,
        RetryRef::Named(reference) => match document.use_.retry(&reference.name) {
            Some(named) => &named.value,
            None => return Some(format!("retry {}", shorten(&reference.name, NAME))),
        },
    };
    Some(retry_policy(policy))
}

fn retry_policy(policy: &RetryPolicy) -> String {
    let mut words = vec!["retry".to_string()];
    let limit = policy.limit.as_ref();
    if let Some(count) = limit.and_then(|l| l.attempt_count) {
        words.push(format!("×{count}"));
    }
    if let Some(backoff) = &policy.backoff {
        words.push(
            match backoff.kind {
                BackoffKind::Constant => "constant",
                BackoffKind::Linear => "linear",
                BackoffKind::Exponential => "exponential",
            }
            .into(),
        );
    }
    if let Some(delay) = &policy.delay {
        words.push(duration(delay));
    }
    if let Some(total) = limit.and_then(|l| l.duration.as_ref()) {
        words.push(format!("for {}", duration(total)));
    }
    if let Some(when) = &policy.when {
        words.push(format!("when {}", condition(when)));
    }
    if let Some(except) = &policy.except_when {
        words.push(format!("unless {}", condition(except)));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Duration, ErrorFilter, Expression};

    fn inline(seconds: u64, minutes: u64) -> Duration {
        Duration::Inline {
            days: 0,
            hours: 0,
            minutes,
            seconds,
            milliseconds: 0,
            pointer: String::new(),
        }
    }

    fn catch(errors: Option<ErrorFilter>) -> Catch {
        Catch {
            errors,
            as_: None,
            when: None,
            except_when: None,
            retry: None,
            do_: None,
            pointer: "/do/0/t/catch".into(),
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration(&inline(3, 0)), "3s");
        assert_eq!(duration(&inline(30, 1)), "1m 30s");
        assert_eq!(duration(&inline(0, 0)), "0s");
        let expr = Duration::Expression(Expression::new("${ .delay }", "/x"));
        assert_eq!(duration(&expr), ".delay");
    }

    #[test]
    fn catch_labels_name_the_filter() {
        assert_eq!(caught(&catch(None)), "any error");
        let filter = ErrorFilter {
            type_: Some("https://serverlessworkflow.io/spec/1.0.0/errors/communication".into()),
            status: Some(503),
            ..ErrorFilter::default()
        };
        let mut with_when = catch(Some(filter));
        with_when.when = Some(Expression::new("${ .retryable }", "/w"));
        assert_eq!(
            caught(&with_when),
            "communication, status 503, when .retryable"
        );
    }

    #[test]
    fn segments_and_schemes_are_trimmed() {
        assert_eq!(last_segment("https://x/errors/timeout/"), "timeout");
        assert_eq!(last_segment("plain"), "plain");
        assert_eq!(without_scheme("https://petstore/v2/pet"), "petstore/v2/pet");
        assert_eq!(without_scheme("{host}/x"), "{host}/x");
    }
}
