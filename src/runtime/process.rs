//! `run: shell` and `run: script`: evaluates the command, arguments, environment and stdin into
//! a `ProcessRequest`, hands it to the process executor, and shapes the output by `return`.
//! A non-zero exit is a `runtime` error unless `return` is `code` or `all`. The evaluation and
//! shaping helpers serve `run: container` too.

use std::sync::Arc;

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::event::EventKind;
use super::values::{eval_text, eval_tmpl, obj, string, text_of};
use crate::compile::{ArgumentsSpec, ProcessSpec, ProgramSpec, ScriptCode, Tmpl};
use crate::document::ProcessReturn;
use crate::expr::Val;
use crate::host::effects::process::{LineObserver, ProcessOutput, ProcessRequest, Program};

/// How many trailing lines of stderr a failed process's error shows.
const STDERR_LINES: usize = 10;

impl<'m> Run<'m> {
    pub(crate) async fn run_process(
        &self,
        pointer: &Arc<str>,
        step: Option<&Arc<str>>,
        spec: &ProcessSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Val, WorkflowError> {
        let program = match &spec.program {
            ProgramSpec::Shell(command) => Program::Shell {
                command: not_blank(eval_text(command, input.clone(), vars)?)?,
            },
            ProgramSpec::Script { language, code } => Program::Script {
                language: *language,
                code: match code {
                    ScriptCode::Inline(code) => code.clone(),
                    ScriptCode::External(source) => self.script_code(source, &input, vars).await?,
                },
            },
        };
        let mut request = ProcessRequest {
            program,
            arguments: arguments(&spec.arguments, &input, vars)?,
            environment: environment(spec.environment.as_ref(), &input, vars)?,
            stdin: stdin(spec.stdin.as_ref(), &input, vars)?,
            detach: !spec.await_,
            on_line: None,
        };
        if spec.await_ {
            request.on_line = self.line_observer(pointer, step);
        }
        let output = self.executors.processes.run(request).await?;
        if !spec.await_ {
            // Started and left running: the output is the task's transformed input.
            return Ok(input);
        }
        shape(spec.return_, output)
    }
}

/// An empty or blank shell command runs nothing: it is refused as a `configuration` error (as
/// the reference implementation does) rather than run as `sh -c ''`, which would succeed.
fn not_blank(command: String) -> Result<String, WorkflowError> {
    if command.trim().is_empty() {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Empty shell command").with_detail(
                "`run.shell.command` is empty or blank: there is nothing to run".to_owned(),
            ),
        );
    }
    Ok(command)
}

impl Run<'_> {
    /// Publishes every line the process prints (for logs and live views); `None` (nothing
    /// built, and the executor does not even cut lines) when nobody listens.
    pub(super) fn line_observer(
        &self,
        pointer: &Arc<str>,
        step: Option<&Arc<str>>,
    ) -> Option<LineObserver> {
        let publisher = self.task_publisher(pointer, step)?;
        Some(LineObserver::new(move |stream, line| {
            publisher.emit(EventKind::TaskOutput {
                stream,
                line: line.to_string(),
            });
        }))
    }
}

/// The argv items: each list item is one, whatever its value holds; the 1.0.0 map gives one
/// `key=value` (or bare `key` for a null value) per entry, in document order.
pub(super) fn arguments(
    spec: &ArgumentsSpec,
    input: &Val,
    vars: &[Val],
) -> Result<Vec<String>, WorkflowError> {
    Ok(match spec {
        ArgumentsSpec::None => Vec::new(),
        ArgumentsSpec::List(items) => items
            .iter()
            .map(|item| eval_tmpl(item, input.clone(), vars).map(|v| text_of(&v)))
            .collect::<Result<_, _>>()?,
        ArgumentsSpec::Map(map) => match eval_tmpl(map, input.clone(), vars)? {
            Val::Obj(entries) => entries
                .iter()
                .map(|(key, value)| match value {
                    Val::Null => text_of(key),
                    value => format!("{}={}", text_of(key), text_of(value)),
                })
                .collect(),
            other => vec![text_of(&other)],
        },
    })
}

/// `environment`: an object of variables (null is none).
pub(super) fn environment(
    template: Option<&Tmpl>,
    input: &Val,
    vars: &[Val],
) -> Result<Vec<(String, String)>, WorkflowError> {
    pairs(template, input, vars, "environment")
}

/// An object template evaluated into `(key, value)` text pairs; null is no pairs. `what` names
/// the field in the error for anything else.
pub(super) fn pairs(
    template: Option<&Tmpl>,
    input: &Val,
    vars: &[Val],
    what: &str,
) -> Result<Vec<(String, String)>, WorkflowError> {
    let Some(template) = template else {
        return Ok(Vec::new());
    };
    match eval_tmpl(template, input.clone(), vars)? {
        Val::Obj(entries) => Ok(entries
            .iter()
            .map(|(key, value)| (text_of(key), text_of(value)))
            .collect()),
        Val::Null => Ok(Vec::new()),
        other => Err(
            WorkflowError::new(ErrorKind::Expression, format!("Invalid {what}")).with_detail(
                format!(
                    "`{}`: expected an object, got {}",
                    template.at,
                    super::values::short_json(&other)
                ),
            ),
        ),
    }
}

/// `stdin`, as text.
pub(super) fn stdin(
    template: Option<&Tmpl>,
    input: &Val,
    vars: &[Val],
) -> Result<Option<String>, WorkflowError> {
    template
        .map(|template| eval_tmpl(template, input.clone(), vars).map(|value| text_of(&value)))
        .transpose()
}

/// The task's raw output for its `return` mode.
pub(super) fn shape(mode: ProcessReturn, output: ProcessOutput) -> Result<Val, WorkflowError> {
    let fails = output.code != 0 && !matches!(mode, ProcessReturn::Code | ProcessReturn::All);
    if fails {
        return Err(failure(&output));
    }
    Ok(match mode {
        ProcessReturn::Stdout => string(output.stdout),
        ProcessReturn::Stderr => string(output.stderr),
        ProcessReturn::Code => Val::from(output.code as isize),
        ProcessReturn::All => obj([
            ("code", Val::from(output.code as isize)),
            ("stdout", string(output.stdout)),
            ("stderr", string(output.stderr)),
        ]),
        ProcessReturn::None => Val::Null,
    })
}

fn failure(output: &ProcessOutput) -> WorkflowError {
    let lines: Vec<&str> = output.stderr.trim_end().lines().collect();
    let tail = lines
        .get(lines.len().saturating_sub(STDERR_LINES)..)
        .unwrap_or_default()
        .join("\n");
    let detail = if tail.is_empty() {
        format!("exit code {}; stderr was empty", output.code)
    } else {
        format!("exit code {}; stderr ends with:\n{tail}", output.code)
    };
    WorkflowError::new(
        ErrorKind::Runtime,
        format!("Process exited with code {}", output.code),
    )
    .with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::to_json;
    use serde_json::json;

    fn out(code: i32, stdout: &str, stderr: &str) -> ProcessOutput {
        ProcessOutput {
            code,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn return_modes_shape_the_output() {
        let shaped = |mode, o| shape(mode, o).map(|v| to_json(&v));
        assert_eq!(
            shaped(ProcessReturn::Stdout, out(0, "a\n", "b")),
            Ok(json!("a\n"))
        );
        assert_eq!(
            shaped(ProcessReturn::Stderr, out(0, "a", "b")),
            Ok(json!("b"))
        );
        assert_eq!(shaped(ProcessReturn::Code, out(3, "", "")), Ok(json!(3)));
        assert_eq!(
            shaped(ProcessReturn::All, out(2, "o", "e")),
            Ok(json!({"code": 2, "stdout": "o", "stderr": "e"}))
        );
        assert_eq!(
            shaped(ProcessReturn::None, out(0, "x", "")),
            Ok(json!(null))
        );
    }

    #[test]
    fn a_failing_process_is_a_runtime_error_with_the_stderr_tail() {
        let stderr: String = (1..=15).map(|i| format!("line {i}\n")).collect();
        let error = shape(ProcessReturn::Stdout, out(7, "", &stderr))
            .err()
            .unwrap_or_else(|| panic!("should fail"));
        assert_eq!(error.status, 500);
        assert!(error.type_.ends_with("/runtime"));
        let detail = error.detail.unwrap_or_default();
        assert!(detail.starts_with("exit code 7"), "{detail}");
        assert!(detail.contains("line 15") && detail.contains("line 6"));
        assert!(!detail.contains("line 5\n"), "{detail}");
    }
}
