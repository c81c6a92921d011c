//! What a finished run prints: the `--format json` object, or the human format's output.

use std::io::Write;

use serde_json::{Value, json};

use crate::runtime::{Outcome, RunResult};

/// The `--format json` object.
pub(crate) fn result_json(result: &RunResult) -> Value {
    match &result.outcome {
        Outcome::Completed(output) => {
            json!({"id": result.id, "status": "completed", "output": output})
        }
        Outcome::Faulted(error) => {
            json!({"id": result.id, "status": "faulted", "error": error.to_json()})
        }
        Outcome::Cancelled => json!({"id": result.id, "status": "cancelled"}),
    }
}

/// The human format's stdout: the output of a completed run. Faults and cancellations were
/// told on stderr by the run's closing report (summary, or the fault alone with `--quiet`).
pub(crate) fn print_human(
    result: &RunResult,
    quiet: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    match &result.outcome {
        Outcome::Completed(output) => {
            let text = serde_json::to_string_pretty(output).unwrap_or_else(|_| output.to_string());
            writeln!(stdout, "{text}")
        }
        Outcome::Cancelled if quiet => writeln!(stderr, "cancelled: run {}", result.id),
        Outcome::Faulted(_) | Outcome::Cancelled => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_objects_follow_the_contract() {
        let completed = RunResult {
            id: "r".into(),
            outcome: Outcome::Completed(json!({"a": 1})),
        };
        assert_eq!(
            result_json(&completed).to_string(),
            r#"{"id":"r","status":"completed","output":{"a":1}}"#
        );
        let cancelled = RunResult {
            id: "r".into(),
            outcome: Outcome::Cancelled,
        };
        assert_eq!(
            result_json(&cancelled),
            json!({"id": "r", "status": "cancelled"})
        );
    }
}
