//! The only code that touches the outside world. The engine evaluates every expression first and
//! hands executors plain requests; executors do the I/O and must be cancel-safe (dropping their
//! future stops the work: processes are killed, connections closed).

pub mod a2a;
pub mod asyncapi;
pub mod auth;
pub mod broker;
pub mod container;
pub mod events;
pub mod grpc;
pub mod http;
pub mod mcp;
pub mod process;
pub(crate) mod resource;

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::host::{Clock, Ids, Loader, RandomIds, TokioClock};
use crate::problem::WorkflowError;

/// The host a run is given: its effects (the executors), its clock, its ids and its loader,
/// and the configuration the engine would otherwise read from the environment. Tests swap in
/// scripted fakes for any part.
#[derive(Clone)]
pub struct Executors {
    pub processes: Arc<dyn ProcessRunner>,
    pub http: Arc<dyn http::HttpClient>,
    pub grpc: Arc<dyn grpc::GrpcClient>,
    pub mcp: Arc<dyn mcp::McpClient>,
    pub a2a: Arc<dyn a2a::A2aClient>,
    /// `call: asyncapi`: plain messages to and from the brokers an AsyncAPI document names.
    pub asyncapi: Arc<dyn asyncapi::AsyncApiClient>,
    /// Where `emit` publishes and `listen` subscribes: the brokers of `--broker`, or an
    /// in-process bus between the tasks of the run.
    pub events: Arc<dyn events::EventBus>,
    /// Time and timers: `wait`, retry backoff, timeouts, timestamps.
    pub clock: Arc<dyn Clock>,
    /// Run and event ids, retry jitter.
    pub ids: Arc<dyn Ids>,
    /// Sub-workflows, function definitions and external resources.
    pub loader: Arc<dyn Loader>,
    /// The container engine asked for (`WORKFLOW_CONTAINER_ENGINE`), probed on first use.
    pub container_engine: Option<String>,
}

impl Executors {
    /// The real executors of this machine.
    pub fn system() -> Self {
        Self::system_with(http::HttpSettings::default())
    }

    /// The real executors, the HTTP client configured by `http`.
    pub fn system_with(http: http::HttpSettings) -> Self {
        let processes = process::SystemProcesses::default();
        let http = http::ReqwestHttp::new(http);
        Executors {
            processes: Arc::new(processes.clone()),
            grpc: grpc::system(),
            mcp: Arc::new(mcp::RmcpClient::new(processes, http.clone())),
            a2a: Arc::new(a2a::JsonRpcA2a::new(Arc::new(http.clone()))),
            asyncapi: Arc::new(asyncapi::SystemAsyncApi::new(http.clone())),
            http: Arc::new(http),
            events: Arc::new(events::InProcessBus::default()),
            clock: Arc::new(TokioClock),
            ids: Arc::new(RandomIds),
            loader: Arc::new(crate::loader::LocalLoader::default()),
            container_engine: container::configured_engine(),
        }
    }
}

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
