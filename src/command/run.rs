//! `workflow run FILE`: reads the input, checks and compiles the document, runs it on a tokio
//! runtime (Ctrl-C / SIGTERM cancel it) and prints the outcome in the contract's format.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::dry_run::DryRun;
use super::durable::Durable;
use crate::cli::{ColorChoice, ExecFormat, RunArgs, RunFormat};
use crate::diagnostic::Diagnostic;
use crate::exec::Executors;
use crate::exit_code::ExitCode;
use crate::report::diagnostics::{self, FileReport, HumanStyle};
use crate::report::events::JsonLinesSink;
use crate::report::github::{Annotation, WarningCollector};
use crate::report::outline::Outline;
use crate::report::reporters::{ReportSettings, RunReporters};
use crate::report::summary::DocumentLocation;
use crate::runtime::error::{ErrorKind, WorkflowError};
use crate::runtime::event::{EventFanout, EventSink, NoEvents};
use crate::runtime::{Outcome, RunOptions, RunResult};
use crate::secrets::{RedactingSink, Redactor};
use crate::source::Source;
use crate::{compile, frontend, yaml};

pub fn run(
    args: &RunArgs,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    run_as(args, None, color, stdout, stderr)
}

/// `run`, or with `durable` the run a `resume` or `retry` makes from a recorded one: its input,
/// its journal record and the steps it replays come from there.
pub(crate) fn run_as(
    args: &RunArgs,
    durable: Option<Durable>,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    if let Some(missing) = args.exec.workflows.iter().find(|dir| !dir.is_dir()) {
        let _ = writeln!(
            stderr,
            "error: --workflows {}: not a directory",
            missing.display()
        );
        return ExitCode::Usage;
    }
    let input = match &durable {
        Some(durable) => Ok(durable.input.clone()),
        None => read_input(args.input.as_deref()),
    };
    let input = match input {
        Ok(input) => input,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    // The runtime and the signal handlers come first: a Ctrl-C while the document is being
    // checked cancels the run instead of killing the process half-way.
    // A dry run executes nothing, so it needs neither.
    let engine = if args.dry_run {
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
        max_response_bytes: args.exec.max_response_bytes,
        idle_timeout: (args.exec.http_timeout > 0)
            .then(|| std::time::Duration::from_secs(args.exec.http_timeout)),
        ..Default::default()
    });
    match crate::exec::broker::bus_for(&args.exec.brokers) {
        Ok(bus) => executors.events = bus,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    }
    if let Some(addr) = args.exec.receive.as_deref().filter(|_| !args.dry_run) {
        // Accepted events wait in the state directory for a resume; with no journal there is
        // no resume, and they are kept in memory.
        let inbox = (!args.no_journal || durable.is_some()).then(|| {
            crate::journal::state_dir(args.exec.state.state_dir.as_deref()).join("inbox.db")
        });
        match crate::exec::broker::receiver::Receiver::start(addr, inbox) {
            Ok(receiver) => {
                if !args.exec.quiet {
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
    let (mut checked, machine) = frontend::check_and_compile_with(&args.file, |machine| {
        // The HTTP client's set-up (the system's root certificates) overlaps the schema check.
        if engine.is_some() && machine.may_call_http() {
            executors.http.prepare_in_background();
        }
    });
    if args.exec.strict {
        checked.make_strict();
    }
    let github = args.exec.format == ExecFormat::Github;
    let path = args.file.display().to_string();
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
        if let Some(junit) = &args.exec.junit {
            // CI shows the JUnit report: an invalid document is one failing test case in it.
            if let Err(message) = write_invalid_junit(junit, &report) {
                let _ = writeln!(stderr, "error: {message}");
            }
        }
        if args.exec.format.base() == RunFormat::Json {
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
    let secrets = match crate::secrets::load(machine.secret_names(), &args.exec.secrets) {
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
            input: args.input.is_some().then_some(&input),
            missing_secrets: crate::secrets::require_declared(machine.secret_names(), &secrets)
                .err(),
            format: args.exec.format.base(),
            style,
            location,
        };
        return dry_run.finish(&redactor, stdout, stderr);
    };

    let replay = durable.as_ref().map(|durable| durable.replay.clone());
    // Before anything is written: a journal that cannot be used stops the run here.
    let journal = match super::run_journal::open_for(args, durable) {
        Ok(journal) => journal,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    let events_target = args
        .exec
        .events
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let broker_sink = match events_target.as_deref() {
        Some(url) if crate::exec::broker::lifecycle::is_broker_url(url) => {
            match crate::exec::broker::lifecycle::LifecycleSink::start(url) {
                Ok(sink) => Some(Arc::new(sink)),
                Err(error) => {
                    let _ = writeln!(stderr, "error: --events: {error}");
                    return ExitCode::Usage;
                }
            }
        }
        _ => None,
    };
    let file_sink = match &args.exec.events {
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
    let recorder = match journal.begin(&args.file, document, &machine, &input) {
        Ok(recorder) => recorder,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    let mut settings = ReportSettings::choose(
        args.exec.progress,
        args.exec.quiet,
        args.exec.format.base() == RunFormat::Human,
        std::io::stderr().is_terminal(),
        style,
        args.exec.junit.clone(),
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
        max_steps: args.exec.max_steps.unwrap_or(if recorder.is_some() {
            JOURNALED_MAX_STEPS
        } else {
            RunOptions::default().max_steps
        }),
        secrets,
        run_id: recorder
            .as_ref()
            .map(|recorder| recorder.run_id().to_string()),
        document: Some(args.file.clone()),
        workflow_dirs: args.exec.workflows.clone(),
        replay,
        strict: args.exec.strict,
        ..RunOptions::default()
    };
    crate::expr::set_memory_cap(args.exec.max_memory.saturating_mul(1024 * 1024));
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
            .annotations(fault, &args.file.display().to_string(), location)
            .iter()
            .map(Annotation::render)
            .collect();
        let _ = redactor.write_masked(stdout, |stdout| stdout.write_all(text.as_bytes()));
    }
    // Output to a closed pipe cannot be reported anywhere useful; the exit code still tells.
    // The outcome was masked value by value above; stdout is not masked again as text, which
    // could turn a secret equal to `true` or to a key into broken JSON.
    match args.exec.format.base() {
        RunFormat::Json => {
            let _ = writeln!(stdout, "{}", result_json(&result));
        }
        RunFormat::Human => {
            let _ = redactor.write_masked(stderr, |stderr| {
                print_human(&result, args.exec.quiet, stdout, stderr)
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

/// Front-end or compiler findings, exactly as `validate` shows them.
/// The JUnit report of a document that did not pass the checks: its problems as plain text.
fn write_invalid_junit(path: &Path, report: &FileReport) -> Result<(), String> {
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
    std::fs::write(path, xml)
        .map_err(|error| format!("cannot write the JUnit report {}: {error}", path.display()))
}

fn write_findings(report: &FileReport, style: HumanStyle, stderr: &mut dyn Write) {
    let _ = diagnostics::write_human(std::slice::from_ref(report), style, stderr);
}

/// The tokio runtime of one `run` command, with Ctrl-C and SIGTERM wired to a cancellation
/// token from the moment it starts.
struct Engine {
    runtime: Option<tokio::runtime::Runtime>,
    cancel: CancellationToken,
}

impl Engine {
    fn start() -> std::io::Result<Engine> {
        // One thread runs the engine and drives its I/O and timers. Everything a run waits on
        // (processes, HTTP, timers, the branches of a `fork`) is concurrent all the same; what
        // a second worker thread would add is CPU parallelism for expressions, and what it
        // costs is a hand-over between threads at nearly every wake-up: 1,000 sequential HTTP
        // calls took 102 ms on two workers against 79 ms on one thread, the 100k-iteration
        // loop 6% longer. The journal writer, the progress views and blocking work (DNS,
        // stdin feeds) have threads of their own.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let cancel = CancellationToken::new();
        // The signals are watched from a thread of their own: the engine's thread may be busy
        // in an expression for a long time, and that expression learns of the cancellation
        // from the token (see `runtime::interrupt`), which this thread can set at any moment.
        let watcher = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        // Installed synchronously: a signal arriving before the watcher first runs is kept.
        let signals = {
            let _context = watcher.enter();
            Signals::install()
        };
        let token = cancel.clone();
        std::thread::Builder::new()
            .name("workflow-signals".into())
            .spawn(move || watcher.block_on(signals.cancel(token)))?;
        Ok(Engine {
            runtime: Some(runtime),
            cancel,
        })
    }

    /// Runs the machine to its end (or its cancellation).
    fn run(
        &self,
        machine: Arc<compile::Machine>,
        input: Value,
        mut options: RunOptions,
        executors: Executors,
        events: Arc<dyn EventSink>,
    ) -> RunResult {
        options.cancel = self.cancel.clone();
        let run = crate::runtime::run(machine, input, options, executors, events);
        match &self.runtime {
            Some(runtime) => runtime.block_on(run),
            // Never: the runtime is only taken on drop.
            None => RunResult {
                id: String::new(),
                outcome: Outcome::Cancelled,
            },
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The signal watcher never ends by itself; do not wait for it.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        // Processes of cancelled tasks still in their grace period would outlive us.
        crate::exec::process::kill_terminating();
        // What is left was left on purpose (background processes of completed tasks).
        crate::exec::process::dismiss_watcher();
    }
}

/// Ctrl-C and SIGTERM, listened to from the moment they are installed.
struct Signals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Must be called inside the runtime's context.
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = [SignalKind::interrupt(), SignalKind::terminate()]
                .into_iter()
                .filter_map(|kind| signal(kind).ok())
                .collect();
            Signals { streams }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Cancels the run at the first signal.
    async fn cancel(self, cancel: CancellationToken) {
        #[cfg(unix)]
        {
            let waits = self.streams.into_iter().map(|mut stream| {
                Box::pin(async move {
                    stream.recv().await;
                })
            });
            let waits: Vec<_> = waits.collect();
            if waits.is_empty() {
                return;
            }
            futures::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
        }
        cancel.cancel();
    }
}

/// `--input`: inline JSON, `@PATH` (JSON or YAML), `-` (stdin, JSON or YAML); `{}` by default.
pub(crate) fn read_input(input: Option<&str>) -> Result<Value, String> {
    let Some(input) = input else {
        return Ok(json!({}));
    };
    if input == "-" {
        let cap = crate::source::MAX_SOURCE_BYTES;
        let mut bytes = Vec::new();
        // One byte past the cap tells "at the cap" from "larger"; a producer that never stops
        // (`yes |`) is cut off there instead of filling the memory.
        std::io::stdin()
            .lock()
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read the input from stdin: {e}"))?;
        if bytes.len() as u64 > cap {
            return Err(format!(
                "the input on stdin is larger than {} MiB; refusing to read more",
                cap / (1024 * 1024)
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| "the input on stdin is not UTF-8 text".to_string())?;
        return load_data(Source::new("<stdin>", text), "the input on stdin");
    }
    if let Some(path) = input.strip_prefix('@') {
        let source = Source::read(Path::new(path))
            .map_err(|d| format!("cannot read the input file {path}: {}", d.message))?;
        return load_data(source, &format!("the input file {path}"));
    }
    serde_json::from_str(input).map_err(|e| {
        format!(
            "`--input` is not valid JSON ({e}); pass JSON, `@FILE` (JSON or YAML) or `-` for stdin"
        )
    })
}

fn load_data(source: Source, what: &str) -> Result<Value, String> {
    let loaded = yaml::load(&source)
        .map_err(|diagnostic| describe(what, "is not JSON or YAML", &source, &diagnostic))?;
    // A repeated key would silently drop one of its values: refuse the input rather than guess.
    match loaded.diagnostics.first() {
        Some(diagnostic) => Err(describe(what, "is ambiguous", &source, diagnostic)),
        None => Ok(loaded.value),
    }
}

fn describe(what: &str, problem: &str, source: &Source, diagnostic: &Diagnostic) -> String {
    match diagnostic.span {
        Some(span) => {
            let at = source.position(span.start);
            format!(
                "{what} {problem} (line {}, column {}): {}",
                at.line, at.column, diagnostic.message
            )
        }
        None => format!("{what} {problem}: {}", diagnostic.message),
    }
}

/// The `--format json` object.
fn result_json(result: &RunResult) -> Value {
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
fn print_human(
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
    fn inline_input_must_be_json() {
        assert_eq!(read_input(None), Ok(json!({})));
        assert_eq!(read_input(Some(r#"{"a": [1]}"#)), Ok(json!({"a": [1]})));
        assert_eq!(read_input(Some("3")), Ok(json!(3)));
        let error = read_input(Some("{a:")).err().unwrap_or_default();
        assert!(error.contains("not valid JSON"), "{error}");
    }

    #[test]
    fn file_input_may_be_yaml() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("in.yaml");
        std::fs::write(&path, "name: Ada\nitems: [1, 2]\n").unwrap_or_else(|e| panic!("{e}"));
        let arg = format!("@{}", path.display());
        assert_eq!(
            read_input(Some(&arg)),
            Ok(json!({"name": "Ada", "items": [1, 2]}))
        );
        std::fs::write(&path, "a: [1\n").unwrap_or_else(|e| panic!("{e}"));
        let error = read_input(Some(&arg)).err().unwrap_or_default();
        assert!(error.contains("not JSON or YAML"), "{error}");
        // A repeated key is refused, naming the key and where it repeats.
        std::fs::write(&path, "name: Ada\nitems: []\nname: Bob\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let error = read_input(Some(&arg)).err().unwrap_or_default();
        assert!(
            error.ends_with("is ambiguous (line 3, column 1): duplicate key `name` in a mapping"),
            "{error}"
        );
        let missing = read_input(Some("@/nonexistent/x.json"))
            .err()
            .unwrap_or_default();
        assert!(missing.contains("cannot read"), "{missing}");
    }

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
