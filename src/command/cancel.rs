//! `workflow cancel RUN_ID`: with `--temporal`, asks Temporal to cancel the execution (its
//! workers cancel the running tasks; the run ends `cancelled`); locally, sends SIGINT (what
//! Ctrl-C sends) to the `workflow run`/`resume`/`retry` process the journal says runs it, and
//! waits until the journal shows the run ended. A run owned by `workflow serve` is cancelled
//! through its API instead: signalling the server would stop every run it serves.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::cli::CancelArgs;
use crate::exit_code::ExitCode;
use crate::journal::{self, Journal, RunState};

/// How long a local cancel waits for the run to end before it says it asked.
const LOCAL_WAIT: Duration = Duration::from_secs(30);

pub fn run(args: &CancelArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    if args.temporal.address.is_some() {
        return super::temporal::cancel(args, stdout, stderr);
    }
    match local(args, stdout) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            ExitCode::Usage
        }
    }
}

fn local(args: &CancelArgs, stdout: &mut dyn Write) -> Result<ExitCode, String> {
    let dir = journal::state_dir(args.state.state_dir.as_deref());
    let journal = Journal::open_existing(&dir).map_err(|error| error.to_string())?;
    let run = journal.run(&args.run).map_err(|error| error.to_string())?;
    match run.state() {
        RunState::Running => {}
        RunState::Interrupted => {
            return Err(format!(
                "run {} is not running: its process is gone (`workflow resume {}` continues it)",
                run.id, run.id
            ));
        }
        state => {
            return Err(format!(
                "run {} is not running: it ended {}",
                run.id,
                state.as_str()
            ));
        }
    }
    let how = "stop it with Ctrl-C in its terminal, or through `workflow serve`'s API \
               (POST /api/v1/runs/ID/cancel) when serve runs it";
    let Some(pid) = run.pid else {
        return Err(format!(
            "the journal does not know which process runs {}: {how}",
            run.id
        ));
    };
    if serves(pid) {
        return Err(format!(
            "run {} is run by `workflow serve` (process {pid}): cancel it through its API, \
             POST /api/v1/runs/{}/cancel",
            run.id, run.id
        ));
    }
    signal(pid).map_err(|error| {
        format!(
            "cannot signal process {pid} of run {}: {error}; {how}",
            run.id
        )
    })?;
    let deadline = Instant::now() + LOCAL_WAIT;
    loop {
        let now = journal.run(&run.id).map_err(|error| error.to_string())?;
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
