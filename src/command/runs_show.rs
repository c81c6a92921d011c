//! `workflow runs show RUN_ID`: one recorded run, its input and outcome, and the timeline of its
//! task executions (step, task, status, start offset, duration, attempts, error), as text or
//! as one JSON object.

use super::error::CommandError;
use std::io::Write;

use chrono::{DateTime, Utc};

use serde_json::{Value, json};

use super::runs::{columns, local_time, shown_status};
use crate::cli::{RunFormat, RunsShowArgs};
use crate::journal::{Execution, Journal, RunRecord, StoredEvent, Timeline};
use crate::report::fmt;

/// Longest JSON value shown inline in the human view.
const INLINE_VALUE: usize = 120;

pub(crate) fn show(
    journal: &Journal,
    args: &RunsShowArgs,
    stdout: &mut dyn Write,
) -> Result<(), CommandError> {
    let run = journal.run(&args.run)?;
    let mut events = Vec::new();
    journal.visit_events(&run.id, |event| {
        events.push(event);
        true
    })?;
    // A closed stdout is not the journal's failure.
    let _ = stdout.write_all(render(&run, &events, args.format).as_bytes());
    Ok(())
}

/// The view of a run from its record and stored events (from the journal, or from Temporal).
pub(crate) fn render(run: &RunRecord, events: &[StoredEvent], format: RunFormat) -> String {
    let mut timeline = Timeline::default();
    for event in events {
        timeline.push(event);
    }
    let first = events.first().map(|event| event.time);
    let executions = timeline.finish();
    // Offsets count from the run's first event (its start), else from when it was recorded.
    let origin = first.unwrap_or(run.started_at);
    match format {
        RunFormat::Json => format!("{}\n", to_json(run, &executions, origin)),
        RunFormat::Human => human(run, &executions, origin),
    }
}

fn to_json(run: &RunRecord, executions: &[Execution], origin: DateTime<Utc>) -> Value {
    let tasks: Vec<Value> = executions
        .iter()
        .map(|execution| {
            json!({
                "step": execution.step,
                "task": execution.task,
                "status": execution.status.as_str(),
                "startOffsetMs": offset(execution, origin).as_millis() as u64,
                "durationMs": execution.duration().map(|d| d.as_millis() as u64),
                "attempts": execution.attempts,
                "replayed": execution.replayed,
                "error": execution.error,
            })
        })
        .collect();
    let mut object = run.to_json();
    if let Value::Object(map) = &mut object {
        map.insert("tasks".into(), Value::Array(tasks));
    }
    object
}

fn offset(execution: &Execution, origin: DateTime<Utc>) -> std::time::Duration {
    let start = execution.started.unwrap_or(execution.created);
    (start - origin).to_std().unwrap_or_default()
}

fn human(run: &RunRecord, executions: &[Execution], origin: DateTime<Utc>) -> String {
    let took = run
        .duration()
        .map(|duration| format!(" in {}", fmt::duration(duration)))
        .unwrap_or_default();
    let mut out = format!(
        "run {}  {}/{}:{}  {}{took}\n",
        run.id,
        run.namespace,
        run.name,
        run.version,
        shown_status(run)
    );
    let hash = run.document_hash.get(..12).unwrap_or(&run.document_hash);
    out.push_str(&format!(
        "  document: {} (sha256 {hash}…)\n",
        run.document_path
    ));
    out.push_str(&format!("  started:  {}\n", local_time(run.started_at)));
    if let Some((parent, relation)) = &run.parent {
        out.push_str(&format!(
            "  {:<9} {parent}\n",
            format!("{}:", relation.as_str())
        ));
    }
    out.push_str(&format!("  input:    {}\n", inline(&run.input)));
    if let Some(output) = &run.output {
        out.push_str(&format!("  output:   {}\n", inline(output)));
    }
    if let Some(error) = &run.error {
        out.push_str(&format!("  error:    {}\n", describe_error(error)));
    }
    if executions.is_empty() {
        out.push_str("\nno task ran\n");
        return out;
    }
    out.push('\n');
    let header = [
        "STEP", "TASK", "STATUS", "START", "DURATION", "ATTEMPTS", "ERROR",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = executions
        .iter()
        .map(|execution| {
            let status = if execution.replayed {
                format!("{} (replayed)", execution.status.as_str())
            } else {
                execution.status.as_str().to_string()
            };
            [
                execution.step.clone().unwrap_or_else(|| "-".into()),
                execution.task.clone(),
                status,
                format!("+{}", fmt::duration(offset(execution, origin))),
                execution
                    .duration()
                    .map(fmt::duration)
                    .unwrap_or_else(|| "-".into()),
                execution.attempts.to_string(),
                execution.error_title().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&columns(&header, &rows));
    out
}

/// A JSON value on one line, cut to [`INLINE_VALUE`] characters.
fn inline(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= INLINE_VALUE {
        return text;
    }
    let mut cut: String = text.chars().take(INLINE_VALUE - 1).collect();
    cut.push('…');
    cut
}

/// `title: detail (status 500, at /do/0/x)` from a problem-details object.
fn describe_error(error: &Value) -> String {
    let text = |key: &str| error.get(key).and_then(Value::as_str);
    let mut out = text("title")
        .or(text("type"))
        .unwrap_or("error")
        .to_string();
    if let Some(detail) = text("detail") {
        out.push_str(&format!(": {detail}"));
    }
    let mut context = Vec::new();
    if let Some(status) = error.get("status").and_then(Value::as_u64) {
        context.push(format!("status {status}"));
    }
    if let Some(instance) = text("instance") {
        context.push(format!("at {instance}"));
    }
    if !context.is_empty() {
        out.push_str(&format!(" ({})", context.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_one_line() {
        let error = json!({"type": "t", "status": 500, "title": "Boom", "detail": "bad", "instance": "/do/0/x"});
        assert_eq!(describe_error(&error), "Boom: bad (status 500, at /do/0/x)");
        assert_eq!(describe_error(&json!({"type": "t"})), "t");
    }

    #[test]
    fn long_values_are_cut() {
        let long = json!("x".repeat(500));
        let shown = inline(&long);
        assert_eq!(shown.chars().count(), INLINE_VALUE);
        assert!(shown.ends_with('…'));
        assert_eq!(inline(&json!({"a": 1})), r#"{"a":1}"#);
    }
}
