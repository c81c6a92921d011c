//! `duration::*`: every static duration must have a fixed length. Years and months do not
//! (decision 7); malformed or overflowing ISO 8601 strings the schema let through are caught too.

use super::Context;
use crate::diagnostic::Diagnostic;
use crate::document::{
    CallTask, Duration, DurationError, Process, RetryPolicy, RetryRef, TaskKind, TimeoutRef,
};

pub(crate) fn check(cx: &mut Context) {
    for duration in durations(cx.document) {
        let Err(error) = duration.to_std() else {
            continue;
        };
        let diagnostic = match error {
            DurationError::Expression { .. } => continue,
            DurationError::CalendarUnit { text, unit } => Diagnostic::error(
                "duration::calendar-unit",
                format!("duration `{text}` uses {unit}, which have no fixed length"),
            )
            .with_label(format!("{unit} are not allowed"))
            .with_help(format!(
                "write it in weeks, days, hours, minutes or seconds, e.g. {}",
                if unit == "years" {
                    "`P365D` rather than `P1Y`"
                } else {
                    "`P30D` rather than `P1M`"
                }
            )),
            DurationError::Syntax { text } => Diagnostic::error(
                "duration::syntax",
                format!("`{text}` is not an ISO 8601 duration"),
            )
            .with_label("not a duration")
            .with_help("write it like `PT30S`, `PT1H30M` or `P1DT12H`"),
            DurationError::Overflow { text } => Diagnostic::error(
                "duration::overflow",
                format!("duration `{text}` is too large"),
            )
            .with_label("too large"),
        };
        cx.push(diagnostic.at_pointer(duration.pointer()));
    }
}

/// Every duration written in the document, in no particular order.
fn durations(document: &crate::document::Document) -> Vec<&Duration> {
    let mut out = Vec::new();
    if let Some(TimeoutRef::Inline(inline)) = &document.timeout {
        out.push(&inline.after);
    }
    let uses = &document.use_;
    out.extend(uses.timeouts.iter().map(|named| &named.value.after));
    for retry in &uses.retries {
        retry_durations(&retry.value, &mut out);
    }
    if let Some(schedule) = &document.schedule {
        out.extend(schedule.every.iter().chain(schedule.after.iter()));
    }
    for visit in document.tasks() {
        let task = visit.task;
        if let Some(TimeoutRef::Inline(inline)) = &task.common.timeout {
            out.push(&inline.after);
        }
        match &task.kind {
            TaskKind::Wait(wait) => out.push(&wait.duration),
            TaskKind::Try(task) => {
                if let Some(RetryRef::Inline(retry)) = &task.catch.retry {
                    retry_durations(retry, &mut out);
                }
            }
            TaskKind::Run(run) => {
                if let Process::Container(container) = &run.process {
                    let lifetime = container.lifetime.as_ref();
                    out.extend(lifetime.and_then(|l| l.after.as_ref()));
                }
            }
            TaskKind::Call(CallTask::Mcp(call)) => out.extend(call.timeout.as_ref()),
            TaskKind::Call(CallTask::AsyncApi(call)) => {
                let subscription = call.subscription.as_ref();
                out.extend(subscription.and_then(|s| s.consume.for_.as_ref()));
            }
            _ => {}
        }
    }
    out
}

fn retry_durations<'a>(retry: &'a RetryPolicy, out: &mut Vec<&'a Duration>) {
    out.extend(retry.delay.as_ref());
    if let Some(limit) = &retry.limit {
        out.extend(limit.attempt_duration.iter().chain(limit.duration.iter()));
    }
    if let Some(jitter) = &retry.jitter {
        out.push(&jitter.from);
        out.push(&jitter.to);
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze::test_support::{analyze_yaml, codes, doc, pointed_text};

    #[test]
    fn calendar_units_are_reported_wherever_durations_appear() {
        let text = doc(concat!(
            "use:\n  retries:\n    r:\n      delay: P1M\n      jitter: {from: PT1S, to: P1Y}\n",
            "  timeouts:\n    t: {after: P2M}\n",
            "timeout:\n  after: PT1M\n",
            "do:\n",
            "  - a:\n      wait: P1Y2M\n",
            "  - b:\n      wait: {days: 1}\n      timeout:\n        after: P1Y\n",
            "  - c:\n      try:\n        - x: {set: {}}\n      catch:\n        retry:\n          delay: PT1S\n          limit: {duration: P3M}\n",
            "  - d:\n      wait: ${ .d }\n",
        ));
        let (_, found) = analyze_yaml(&text);
        assert!(
            found.iter().all(|d| d.code == "duration::calendar-unit"),
            "{:?}",
            codes(&found)
        );
        let mut pointed: Vec<String> = found.iter().map(|d| pointed_text(&text, d)).collect();
        pointed.sort();
        assert_eq!(pointed, ["P1M", "P1Y", "P1Y", "P1Y2M", "P2M", "P3M"]);
        let month = found.iter().find(|d| d.message.contains("`P1M`"));
        assert!(month.is_some_and(|d| d.message.contains("months")));
    }

    #[test]
    fn overflow_is_reported() {
        let text = doc("do:\n  - a:\n      wait: P99999999999999999999W\n");
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["duration::overflow"]);
    }
}
