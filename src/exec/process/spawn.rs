//! Starting a child directly with `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` (Linux only).
//!
//! Why not `std::process` (and tokio's, built on it): it starts children with glibc's
//! `posix_spawn`, whose child resets the disposition of every signal before `execve`, two system
//! calls per signal, 128 in all. That costs 38 µs here, a twentieth of starting `sh -c true`, and
//! a workflow of many short commands pays it for each. Its parent also reads `RLIMIT_NOFILE` six
//! times and maps a fresh stack per start.
//!
//! The child here makes the calls the start needs and nothing else: its own process group, a
//! parent-death signal (see `leftovers`), its three standard streams, the default action for the three signals whose disposition we changed
//! (SIGPIPE ignored by Rust's runtime, SIGINT and SIGTERM handled by the run), the working
//! directory, an empty signal mask, `execve`. Other handled signals need no reset: `execve`
//! resets handlers itself, and until the mask is emptied no signal is delivered. Between that
//! and `execve`, only a signal sent to this brand-new process in its own group could arrive, and
//! nothing knows its id yet (our parent thread is suspended until `execve`).
//!
//! The child shares our memory until `execve` (like `vfork`), so it must not allocate, lock or
//! unwind: everything it reads is prepared by the parent, and it reports a failed step by storing
//! the step and `errno` where the parent reads them, then `_exit(127)`.

use std::ffi::{CString, OsStr, OsString, c_char, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

/// Stack for the child until `execve`: it only makes system calls through libc's wrappers.
const CHILD_STACK: usize = 64 * 1024;

/// What the child executes, in the form `execve` takes, prepared before the start.
pub(crate) struct Executable {
    path: CString,
    argv: Vec<CString>,
    envp: Environment,
    /// `WORKFLOW_RUN_PROCESS=...` (see `leftovers`), added after the other entries.
    tag: Option<CString>,
    directory: Option<CString>,
    /// Gets the parent-death signal (not for processes left to run on their own).
    die_with_parent: bool,
}

/// The child's environment: ours as it is (the common case, shared by every start), or ours
/// with the task's entries over it.
enum Environment {
    Inherited(&'static [CString]),
    Merged(Vec<CString>),
}

impl Environment {
    fn entries(&self) -> &[CString] {
        match self {
            Environment::Inherited(entries) => entries,
            Environment::Merged(entries) => entries,
        }
    }
}

impl Executable {
    /// `program` (a path, not searched for) run as `arg0 args...` with our environment plus
    /// `environment` (later entries win), in `directory` if given. A NUL byte in any of them is
    /// refused as invalid input, as `std::process` refuses it.
    pub(crate) fn new(
        program: &Path,
        arg0: &OsStr,
        args: &[String],
        environment: &[(String, String)],
        tag: Option<&str>,
        directory: Option<&Path>,
    ) -> io::Result<Executable> {
        let argv = std::iter::once(arg0)
            .chain(args.iter().map(OsStr::new))
            .map(c_string)
            .collect::<io::Result<Vec<_>>>()?;
        let envp = if environment.is_empty() {
            Environment::Inherited(inherited())
        } else {
            Environment::Merged(environment_block(environment)?)
        };
        Ok(Executable {
            path: c_string(program.as_os_str())?,
            argv,
            envp,
            tag: tag
                .map(|tag| entry(super::leftovers::TAG_VARIABLE.into(), OsStr::new(tag)))
                .transpose()?,
            directory: directory.map(|d| c_string(d.as_os_str())).transpose()?,
            die_with_parent: true,
        })
    }

    /// Whether the child dies with us (the default) or may outlive us.
    pub(crate) fn dying_with_us(mut self, die: bool) -> Self {
        self.die_with_parent = die;
        self
    }
}

fn c_string(text: &OsStr) -> io::Result<CString> {
    CString::new(text.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{:?} contains a NUL byte", text.to_string_lossy()),
        )
    })
}

/// Our environment as `NAME=value` entries, read once: copying it for every start cost more
/// than the rest of preparing one. Nothing in this program changes its own environment.
fn inherited() -> &'static [CString] {
    static INHERITED: OnceLock<Vec<CString>> = OnceLock::new();
    INHERITED.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(name, value)| entry(name, &value).ok())
            .collect()
    })
}

fn entry(mut name: OsString, value: &OsStr) -> io::Result<CString> {
    name.push("=");
    name.push(value);
    c_string(&name)
}

/// Our environment with the task's entries over it (later entries win).
fn environment_block(environment: &[(String, String)]) -> io::Result<Vec<CString>> {
    let overridden = |candidate: &CString| {
        let bytes = candidate.as_bytes();
        environment.iter().any(|(name, _)| {
            bytes.len() > name.len()
                && bytes.starts_with(name.as_bytes())
                && bytes.get(name.len()) == Some(&b'=')
        })
    };
    let mut block: Vec<CString> = inherited()
        .iter()
        .filter(|candidate| !overridden(candidate))
        .cloned()
        .collect();
    for (index, (name, value)) in environment.iter().enumerate() {
        let later = environment.get(index + 1..).unwrap_or_default();
        if later.iter().all(|(other, _)| other != name) {
            block.push(entry(name.into(), OsStr::new(value))?);
        }
    }
    Ok(block)
}

/// A started child: its pid (also its process group id) and a pidfd that becomes readable when
/// it exits.
pub(crate) struct Started {
    pub(crate) pid: i32,
    pub(crate) pidfd: OwnedFd,
}

/// The steps the child reports failing at, so the parent can say which one did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    ProcessGroup = 1,
    Streams = 2,
    Signals = 3,
    Directory = 4,
    Execute = 5,
}

impl Step {
    fn from_code(code: i32) -> Option<Step> {
        [
            Step::ProcessGroup,
            Step::Streams,
            Step::Signals,
            Step::Directory,
            Step::Execute,
        ]
        .into_iter()
        .find(|step| *step as i32 == code)
    }
}

/// Why a start failed.
#[derive(Debug)]
pub(crate) enum StartError {
    /// This kernel cannot start children this way (no `CLONE_PIDFD` before Linux 5.2, or a
    /// sandbox refusing it): start them another way.
    Unsupported,
    /// The child was created and failed at `step` (it has been reaped).
    Child(Step, io::Error),
    /// The child could not be created.
    Clone(io::Error),
}

/// Everything the child reads, in the parent's memory (shared with the child until `execve`).
struct ChildSetup {
    /// Our process id: the child checks that its parent is still us once it asked to die with
    /// us; 0 when it is not to die with us.
    parent: libc::pid_t,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    directory: *const c_char,
    streams: [c_int; 3],
    failed_step: AtomicI32,
    failed_errno: AtomicI32,
}

/// Starts `executable` with `streams` as its stdin, stdout and stderr, leader of a new process
/// group. The stream descriptors must be 3 or above (the caller checks): `dup2` onto itself
/// would keep a close-on-exec flag.
pub(crate) fn start(
    executable: &Executable,
    streams: [BorrowedFd<'_>; 3],
) -> Result<Started, StartError> {
    let argv = null_terminated(&executable.argv);
    let mut envp: Vec<*const c_char> = executable
        .envp
        .entries()
        .iter()
        .map(|e| e.as_ptr())
        .collect();
    envp.extend(executable.tag.as_ref().map(|tag| tag.as_ptr()));
    envp.push(ptr::null());
    let setup = ChildSetup {
        // SAFETY: getpid has no preconditions.
        parent: if executable.die_with_parent {
            unsafe { libc::getpid() }
        } else {
            0
        },
        path: executable.path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        directory: executable
            .directory
            .as_ref()
            .map_or(ptr::null(), |d| d.as_ptr()),
        streams: streams.map(|fd| fd.as_raw_fd()),
        failed_step: AtomicI32::new(0),
        failed_errno: AtomicI32::new(0),
    };
    let mut stack: Vec<u8> = Vec::with_capacity(CHILD_STACK);
    // The stack grows down from the end of the buffer, which the ABI wants 16-byte aligned.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
    let mut pidfd: c_int = -1;
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
    // SAFETY: every signal is blocked around the clone so that no handler of ours runs in the
    // child while it shares our memory; the child function only reads `setup`, `argv`, `envp`
    // and the strings they point to, all alive in this frame until `clone` returns (CLONE_VFORK
    // suspends this thread until the child has called `execve` or exited), and it runs on
    // `stack`, which outlives it for the same reason.
    let (pid, clone_error) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut previous);
        let pid = libc::clone(
            child_main,
            top as *mut c_void,
            flags,
            ptr::from_ref(&setup).cast_mut().cast::<c_void>(),
            &mut pidfd as *mut c_int,
        );
        let clone_error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, ptr::null_mut());
        (pid, clone_error)
    };
    drop(stack);
    if pid < 0 {
        return Err(match clone_error.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS | libc::EPERM) => StartError::Unsupported,
            _ => StartError::Clone(clone_error),
        });
    }
    // SAFETY: with CLONE_PIDFD the kernel stored a new descriptor, ours alone, in `pidfd`.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let step = setup.failed_step.load(Ordering::Acquire);
    if let Some(step) = Step::from_code(step) {
        let error = io::Error::from_raw_os_error(setup.failed_errno.load(Ordering::Acquire));
        reap(pid);
        return Err(StartError::Child(step, error));
    }
    Ok(Started { pid, pidfd })
}

/// Pointers to `strings` followed by a null pointer, as `execve` takes them.
fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// Waits for a child that failed before `execve` (it called `_exit`).
fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waitpid on our own child, writing into a local.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// The child, until `execve`. See the module comment for what it may and may not do.
extern "C" fn child_main(argument: *mut c_void) -> c_int {
    // SAFETY: `argument` is the `ChildSetup` the parent keeps alive while it is suspended.
    let setup = unsafe { &*argument.cast::<ChildSetup>() };
    // SAFETY: system calls on values the parent prepared; no allocation, no locks.
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            fail(setup, Step::ProcessGroup);
        }
        // Die with us, even when we are killed with SIGKILL. The signal is tied to the thread
        // that started the child: that is the engine's, which lives as long as the run. If we
        // died already (between clone and here), our parent is someone else: end now.
        if setup.parent != 0
            && (libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
                || libc::getppid() != setup.parent)
        {
            fail(setup, Step::ProcessGroup);
        }
        for (target, fd) in (0..).zip(setup.streams) {
            if libc::dup2(fd, target) < 0 {
                fail(setup, Step::Streams);
            }
        }
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for signal in [libc::SIGPIPE, libc::SIGINT, libc::SIGTERM] {
            if libc::sigaction(signal, &default, ptr::null_mut()) != 0 {
                fail(setup, Step::Signals);
            }
        }
        if !setup.directory.is_null() && libc::chdir(setup.directory) != 0 {
            fail(setup, Step::Directory);
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::pthread_sigmask(libc::SIG_SETMASK, &empty, ptr::null_mut());
        libc::execve(setup.path, setup.argv, setup.envp);
        fail(setup, Step::Execute)
    }
}

/// Reports `step` with the current `errno` to the parent and ends the child.
fn fail(setup: &ChildSetup, step: Step) -> ! {
    // SAFETY: reading errno of this thread (the child runs on the parent thread's TLS, which
    // the suspended parent does not touch), then `_exit`, which runs no handlers.
    unsafe {
        setup
            .failed_errno
            .store(*libc::__errno_location(), Ordering::Release);
        setup.failed_step.store(step as i32, Ordering::Release);
        libc::_exit(127)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;

    fn executable(program: &str, args: &[&str]) -> Executable {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Executable::new(Path::new(program), OsStr::new("sh"), &args, &[], None, None).unwrap()
    }

    fn wait(pid: i32) -> i32 {
        let mut status = 0;
        // SAFETY: waiting on our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        status
    }

    #[test]
    fn a_started_child_writes_to_its_streams_and_exits_with_its_code() {
        let (mut out_read, out_write) = std::io::pipe().unwrap();
        let (mut err_read, err_write) = std::io::pipe().unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        let program = executable(
            "/bin/sh",
            &["-c", "echo \"$0:$1\"; echo e >&2; exit 7", "zero", "one"],
        );
        let started = start(
            &program,
            [null.as_fd(), out_write.as_fd(), err_write.as_fd()],
        )
        .unwrap();
        drop((out_write, err_write));
        let (mut out, mut err) = (String::new(), String::new());
        out_read.read_to_string(&mut out).unwrap();
        err_read.read_to_string(&mut err).unwrap();
        let status = wait(started.pid);
        assert_eq!((out.as_str(), err.as_str()), ("zero:one\n", "e\n"));
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7);
    }

    #[test]
    fn the_child_leads_its_own_group_with_default_sigpipe() {
        let (mut out_read, out_write) = std::io::pipe().unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        // Field 5 of /proc/self/stat is the process group; SigIgn lists ignored signals.
        let program = executable(
            "/bin/sh",
            &[
                "-c",
                "cut -d' ' -f5 /proc/$$/stat; grep SigIgn /proc/$$/status",
            ],
        );
        let started = start(&program, [null.as_fd(), out_write.as_fd(), null.as_fd()]).unwrap();
        drop(out_write);
        let mut out = String::new();
        out_read.read_to_string(&mut out).unwrap();
        wait(started.pid);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(started.pid.to_string().as_str()));
        let ignored = lines.next().unwrap_or_default();
        let mask = u64::from_str_radix(ignored.trim_start_matches("SigIgn:").trim(), 16).unwrap();
        assert_eq!(mask & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE not ignored");
    }

    #[test]
    fn a_missing_program_and_directory_are_reported_with_their_step() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let streams = [null.as_fd(), null.as_fd(), null.as_fd()];
        match start(&executable("/nonexistent/program", &[]), streams) {
            Err(StartError::Child(Step::Execute, error)) => {
                assert_eq!(error.kind(), io::ErrorKind::NotFound)
            }
            other => panic!("{:?}", other.err()),
        }
        let elsewhere = Executable::new(
            Path::new("/bin/sh"),
            OsStr::new("sh"),
            &[],
            &[],
            None,
            Some(Path::new("/nonexistent/directory")),
        )
        .unwrap();
        match start(&elsewhere, streams) {
            Err(StartError::Child(Step::Directory, error)) => {
                assert_eq!(error.kind(), io::ErrorKind::NotFound)
            }
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn the_environment_is_ours_with_the_tasks_entries_over_it() {
        let entries = vec![
            ("WORKFLOW_SPAWN_TEST".to_string(), "first".to_string()),
            ("WORKFLOW_SPAWN_TEST".to_string(), "second".to_string()),
        ];
        let block = environment_block(&entries).unwrap();
        let texts: Vec<String> = block
            .iter()
            .map(|entry| entry.to_string_lossy().into_owned())
            .collect();
        assert!(texts.contains(&"WORKFLOW_SPAWN_TEST=second".to_string()));
        assert!(!texts.contains(&"WORKFLOW_SPAWN_TEST=first".to_string()));
        if let Some(path) = std::env::var_os("PATH") {
            let expected = format!("PATH={}", path.to_string_lossy());
            assert!(texts.contains(&expected));
        }
        let nul = Executable::new(
            Path::new("/bin/sh"),
            OsStr::new("sh"),
            &["a\0b".into()],
            &[],
            None,
            None,
        );
        assert_eq!(
            nul.err().map(|e| e.kind()),
            Some(io::ErrorKind::InvalidInput)
        );
    }
}
