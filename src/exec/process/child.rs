//! A started child process and its output streams, however it was started: directly (see
//! `spawn.rs`: Linux, a program given by path) or through `tokio::process` (elsewhere, for a
//! program searched on the task's own `PATH`, and where the kernel refuses the direct way).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::AsyncRead;
use tokio::io::unix::AsyncFd;

#[cfg(target_os = "linux")]
use super::spawn::{self, Executable, StartError, Step};

/// One output stream of a child.
pub(crate) type Stream = Box<dyn AsyncRead + Send + Unpin>;

/// What to start and how.
pub(crate) struct Launch<'a> {
    /// The file to execute: a path, or a bare name to search on `PATH`.
    pub(crate) program: &'a Path,
    /// The name the program sees as `argv[0]`.
    pub(crate) arg0: &'a Path,
    pub(crate) args: &'a [String],
    /// Added to (and over) our environment, later entries winning.
    pub(crate) environment: &'a [(String, String)],
    pub(crate) directory: Option<&'a Path>,
    pub(crate) stdin: OwnedFd,
    /// Pipes for stdout and stderr; without, both go to `/dev/null`.
    pub(crate) capture: bool,
    /// Left to run on its own (`await: false`): it may outlive us, so it gets neither the
    /// parent-death signal nor the run's tag.
    pub(crate) detached: bool,
}

/// A running (or exited, not yet reaped) child, leader of its own process group.
pub(crate) struct Child {
    process: Process,
    pub(crate) stdout: Option<Stream>,
    pub(crate) stderr: Option<Stream>,
    /// The tag in its environment, which whatever it starts inherits (see `leftovers`).
    pub(crate) tag: Option<String>,
}

enum Process {
    Direct(DirectChild),
    Tokio(tokio::process::Child),
}

/// Set once the kernel refused a direct start: every later start goes through tokio.
#[cfg(target_os = "linux")]
static DIRECT_UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// Starts `launch`. Must be called within a tokio runtime with I/O enabled.
pub(crate) fn spawn(launch: Launch<'_>) -> io::Result<Child> {
    let tag = if launch.detached {
        None
    } else {
        super::leftovers::next_tag()
    };
    #[cfg(target_os = "linux")]
    if launch.program.components().count() > 1 && !DIRECT_UNSUPPORTED.load(Ordering::Relaxed) {
        match spawn_direct(&launch, tag.as_deref()) {
            Err(DirectError::Unsupported) => DIRECT_UNSUPPORTED.store(true, Ordering::Relaxed),
            Err(DirectError::NotForThisStart) => {}
            Err(DirectError::Failed(error)) => return Err(error),
            Ok(mut child) => {
                child.tag = tag;
                return Ok(child);
            }
        }
    }
    let mut child = spawn_tokio(launch, tag.as_deref())?;
    child.tag = tag;
    Ok(child)
}

/// Starts `launch` through `tokio::process` (`posix_spawn`, or fork and exec).
pub(crate) fn spawn_tokio(launch: Launch<'_>, tag: Option<&str>) -> io::Result<Child> {
    let mut command = tokio::process::Command::new(launch.program);
    command
        .arg0(launch.arg0)
        .args(launch.args)
        .envs(launch.environment.iter().map(|(name, value)| (name, value)))
        .process_group(0)
        .stdin(Stdio::from(launch.stdin));
    if let Some(tag) = tag {
        command.env(super::leftovers::TAG_VARIABLE, tag);
    }
    #[cfg(target_os = "linux")]
    if !launch.detached {
        // SAFETY: the closure only makes async-signal-safe system calls (prctl, getppid).
        // The parent-death signal follows the thread that starts the child: the engine's.
        let parent = std::process::id();
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    return Err(io::Error::other("the runner is gone"));
                }
                Ok(())
            });
        }
    }
    if let Some(directory) = launch.directory {
        command.current_dir(directory);
    }
    if launch.capture {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let mut child = command.spawn()?;
    // `command` holds our copy of the stdin pipe's read end: drop it now, or a writer blocked
    // on a child that exited would never see a broken pipe.
    drop(command);
    let stdout = child.stdout.take().map(|s| Box::new(s) as Stream);
    let stderr = child.stderr.take().map(|s| Box::new(s) as Stream);
    Ok(Child {
        process: Process::Tokio(child),
        stdout,
        stderr,
        tag: None,
    })
}

#[cfg(target_os = "linux")]
enum DirectError {
    /// The kernel refuses this way of starting: use tokio from now on.
    Unsupported,
    /// This start needs what only the usual way handles: use tokio for it.
    NotForThisStart,
    Failed(io::Error),
}

#[cfg(target_os = "linux")]
fn spawn_direct(launch: &Launch<'_>, tag: Option<&str>) -> Result<Child, DirectError> {
    let failed = DirectError::Failed;
    let executable = Executable::new(
        launch.program,
        launch.arg0.as_os_str(),
        launch.args,
        launch.environment,
        tag,
        launch.directory,
    )
    .map_err(failed)?
    .dying_with_us(!launch.detached);
    let outputs = Outputs::new(launch.capture).map_err(failed)?;
    let (out, err) = outputs.child_ends();
    let streams = [launch.stdin.as_fd(), out, err];
    // `dup2` onto its own number would keep the close-on-exec flag: leave such a rare setup
    // (our own standard streams closed) to tokio.
    if streams.iter().any(|fd| fd.as_raw_fd() < 3) {
        return Err(DirectError::NotForThisStart);
    }
    let started = match spawn::start(&executable, streams) {
        Ok(started) => started,
        Err(StartError::Unsupported) => return Err(DirectError::Unsupported),
        Err(StartError::Clone(error)) => return Err(failed(error)),
        Err(StartError::Child(step, error)) => return Err(failed(step_error(step, error))),
    };
    let pid = started.pid;
    let mut child = Child {
        process: Process::Direct(DirectChild {
            pid,
            pidfd: watch(started.pidfd),
            status: None,
            reap_on_drop: true,
        }),
        stdout: None,
        stderr: None,
        tag: None,
    };
    match outputs.into_streams() {
        Ok((stdout, stderr)) => {
            child.stdout = stdout;
            child.stderr = stderr;
            Ok(child)
        }
        Err(error) => {
            // The child would run with nobody reading its output: stop it instead.
            kill_group(pid);
            Err(failed(error))
        }
    }
}

/// The pidfd registered with the runtime, or `None` if the runtime refuses it (then `wait`
/// polls).
#[cfg(target_os = "linux")]
fn watch(pidfd: OwnedFd) -> Option<AsyncFd<OwnedFd>> {
    // SAFETY: the `OwnedFd` is a valid descriptor that the `AsyncFd` owns until it is dropped,
    // so it stays open and the same for the registration's whole life.
    unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) }.ok()
}

/// Where a directly started child's stdout and stderr go.
#[cfg(target_os = "linux")]
enum Outputs {
    /// Two pipes, `(read, write)` each.
    Pipes([(OwnedFd, OwnedFd); 2]),
    /// `/dev/null`, for both.
    Null(OwnedFd),
}

#[cfg(target_os = "linux")]
impl Outputs {
    fn new(capture: bool) -> io::Result<Outputs> {
        if capture {
            return Ok(Outputs::Pipes([pipe_pair()?, pipe_pair()?]));
        }
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
        Ok(Outputs::Null(null.into()))
    }

    /// The descriptors the child writes to.
    fn child_ends(&self) -> (BorrowedFd<'_>, BorrowedFd<'_>) {
        match self {
            Outputs::Pipes([(_, out), (_, err)]) => (out.as_fd(), err.as_fd()),
            Outputs::Null(null) => (null.as_fd(), null.as_fd()),
        }
    }

    /// Our ends of the pipes, as streams. Our copies of the write ends close here, so that end
    /// of file arrives when the child (and whatever it started) is done writing.
    fn into_streams(self) -> io::Result<(Option<Stream>, Option<Stream>)> {
        let Outputs::Pipes([(out, _), (err, _)]) = self else {
            return Ok((None, None));
        };
        let stream = |read: OwnedFd| -> io::Result<Stream> {
            set_nonblocking(&read)?;
            let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd_unchecked(read)?;
            Ok(Box::new(receiver))
        };
        Ok((Some(stream(out)?), Some(stream(err)?)))
    }
}

/// A failure before `execve` as the error the caller reports: a missing working directory must
/// not read as a missing program.
#[cfg(target_os = "linux")]
fn step_error(step: Step, error: io::Error) -> io::Error {
    match step {
        Step::Execute => error,
        Step::Directory => io::Error::other(format!("cannot enter the working directory: {error}")),
        Step::ProcessGroup | Step::Streams | Step::Signals => {
            io::Error::other(format!("the child could not be set up ({step:?}): {error}"))
        }
    }
}

#[cfg(target_os = "linux")]
fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = std::io::pipe()?;
    Ok((OwnedFd::from(read), OwnedFd::from(write)))
}

#[cfg(target_os = "linux")]
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with flag arguments only.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0
        || unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn kill_group(pid: i32) {
    if pid > 1 {
        // SAFETY: kill(2) on a group we created; pid > 1 keeps away from 0 and -1.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

impl Child {
    /// The process id, also the process group's id.
    pub(crate) fn id(&self) -> Option<u32> {
        match &self.process {
            Process::Direct(direct) => u32::try_from(direct.pid).ok(),
            Process::Tokio(child) => child.id(),
        }
    }

    /// The exit status if the child has exited (reaping it), without waiting.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.process {
            Process::Direct(direct) => direct.try_wait(),
            Process::Tokio(child) => child.try_wait(),
        }
    }

    /// Waits until the child exits and reaps it. Cancel-safe.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        match &mut self.process {
            Process::Direct(direct) => direct.wait().await,
            Process::Tokio(child) => child.wait().await,
        }
    }
}

/// A child started directly, watched through its pidfd.
struct DirectChild {
    pid: i32,
    /// `None` if the runtime could not watch it: then `wait` polls.
    pidfd: Option<AsyncFd<OwnedFd>>,
    status: Option<ExitStatus>,
    /// Whether dropping it unreaped hands it to a background task (not for that task's own).
    reap_on_drop: bool,
}

/// How often `wait` looks for an exit when the pidfd could not be watched.
const POLL_WITHOUT_PIDFD: std::time::Duration = std::time::Duration::from_millis(5);

impl DirectChild {
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        reap_now(self.pid, &mut self.status)
    }

    async fn wait(&mut self) -> io::Result<ExitStatus> {
        let Some(pidfd) = &self.pidfd else {
            loop {
                if let Some(status) = reap_now(self.pid, &mut self.status)? {
                    return Ok(status);
                }
                tokio::time::sleep(POLL_WITHOUT_PIDFD).await;
            }
        };
        loop {
            // A pidfd is readable once its process has exited (registering one that already
            // has counts). Readiness is cleared only after a look found the child running, so
            // an exit between that look and the clearing raises it again.
            let mut ready = pidfd.readable().await?;
            if let Some(status) = reap_now(self.pid, &mut self.status)? {
                return Ok(status);
            }
            ready.clear_ready();
        }
    }
}

/// Reaps `pid` if it has exited, keeping its status in `status` (a child is reaped once).
fn reap_now(pid: i32, status: &mut Option<ExitStatus>) -> io::Result<Option<ExitStatus>> {
    if let Some(status) = status {
        return Ok(Some(*status));
    }
    let mut raw = 0;
    loop {
        // SAFETY: waitpid on our own child, not yet reaped (`status` is unset).
        let reaped = unsafe { libc::waitpid(pid, &mut raw, libc::WNOHANG) };
        if reaped == pid {
            let exited = ExitStatus::from_raw(raw);
            *status = Some(exited);
            return Ok(Some(exited));
        }
        if reaped == 0 {
            return Ok(None);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

impl Drop for DirectChild {
    /// A child dropped before it was reaped is reaped in the background when it exits, as
    /// `tokio::process` does, so that it does not stay a zombie for the rest of the run.
    fn drop(&mut self) {
        if !self.reap_on_drop || !matches!(self.try_wait(), Ok(None)) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to wait on: the zombie goes when our process ends.
            return;
        };
        let mut orphan = DirectChild {
            pid: self.pid,
            pidfd: self.pidfd.take(),
            status: None,
            reap_on_drop: false,
        };
        runtime.spawn(async move {
            let _ = orphan.wait().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;

    fn launch<'a>(program: &'a str, args: &'a [String], env: &'a [(String, String)]) -> Launch<'a> {
        Launch {
            program: Path::new(program),
            arg0: Path::new("sh"),
            args,
            environment: env,
            directory: None,
            stdin: std::fs::File::open("/dev/null").unwrap().into(),
            capture: true,
            detached: false,
        }
    }

    async fn finish(mut child: Child) -> (String, String, Option<i32>) {
        let (mut out, mut err) = (String::new(), String::new());
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (status, _, _) = tokio::join!(
            child.wait(),
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        (out, err, status.unwrap().code())
    }

    #[tokio::test]
    async fn both_ways_of_starting_give_the_same_streams_code_and_environment() {
        let args: Vec<String> = [
            "-c",
            "echo \"$0 $1 $FOO\"; echo err >&2; exit 3",
            "zero",
            "one",
        ]
        .map(String::from)
        .to_vec();
        let env = vec![("FOO".to_string(), "bar".to_string())];
        let expected = ("zero one bar\n".to_string(), "err\n".to_string(), Some(3));
        let direct = spawn(launch("/bin/sh", &args, &env)).unwrap();
        if cfg!(target_os = "linux") {
            assert!(matches!(direct.process, Process::Direct(_)));
        }
        assert_eq!(finish(direct).await, expected);
        let through_tokio = spawn_tokio(launch("/bin/sh", &args, &env), None).unwrap();
        assert!(matches!(through_tokio.process, Process::Tokio(_)));
        assert_eq!(finish(through_tokio).await, expected);
    }

    #[tokio::test]
    async fn a_bare_name_is_searched_on_the_tasks_own_path() {
        let args: Vec<String> = ["-c", "echo found"].map(String::from).to_vec();
        let env = vec![("PATH".to_string(), "/usr/bin:/bin".to_string())];
        let child = spawn(launch("sh", &args, &env)).unwrap();
        assert!(matches!(child.process, Process::Tokio(_)));
        assert_eq!(finish(child).await.0, "found\n");
    }

    #[tokio::test]
    async fn a_missing_program_is_not_found_and_a_missing_directory_says_so() {
        let missing = spawn(launch("/nonexistent/program", &[], &[])).err();
        assert_eq!(missing.map(|e| e.kind()), Some(io::ErrorKind::NotFound));
        let mut elsewhere = launch("/bin/sh", &[], &[]);
        elsewhere.directory = Some(Path::new("/nonexistent/directory"));
        let error = spawn(elsewhere)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        if cfg!(target_os = "linux") {
            assert!(error.contains("working directory"), "{error}");
        } else {
            assert!(!error.is_empty());
        }
    }

    #[tokio::test]
    async fn without_capture_there_are_no_streams() {
        let args: Vec<String> = ["-c", "echo nowhere; exit 4"].map(String::from).to_vec();
        let mut detached = launch("/bin/sh", &args, &[]);
        detached.capture = false;
        let mut child = spawn(detached).unwrap();
        assert!(child.stdout.is_none() && child.stderr.is_none());
        assert_eq!(child.wait().await.unwrap().code(), Some(4));
        // Reaped once; asking again gives the same status.
        assert_eq!(child.try_wait().unwrap().and_then(|s| s.code()), Some(4));
    }

    #[tokio::test]
    async fn a_child_dropped_before_its_exit_is_reaped_in_the_background() {
        let args: Vec<String> = ["-c", "sleep 0.2"].map(String::from).to_vec();
        let child = spawn(launch("/bin/sh", &args, &[])).unwrap();
        let pid = child.id().unwrap();
        drop(child);
        // Reaped means gone from /proc altogether, not a zombie.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(tokio::time::Instant::now() < deadline, "{pid} never reaped");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
