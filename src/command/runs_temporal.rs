//! `workflow runs [show|events|logs] --temporal ADDR`: the runs of a Temporal namespace (its
//! visibility API) and one run's view (its `workflow.view` query), rendered by the same code as
//! the journal's runs (`runs.rs`, `runs_show.rs`, `runs_logs.rs`).

use std::io::Write;

use super::temporal::endpoint;
#[cfg(not(feature = "temporal"))]
use super::temporal::not_built;
#[cfg(feature = "temporal")]
use super::temporal::{Endpoint, failed};
use crate::exit_code::ExitCode;

/// `workflow runs [show|events|logs] --temporal ...`; `None` when no `--temporal` was given.
pub(crate) fn run(
    args: &crate::cli::RunsArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Option<ExitCode> {
    use crate::cli::RunsAction;
    let temporal = match &args.action {
        None => &args.temporal,
        Some(RunsAction::Show(show)) => &show.temporal,
        Some(RunsAction::Events(events)) => &events.temporal,
        Some(RunsAction::Logs(logs)) => &logs.temporal,
        Some(RunsAction::Prune(_)) => return None,
    };
    // `runs --temporal ADDR show ID` as well as `runs show ID --temporal ADDR`.
    let temporal = if temporal.address.is_some() {
        temporal
    } else {
        &args.temporal
    };
    let endpoint = endpoint(temporal)?;
    #[cfg(feature = "temporal")]
    {
        Some(runs_on(args, &endpoint, stdout, stderr))
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = (endpoint, stdout);
        Some(not_built(stderr))
    }
}

#[cfg(feature = "temporal")]
fn runs_on(
    args: &crate::cli::RunsArgs,
    endpoint: &Endpoint,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    use crate::cli::{RunFormat, RunsAction};
    use crate::runtime::event::{CONTEXT_CHANGED, EVENT_CONSUMED};
    let remote = |id: &str| crate::temporal::block_on(crate::temporal::remote_run(endpoint, id));
    match &args.action {
        None => {
            let filter = crate::temporal::ListFilter {
                status: args.status.map(|status| match status {
                    crate::cli::RunStatusArg::Running | crate::cli::RunStatusArg::Interrupted => {
                        crate::journal::RunStatus::Running
                    }
                    crate::cli::RunStatusArg::Completed => crate::journal::RunStatus::Completed,
                    crate::cli::RunStatusArg::Faulted => crate::journal::RunStatus::Faulted,
                    crate::cli::RunStatusArg::Cancelled => crate::journal::RunStatus::Cancelled,
                }),
                name: args.name.clone(),
                limit: args.limit,
            };
            let runs =
                match crate::temporal::block_on(crate::temporal::list_runs(endpoint, &filter)) {
                    Ok(runs) => runs,
                    Err(error) => return failed(stderr, error),
                };
            super::runs::write_list(&runs, args.format, stdout);
            ExitCode::Success
        }
        Some(RunsAction::Show(show)) => match remote(&show.run) {
            Ok(run) => {
                let text = super::runs_show::render(&run.record, &run.events, show.format);
                let _ = stdout.write_all(text.as_bytes());
                ExitCode::Success
            }
            Err(error) => failed(stderr, error),
        },
        Some(RunsAction::Events(events)) => match remote(&events.run) {
            Ok(run) => {
                let mut text = String::new();
                for event in &run.events {
                    if event.kind == CONTEXT_CHANGED || event.kind == EVENT_CONSUMED {
                        continue;
                    }
                    text.push_str(&event.to_cloudevent(&run.record).to_string());
                    text.push('\n');
                }
                let _ = stdout.write_all(text.as_bytes());
                ExitCode::Success
            }
            Err(error) => failed(stderr, error),
        },
        Some(RunsAction::Logs(logs)) => {
            let mut shown = 0usize;
            let mut printed = 0usize;
            loop {
                let run = match remote(&logs.run) {
                    Ok(run) => run,
                    Err(error) => return failed(stderr, error),
                };
                let mut text = String::new();
                printed += super::runs_logs::render(
                    &run.lines[shown.min(run.lines.len())..],
                    logs,
                    &mut text,
                );
                shown = run.lines.len();
                if stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return ExitCode::Success;
                }
                let running = run.record.status == crate::journal::RunStatus::Running;
                if !logs.follow || !running {
                    if printed == 0 && !logs.follow {
                        let _ = writeln!(
                            stdout,
                            "{}",
                            super::runs_logs::nothing_printed(logs, &run.record.id)
                        );
                    }
                    return ExitCode::Success;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        }
        Some(RunsAction::Prune(_)) => {
            let _ = (RunFormat::Human, stdout);
            failed(
                stderr,
                "`runs prune` is for the local journal: Temporal keeps runs for the namespace's retention period",
            )
        }
    }
}
