//! `workflow worker --temporal` and `workflow run FILE --temporal`: the arguments turned into a
//! checked worker or submission (the document is checked here as a local run checks it),
//! handed to the `temporal` module. Without the `temporal` feature both are usage errors.

use std::io::Write;

use crate::cli::{ColorChoice, RunArgs, TemporalArgs, WorkerArgs};
use crate::exit_code::ExitCode;

#[cfg(not(feature = "temporal"))]
const NOT_BUILT: &str = "this build of workflow was made without the `temporal` feature";

/// `workflow worker`.
pub fn worker(args: &WorkerArgs, stderr: &mut dyn Write) -> ExitCode {
    let Some(endpoint) = endpoint(&args.temporal) else {
        let _ = writeln!(
            stderr,
            "error: `workflow worker` needs --temporal HOST:PORT "
        );
        return ExitCode::Usage;
    };
    #[cfg(feature = "temporal")]
    {
        if !args.replay.is_empty() {
            // A history replays as it ran only with the secrets it ran with.
            if let Err(error) = crate::temporal::use_secret_files(args.secrets.clone()) {
                let _ = writeln!(stderr, "error: {error}");
                return ExitCode::Usage;
            }
            return crate::temporal::replay(endpoint, &args.replay, stderr);
        }
        let config = crate::temporal::WorkerConfig {
            endpoint,
            max_concurrent: args.max_concurrent,
            brokers: args.brokers.clone(),
            secrets: args.secrets.clone(),
        };
        crate::temporal::run_worker(config, stderr)
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = (endpoint, args.max_concurrent);
        let _ = writeln!(stderr, "error: {NOT_BUILT}");
        ExitCode::Usage
    }
}

/// `workflow run FILE --temporal ...`; `None` when the run is a local one.
pub fn run(
    args: &RunArgs,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Option<ExitCode> {
    let endpoint = endpoint(&args.temporal)?;
    if args.dry_run {
        // Nothing is submitted in a dry run: the plan is the local one.
        return None;
    }
    #[cfg(feature = "temporal")]
    {
        Some(submit(args, endpoint, color, stdout, stderr))
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = (endpoint, color, stdout);
        let _ = writeln!(stderr, "error: {NOT_BUILT}");
        Some(ExitCode::Usage)
    }
}

#[cfg(feature = "temporal")]
fn submit(
    args: &RunArgs,
    endpoint: Endpoint,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    use crate::cli::RunFormat;
    use crate::report::diagnostics::{self, FileReport, HumanStyle};

    let input = match crate::runner::read_input(args.input.as_deref()) {
        Ok(input) => input,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    let json = args.exec.format.base() == RunFormat::Json;
    // The document travels with the run: what the workers compile is what was checked here.
    let (checked, machine) = crate::frontend::check_and_compile(&args.file);
    let (Some(source), Some(_)) = (checked.source.clone(), machine) else {
        let report = FileReport {
            path: args.file.display().to_string(),
            source: checked.source,
            diagnostics: checked.diagnostics,
        };
        let _ = diagnostics::write_human(
            std::slice::from_ref(&report),
            HumanStyle::for_stderr(color),
            stderr,
        );
        if json {
            let invalid = serde_json::json!({
                "status": "invalid",
                "diagnostics": diagnostics::diagnostics_json(&report),
            });
            let _ = writeln!(stdout, "{invalid}");
        }
        return ExitCode::Invalid;
    };
    let events = args.exec.events.clone();
    if let Some(url) = events
        .as_ref()
        .filter(|p| p.to_string_lossy().contains("://"))
    {
        let _ = writeln!(
            stderr,
            "error: --events {}: with --temporal, events go to a file only (a broker URL is not \
             wired yet)",
            url.display()
        );
        return ExitCode::Usage;
    }
    // The live view of a local run (plain lines, the tree), fed from the run's query; its
    // closing summary is not printed (the result is printed as before).
    let settings = crate::report::reporters::ReportSettings::choose(
        args.exec.progress,
        args.exec.quiet || args.detach,
        false,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        HumanStyle::for_stderr(color),
        None,
    );
    let outline = checked.document.as_ref().map(|document| {
        std::sync::Arc::new(crate::report::outline::Outline::from_document(document))
    });
    let reporters = crate::report::reporters::RunReporters::start(settings, outline);
    let config = crate::temporal::SubmitConfig {
        endpoint,
        file: args.file.clone(),
        document: source.text.to_string(),
        input,
        detach: args.detach,
        json,
        events,
        live: reporters.sinks(),
    };
    let code = crate::temporal::submit(config, stdout, stderr);
    let _ = reporters.finish(None, None, stderr);
    code
}

#[cfg(feature = "temporal")]
pub(super) use crate::temporal::Endpoint;

/// The endpoint `--temporal` names, without the feature only its parts.
#[cfg(not(feature = "temporal"))]
#[derive(Debug)]
pub(super) struct Endpoint;

pub(super) fn endpoint(args: &TemporalArgs) -> Option<Endpoint> {
    let address = args.address.clone()?;
    #[cfg(feature = "temporal")]
    {
        Some(Endpoint {
            address,
            namespace: args.namespace.clone(),
            task_queue: args.task_queue.clone(),
        })
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = address;
        Some(Endpoint)
    }
}

/// An operation's failure as a usage error (`runs`, `cancel`, `schedule` against Temporal).
#[cfg(feature = "temporal")]
pub(super) fn failed(stderr: &mut dyn Write, error: impl std::fmt::Display) -> ExitCode {
    let _ = writeln!(stderr, "error: {error}");
    ExitCode::Usage
}

#[cfg(not(feature = "temporal"))]
pub(super) fn not_built(stderr: &mut dyn Write) -> ExitCode {
    let _ = writeln!(stderr, "error: {NOT_BUILT}");
    ExitCode::Usage
}

/// `workflow cancel RUN_ID --temporal ...`.
pub(crate) fn cancel(
    args: &crate::cli::CancelArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let Some(endpoint) = endpoint(&args.temporal) else {
        return ExitCode::Usage;
    };
    #[cfg(feature = "temporal")]
    {
        match crate::temporal::block_on(crate::temporal::cancel(&endpoint, &args.run)) {
            Ok(()) => {
                let _ = writeln!(stdout, "cancel requested: run {}", args.run);
                ExitCode::Success
            }
            Err(error) => failed(stderr, error),
        }
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = (endpoint, stdout);
        not_built(stderr)
    }
}

/// `workflow retry RUN_ID --temporal ...`; `None` when the retry is a local one.
pub(crate) fn retry(
    args: &crate::cli::RetryArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Option<ExitCode> {
    let endpoint = endpoint(&args.temporal)?;
    #[cfg(feature = "temporal")]
    {
        use crate::cli::RunFormat;
        if let Some(from) = &args.from {
            let _ = writeln!(
                stderr,
                "error: --from {from}: a retry on Temporal runs the whole document again \
                 (a history holds no per-task outputs to reuse)"
            );
            return Some(ExitCode::Usage);
        }
        let input = match args.input.as_deref() {
            None => None,
            Some(text) => match crate::runner::read_input(Some(text)) {
                Ok(input) => Some(input),
                Err(error) => return Some(failed(stderr, error)),
            },
        };
        let config = crate::temporal::RetryConfig {
            endpoint,
            run: args.run.clone(),
            input,
            detach: args.detach,
            json: args.exec.format.base() == RunFormat::Json,
        };
        Some(crate::temporal::retry(config, stdout, stderr))
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = (endpoint, stdout);
        Some(not_built(stderr))
    }
}

/// `workflow schedule --temporal ADDR FILE [--delete]`.
pub fn schedule(
    args: &crate::cli::ScheduleArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let Some(endpoint) = endpoint(&args.temporal) else {
        let _ = writeln!(
            stderr,
            "error: `workflow schedule` needs --temporal HOST:PORT (locally, `workflow serve` runs schedules)"
        );
        return ExitCode::Usage;
    };
    #[cfg(feature = "temporal")]
    {
        schedule_on(args, endpoint, stdout, stderr)
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = (endpoint, stdout);
        not_built(stderr)
    }
}

#[cfg(feature = "temporal")]
fn schedule_on(
    args: &crate::cli::ScheduleArgs,
    endpoint: Endpoint,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    use crate::temporal::{ScheduleConfig, Timing};
    let (checked, machine) = crate::frontend::check_and_compile(&args.file);
    let (Some(source), Some(document), Some(machine)) =
        (checked.source.clone(), checked.document.clone(), machine)
    else {
        let messages: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        let _ = writeln!(
            stderr,
            "error: {} is not a valid document: {}",
            args.file.display(),
            messages.join("; ")
        );
        return ExitCode::Invalid;
    };
    let (namespace, name, version) = (
        machine.namespace().to_string(),
        machine.name().to_string(),
        machine.version().to_string(),
    );
    if args.delete {
        return match crate::temporal::block_on(crate::temporal::delete_schedule(
            &endpoint, &namespace, &name, &version,
        )) {
            Ok(id) => {
                let _ = writeln!(
                    stdout,
                    "{}",
                    serde_json::json!({"schedule": id, "status": "deleted"})
                );
                ExitCode::Success
            }
            Err(error) => failed(stderr, error),
        };
    }
    let schedule = document.schedule.as_ref();
    let every = schedule
        .and_then(|s| s.every.as_ref())
        .and_then(|d| d.to_std().ok())
        .filter(|d| !d.is_zero());
    let timing = match (every, schedule.and_then(|s| s.cron.clone())) {
        (Some(every), _) => Timing::Every(every),
        (None, Some(cron)) => Timing::Cron(cron),
        (None, None) => {
            let kind = match schedule {
                Some(s) if s.after.is_some() => {
                    "`schedule.after` (a run after the previous one ends)"
                }
                Some(s) if s.on.is_some() => "`schedule.on` (runs started by events)",
                _ => "no `schedule`",
            };
            let _ = writeln!(
                stderr,
                "error: {} has {kind}: only `every` and `cron` become Temporal Schedules; \
                 `workflow serve` runs the others",
                args.file.display()
            );
            return ExitCode::Usage;
        }
    };
    let input = match crate::runner::read_input(args.input.as_deref()) {
        Ok(input) => input,
        Err(error) => return failed(stderr, error),
    };
    let config = ScheduleConfig {
        endpoint,
        namespace,
        name,
        version,
        file_name: args.file.file_name().map_or_else(
            || "workflow.yaml".into(),
            |n| n.to_string_lossy().into_owned(),
        ),
        document: source.text.to_string(),
        input,
        timing,
    };
    match crate::temporal::block_on(crate::temporal::register_schedule(config)) {
        Ok(id) => {
            let _ = writeln!(
                stdout,
                "{}",
                serde_json::json!({"schedule": id, "status": "registered"})
            );
            ExitCode::Success
        }
        Err(error) => failed(stderr, error),
    }
}
