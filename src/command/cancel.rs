//! `workflow cancel RUN_ID`: with `--temporal`, asks Temporal to cancel the execution (its
//! workers cancel the running tasks; the run ends `cancelled`); locally, sends SIGINT (what
//! Ctrl-C sends) to the `workflow run`/`resume`/`retry` process the journal says runs it, and
//! waits until the journal shows the run ended. A run owned by `workflow serve` is cancelled
//! through its API instead: signalling the server would stop every run it serves.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::cli::CancelArgs;
use crate::exit_code::ExitCode;
use crate::journal::{self, Journal, JournalError, RunState};

/// How long a local cancel waits for the run to end before it says it asked.
const LOCAL_WAIT: Duration = Duration::from_secs(30);

/// Why a local run cannot be cancelled from here.
#[derive(Debug, thiserror::Error)]
enum CancelError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("run {id} is not running: its process is gone (`workflow resume {id}` continues it)")]
    Interrupted { id: String },
    #[error("run {id} is not running: it ended {state}")]
    Ended { id: String, state: &'static str },
    #[error("the journal does not know which process runs {id}: {HOW}")]
    NoProcess { id: String },
    #[error(
        "run {id} is run by `workflow serve` (process {pid}): cancel it through its API, \
         POST /api/v1/runs/{id}/cancel"
    )]
    Served { id: String, pid: u32 },
    #[error("cannot signal process {pid} of run {id}: {source}; {HOW}")]
    Signal {
        id: String,
        pid: u32,
        source: std::io::Error,
    },
}

/// How else a local run is stopped.
const HOW: &str = "stop it with Ctrl-C in its terminal, or through `workflow serve`'s API \
                   (POST /api/v1/runs/ID/cancel) when serve runs it";

pub fn run(args: &CancelArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    if args.temporal.address.is_some() {
        return super::temporal::cancel(args, stdout, stderr);
    }
    match local(args, stdout) {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::Usage
        }
    }
}

fn local(args: &CancelArgs, stdout: &mut dyn Write) -> Result<ExitCode, CancelError> {
    let dir = journal::state_dir(args.state.state_dir.as_deref());
    let journal = Journal::open_existing(&dir)?;
    let run = journal.run(&args.run)?;
    match run.state() {
        RunState::Running => {}
        RunState::Interrupted => return Err(CancelError::Interrupted { id: run.id }),
        state => {
            return Err(CancelError::Ended {
                id: run.id,
                state: state.as_str(),
            });
        }
    }
    let Some(pid) = run.pid else {
        return Err(CancelError::NoProcess { id: run.id });
    };
    if serves(pid) {
        return Err(CancelError::Served { id: run.id, pid });
    }
    signal(pid).map_err(|source| CancelError::Signal {
        id: run.id.clone(),
        pid,
        source,
    })?;
    let deadline = Instant::now() + LOCAL_WAIT;
    loop {
        let now = journal.run(&run.id)?;
        if now.state() != RunState::Running {
            let _ = writeln!(stdout, "{}: run {}", now.state().as_str(), run.id);
            return Ok(ExitCode::Success);
        }
        if Instant::now() >= deadline {
            let _ = writeln!(
                stdout,
                "cancel requested: run {} (process {pid}) has not ended yet",
                run.id
            );
            return Ok(ExitCode::Success);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether process `pid` is a `workflow serve` (its command line names the subcommand).
fn serves(pid: u32) -> bool {
    let Ok(line) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    line.split(|byte| *byte == 0)
        .skip(1)
        .find(|arg| !arg.starts_with(b"-"))
        .is_some_and(|command| command == b"serve")
}

#[cfg(unix)]
fn signal(pid: u32) -> Result<(), std::io::Error> {
    let pid = libc::pid_t::try_from(pid)
        .ok()
        .filter(|pid| *pid > 0)
        .ok_or_else(|| std::io::Error::other("not a process id"))?;
    // SAFETY: kill(2) on one positive pid with SIGINT; no memory is involved.
    if unsafe { libc::kill(pid, libc::SIGINT) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn signal(_pid: u32) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("signals are not available here"))
}
