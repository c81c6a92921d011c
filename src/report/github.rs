//! GitHub Actions annotations: workflow commands (`::error file=F,line=L,col=C,title=T::text`)
//! that the runner turns into annotations on the file's line. Used by `validate --format
//! github` for findings and by `run --format github` for findings, the run's fault (at the
//! failing task) and the warnings the run gave (`TaskOutput` lines of the `Warning` stream).
//! Escaped by GitHub's rules: `%`, CR and LF in the text; `:` and `,` too in properties.

use std::sync::{Arc, Mutex};

use crate::diagnostic::Severity;
use crate::report::summary::DocumentLocation;
use crate::runtime::error::WorkflowError;
use crate::runtime::event::{EventKind, EventSink, LifecycleEvent};

/// One workflow command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub severity: Severity,
    pub file: Option<String>,
    /// 1-based line and column, when the place is known.
    pub position: Option<(usize, usize)>,
    pub title: Option<String>,
    pub message: String,
}

impl Annotation {
    /// The command line, newline included.
    pub fn render(&self) -> String {
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            properties.push(format!("file={}", escape_property(file)));
            if let Some((line, column)) = self.position {
                properties.push(format!("line={line}"));
                properties.push(format!("col={column}"));
            }
        }
        if let Some(title) = &self.title {
            properties.push(format!("title={}", escape_property(title)));
        }
        let command = self.severity.as_str();
        if properties.is_empty() {
            format!("::{command}::{}\n", escape_data(&self.message))
        } else {
            format!(
                "::{command} {}::{}\n",
                properties.join(","),
                escape_data(&self.message)
            )
        }
    }
}

/// The message text of a command: `%`, CR and LF are escaped (a command is one line).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value (`file`, `title`): as [`escape_data`], and `:` and `,`, which separate
/// properties and end the list.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A runtime warning the run gave, with the task it is about.
#[derive(Debug, Clone)]
struct Warned {
    task: Option<Arc<str>>,
    /// `None` for the run's own tasks; the sub-workflow's name otherwise.
    workflow: Option<String>,
    message: String,
}

/// Collects the warnings a run gives (lines of the `Warning` stream), to annotate them when
/// the run ends. Receives masked events (it sits behind the secrets redactor like every sink).
#[derive(Debug, Default)]
pub struct WarningCollector {
    state: Mutex<Collected>,
}

#[derive(Debug, Default)]
struct Collected {
    main_run: Option<String>,
    warnings: Vec<Warned>,
}

/// At most this many runtime warnings are annotated (a loop can give one per iteration; GitHub
/// shows only the first few per step anyway).
const MAX_WARNINGS: usize = 50;

impl EventSink for WarningCollector {
    fn emit(&self, event: LifecycleEvent) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let main_run = state
            .main_run
            .get_or_insert_with(|| event.run.run_id.clone())
            .clone();
        if let EventKind::TaskOutput {
            stream: crate::host::effects::process::OutputStream::Warning,
            line,
        } = &event.kind
        {
            let known = state
                .warnings
                .iter()
                .any(|w| w.message == *line && w.task == event.task);
            if !known && state.warnings.len() < MAX_WARNINGS {
                let workflow = (event.run.run_id != main_run).then(|| event.run.display_name());
                state.warnings.push(Warned {
                    task: event.task.clone(),
                    workflow,
                    message: line.clone(),
                });
            }
        }
    }
}

impl WarningCollector {
    /// The annotations of a finished run: its warnings, then its fault, each at its task's line
    /// in `location` (the run's document, named `file`).
    pub fn annotations(
        &self,
        fault: Option<&WorkflowError>,
        file: &str,
        location: Option<DocumentLocation<'_>>,
    ) -> Vec<Annotation> {
        let warnings = self
            .state
            .lock()
            .map(|state| state.warnings.clone())
            .unwrap_or_default();
        let mut out: Vec<Annotation> = warnings
            .into_iter()
            .map(|warned| {
                let (position, message) = match &warned.workflow {
                    None => (
                        warned
                            .task
                            .as_deref()
                            .and_then(|t| position_of(t, location)),
                        warned.message,
                    ),
                    Some(name) => (None, format!("{name}: {}", warned.message)),
                };
                Annotation {
                    severity: Severity::Warning,
                    file: Some(file.to_owned()),
                    position,
                    title: Some(format!(
                        "{}: warning",
                        warned
                            .task
                            .as_deref()
                            .map_or("workflow".to_owned(), crate::report::fmt::task_name_path)
                    )),
                    message,
                }
            })
            .collect();
        if let Some(error) = fault {
            out.push(fault_annotation(error, file, location));
        }
        out
    }
}

/// The run's fault, at the task that raised it (its `instance`).
pub fn fault_annotation(
    error: &WorkflowError,
    file: &str,
    location: Option<DocumentLocation<'_>>,
) -> Annotation {
    let title = error.title.as_deref().unwrap_or("the workflow faulted");
    let instance = error
        .instance
        .as_deref()
        .filter(|i| !i.is_empty() && *i != "/");
    let mut message = match &error.detail {
        Some(detail) => crate::report::sanitize::printable_lines(detail),
        None => crate::report::sanitize::printable(title),
    };
    message.push_str(&format!(
        "\ntype: {} · status: {}",
        error.type_, error.status
    ));
    if let Some(instance) = instance {
        message.push_str(&format!(" · instance: {instance}"));
    }
    let task = instance.map_or_else(|| "workflow".to_owned(), crate::report::fmt::task_name_path);
    Annotation {
        severity: Severity::Error,
        file: Some(file.to_owned()),
        position: instance.and_then(|i| position_of(i, location)),
        title: Some(format!(
            "{task}: {} ({})",
            crate::report::sanitize::printable(title),
            error.status
        )),
        message,
    }
}

/// Line and column of the key at `pointer` (a task: its name).
fn position_of(pointer: &str, location: Option<DocumentLocation<'_>>) -> Option<(usize, usize)> {
    let location = location?;
    let span = location.spans.locate(pointer, true)?;
    let at = location.source.position(span.start);
    Some((at.line, at.column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_text_and_properties() {
        let annotation = Annotation {
            severity: Severity::Error,
            file: Some("a,b:c.yaml".into()),
            position: Some((3, 7)),
            title: Some("t: 100%".into()),
            message: "50% done\r\nnext: a, b".into(),
        };
        assert_eq!(
            annotation.render(),
            "::error file=a%2Cb%3Ac.yaml,line=3,col=7,title=t%3A 100%25::50%25 done%0D%0Anext: a, b\n"
        );
        let bare = Annotation {
            severity: Severity::Warning,
            file: None,
            position: None,
            title: None,
            message: "x".into(),
        };
        assert_eq!(bare.render(), "::warning::x\n");
    }

    #[test]
    fn run_warnings_are_collected_once_and_sub_workflows_named() {
        use crate::runtime::event::RunIdentity;
        let collector = WarningCollector::default();
        let main = RunIdentity::for_tests("main");
        let child = RunIdentity::for_tests("child");
        let warning = |run: &Arc<RunIdentity>, task: &str| {
            LifecycleEvent::new(
                run.clone(),
                Some(Arc::from(task)),
                EventKind::TaskOutput {
                    stream: crate::host::effects::process::OutputStream::Warning,
                    line: "`{id}` is not defined".into(),
                },
            )
        };
        collector.emit(LifecycleEvent::new(
            main.clone(),
            None,
            EventKind::WorkflowStarted,
        ));
        // A loop warns once per iteration: one annotation says it.
        collector.emit(warning(&main, "/do/0/each/do/0/get"));
        collector.emit(warning(&main, "/do/0/each/do/0/get"));
        collector.emit(warning(&child, "/do/0/get"));
        let annotations = collector.annotations(None, "flow.yaml", None);
        assert_eq!(annotations.len(), 2, "{annotations:?}");
        assert_eq!(annotations[0].title.as_deref(), Some("each/get: warning"));
        assert_eq!(
            annotations[1].message,
            "ns/flow:1.0.0: `{id}` is not defined"
        );
        assert!(annotations.iter().all(|a| a.severity == Severity::Warning));
    }

    #[test]
    fn a_fault_points_at_its_task() {
        let source = crate::source::Source::new(
            "flow.yaml",
            "document:\n  dsl: '1.0.3'\n  namespace: t\n  name: t\n  version: '1.0.0'\ndo:\n  - boom:\n      raise: {error: {type: t, status: 400}}\n",
        );
        let loaded = crate::yaml::load(&source).unwrap_or_else(|d| panic!("{d:?}"));
        let location = DocumentLocation {
            source: &source,
            spans: &loaded.spans,
        };
        let mut error = WorkflowError::new(crate::runtime::error::ErrorKind::Validation, "Bad");
        error.instance = Some("/do/0/boom".into());
        error.detail = Some("it broke".into());
        let annotation = fault_annotation(&error, "flow.yaml", Some(location));
        assert_eq!(annotation.position, Some((7, 5)));
        let line = annotation.render();
        assert!(
            line.starts_with(
                "::error file=flow.yaml,line=7,col=5,title=boom%3A Bad (400)::it broke%0Atype: "
            ),
            "{line}"
        );
    }
}
