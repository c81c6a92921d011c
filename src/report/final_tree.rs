//! The tree the live view leaves on screen when the run is over, collapsed to what matters: the
//! workflow's top-level tasks with their outcome and time, and under them only the executions
//! that faulted (caught or not) or were retried. Everything else was on screen while it ran.

use std::fmt::Write as _;

use crate::report::fmt::{self, Paint, paint};
use crate::report::record::RunRecord;
use crate::report::sanitize;
use crate::report::tracker::{Execution, Outcome};

/// The rows of the final tree, each ending in a newline; empty when no task ran.
pub fn render_final_tree(record: &RunRecord, color: bool) -> String {
    let mut rows: Vec<&Execution> = record.notable.iter().collect();
    // Parents start before their children: start order is the tree's order.
    rows.sort_by(|a, b| {
        a.started
            .cmp(&b.started)
            .then_with(|| a.task.len().cmp(&b.task.len()))
    });
    let mut out = String::new();
    for execution in rows {
        let path = fmt::task_name_path(&execution.task);
        let depth = path.matches('/').count();
        let name = path.rsplit('/').next().unwrap_or(&path);
        let mut label = name.to_string();
        if !execution.iteration.is_empty() {
            label.push(' ');
            for index in &execution.iteration {
                let _ = write!(label, "[{index}]");
            }
        }
        let took = fmt::duration(execution.duration());
        let retries = execution.retries.len() as u64;
        let (mark, text, tone) = match &execution.outcome {
            Outcome::Completed if retries > 0 => (
                "✓",
                format!(
                    "{took}, passed after {}",
                    fmt::plural(retries, "retry", "retries")
                ),
                Paint::Warn,
            ),
            Outcome::Completed => ("✓", took, Paint::Good),
            Outcome::Replayed => ("↺", "replayed".to_string(), Paint::Dim),
            Outcome::Faulted(error) => {
                let title = sanitize::printable(error.title.as_deref().unwrap_or(&error.type_));
                match &execution.recovered_by {
                    Some(by) => (
                        "✗",
                        format!(
                            "{title} ({}), caught by {}",
                            error.status,
                            fmt::task_name_path(by)
                        ),
                        Paint::Warn,
                    ),
                    None => (
                        "✗",
                        format!("faulted after {took}: {title} ({})", error.status),
                        Paint::Bad,
                    ),
                }
            }
            Outcome::Skipped => ("↷", "skipped".to_string(), Paint::Dim),
            Outcome::Cancelled => ("⊘", format!("cancelled after {took}"), Paint::Warn),
        };
        let _ = writeln!(
            out,
            "{:indent$}{} {label}  {}",
            "",
            paint(mark, tone, color),
            paint(
                &text,
                if tone == Paint::Good {
                    Paint::Dim
                } else {
                    tone
                },
                color
            ),
            indent = depth * 2
        );
    }
    if record.notable_omitted > 0 {
        let _ = writeln!(
            out,
            "{}",
            paint(
                &format!("… {} more faulted or retried", record.notable_omitted),
                Paint::Dim,
                color
            )
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::RunRecorder;
    use crate::report::script::eventful_run;

    #[test]
    fn the_final_tree_keeps_top_level_tasks_faults_and_retries() {
        let recorder = RunRecorder::new(None, false);
        eventful_run().play(&recorder);
        let tree = render_final_tree(&recorder.take(), false);
        assert!(!tree.contains('\u{1b}'), "{tree}");
        let lines: Vec<&str> = tree.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("✓ fetch  ") && l.contains("passed after 2 retries")),
            "{tree}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("✗ upload  faulted after ")),
            "{tree}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("↷ check  skipped")),
            "{tree}"
        );
        // Nested executions that went well are left out.
        assert!(!tree.contains("add"), "{tree}");
    }
}
