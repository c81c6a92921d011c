//! Ownership of a running child's process group: unless the run finished, dropping the guard
//! terminates the whole group (SIGTERM, then SIGKILL after a grace period).
//!
//! The engine cancels a task (timeout, Ctrl-C, a `fork` that competes) by dropping the executor's
//! future, so the clean-up has to start from `Drop`, which cannot wait. It sends SIGTERM at once
//! and hands the rest (watching the group, SIGKILL, reaping the child) to a tokio task. Groups in
//! their grace period are also listed, so that a command line about to exit (and with it that
//! task) can kill them outright: [`kill_terminating`].

use std::sync::Mutex;
use std::time::Duration;

use super::child::Child;

/// How often the clean-up task checks whether the group is gone.
const POLL: Duration = Duration::from_millis(20);

/// Groups sent SIGTERM whose clean-up task has not seen them gone yet, with their processes'
/// tag (for those that left the group).
static TERMINATING: Mutex<Vec<(i32, Option<String>)>> = Mutex::new(Vec::new());

fn terminating() -> std::sync::MutexGuard<'static, Vec<(i32, Option<String>)>> {
    match TERMINATING.lock() {
        Ok(list) => list,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// SIGKILLs every process group still in its grace period. For a process about to exit: its
/// runtime, and the clean-up tasks with it, may stop before they get to it, and a child that
/// ignores SIGTERM would outlive the run.
pub fn kill_terminating() {
    for (pgid, tag) in std::mem::take(&mut *terminating()) {
        signal_group(pgid, libc::SIGKILL);
        if let Some(tag) = tag {
            super::leftovers::signal_tagged(&tag, false, libc::SIGKILL);
        }
    }
}

/// A started child, leader of its own process group (`process_group(0)`), whose group is killed
/// when the guard is dropped while still armed.
pub(crate) struct GroupGuard {
    child: Option<Child>,
    /// The tag its processes carry, to find those that left the group (`setsid`).
    tag: Option<String>,
    /// The group id, equal to the child's pid. `None` if the pid could not be read or is not a
    /// valid group id (signalling `-0` or `-1` would hit our own group or every process).
    pgid: Option<i32>,
    grace: Duration,
}

impl GroupGuard {
    pub(crate) fn new(child: Child, grace: Duration) -> Self {
        let pgid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .filter(|pid| *pid > 1);
        if let Some(pgid) = pgid {
            super::leftovers::started_group(pgid);
        }
        GroupGuard {
            tag: child.tag.clone(),
            child: Some(child),
            pgid,
            grace,
        }
    }

    /// The child, for as long as the guard holds it.
    pub(crate) fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// The run is over (child reaped, pipes drained): nothing left to kill. Leftover background
    /// processes that closed their output are left alone, as a shell would.
    pub(crate) fn disarm(mut self) {
        self.child = None;
        if let Some(pgid) = self.pgid {
            super::leftovers::ended_group(pgid);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let (Some(child), Some(pgid)) = (self.child.take(), self.pgid) else {
            return;
        };
        signal_group(pgid, libc::SIGTERM);
        // Processes that left the group (`setsid`) still carry its tag.
        if let Some(tag) = &self.tag {
            super::leftovers::signal_tagged(tag, false, libc::SIGTERM);
        }
        terminating().push((pgid, self.tag.clone()));
        let reaper = Reaper {
            child,
            pgid,
            tag: self.tag.take(),
            done: false,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(reaper.run(self.grace));
            }
            // No runtime to wait on: the reaper's own drop kills the group outright.
            Err(_) => drop(reaper),
        }
    }
}

/// Owns a terminated child until its group is gone. If it is dropped before (the runtime shuts
/// down during the grace period), it kills the group outright so nothing outlives the run.
struct Reaper {
    child: Child,
    pgid: i32,
    tag: Option<String>,
    done: bool,
}

impl Reaper {
    async fn run(mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            // `try_wait` reaps the leader once it has exited, so a zombie leader does not keep
            // the group looking alive.
            let leader_gone = !matches!(self.child.try_wait(), Ok(None));
            let tagged_alive = || {
                self.tag
                    .as_ref()
                    .is_some_and(|tag| super::leftovers::signal_tagged(tag, false, 0) > 0)
            };
            if leader_gone && !group_alive(self.pgid) && !tagged_alive() {
                self.done = true;
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        self.kill();
        let _ = self.child.wait().await;
        self.done = true;
    }

    fn kill(&self) {
        signal_group(self.pgid, libc::SIGKILL);
        if let Some(tag) = &self.tag {
            super::leftovers::signal_tagged(tag, false, libc::SIGKILL);
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if !self.done {
            self.kill();
        }
        terminating().retain(|(pgid, _)| *pgid != self.pgid);
        super::leftovers::ended_group(self.pgid);
    }
}

/// Sends `signal` to every process of the group `pgid` (which is > 1, checked at construction).
fn signal_group(pgid: i32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid addresses a group, and
    // pgid > 1 keeps us away from the special values 0 and -1.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Whether any process (zombies included) is still in the group.
fn group_alive(pgid: i32) -> bool {
    // SAFETY: as in `signal_group`; signal 0 only checks for existence and permission.
    let result = unsafe { libc::kill(-pgid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether `pid` names a live process. A zombie counts as gone: where PID 1 does not reap (some
/// containers), orphaned grandchildren stay zombies forever, yet they run nothing.
#[cfg(test)]
pub(crate) fn pid_running(pid: i32) -> bool {
    if !pid_exists(pid) {
        return false;
    }
    // /proc/PID/stat is "pid (comm) STATE ..."; comm may hold spaces, so split at the last ')'.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            // A zombie, or one being reaped right now (`X`, dead).
            Some('Z' | 'X')
        ),
        // Either there is no /proc, or the process was reaped since `kill` saw it: a zombie
        // left to tokio's orphan queue is reaped by whichever runtime of the test binary gets
        // the next SIGCHLD, at any moment. Asking again tells the two apart.
        Err(_) => pid_exists(pid),
    }
}

/// Whether some process (zombies included) has the id `pid`.
#[cfg(test)]
fn pid_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Polls until `pid` is gone or `bound` passes; true if it went.
#[cfg(test)]
pub(crate) async fn wait_until_gone(pid: i32, bound: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    while tokio::time::Instant::now() < deadline {
        if !pid_running(pid) {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn_group(script: &str) -> Child {
        let args = ["-c".to_string(), script.to_string()];
        let stdin = std::fs::File::open("/dev/null").unwrap();
        super::super::child::spawn(super::super::child::Launch {
            program: std::path::Path::new("/bin/sh"),
            arg0: std::path::Path::new("sh"),
            args: &args,
            environment: &[],
            directory: None,
            stdin: stdin.into(),
            capture: false,
            detached: false,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn dropping_an_armed_guard_terminates_the_leader_with_sigterm() {
        let guard = GroupGuard::new(
            spawn_group("sleep 300; echo unreachable"),
            Duration::from_secs(60),
        );
        let pgid = guard.pgid.unwrap();
        assert!(pid_running(pgid));
        drop(guard);
        // SIGTERM alone must do it: the grace period is far longer than the bound.
        assert!(wait_until_gone(pgid, Duration::from_secs(20)).await);
    }

    #[tokio::test]
    async fn a_leader_ignoring_sigterm_is_killed_after_the_grace() {
        let guard = GroupGuard::new(
            spawn_group("trap '' TERM; sleep 300; echo unreachable"),
            Duration::from_millis(200),
        );
        let pgid = guard.pgid.unwrap();
        drop(guard);
        assert!(wait_until_gone(pgid, Duration::from_secs(20)).await);
    }

    #[test]
    fn without_a_runtime_the_group_is_killed_at_once() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let guard = runtime.block_on(async {
            GroupGuard::new(
                spawn_group("trap '' TERM; sleep 300; echo unreachable"),
                Duration::from_secs(60),
            )
        });
        let pgid = guard.pgid.unwrap();
        drop(runtime);
        drop(guard);
        // The answer of the poll that saw it gone is the verdict: looking once more could meet a
        // pid that was reaped (and even reused) in the meantime.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let gone = loop {
            if !pid_running(pgid) {
                break true;
            }
            if std::time::Instant::now() >= deadline {
                break false;
            }
            std::thread::sleep(POLL);
        };
        assert!(gone, "the group leader survived SIGKILL");
    }

    #[tokio::test]
    async fn groups_in_their_grace_period_can_be_killed_at_once() {
        let guard = GroupGuard::new(
            spawn_group("trap '' TERM; sleep 300; echo unreachable"),
            Duration::from_secs(3600),
        );
        let pgid = guard.pgid.unwrap();
        drop(guard);
        assert!(terminating().iter().any(|(group, _)| *group == pgid));
        kill_terminating();
        assert!(wait_until_gone(pgid, Duration::from_secs(20)).await);
        assert!(!terminating().iter().any(|(group, _)| *group == pgid));
    }

    #[test]
    fn a_zombie_or_a_reaped_process_is_not_running() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        // `true` exits at once and stays a zombie until waited for.
        while pid_running(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        assert!(pid_exists(pid), "still a zombie, not reaped");
        assert!(!pid_running(pid));
        child.wait().unwrap();
        assert!(!pid_running(pid));
        assert!(pid_running(i32::try_from(std::process::id()).unwrap()));
    }

    #[tokio::test]
    async fn a_disarmed_guard_leaves_the_process_alone() {
        let guard = GroupGuard::new(
            spawn_group("sleep 300; echo unreachable"),
            Duration::from_millis(10),
        );
        let pgid = guard.pgid.unwrap();
        guard.disarm();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(pid_running(pgid));
        signal_group(pgid, libc::SIGKILL);
    }
}
