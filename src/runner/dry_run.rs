//! `workflow run --dry-run`: the end of a run command that stops before executing anything. The
//! document was checked and compiled by `run`; here the input meets its schema and the plan is
//! printed. No runtime, no process, no request, no events file, no reporters.

use std::io::Write;

use serde_json::{Value, json};

use crate::cli::RunFormat;
use crate::compile::Machine;
use crate::document::Document;
use crate::exit_code::ExitCode;
use crate::problem::WorkflowError;
use crate::report::diagnostics::HumanStyle;
use crate::report::plan::Plan;
use crate::report::summary::{DocumentLocation, render_fault};
use crate::runtime::check_input;
use crate::secrets::Redactor;

/// What a dry run needs from the `run` command that checked the document.
pub(crate) struct DryRun<'a> {
    pub document: &'a Document,
    pub machine: &'a Machine,
    /// The `--input` value; `None` when the flag was absent: a plan needs no input, and the
    /// default `{}` would fail most input schemas for no use.
    pub input: Option<&'a Value>,
    /// A declared secret without a value: reported as the run would, before anything else.
    pub missing_secrets: Option<WorkflowError>,
    pub format: RunFormat,
    pub style: HumanStyle,
    pub location: Option<DocumentLocation<'a>>,
}

impl DryRun<'_> {
    /// Prints the plan (exit 0), or a missing secret or the input's schema violation as a run
    /// would report it (exit 1), with the secrets' values masked.
    pub(crate) fn finish(
        self,
        redactor: &Redactor,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> ExitCode {
        redactor.write_masked(stdout, |stdout| {
            redactor.write_masked(stderr, |stderr| self.write(stdout, stderr))
        })
    }

    fn write(self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
        let missing = self
            .missing_secrets
            .clone()
            .map(|error| error.at_instance("/"));
        let checked = missing
            .map(Err)
            .or_else(|| self.input.map(|input| check_input(self.machine, input)));
        if let Some(Err(error)) = checked {
            // Output to a closed pipe cannot be reported anywhere useful; the exit code tells.
            let _ = match self.format {
                RunFormat::Json => writeln!(
                    stdout,
                    "{}",
                    json!({"id": null, "status": "faulted", "error": error.to_json()})
                ),
                RunFormat::Human => {
                    stderr.write_all(render_fault(&error, self.style, self.location).as_bytes())
                }
            };
            return ExitCode::Faulted;
        }
        let plan = Plan::of(self.document);
        let _ = match self.format {
            RunFormat::Json => writeln!(stdout, "{}", plan.to_json()),
            RunFormat::Human => stdout.write_all(plan.to_text().as_bytes()),
        };
        ExitCode::Success
    }
}
