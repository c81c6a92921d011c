//! The reporters one `workflow run` uses, chosen from its flags and its terminal: the live tree
//! or plain lines while it runs, then the summary (or only the fault, with `--quiet`) and the
//! JUnit file. `command/run.rs` plugs [`RunReporters::sinks`] into the engine's event stream and
//! calls [`RunReporters::finish`] once the engine returns.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::ProgressMode;
use crate::problem::WorkflowError;
use crate::report::diagnostics::HumanStyle;
use crate::report::fmt::{Paint, paint};
use crate::report::junit::render_junit;
use crate::report::outline::Outline;
use crate::report::plain::PlainSink;
use crate::report::progress::ProgressSink;
use crate::report::record::RunRecorder;
use crate::report::summary::{DocumentLocation, next_command, render_fault, render_summary};
use crate::runtime::event::EventSink;

/// What runs while the workflow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveView {
    Tree,
    Plain,
    Nothing,
}

/// What is printed on stderr once the run is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Status, counts, slowest tasks, and the fault drawn at its task.
    Summary,
    /// Only the fault, if there is one (`--quiet`).
    FaultOnly,
    /// Nothing (machine-readable formats carry the outcome on stdout).
    Nothing,
}

/// Every choice, made once from the flags.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    pub live: LiveView,
    pub closing: Closing,
    pub junit: Option<PathBuf>,
    pub style: HumanStyle,
    /// The run is recorded in the journal: `retry` and `resume` can continue it.
    pub journaled: bool,
}

impl ReportSettings {
    /// `human`: the run prints in the human format (not `--format json`).
    pub fn choose(
        progress: ProgressMode,
        quiet: bool,
        human: bool,
        stderr_is_terminal: bool,
        style: HumanStyle,
        junit: Option<PathBuf>,
    ) -> ReportSettings {
        let live = match (quiet, progress) {
            (true, _) | (_, ProgressMode::None) => LiveView::Nothing,
            (_, ProgressMode::Plain) => LiveView::Plain,
            (_, ProgressMode::Tty) => LiveView::Tree,
            (_, ProgressMode::Auto) if stderr_is_terminal => LiveView::Tree,
            (_, ProgressMode::Auto) => LiveView::Plain,
        };
        let closing = match (human, quiet) {
            (false, _) => Closing::Nothing,
            (true, true) => Closing::FaultOnly,
            (true, false) => Closing::Summary,
        };
        ReportSettings {
            live,
            closing,
            junit,
            style,
            journaled: false,
        }
    }
}

/// The sinks of one run and what they print at its end.
pub struct RunReporters {
    settings: ReportSettings,
    progress: Option<Arc<ProgressSink>>,
    plain: Option<Arc<PlainSink>>,
    recorder: Option<Arc<RunRecorder>>,
}

impl RunReporters {
    /// Starts the live view (on stderr) when the settings ask for one.
    pub fn start(settings: ReportSettings, outline: Option<Arc<Outline>>) -> RunReporters {
        let keep = settings.junit.is_some();
        let tree = settings.live == LiveView::Tree;
        // The live tree draws from the recorder's tracker: one bookkeeping per event for both.
        let recorder = if tree {
            Some(Arc::new(ProgressSink::recorder(outline.clone(), keep)))
        } else {
            let needs_record = settings.closing == Closing::Summary || keep;
            needs_record.then(|| Arc::new(RunRecorder::new(outline.clone(), keep)))
        };
        let progress = recorder.as_ref().filter(|_| tree).map(|recorder| {
            let color = settings.style.color;
            Arc::new(ProgressSink::stderr_following(
                recorder.clone(),
                outline.clone(),
                color,
            ))
        });
        let plain = (settings.live == LiveView::Plain).then(|| {
            let out: Box<dyn Write + Send> = Box::new(std::io::stderr());
            // GitHub Actions folds `::group::` ... `::endgroup::` in its log view.
            let github = std::env::var_os("GITHUB_ACTIONS").is_some_and(|value| value == "true");
            Arc::new(PlainSink::with_groups(out, outline.clone(), github))
        });
        RunReporters {
            settings,
            progress,
            plain,
            recorder,
        }
    }

    /// The sinks to hand the engine (empty when nothing listens, so events cost nothing).
    pub fn sinks(&self) -> Vec<Arc<dyn EventSink>> {
        let mut sinks: Vec<Arc<dyn EventSink>> = Vec::new();
        if let Some(progress) = self.progress.as_ref().filter(|p| p.enabled()) {
            sinks.push(progress.clone());
        }
        if let Some(plain) = &self.plain {
            sinks.push(plain.clone());
        }
        if let Some(recorder) = &self.recorder {
            sinks.push(recorder.clone());
        }
        sinks
    }

    /// Ends the live view, prints the closing text on `stderr` and writes the JUnit file.
    /// `fault` is the run's error, when it faulted. A JUnit file that cannot be written is
    /// reported on `stderr` and returned as an error.
    pub fn finish(
        &self,
        fault: Option<&WorkflowError>,
        location: Option<DocumentLocation<'_>>,
        stderr: &mut dyn Write,
    ) -> Result<(), JunitError> {
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        if let Some(plain) = &self.plain {
            plain.finish();
        }
        let record = self.recorder.as_ref().map(|recorder| recorder.take());
        let style = self.settings.style;
        // The live tree is wiped as it ends; what mattered in it stays on screen.
        let shown_live = self.progress.is_some();
        if let (true, Some(record)) = (shown_live, &record) {
            let tree = crate::report::final_tree::render_final_tree(record, style.color);
            let _ = stderr.write_all(tree.as_bytes());
        }
        let closing = match (self.settings.closing, &record, fault) {
            (Closing::Summary, Some(record), _) => render_summary(record, style, location),
            (Closing::Summary | Closing::FaultOnly, _, Some(error)) => {
                render_fault(error, style, location)
            }
            _ => String::new(),
        };
        // Output to a closed stderr has nowhere to go; the exit code still tells.
        let _ = stderr.write_all(closing.as_bytes());
        if self.settings.closing != Closing::Nothing
            && let Some(next) = record
                .as_ref()
                .and_then(|record| next_command(record, self.settings.journaled))
        {
            let _ = writeln!(stderr, "{}", paint(&next, Paint::Bold, style.color));
        }
        let (Some(path), Some(record)) = (&self.settings.junit, &record) else {
            return Ok(());
        };
        std::fs::write(path, render_junit(record)).map_err(|source| {
            let error = JunitError {
                path: path.clone(),
                source,
            };
            let _ = writeln!(stderr, "error: {error}");
            error
        })
    }
}

/// The JUnit report could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the JUnit report {}: {source}", path.display())]
pub struct JunitError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    const STYLE: HumanStyle = HumanStyle {
        color: false,
        width: 80,
    };

    #[test]
    fn the_terminal_decides_in_auto_mode_and_quiet_silences_the_live_view() {
        let choose = |progress, quiet, human, tty| {
            let settings = ReportSettings::choose(progress, quiet, human, tty, STYLE, None);
            (settings.live, settings.closing)
        };
        assert_eq!(
            choose(ProgressMode::Auto, false, true, true),
            (LiveView::Tree, Closing::Summary)
        );
        assert_eq!(
            choose(ProgressMode::Auto, false, true, false),
            (LiveView::Plain, Closing::Summary)
        );
        assert_eq!(
            choose(ProgressMode::Tty, true, true, true),
            (LiveView::Nothing, Closing::FaultOnly)
        );
        assert_eq!(
            choose(ProgressMode::None, false, false, true),
            (LiveView::Nothing, Closing::Nothing)
        );
        assert_eq!(
            choose(ProgressMode::Plain, false, false, true),
            (LiveView::Plain, Closing::Nothing)
        );
    }

    #[test]
    fn nothing_listens_when_nothing_is_shown() {
        let settings = ReportSettings::choose(ProgressMode::None, false, false, false, STYLE, None);
        let reporters = RunReporters::start(settings, None);
        assert!(reporters.sinks().is_empty());
        let mut err = Vec::new();
        assert!(reporters.finish(None, None, &mut err).is_ok());
        assert!(err.is_empty());
    }

    #[test]
    fn quiet_prints_only_the_fault_and_junit_is_written() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("report.xml");
        let settings = ReportSettings::choose(
            ProgressMode::Auto,
            true,
            true,
            false,
            STYLE,
            Some(path.clone()),
        );
        let reporters = RunReporters::start(settings, None);
        let run = crate::report::script::eventful_run();
        for sink in reporters.sinks() {
            run.play(sink.as_ref());
        }
        let error = WorkflowError::new(crate::problem::ErrorKind::Runtime, "Upload failed");
        let mut err = Vec::new();
        assert!(reporters.finish(Some(&error), None, &mut err).is_ok());
        let err = String::from_utf8(err).expect("utf-8");
        assert!(err.starts_with("error: Upload failed\n  type:"), "{err}");
        assert!(err.contains("  status:   500\n"), "{err}");
        let xml = std::fs::read_to_string(&path).expect("JUnit written");
        assert!(
            xml.contains("<testsuite name=\"default/pipeline:1.0.0\""),
            "{xml}"
        );
    }

    #[test]
    fn an_unwritable_junit_path_is_reported() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let missing = dir.path().join("missing").join("report.xml");
        let settings =
            ReportSettings::choose(ProgressMode::None, false, true, false, STYLE, Some(missing));
        let reporters = RunReporters::start(settings, None);
        let mut err = Vec::new();
        let result = reporters.finish(None, None, &mut err);
        assert!(result.is_err());
        assert!(String::from_utf8_lossy(&err).contains("cannot write the JUnit report"));
    }
}
