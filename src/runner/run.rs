//! One run of a document on the local host: the tokio runtime and its signals, the host's
//! executors, the front end, secrets, the journal, the event sinks and reporters, and the
//! outcome printed in the contract's format. `run`, `resume` and `retry` all end here.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use super::dry_run::DryRun;
use super::engine::Engine;
use super::journal::{self, Durable};
use super::outcome::{print_human, result_json};
use crate::cli::{ColorChoice, ExecArgs, ExecFormat, RunFormat};
use crate::exit_code::ExitCode;
use crate::frontend;
use crate::host::Executors;
use crate::problem::{ErrorKind, WorkflowError};
use crate::report::diagnostics::{self, FileReport, HumanStyle};
use crate::report::events::JsonLinesSink;
use crate::report::github::{Annotation, WarningCollector};
use crate::report::outline::Outline;
use crate::report::reporters::{JunitError, ReportSettings, RunReporters};
use crate::report::summary::DocumentLocation;
use crate::runtime::event::{EventFanout, EventSink, NoEvents};
use crate::runtime::{Outcome, RunOptions};
use crate::secrets::{RedactingSink, Redactor};

/// A run as the command line asked for it, checked.
pub struct RunConfig {
    /// The workflow document.
    pub(crate) file: PathBuf,
    pub(crate) input: Value,
    /// Whether the input was given (a dry run's plan shows it only then).
    pub(crate) input_given: bool,
    pub(crate) exec: ExecArgs,
    pub(crate) dry_run: bool,
    pub(crate) journal: Journaling,
}

/// Whether and how a run is recorded in the journal.
pub(crate) enum Journaling {
    /// `--no-journal`.
    Off,
    /// A new run in the journal of the state directory.
    On,
    /// A `resume` or `retry` of a recorded run: its journal, its record and its replay.
    Durable(Box<Durable>),
}

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("--workflows {0}: not a directory")]
    NotADirectory(String),
}

impl RunConfig {
    /// A run of `file` on `{}` with `exec`'s settings; the `--workflows` directories must
    /// exist.
    pub(crate) fn new(
        file: PathBuf,
        exec: ExecArgs,
        journal: Journaling,
    ) -> Result<RunConfig, ConfigError> {
        if let Some(missing) = exec.workflows.iter().find(|dir| !dir.is_dir()) {
            return Err(ConfigError::NotADirectory(missing.display().to_string()));
        }
        Ok(RunConfig {
            file,
            input: json!({}),
            input_given: false,
            exec,
            dry_run: false,
            journal,
        })
    }

    /// The run's input; `given` when the command line gave it.
    pub(crate) fn with_input(mut self, input: Value, given: bool) -> Self {
        self.input = input;
        self.input_given = given;
        self
    }

    /// Only checks and prints the plan (`--dry-run`).
    pub(crate) fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// Runs the configured document to its end on the local host, reporting as configured; the
/// exit code tells how it ended.
pub fn run(
    config: RunConfig,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let RunConfig {
        file,
        input,
        input_given,
        exec,
        dry_run,
        journal,
    } = config;
    // The runtime and the signal handlers come first: a Ctrl-C while the document is being
    // checked cancels the run instead of killing the process half-way.
    // A dry run executes nothing, so it needs neither.
    let engine = if dry_run {
        None
    } else {
        match Engine::start() {
            Ok(engine) => Some(engine),
            Err(error) => {
                let _ = writeln!(stderr, "error: cannot start the async runtime: {error}");
                return ExitCode::Faulted;
            }
        }
    };
    let style = HumanStyle::for_stderr(color);
    let mut executors = Executors::system_with(crate::exec::http::HttpSettings {
        max_response_bytes: exec.max_response_bytes,
        idle_timeout: (exec.http_timeout > 0)
            .then(|| std::time::Duration::from_secs(exec.http_timeout)),
        ..Default::default()
    });
    match crate::exec::broker::bus_for(&exec.brokers) {
        Ok(bus) => executors.events = bus,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    }
    if let Some(addr) = exec.receive.as_deref().filter(|_| !dry_run) {
        // Accepted events wait in the state directory for a resume; with no journal there is
        // no resume, and they are kept in memory.
        let inbox = (!matches!(journal, Journaling::Off))
            .then(|| crate::journal::state_dir(exec.state.state_dir.as_deref()).join("inbox.db"));
        match crate::exec::broker::receiver::Receiver::start(addr, inbox) {
            Ok(receiver) => {
                if !exec.quiet {
                    let _ = writeln!(
                        stderr,
                        "receiving CloudEvents on http://{}",
                        receiver.local_addr()
                    );
                }
                executors.events =
                    crate::exec::broker::with_receiver(executors.events.clone(), receiver);
            }
            Err(error) => {
                let _ = writeln!(stderr, "error: {error}");
                return ExitCode::Usage;
            }
        }
    }
    executors.loader = std::sync::Arc::new(crate::loader::LocalLoader::new(exec.workflows.clone()));
    let (mut checked, machine) = frontend::check_and_compile_with(&file, |machine| {
        // The HTTP client's set-up (the system's root certificates) overlaps the schema check.
        if engine.is_some() && machine.may_call_http() {
            executors.http.prepare_in_background();
        }
    });
    if exec.strict {
        checked.make_strict();
    }
    let github = exec.format == ExecFormat::Github;
    let path = file.display().to_string();
    let (Some(document), Some(machine)) = (checked.valid_document(), machine) else {
        let report = FileReport {
            path,
            source: checked.source,
            diagnostics: checked.diagnostics,
        };
        write_findings(&report, style, stderr);
        if github {
            let _ = write!(
                stdout,
                "{}",
                diagnostics::render_github(std::slice::from_ref(&report))
            );
        }
        if let Some(junit) = &exec.junit {
            // CI shows the JUnit report: an invalid document is one failing test case in it.
            if let Err(message) = write_invalid_junit(junit, &report) {
                let _ = writeln!(stderr, "error: {message}");
            }
        }
        if exec.format.base() == RunFormat::Json {
            // The contract's one JSON object on stdout, whatever the outcome.
            let invalid = json!({
                "status": "invalid",
                "diagnostics": diagnostics::diagnostics_json(&report),
            });
            let _ = writeln!(stdout, "{invalid}");
        }
        return ExitCode::Invalid;
    };
    let machine = Arc::new(machine);
    if !checked.diagnostics.is_empty() {
        // Warnings only (errors stopped us above): shown, but the run goes on.
        let report = FileReport {
            path,
            source: checked.source.clone(),
            diagnostics: checked.diagnostics.clone(),
        };
        write_findings(&report, style, stderr);
        if github {
            let _ = write!(
                stdout,
                "{}",
                diagnostics::render_github(std::slice::from_ref(&report))
            );
        }
    }
    let location = checked
        .source
        .as_ref()
        .zip(checked.spans.as_ref())
        .map(|(source, spans)| DocumentLocation { source, spans });
    let secrets = match crate::secrets::load(machine.secret_names(), &exec.secrets) {
        Ok(secrets) => secrets,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    // Masks the secrets' values in everything shown or written; inactive (and free) without them.
    // Every `WORKFLOW_SECRET_*` value given is masked, declared or not.
    let provided = crate::secrets::provided_values();
    let redactor = Arc::new(Redactor::new(secrets.values().chain(provided.iter())));
    crate::secrets::install(Arc::clone(&redactor));
    let Some(engine) = engine else {
        let dry_run = DryRun {
            document,
            machine: &machine,
            input: input_given.then_some(&input),
            missing_secrets: crate::secrets::require_declared(machine.secret_names(), &secrets)
                .err(),
            format: exec.format.base(),
            style,
            location,
        };
        return dry_run.finish(&redactor, stdout, stderr);
    };

    let replay = match &journal {
        Journaling::Durable(durable) => Some(durable.replay.clone()),
        Journaling::Off | Journaling::On => None,
    };
    // Before anything is written: a journal that cannot be used stops the run here.
    let journal = match journal::open_for(journal, exec.state.state_dir.as_deref()) {
        Ok(journal) => journal,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    let events_target = exec
        .events
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let broker_sink = match events_target.as_deref() {
        Some(url) if crate::report::publish::is_broker_url(url) => {
            match crate::report::publish::LifecycleSink::start(url) {
                Ok(sink) => Some(Arc::new(sink)),
                Err(error) => {
                    let _ = writeln!(stderr, "error: --events: {error}");
                    return ExitCode::Usage;
                }
            }
        }
        _ => None,
    };
    let file_sink = match &exec.events {
        None => None,
        Some(_) if broker_sink.is_some() => None,
        Some(path) => match JsonLinesSink::create(path) {
            Ok(sink) => Some(Arc::new(sink)),
            Err(error) => {
                let _ = writeln!(
                    stderr,
                    "error: cannot write events to {}: {error}",
                    path.display()
                );
                return ExitCode::Usage;
            }
        },
    };
    let recorder = match journal.begin(&file, document, &machine, &input) {
        Ok(recorder) => recorder,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    let mut settings = ReportSettings::choose(
        exec.progress,
        exec.quiet,
        exec.format.base() == RunFormat::Human,
        std::io::stderr().is_terminal(),
        style,
        exec.junit.clone(),
    );
    settings.journaled = recorder.is_some();
    let reporters = RunReporters::start(settings, Some(Arc::new(Outline::from_document(document))));
    let mut sinks = reporters.sinks();
    if let Some(sink) = &file_sink {
        sinks.push(sink.clone());
    }
    if let Some(sink) = &broker_sink {
        sinks.push(sink.clone());
    }
    if let Some(recorder) = &recorder {
        sinks.push(Arc::new(recorder.clone()));
    }
    let annotations = github.then(|| Arc::new(WarningCollector::default()));
    if let Some(collector) = &annotations {
        sinks.push(collector.clone());
    }
    // Nothing listening: the engine builds no events at all.
    let events: Arc<dyn EventSink> = match sinks.len() {
        0 => Arc::new(NoEvents),
        1 => sinks.swap_remove(0),
        _ => Arc::new(EventFanout(sinks)),
    };
    let events = RedactingSink::wrap(events, &redactor);
    let options = RunOptions {
        max_steps: exec.max_steps.unwrap_or(if recorder.is_some() {
            JOURNALED_MAX_STEPS
        } else {
            RunOptions::default().max_steps
        }),
        secrets,
        run_id: recorder
            .as_ref()
            .map(|recorder| recorder.run_id().to_string()),
        document: Some(file.clone()),
        replay,
        strict: exec.strict,
        ..RunOptions::default()
    };
    crate::expr::set_memory_cap(exec.max_memory.saturating_mul(1024 * 1024));
    // The run's processes carry its id, so that a resume can find what a killed run left.
    let tag = options
        .run_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    crate::exec::process::tag_processes(&tag);
    if let Some(recorder) = &recorder {
        // A journal that cannot be written (a full disk) stops the run before its next step:
        // carrying on would run steps no resume could know had run.
        recorder.stop_run_on_failure(engine.cancel.clone());
    }
    let mut result = engine.run(machine, input, options, executors, events);
    redactor.outcome(&mut result.outcome);
    // Whatever the run did, a record that could not be written makes the exit non-zero.
    let mut unwritten = false;
    if let Some(sink) = &file_sink
        && let Err(error) = sink.finish()
    {
        unwritten = true;
        let _ = writeln!(stderr, "error: the events file is incomplete: {error}");
    }
    if let Some(sink) = &broker_sink
        && let Err(error) = sink.finish()
    {
        let _ = writeln!(
            stderr,
            "warning: the lifecycle events are incomplete: {error}"
        );
    }
    if let Some(recorder) = recorder
        && let Err(error) = recorder.finish()
    {
        let message = format!(
            "the journal of run {} could not be written: {error}",
            result.id
        );
        let _ = writeln!(
            stderr,
            "error: {message}; the run was stopped before its next step (`workflow resume {}` \
             reruns only the step that was in flight)",
            result.id
        );
        if !matches!(result.outcome, Outcome::Faulted(_)) {
            let mut fault =
                WorkflowError::new(ErrorKind::Runtime, "Journal write failed").with_detail(message);
            redactor.error(&mut fault);
            result.outcome = Outcome::Faulted(fault);
        }
    }
    let fault = match &result.outcome {
        Outcome::Faulted(error) => Some(error),
        _ => None,
    };
    // An unwritable JUnit file is reported there, and makes the exit non-zero.
    if redactor
        .write_masked(stderr, |stderr| reporters.finish(fault, location, stderr))
        .is_err()
    {
        unwritten = true;
    }
    if let Some(collector) = &annotations {
        let text: String = collector
            .annotations(fault, &file.display().to_string(), location)
            .iter()
            .map(Annotation::render)
            .collect();
        let _ = redactor.write_masked(stdout, |stdout| stdout.write_all(text.as_bytes()));
    }
    // Output to a closed pipe cannot be reported anywhere useful; the exit code still tells.
    // The outcome was masked value by value above; stdout is not masked again as text, which
    // could turn a secret equal to `true` or to a key into broken JSON.
    match exec.format.base() {
        RunFormat::Json => {
            let _ = writeln!(stdout, "{}", result_json(&result));
        }
        RunFormat::Human => {
            let _ = redactor.write_masked(stderr, |stderr| {
                print_human(&result, exec.quiet, stdout, stderr)
            });
        }
    }
    match result.outcome {
        Outcome::Completed(_) if unwritten => ExitCode::Faulted,
        Outcome::Completed(_) => ExitCode::Success,
        Outcome::Faulted(_) => ExitCode::Faulted,
        Outcome::Cancelled => ExitCode::Cancelled,
    }
}

/// The default step budget of a journaled run: every step writes a few hundred bytes of
/// journal, so a runaway `then` cycle stops at a few hundred megabytes, not gigabytes.
const JOURNALED_MAX_STEPS: u64 = 1_000_000;

/// The JUnit report of a document that did not pass the checks: its problems as plain text.
fn write_invalid_junit(path: &Path, report: &FileReport) -> Result<(), JunitError> {
    let plain = HumanStyle {
        color: false,
        width: 100,
    };
    let mut problems = Vec::new();
    let _ = diagnostics::write_human(std::slice::from_ref(report), plain, &mut problems);
    let first = report
        .diagnostics
        .iter()
        .find(|d| d.severity == crate::diagnostic::Severity::Error)
        .or(report.diagnostics.first())
        .map_or_else(|| "invalid document".to_string(), |d| d.message.clone());
    let xml = crate::report::junit::render_invalid_junit(
        &report.path,
        &String::from_utf8_lossy(&problems),
        &first,
    );
    std::fs::write(path, xml).map_err(|source| JunitError {
        path: path.to_path_buf(),
        source,
    })
}

/// Front-end or compiler findings, exactly as `validate` shows them.
fn write_findings(report: &FileReport, style: HumanStyle, stderr: &mut dyn Write) {
    let _ = diagnostics::write_human(std::slice::from_ref(report), style, stderr);
}
