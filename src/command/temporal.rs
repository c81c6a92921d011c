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
            return crate::temporal::replay(endpoint, &args.replay, stderr);
        }
        let config = crate::temporal::WorkerConfig {
            endpoint,
            max_concurrent: args.max_concurrent,
            brokers: args.brokers.clone(),
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
    let config = crate::temporal::SubmitConfig {
        endpoint,
        file: args.file.clone(),
        document: source.text.to_string(),
        input,
        detach: args.detach,
        json,
    };
    crate::temporal::submit(config, stdout, stderr)
}

#[cfg(feature = "temporal")]
use crate::temporal::Endpoint;

/// The endpoint `--temporal` names, without the feature only its parts.
#[cfg(not(feature = "temporal"))]
#[derive(Debug)]
struct Endpoint;

fn endpoint(args: &TemporalArgs) -> Option<Endpoint> {
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
