//! The end-of-run summary of a human-format run: status, duration, task counts, the slowest
//! tasks, and on fault the error drawn as a diagnostic at the task's place in the YAML.

use crate::diagnostic::Diagnostic;
use crate::problem::{
    ERROR_TYPE_PREFIX, LEGACY_ERROR_TYPE_PREFIX, RENAMED_ERROR_TYPE_PREFIX, WorkflowError,
};
use crate::report::diagnostics::{FileReport, HumanStyle, render_human};
use crate::report::fmt::{self, Paint, paint};
use crate::report::record::RunRecord;
use crate::report::sanitize;
use crate::report::tracker::Outcome;
use crate::source::Source;
use crate::yaml::SpanIndex;

/// Where the run's document came from, to point errors at their task.
#[derive(Clone, Copy)]
pub struct DocumentLocation<'a> {
    pub source: &'a Source,
    pub spans: &'a SpanIndex,
}

/// The whole summary: a status line, counts, slowest tasks, and the fault when there is one.
pub fn render_summary(
    record: &RunRecord,
    style: HumanStyle,
    location: Option<DocumentLocation<'_>>,
) -> String {
    let color = style.color;
    let name = record.identity.as_ref().map_or_else(
        || "workflow".to_string(),
        |identity| identity.display_name(),
    );
    let name = name.as_str();
    let (mark, word, tone) = match record.outcome() {
        Some(Outcome::Completed | Outcome::Replayed) => ("✓", "completed", Paint::Good),
        Some(Outcome::Faulted(_)) => ("✗", "faulted", Paint::Bad),
        Some(Outcome::Cancelled | Outcome::Skipped) => ("⊘", "cancelled", Paint::Warn),
        None => ("…", "did not finish", Paint::Warn),
    };
    let preposition = if word == "completed" { "in" } else { "after" };
    let took = record
        .duration()
        .map(|duration| format!(" {preposition} {}", fmt::duration(duration)))
        .unwrap_or_default();
    let run = record
        .identity
        .as_ref()
        .map(|identity| paint(&format!(" (run {})", identity.run_id), Paint::Dim, color))
        .unwrap_or_default();
    let mut out = format!(
        "{} {} {}{}{run}\n",
        paint(mark, tone, color),
        paint(name, Paint::Bold, color),
        paint(word, tone, color),
        took
    );
    out.push_str(&format!("  tasks: {}\n", counts_line(record)));
    if !record.slowest.is_empty() {
        out.push_str("  slowest:\n");
        let width = record
            .slowest
            .iter()
            .map(|execution| fmt::duration(execution.duration()).len())
            .max()
            .unwrap_or(0);
        for execution in &record.slowest {
            let took = fmt::duration(execution.duration());
            let retries = match execution.retries.len() as u64 {
                0 => String::new(),
                n => paint(
                    &format!(" ({})", fmt::plural(n, "retry", "retries")),
                    Paint::Dim,
                    color,
                ),
            };
            out.push_str(&format!(
                "    {took:>width$}  {}{retries}\n",
                execution.name_label()
            ));
        }
    }
    if let Some(Outcome::Faulted(error)) = record.outcome() {
        out.push('\n');
        out.push_str(&render_fault(error, style, location));
    }
    out
}

/// `9 run · 3 replayed · 1 failed · 1 passed after 2 retries · 2 errors caught · 1 skipped`:
/// zero counts other than `run` left out. A fault an enclosing `try` caught is not a failure; a
/// retried task that faulted all the same adds `, 1 exhausted` to the retries.
fn counts_line(record: &RunRecord) -> String {
    let counts = &record.counts;
    let mut parts = vec![format!("{} run", counts.run)];
    if counts.replayed > 0 {
        parts.push(format!("{} replayed", counts.replayed));
    }
    if counts.failed > 0 {
        parts.push(format!("{} failed", counts.failed));
    }
    if counts.retried > 0 {
        let retries = fmt::plural(counts.retries, "retry", "retries");
        let exhausted = match counts.exhausted {
            0 => String::new(),
            n => format!(", {n} exhausted"),
        };
        parts.push(if counts.passed_after_retries == counts.retried {
            format!("{} passed after {retries}", counts.passed_after_retries)
        } else if counts.passed_after_retries == 0 {
            format!("{} retried ({retries}{exhausted})", counts.retried)
        } else {
            format!(
                "{} retried ({retries}{exhausted}), {} passed",
                counts.retried, counts.passed_after_retries
            )
        });
    }
    if counts.recovered > 0 {
        parts.push(fmt::plural(
            counts.recovered,
            "error caught",
            "errors caught",
        ));
    }
    if counts.skipped > 0 {
        parts.push(format!("{} skipped", counts.skipped));
    }
    if counts.cancelled > 0 {
        parts.push(format!("{} cancelled", counts.cancelled));
    }
    parts.join(" · ")
}

/// A run's error, once: as a miette diagnostic at the task that raised it (its `instance`) with
/// the error's type and instance on one line below, or as the problem-details object field by
/// field when the document or the task's place is unknown. `--quiet` prints only this. Text a
/// task produced (a process's stderr in the detail) is made printable first.
pub fn render_fault(
    error: &WorkflowError,
    style: HumanStyle,
    location: Option<DocumentLocation<'_>>,
) -> String {
    let error = &printable_error(error);
    let status = error.status;
    let title = error.title.as_deref().unwrap_or("the workflow faulted");
    let mut diagnostic = Diagnostic::error(error_code(&error.type_), format!("{title} ({status})"))
        .with_label(
            error
                .detail
                .clone()
                .unwrap_or_else(|| "this task faulted".to_string()),
        );
    let instance = error
        .instance
        .as_deref()
        .filter(|i| !i.is_empty() && *i != "/");
    let Some(location) = location else {
        return error_object(error, title);
    };
    if let Some(instance) = instance {
        diagnostic = diagnostic.at_pointer(instance);
        diagnostic.span = location.spans.locate(instance, true);
    }
    if diagnostic.span.is_none() {
        return error_object(error, title);
    }
    let report = FileReport {
        path: location.source.path.display().to_string(),
        source: Some(location.source.clone()),
        diagnostics: vec![diagnostic],
    };
    let mut out = render_human(&report, style).trim_end().to_string();
    out.push('\n');
    let mut facts = format!("  type: {}", error.type_);
    if let Some(instance) = instance {
        facts.push_str(&format!(" · instance: {instance}"));
    }
    out.push_str(&paint(&facts, Paint::Dim, style.color));
    out.push('\n');
    out
}

/// The error with every text a task could have produced made printable.
fn printable_error(error: &WorkflowError) -> WorkflowError {
    let mut error = error.clone();
    error.title = error.title.as_deref().map(sanitize::printable);
    error.detail = error.detail.as_deref().map(sanitize::printable_lines);
    error
}

/// The problem-details object field by field: what scripts grep for and what people copy into
/// a bug report, when the task cannot be pointed at in the source.
fn error_object(error: &WorkflowError, title: &str) -> String {
    let mut out = format!("error: {title}\n");
    out.push_str(&format!("  type:     {}\n", error.type_));
    out.push_str(&format!("  status:   {}\n", error.status));
    if let Some(title) = &error.title {
        out.push_str(&format!("  title:    {title}\n"));
    }
    if let Some(detail) = &error.detail {
        out.push_str(&format!("  detail:   {detail}\n"));
    }
    if let Some(instance) = &error.instance {
        out.push_str(&format!("  instance: {instance}\n"));
    }
    out
}

/// What to type next, after a run that did not complete: `workflow retry <id>` (from the task
/// that faulted when it is not the first) after a fault; `workflow resume <id>` after Ctrl-C,
/// SIGTERM or a run that did not finish. `None` when the run completed or was not journaled.
pub fn next_command(record: &RunRecord, journaled: bool) -> Option<String> {
    if !journaled {
        return None;
    }
    let id = &record.identity.as_ref()?.run_id;
    match record.outcome() {
        Some(Outcome::Completed | Outcome::Replayed) => None,
        Some(Outcome::Faulted(error)) => {
            // `retry` starts at the task that faulted by default; naming it tells where.
            let at = error
                .instance
                .as_deref()
                .filter(|instance| !instance.is_empty() && *instance != "/")
                .map(|instance| format!(" (starts again at `{}`; ", fmt::task_name_path(instance)))
                .unwrap_or_else(|| " (".to_string());
            Some(format!(
                "next: workflow retry {id}{at}what completed before is reused; --from TASK starts elsewhere)"
            ))
        }
        Some(Outcome::Cancelled | Outcome::Skipped) | None => Some(format!(
            "next: workflow resume {id}   (continues where it stopped)"
        )),
    }
}

/// A stable diagnostic code per standard error kind (`runtime::timeout`), `runtime::error` for
/// the types a workflow defines itself.
fn error_code(type_uri: &str) -> &'static str {
    const KINDS: [(&str, &str); 8] = [
        ("configuration", "runtime::configuration"),
        ("validation", "runtime::validation"),
        ("expression", "runtime::expression"),
        ("authentication", "runtime::authentication"),
        ("authorization", "runtime::authorization"),
        ("timeout", "runtime::timeout"),
        ("communication", "runtime::communication"),
        ("runtime", "runtime::runtime"),
    ];
    let kind = type_uri
        .strip_prefix(ERROR_TYPE_PREFIX)
        .or_else(|| type_uri.strip_prefix(LEGACY_ERROR_TYPE_PREFIX))
        .or_else(|| type_uri.strip_prefix(RENAMED_ERROR_TYPE_PREFIX));
    kind.and_then(|kind| KINDS.iter().find(|(name, _)| *name == kind))
        .map_or("runtime::error", |(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::RunRecorder;
    use crate::report::script::{Script, eventful_run, resumed_run};

    const DOCUMENT: &str = "document:\n  dsl: '1.0.3'\n  namespace: default\n  name: pipeline\n  version: '1.0.0'\ndo:\n  - fetch:\n      wait: PT1S\n  - check:\n      if: ${ false }\n      wait: PT1S\n  - each:\n      for:\n        in: ${ [1, 2] }\n      do:\n        - add:\n            set:\n              x: 1\n  - both:\n      fork:\n        branches:\n          - left:\n              wait: PT1S\n          - right:\n              wait: PT1S\n  - upload:\n      raise:\n        error:\n          type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime\n          status: 500\n";

    fn plain() -> HumanStyle {
        HumanStyle {
            color: false,
            width: 80,
        }
    }

    fn record_of(script: &Script) -> RunRecord {
        let recorder = RunRecorder::new(None, false);
        script.play(&recorder);
        recorder.take()
    }

    #[test]
    fn summary_of_a_faulted_run_points_at_the_task() {
        let source = Source::new("pipeline.yaml", DOCUMENT);
        let loaded = crate::yaml::load(&source).expect("loads");
        let location = DocumentLocation {
            source: &source,
            spans: &loaded.spans,
        };
        let text = render_summary(&record_of(&eventful_run()), plain(), Some(location));
        insta::assert_snapshot!(text);
        assert!(!text.contains('\u{1b}'), "no escape codes without colour");
    }

    #[test]
    fn summary_of_a_completed_run_has_no_error() {
        let mut s = Script::new("hello");
        s.workflow_started(0)
            .started(1, "/do/0/greet")
            .completed(1500, "/do/0/greet")
            .workflow_completed(1501);
        let text = render_summary(&record_of(&s), plain(), None);
        assert_eq!(
            text,
            "✓ default/hello:1.0.0 completed in 1.50s (run run-1)\n  tasks: 1 run\n  slowest:\n    1.50s  greet\n"
        );
    }

    #[test]
    fn a_fault_without_a_document_is_the_error_object() {
        let error = crate::report::script::error_at(
            crate::problem::ErrorKind::Timeout,
            "Timed out",
            "/do/0/slow",
        );
        let text = render_fault(&error, plain(), None);
        assert_eq!(
            text,
            "error: Timed out\n  type:     https://serverlessworkflow.io/spec/1.0.0/errors/timeout\n  status:   408\n  title:    Timed out\n  instance: /do/0/slow\n"
        );
        assert_eq!(error_code(&error.type_), "runtime::timeout");
        assert_eq!(error_code("urn:custom"), "runtime::error");
    }

    #[test]
    fn a_resumed_run_counts_its_replayed_steps() {
        let text = render_summary(&record_of(&resumed_run()), plain(), None);
        assert_eq!(
            text,
            "✓ default/pipeline:1.0.0 completed in 127ms (run run-1)\n  tasks: 3 run · 2 replayed\n  slowest:\n    100ms  upload\n     20ms  each/add [1]\n"
        );
    }

    #[test]
    fn an_exhausted_retry_is_counted() {
        let unavailable = || {
            crate::report::script::error_at(
                crate::problem::ErrorKind::Communication,
                "Service Unavailable",
                "/do/0/fetch",
            )
        };
        let mut s = Script::new("flaky");
        s.workflow_started(0)
            .started(1, "/do/0/fetch")
            .retried(100, "/do/0/fetch", 1, 10, unavailable())
            .started(110, "/do/0/fetch")
            .faulted(200, "/do/0/fetch", unavailable())
            .workflow_faulted(201, unavailable());
        let text = render_summary(&record_of(&s), plain(), None);
        assert!(text.contains("1 retried (1 retry, 1 exhausted)"), "{text}");
    }
}
