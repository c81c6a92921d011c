//! `SystemProcesses`: the real `ProcessRunner`, starting `run: shell` and `run: script` tasks as
//! child processes (see `child.rs` for how). Unix only (process groups and signals).

mod capture;
mod child;
mod group;
mod leftovers;
mod lookup;
#[cfg(feature = "mcp")]
mod server;
#[cfg(target_os = "linux")]
mod spawn;
mod stdin;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::host::effects::process::{
    ProcessOutput, ProcessRequest, ProcessRunner, Program, ScriptLanguage,
};
use crate::problem::{ErrorKind, WorkflowError};
use capture::read_capped;
use child::{Child, Launch};
use group::GroupGuard;
pub use group::kill_terminating;
pub use leftovers::{TAG_VARIABLE, dismiss_watcher, end_leftovers, signal_tagged, tag_processes};
use lookup::ProgramPaths;
#[cfg(feature = "mcp")]
pub(crate) use server::ServerProcess;

/// What `process.argv[1]` holds for inline JavaScript, so that `process.argv[2]` is the first
/// argument as it is for a script file (the DSL examples destructure `[_, __, arg]`).
const NODE_SCRIPT_NAME: &str = "[eval]";

/// Starts processes on this machine. The fields are configuration; `Default` suits the CLI.
#[derive(Debug, Clone)]
pub struct SystemProcesses {
    /// Bytes kept per output stream; the rest is read and dropped, and the cut is marked.
    pub output_cap: usize,
    /// The POSIX shell for `run: shell` (`sh -c COMMAND sh ARG...`).
    pub shell: PathBuf,
    /// The interpreter for `language: python`.
    pub python: PathBuf,
    /// The interpreter for `language: javascript` / `js`.
    pub node: PathBuf,
    /// How long a cancelled process group has between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// Where processes start; `None` is the current directory.
    pub working_directory: Option<PathBuf>,
    /// Programs found on `PATH` so far, so each is searched for once.
    paths: ProgramPaths,
}

impl Default for SystemProcesses {
    fn default() -> Self {
        SystemProcesses {
            output_cap: 16 * 1024 * 1024,
            shell: PathBuf::from("sh"),
            python: PathBuf::from("python3"),
            node: PathBuf::from("node"),
            kill_grace: Duration::from_secs(2),
            working_directory: None,
            paths: ProgramPaths::default(),
        }
    }
}

impl ProcessRunner for SystemProcesses {
    fn run(
        &self,
        request: ProcessRequest,
    ) -> BoxFuture<'static, Result<ProcessOutput, WorkflowError>> {
        let config = self.clone();
        Box::pin(async move {
            if request.detach {
                config.start_detached(request)
            } else {
                config.run_to_end(request).await
            }
        })
    }
}

/// The program to start, and what to tell the user to install when it is missing.
struct Invocation {
    program: PathBuf,
    args: Vec<String>,
    install_hint: &'static str,
}

impl SystemProcesses {
    fn invocation(&self, request: &ProcessRequest) -> Invocation {
        let mut args = Vec::new();
        let (program, install_hint) = match &request.program {
            Program::Shell { command } => {
                // `sh` becomes `$0`, the arguments `$1`, `$2`, ...: they are never parsed by the shell.
                args.extend(["-c".to_string(), command.clone(), "sh".to_string()]);
                (&self.shell, "install a POSIX shell to run shell commands")
            }
            Program::Script {
                language: ScriptLanguage::Python,
                code,
            } => {
                args.extend(["-c".to_string(), code.clone()]);
                (&self.python, "install Python 3 to run Python scripts")
            }
            Program::Script {
                language: ScriptLanguage::JavaScript,
                code,
            } => {
                // An ES module, so scripts may use `import`; `--` ends node's own options.
                args.extend([
                    "--input-type=module".to_string(),
                    "-e".to_string(),
                    code.clone(),
                    "--".to_string(),
                    NODE_SCRIPT_NAME.to_string(),
                ]);
                (&self.node, "install Node.js to run JavaScript scripts")
            }
            Program::Exec { program } => (program, "check that it is installed"),
        };
        args.extend(request.arguments.iter().cloned());
        Invocation {
            program: program.clone(),
            args,
            install_hint,
        }
    }

    /// Starts `request` in its own process group, with its input prepared and output captured
    /// (or sent to `/dev/null`); the returned feed writes what stdin did not take at once.
    fn start(
        &self,
        request: &ProcessRequest,
        invocation: &Invocation,
        capture: bool,
    ) -> Result<(Child, stdin::StdinFeed), WorkflowError> {
        let task_path = request
            .environment
            .iter()
            .rev()
            .find(|(name, _)| name == "PATH")
            .map(|(_, value)| std::ffi::OsStr::new(value.as_str()));
        let directory = self.working_directory.as_deref();
        if let Some(directory) = directory {
            // Checked here: a failed chdir in the child reports NotFound, which would read as a
            // missing program.
            if !directory.is_dir() {
                return Err(WorkflowError::new(
                    ErrorKind::Configuration,
                    "Working directory not found",
                )
                .with_detail(format!("`{}` is not a directory", directory.display())));
            }
        }
        let (stdin, feed) = stdin::prepare(request.stdin.as_deref()).map_err(|error| {
            io_error("Could not pass the process its input", invocation, &error)
        })?;
        let program = self.paths.resolve(&invocation.program, task_path);
        let launch = Launch {
            program: &program,
            // The name as written stays argv[0]: multi-call binaries and messages go by it.
            arg0: &invocation.program,
            args: &invocation.args,
            environment: &request.environment,
            directory,
            stdin,
            capture,
            // `await: false` processes run on by design, after the task and after the run.
            detached: !capture,
        };
        // `launch` (with our copy of the stdin pipe's read end) is gone once this returns.
        let child = child::spawn(launch).map_err(|error| spawn_error(invocation, &error))?;
        Ok((child, feed))
    }

    async fn run_to_end(&self, request: ProcessRequest) -> Result<ProcessOutput, WorkflowError> {
        let invocation = self.invocation(&request);
        let (child, feed) = self.start(&request, &invocation, true)?;
        // From here on, dropping this future kills the process group.
        let mut guard = GroupGuard::new(child, self.kill_grace);
        feed.start();
        let Some(child) = guard.child() else {
            return Err(WorkflowError::new(
                ErrorKind::Runtime,
                "Process lost after start",
            ));
        };
        let tap = |stream| request.on_line.clone().map(|observer| (observer, stream));
        let stdout = read_capped(
            child.stdout.take(),
            self.output_cap,
            tap(crate::host::effects::process::OutputStream::Stdout),
        );
        let stderr = read_capped(
            child.stderr.take(),
            self.output_cap,
            tap(crate::host::effects::process::OutputStream::Stderr),
        );
        // All three at once: a child filling one pipe while we drain the other must not stall.
        let (status, stdout, stderr) = tokio::join!(child.wait(), stdout, stderr);
        guard.disarm();
        let status = status
            .map_err(|error| io_error("Could not wait for the process", &invocation, &error))?;
        let stdout = stdout
            .map_err(|error| io_error("Could not read the process output", &invocation, &error))?;
        let stderr = stderr
            .map_err(|error| io_error("Could not read the process output", &invocation, &error))?;
        Ok(ProcessOutput {
            code: exit_code(status),
            stdout: stdout.into_text(self.output_cap),
            stderr: stderr.into_text(self.output_cap),
        })
    }

    /// `await: false`: start the process and let it run on its own. Its output goes nowhere so
    /// it can never block on a full pipe; it is reaped in the background when it exits.
    fn start_detached(&self, request: ProcessRequest) -> Result<ProcessOutput, WorkflowError> {
        let invocation = self.invocation(&request);
        let (mut child, feed) = self.start(&request, &invocation, false)?;
        feed.start();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = child.wait().await;
            });
        }
        Ok(ProcessOutput::default())
    }
}

/// The exit code, or 128 + the signal number for a process killed by a signal, as shells report.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

fn program_name(program: &Path) -> String {
    program.display().to_string()
}

/// A failure to start: a missing or unusable interpreter is the machine's configuration.
fn spawn_error(invocation: &Invocation, error: &std::io::Error) -> WorkflowError {
    let name = program_name(&invocation.program);
    // A bare name is looked up on PATH; a path is used as given.
    let where_ = if invocation.program.components().count() > 1 {
        ""
    } else {
        " on PATH"
    };
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            WorkflowError::new(ErrorKind::Configuration, "Program not found").with_detail(format!(
                "`{name}` was not found{where_}: {}",
                invocation.install_hint
            ))
        }
        std::io::ErrorKind::PermissionDenied => {
            WorkflowError::new(ErrorKind::Configuration, "Program not executable")
                .with_detail(format!("`{name}` could not be executed: {error}"))
        }
        _ => io_error("Could not start the process", invocation, error),
    }
}

fn io_error(title: &str, invocation: &Invocation, error: &std::io::Error) -> WorkflowError {
    WorkflowError::new(ErrorKind::Runtime, title)
        .with_detail(format!("`{}`: {error}", program_name(&invocation.program)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use group::{pid_running, wait_until_gone};

    /// Generous bound for anything that should happen "soon" on a loaded 2-core machine.
    const SOON: Duration = Duration::from_secs(30);

    fn shell(command: &str) -> ProcessRequest {
        ProcessRequest {
            program: Program::Shell {
                command: command.to_string(),
            },
            arguments: Vec::new(),
            environment: Vec::new(),
            stdin: None,
            detach: false,
            on_line: None,
        }
    }

    fn script(language: ScriptLanguage, code: &str) -> ProcessRequest {
        ProcessRequest {
            program: Program::Script {
                language,
                code: code.to_string(),
            },
            ..shell("")
        }
    }

    async fn run(
        runner: &SystemProcesses,
        request: ProcessRequest,
    ) -> Result<ProcessOutput, WorkflowError> {
        tokio::time::timeout(Duration::from_secs(120), runner.run(request))
            .await
            .expect("the process run hung")
    }

    async fn run_ok(request: ProcessRequest) -> ProcessOutput {
        run(&SystemProcesses::default(), request).await.unwrap()
    }

    #[tokio::test]
    async fn captures_stdout_stderr_and_a_non_zero_code() {
        let output = run_ok(shell("echo out; echo err >&2; exit 3")).await;
        assert_eq!(
            output,
            ProcessOutput {
                code: 3,
                stdout: "out\n".into(),
                stderr: "err\n".into()
            }
        );
    }

    #[tokio::test]
    async fn the_line_observer_sees_lines_while_the_process_runs() {
        let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<String>();
        let mut request = shell("echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three");
        request.on_line = Some(crate::host::effects::process::LineObserver::new(
            move |stream, line| {
                let _ = sender.send(format!("{}:{line}", stream.name()));
            },
        ));
        let runner = SystemProcesses::default();
        let mut running = Box::pin(run(&runner, request));
        // The first line arrives while the process still sleeps.
        let first = tokio::select! {
            line = received.recv() => line,
            _ = &mut running => None,
        };
        assert_eq!(first.as_deref(), Some("stdout:one"));
        let output = running.await.unwrap();
        assert_eq!(output.stdout, "one\nthree\n", "the capture is unchanged");
        assert_eq!(output.stderr, "two\n");
        let mut rest = Vec::new();
        while let Ok(line) = received.try_recv() {
            rest.push(line);
        }
        assert_eq!(rest, ["stderr:two", "stdout:three"]);
    }

    #[tokio::test]
    async fn a_signal_death_reports_128_plus_the_signal() {
        let output = run_ok(shell("kill -9 $$")).await;
        assert_eq!(output.code, 128 + 9);
    }

    #[tokio::test]
    async fn environment_is_added_to_the_inherited_one() {
        let mut request = shell(r#"printf '%s|%s' "$GREETING" "$PATH""#);
        request.environment = vec![("GREETING".into(), "hello there".into())];
        let output = run_ok(request).await;
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(output.stdout, format!("hello there|{path}"));
    }

    #[tokio::test]
    async fn stdin_reaches_the_process_and_is_closed() {
        let mut request = shell("cat; echo '<eof>'");
        request.stdin = Some("line one\nline two".into());
        assert_eq!(run_ok(request).await.stdout, "line one\nline two<eof>\n");
    }

    #[tokio::test]
    async fn without_stdin_the_process_reads_end_of_input() {
        assert_eq!(run_ok(shell("cat; echo done")).await.stdout, "done\n");
    }

    #[tokio::test]
    async fn small_input_is_complete_before_the_child_reads() {
        // A non-blocking read at start-up, as node does: it must find all input and then EOF.
        let code = "import fcntl, os\nfcntl.fcntl(0, fcntl.F_SETFL, os.O_NONBLOCK)\nchunks = []\n\
                    while True:\n    chunk = os.read(0, 65536)\n    if not chunk: break\n    chunks.append(chunk)\n\
                    print(len(b''.join(chunks)))";
        let mut request = script(ScriptLanguage::Python, code);
        request.stdin = Some("y".repeat(30_000));
        let output = run_ok(request).await;
        assert_eq!(
            (output.code, output.stdout.as_str(), output.stderr.as_str()),
            (0, "30000\n", "")
        );
    }

    #[tokio::test]
    async fn megabytes_of_input_stream_through_while_output_is_read() {
        let input: String = (0..400_000).map(|line| format!("{line:09}\n")).collect();
        let mut request = shell("cat");
        request.stdin = Some(input.clone());
        let output = run_ok(request).await;
        assert_eq!(output.stdout.len(), 4_000_000);
        assert!(output.stdout == input);
    }

    #[tokio::test]
    async fn a_process_ignoring_a_large_stdin_does_not_stall_the_run() {
        let mut request = shell("echo ignored");
        request.stdin = Some("x".repeat(4 * 1024 * 1024));
        assert_eq!(
            run_ok(request).await,
            ProcessOutput {
                code: 0,
                stdout: "ignored\n".into(),
                stderr: String::new()
            }
        );
    }

    #[tokio::test]
    async fn arguments_arrive_verbatim_and_are_never_run_by_the_shell() {
        let directory = tempfile::tempdir().unwrap();
        let runner = SystemProcesses {
            working_directory: Some(directory.path().to_path_buf()),
            ..Default::default()
        };
        let arguments = vec![
            "$(touch pwned); rm -rf x".to_string(),
            "a  b".into(),
            "'q' \"d\"".into(),
            String::new(),
            "`touch pwned2`".into(),
        ];
        let mut request = shell(r#"printf '[%s]' "$@"; printf '%s' "$#""#);
        request.arguments = arguments.clone();
        let output = run(&runner, request).await.unwrap();
        let expected: String = arguments
            .iter()
            .map(|argument| format!("[{argument}]"))
            .collect();
        assert_eq!(output.stdout, format!("{expected}5"));
        assert!(!directory.path().join("pwned").exists());
        assert!(!directory.path().join("pwned2").exists());
    }

    #[tokio::test]
    async fn megabytes_on_both_streams_do_not_deadlock() {
        // Each stream alone is far beyond a pipe buffer, and the writes alternate, so reading one
        // stream to its end before the other would hang.
        let command = "for i in 1 2 3 4; do head -c 1000000 /dev/zero | tr '\\0' o; head -c 1000000 /dev/zero | tr '\\0' e >&2; done";
        let output = run_ok(shell(command)).await;
        assert_eq!(output.code, 0);
        assert_eq!(output.stdout.len(), 4_000_000);
        assert!(output.stdout.bytes().all(|byte| byte == b'o'));
        assert_eq!(output.stderr.len(), 4_000_000);
        assert!(output.stderr.bytes().all(|byte| byte == b'e'));
    }

    #[tokio::test]
    async fn the_output_cap_holds_and_the_child_still_finishes() {
        let runner = SystemProcesses {
            output_cap: 1000,
            ..Default::default()
        };
        let request = shell("head -c 3000000 /dev/zero | tr '\\0' a; echo small >&2; exit 4");
        let output = run(&runner, request).await.unwrap();
        assert_eq!(output.code, 4);
        let note = "\n[output truncated at 1000 bytes: 2999000 more bytes not kept]";
        assert_eq!(output.stdout, format!("{}{note}", "a".repeat(1000)));
        assert_eq!(output.stderr, "small\n");
    }

    #[tokio::test]
    async fn a_missing_interpreter_is_a_configuration_error_naming_what_to_install() {
        let runner = SystemProcesses {
            node: PathBuf::from("no-such-node-for-workflow"),
            ..Default::default()
        };
        let error = run(&runner, script(ScriptLanguage::JavaScript, "1"))
            .await
            .unwrap_err();
        assert_eq!(error.type_, ErrorKind::Configuration.type_uri());
        assert_eq!(error.status, 400);
        assert_eq!(
            error.detail.as_deref(),
            Some(
                "`no-such-node-for-workflow` was not found on PATH: install Node.js to run JavaScript scripts"
            )
        );

        let runner = SystemProcesses {
            python: PathBuf::from("/nonexistent/python3"),
            ..Default::default()
        };
        let error = run(&runner, script(ScriptLanguage::Python, "1"))
            .await
            .unwrap_err();
        assert_eq!(
            error.detail.as_deref(),
            Some("`/nonexistent/python3` was not found: install Python 3 to run Python scripts")
        );
    }

    #[tokio::test]
    async fn a_missing_working_directory_is_a_configuration_error() {
        let runner = SystemProcesses {
            working_directory: Some(PathBuf::from("/nonexistent/dir")),
            ..Default::default()
        };
        let error = run(&runner, shell("true")).await.unwrap_err();
        assert_eq!(error.type_, ErrorKind::Configuration.type_uri());
        assert_eq!(error.title.as_deref(), Some("Working directory not found"));
    }

    #[tokio::test]
    async fn python_scripts_get_stdin_arguments_and_environment() {
        let code = "import os, sys\nprint(sys.stdin.read().upper())\nprint(sys.argv[1:])\nprint(os.environ['FOO'])\nsys.exit(2)";
        let mut request = script(ScriptLanguage::Python, code);
        request.stdin = Some("hello workflow".into());
        request.arguments = vec!["one".into(), "--two".into(), "$(three)".into()];
        request.environment = vec![("FOO".into(), "bar".into())];
        let output = run_ok(request).await;
        assert_eq!(
            output,
            ProcessOutput {
                code: 2,
                stdout: "HELLO WORKFLOW\n['one', '--two', '$(three)']\nbar\n".into(),
                stderr: String::new()
            }
        );
    }

    fn node_available() -> bool {
        let found = std::process::Command::new("node")
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !found {
            println!("note: `node` is not installed; skipping the JavaScript test");
        }
        found
    }

    #[tokio::test]
    async fn javascript_modules_get_stdin_arguments_at_argv_2_and_environment() {
        if !node_available() {
            return;
        }
        // Shaped like the spec example run-script-with-stdin-and-arguments: an `import`, stdin read
        // through its file descriptor, the first argument destructured from `process.argv`.
        let code = "import { readFileSync } from 'node:fs';\n\
                    const input = readFileSync(process.stdin.fd, 'utf8');\n\
                    const [, , first, ...rest] = process.argv;\n\
                    console.log(JSON.stringify({ input, first, rest, foo: process.env.foo }));";
        let mut request = script(ScriptLanguage::JavaScript, code);
        request.stdin = Some("Hello Workflow".into());
        request.arguments = vec!["hello".into(), "--version".into(), "-e".into()];
        request.environment = vec![("foo".into(), "bar".into())];
        let output = run_ok(request).await;
        assert_eq!(output.stderr, "");
        assert_eq!(
            output.stdout,
            "{\"input\":\"Hello Workflow\",\"first\":\"hello\",\"rest\":[\"--version\",\"-e\"],\"foo\":\"bar\"}\n"
        );
        assert_eq!(output.code, 0);
    }

    /// Reads "LEADER CHILD" pids written by a test process, once both are there.
    async fn read_pids(path: &Path) -> (i32, i32) {
        let deadline = tokio::time::Instant::now() + SOON;
        loop {
            let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
            let pids: Vec<i32> = text
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect();
            if text.ends_with('\n') && pids.len() == 2 {
                return (pids[0], pids[1]);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the process never wrote its pids"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_process_ignoring_sigterm_and_its_child_die_when_the_run_is_dropped() {
        let directory = tempfile::tempdir().unwrap();
        let pid_file = directory.path().join("pids");
        let runner = SystemProcesses {
            kill_grace: Duration::from_millis(300),
            ..Default::default()
        };
        // SIGTERM is ignored by the shell and, inherited, by its `sleep` child.
        let mut request =
            shell(r#"trap '' TERM; sleep 300 & echo "$$ $!" > "$1"; wait; echo unreachable"#);
        request.arguments = vec![pid_file.display().to_string()];
        let mut running = runner.run(request);
        let pids = tokio::select! {
            result = &mut running => panic!("the process finished early: {result:?}"),
            pids = read_pids(&pid_file) => pids,
        };
        assert!(pid_running(pids.0) && pid_running(pids.1));
        // Dropped by a timeout, as the engine does for a task timeout.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), running)
                .await
                .is_err()
        );
        assert!(wait_until_gone(pids.0, SOON).await, "the shell survived");
        assert!(wait_until_gone(pids.1, SOON).await, "its child survived");
    }

    #[tokio::test]
    async fn a_well_behaved_process_dies_on_sigterm_without_waiting_for_the_grace() {
        let directory = tempfile::tempdir().unwrap();
        let pid_file = directory.path().join("pids");
        let runner = SystemProcesses {
            kill_grace: Duration::from_secs(3600),
            ..Default::default()
        };
        let mut request = shell(r#"sleep 300 & echo "$$ $!" > "$1"; wait"#);
        request.arguments = vec![pid_file.display().to_string()];
        let mut running = runner.run(request);
        let pids = tokio::select! {
            result = &mut running => panic!("the process finished early: {result:?}"),
            pids = read_pids(&pid_file) => pids,
        };
        drop(running);
        assert!(wait_until_gone(pids.0, SOON).await);
        assert!(wait_until_gone(pids.1, SOON).await);
    }

    #[tokio::test]
    async fn a_detached_process_returns_at_once_and_keeps_running() {
        let directory = tempfile::tempdir().unwrap();
        let (go, done) = (directory.path().join("go"), directory.path().join("done"));
        // It cannot finish before the test creates `go`, so returning proves we did not wait.
        let mut request = shell(
            r#"while [ ! -e "$1" ]; do sleep 0.02; done; cat > "$2"; echo noise; echo noise >&2"#,
        );
        request.arguments = vec![go.display().to_string(), done.display().to_string()];
        request.stdin = Some("fed".into());
        request.detach = true;
        assert_eq!(run_ok(request).await, ProcessOutput::default());
        assert!(!done.exists());
        std::fs::write(&go, "").unwrap();
        let deadline = tokio::time::Instant::now() + SOON;
        while std::fs::read_to_string(&done).unwrap_or_default() != "fed" {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the detached process did not finish"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_detached_missing_program_is_still_reported() {
        let runner = SystemProcesses {
            shell: PathBuf::from("no-such-shell-for-workflow"),
            ..Default::default()
        };
        let mut request = shell("true");
        request.detach = true;
        let error = run(&runner, request).await.unwrap_err();
        assert_eq!(error.type_, ErrorKind::Configuration.type_uri());
    }
}
