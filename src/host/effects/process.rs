//! Processes as the engine asks its host for them: a fully evaluated `ProcessRequest` (program,
//! argv, environment, stdin) and the `ProcessOutput` it left. The local host starts real
//! processes (`exec::process`); a Temporal worker runs each as an activity.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::problem::WorkflowError;

/// What program a `run` task starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// `sh -c COMMAND sh ARG...`: arguments are `$1`, `$2`, ... never spliced into the command.
    Shell { command: String },
    /// Inline code for an interpreter.
    Script {
        language: ScriptLanguage,
        code: String,
    },
    /// `program ARG...` started directly, no shell: the request's `arguments` are its argv
    /// (a container engine's command line, its `--version` probe).
    Exec { program: PathBuf },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptLanguage {
    JavaScript,
    Python,
}

/// A fully evaluated process to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRequest {
    pub program: Program,
    /// Separate argv items.
    pub arguments: Vec<String>,
    /// Added to (not replacing) the runner's environment.
    pub environment: Vec<(String, String)>,
    pub stdin: Option<String>,
    /// Start it and return at once (`await: false`); the process is left running.
    pub detach: bool,
    /// Told every output line while the process runs (for logs and live views). It does not
    /// change what runs or what is captured.
    pub on_line: Option<LineObserver>,
}

/// Which of a process's output streams a line came from, or `Warning` for a line the runner
/// itself adds to the task's log (an undefined URI template variable): kept and shown with the
/// task's output, marked as the runner's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    Stdout,
    Stderr,
    Warning,
}

impl OutputStream {
    /// `stdout` or `stderr`.
    pub fn name(self) -> &'static str {
        match self {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
            OutputStream::Warning => "warning",
        }
    }
}

/// Receives every line of a running process's stdout and stderr, in order per stream, as it
/// arrives (a line longer than the executor's line cap comes in pieces). The text is what the
/// child wrote, control characters included: whoever draws it sanitises it. Two observers are
/// equal only when they are the same closure; `Debug` does not show it.
#[derive(Clone)]
pub struct LineObserver(Arc<LineCallback>);

/// What a [`LineObserver`] calls for each line.
type LineCallback = dyn Fn(OutputStream, &str) + Send + Sync;

impl LineObserver {
    pub fn new(observer: impl Fn(OutputStream, &str) + Send + Sync + 'static) -> Self {
        LineObserver(Arc::new(observer))
    }

    pub fn call(&self, stream: OutputStream, line: &str) {
        (self.0)(stream, line);
    }
}

impl PartialEq for LineObserver {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LineObserver {}

impl std::fmt::Debug for LineObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineObserver")
    }
}

/// What a finished process left behind. Output beyond the runner's cap is cut and marked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessOutput {
    /// The exit code; a process killed by a signal reports 128 + the signal number.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Starts processes.
pub trait ProcessRunner: Send + Sync {
    /// Runs the request to completion (or, when `detach`, only starts it and returns an empty
    /// output). Failing to start (missing interpreter, bad working directory) is a
    /// `configuration` or `runtime` error; a non-zero exit is NOT an error here: the engine
    /// decides from the task's `return` mode.
    fn run(
        &self,
        request: ProcessRequest,
    ) -> BoxFuture<'static, Result<ProcessOutput, WorkflowError>>;
}
