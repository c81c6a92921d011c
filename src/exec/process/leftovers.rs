//! Processes must not outlive the runner that started them, even when it is killed with
//! SIGKILL and can clean up nothing itself. Three mechanisms, each for what the others miss:
//!
//! - every child gets a parent-death signal (SIGKILL, Linux `PR_SET_PDEATHSIG`, see `spawn.rs`):
//!   the direct child dies with us, whatever happens to us;
//! - a *watcher*, a small `sh` started with the first child and reading a pipe from us, learns
//!   of every process group we start and end; when the pipe closes without a goodbye (we died),
//!   it SIGKILLs the groups still listed: the children's own children die too;
//! - every child carries `WORKFLOW_RUN_PROCESS=<run id>:<n>` in its environment, inherited by
//!   whatever it starts, even after `setsid` took it out of its group. A cancelled task ends the
//!   processes that carry its tag; the watcher ends those of the run; `workflow resume` ends
//!   those a dead run left behind before it runs anything again.

use std::io::Write;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The environment variable that tags a run's processes.
pub const TAG_VARIABLE: &str = "WORKFLOW_RUN_PROCESS";

/// The run id the tags start with, set once per process by the command that runs.
static RUN_TAG: OnceLock<String> = OnceLock::new();
/// Processes started so far, for the tags' second part.
static STARTED: AtomicU64 = AtomicU64::new(0);

/// Tags the processes started from now on with `run_id` (the first call wins).
pub fn tag_processes(run_id: &str) {
    let _ = RUN_TAG.set(run_id.to_owned());
}

/// The tag of a process about to start; `None` when no run tagged them.
pub(crate) fn next_tag() -> Option<String> {
    let run = RUN_TAG.get()?;
    let number = STARTED.fetch_add(1, Ordering::Relaxed);
    Some(format!("{run}:{number}"))
}

/// Sends `signal` to every process of ours whose tag is `tag` exactly, or starts with `tag`
/// followed by `:` when `whole_run`. Returns how many were signalled. Linux only (it reads
/// `/proc`); elsewhere nothing is found.
pub fn signal_tagged(tag: &str, whole_run: bool, signal: libc::c_int) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let wanted = format!("{TAG_VARIABLE}={tag}");
    let own = std::process::id();
    let mut signalled = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        if u32::try_from(pid).is_ok_and(|pid| pid == own) {
            continue;
        }
        // Other users' processes cannot be read (nor signalled): skipped.
        let Ok(environment) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let tagged = environment.split(|byte| *byte == 0).any(|variable| {
            variable == wanted.as_bytes()
                || (whole_run
                    && variable.starts_with(wanted.as_bytes())
                    && variable.get(wanted.len()) == Some(&b':'))
        });
        if tagged {
            // SAFETY: kill(2) on a positive pid has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, signal);
            }
            signalled += 1;
        }
    }
    signalled
}

/// SIGKILLs every process tagged with `run_id` and waits (up to 5 s) until none is left.
/// Returns how many there were.
pub fn end_leftovers(run_id: &str) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let found = signal_tagged(run_id, true, libc::SIGKILL);
    while found > 0 && signal_tagged(run_id, true, 0) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    found
}

/// The watcher's script: groups arrive as `+PGID` and leave as `-PGID` lines; `q` says we are
/// exiting normally. At end of file without `q`, every listed group and every process tagged
/// with the run is killed.
const WATCHER: &str = r#"trap '' INT TERM HUP
groups=' '
while IFS= read -r line; do
  case $line in
    q) exit 0 ;;
    +*) groups="$groups${line#+} " ;;
    -*) id=${line#-}
        case $groups in *" $id "*) groups="${groups%% $id *} ${groups#* $id }" ;; esac ;;
  esac
done
for id in $groups; do kill -KILL -- "-$id" 2>/dev/null; done
if [ -n "$1" ]; then
  for file in $(grep -ls -e "$2=$1:" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${file#/proc/}; kill -KILL "${pid%/environ}" 2>/dev/null
  done
fi
"#;

/// Our end of the watcher's pipe, once the first child started it.
static WATCHER_PIPE: OnceLock<Option<Mutex<ChildStdin>>> = OnceLock::new();

fn watcher() -> Option<&'static Mutex<ChildStdin>> {
    WATCHER_PIPE
        .get_or_init(|| {
            let mut command = Command::new("/bin/sh");
            command
                .args(["-c", WATCHER, "workflow-watcher"])
                .arg(RUN_TAG.get().map(String::as_str).unwrap_or_default())
                .arg(TAG_VARIABLE)
                .env_remove(TAG_VARIABLE)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // Its own group: a Ctrl-C at the terminal is ours to handle, not its.
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            let mut child = command.spawn().ok()?;
            let stdin = child.stdin.take()?;
            // Never waited for: it outlives us by design, and ends by itself when we do.
            drop(child);
            Some(Mutex::new(stdin))
        })
        .as_ref()
}

fn tell(line: &str) {
    if let Some(pipe) = watcher() {
        send(pipe, line);
    }
}

fn send(pipe: &Mutex<ChildStdin>, line: &str) {
    let mut pipe = match pipe.lock() {
        Ok(pipe) => pipe,
        Err(poisoned) => poisoned.into_inner(),
    };
    // A watcher that is gone cannot be helped; the parent-death signal still holds.
    let _ = pipe.write_all(line.as_bytes());
}

/// A process group started: killed by the watcher if we die before it ends.
pub(crate) fn started_group(pgid: i32) {
    tell(&format!("+{pgid}\n"));
}

/// A process group ended (or is left to itself): the watcher forgets it.
pub(crate) fn ended_group(pgid: i32) {
    tell(&format!("-{pgid}\n"));
}

/// We are exiting normally, having ended what had to be ended: the watcher goes without
/// killing anything.
pub fn dismiss_watcher() {
    if let Some(Some(pipe)) = WATCHER_PIPE.get() {
        send(pipe, "q\n");
    }
}
