//! The command line, as clap sees it. Raw arguments only: each `command/` file turns its part into
//! checked settings and wires the stages together.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "workflow",
    version,
    about = "Validate, run and draw Serverless Workflow DSL 1.0 documents",
    propagate_version = true
)]
pub struct Cli {
    /// When to use colour: `auto` colours only a terminal and respects NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check documents (files, or directories searched for *.yaml, *.yml, *.json) and report every
    /// problem found, with its line and column.
    Validate(ValidateArgs),
    /// Run a workflow and print its output (exit 0 completed, 1 faulted, 3 invalid document,
    /// 130 cancelled).
    Run(RunArgs),
    /// Print the embedded JSON Schema of the DSL (for editors and other tools).
    Schema,
    /// Draw a workflow as a Mermaid flowchart (or Graphviz DOT) on stdout, or inject the Mermaid
    /// into a Markdown file between `<!-- workflow-graph:start -->` and `<!-- workflow-graph:end -->`.
    Graph(GraphArgs),
    /// Print a shell completion script, e.g. `workflow completions bash > ~/.local/share/bash-completion/completions/workflow`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, e.g. `workflow man > workflow.1`.
    Man,
    /// Write a commented starter workflow to FILE (default `workflow.yaml`) that validates and
    /// runs offline: a first look at the DSL.
    Init(InitArgs),
    /// List the runs recorded in the journal, or show one (`show`), print its events
    /// (`events`), show what its tasks printed (`logs`), or delete old ones (`prune`).
    Runs(RunsArgs),
    /// Continue a recorded run that was killed or cancelled, under the same id.
    ///
    /// Completed tasks are not run again: their recorded outputs are used. The task that was
    /// running when it stopped runs again from its start.
    Resume(ResumeArgs),
    /// Start a new run from a recorded one's failed task (or `--from TASK`), reusing the
    /// recorded outputs of everything that completed before it.
    Retry(RetryArgs),
    /// Work with CloudEvents on a broker: `send` publishes one by hand (to test a flow that
    /// listens).
    Events(EventsArgs),
    /// Run the documents submitted to a Temporal task queue (`workflow run FILE --temporal`):
    /// start as many workers, on as many machines, as the load needs.
    Worker(WorkerArgs),
    /// Cancel a running run: with `--temporal`, ask Temporal to cancel the execution; locally,
    /// signal the process the journal says runs it (it ends `cancelled`, as on Ctrl-C).
    Cancel(CancelArgs),
    /// Register a document's `schedule` (`every`, `cron`) as a Temporal Schedule that starts
    /// runs of it on the workers (`--delete` removes it); `after` and `on` need `serve`.
    Schedule(ScheduleArgs),
    /// Serve a directory of workflows: their schedules (`every`, `cron`, `after`, `on`), an
    /// HTTP API to start and watch runs, and a web UI, until SIGTERM.
    Serve(ServeArgs),
}

/// Where the Temporal server is, and which namespace and task queue a command uses.
#[derive(Debug, Clone, Args)]
pub struct TemporalArgs {
    /// Run on Temporal: the server's frontend, `HOST:PORT` (e.g. `127.0.0.1:7233`).
    #[arg(long = "temporal", value_name = "HOST:PORT")]
    pub address: Option<String>,

    /// The Temporal namespace.
    #[arg(
        long,
        value_name = "NS",
        default_value = "default",
        requires = "address"
    )]
    pub namespace: String,

    /// The task queue the workers poll.
    #[arg(
        long,
        value_name = "Q",
        default_value = "workflow",
        requires = "address"
    )]
    pub task_queue: String,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,

    /// Workflow tasks and processes this worker runs at once.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_concurrent: usize,

    /// Do not serve: fetch these runs' recorded histories and replay them with this build's
    /// workflow code; any nondeterminism fails the command (exit 1).
    #[arg(long, value_name = "RUN_ID", num_args = 1..)]
    pub replay: Vec<String>,

    /// A broker (as `run --broker`; repeatable): `emit` publishes there, and every event on it
    /// is signalled to the running runs for their `listen`s. Without one, emitted events only
    /// reach the listens of their own run.
    #[arg(long = "broker", value_name = "URL")]
    pub brokers: Vec<String>,

    /// Secret values for the documents that declare `use.secrets`, as `run --secrets` reads
    /// them (repeatable). They stay on this worker: never in Temporal's history, queries or
    /// logs; every worker of the task queue needs the same files.
    #[arg(long = "secrets", value_name = "FILE")]
    pub secrets: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The run: its id (locally, or a unique prefix of it).
    #[arg(value_name = "RUN_ID")]
    pub run: String,

    #[command(flatten)]
    pub temporal: TemporalArgs,

    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The document whose `schedule` to register.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Workflow input given to every scheduled run (inline JSON, `@PATH` or `-`).
    #[arg(long, value_name = "JSON|@PATH|-")]
    pub input: Option<String>,

    /// Remove the document's schedule instead.
    #[arg(long)]
    pub delete: bool,

    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The directory of workflows to serve (searched as `validate` searches a directory);
    /// changed files are loaded again without a restart.
    #[arg(long = "workflows", value_name = "DIR", required = true)]
    pub workflows: PathBuf,

    /// Where the API and the web UI listen. Anything but a loopback address needs a token.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// The bearer token every API request must carry (`Authorization: Bearer TOKEN`);
    /// required when listening on anything but loopback.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "WORKFLOW_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Where `emit` publishes and `listen` and `schedule.on` subscribe (as `run --broker`).
    #[arg(
        long = "broker",
        value_name = "URL",
        env = "WORKFLOW_BROKER",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub brokers: Vec<String>,

    /// Runs allowed to run at once; more are queued (recorded, and started in order).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_concurrent_runs: usize,

    /// After SIGTERM, how long running runs may take to end, in seconds; the rest are left
    /// to resume at the next start.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub grace: u64,

    /// Secret values, as `run --secrets` reads them (repeatable).
    #[arg(long = "secrets", value_name = "FILE")]
    pub secrets: Vec<PathBuf>,

    /// Task executions allowed per run before it faults.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_steps: u64,

    /// How often the workflows directory is looked at for changes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub reload_interval: u64,

    /// The time zone `schedule.cron` expressions are read in: an IANA name such as
    /// `Europe/Paris` (daylight saving included). Default: UTC.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub cron_timezone: String,

    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub action: EventsAction,
}

#[derive(Debug, Subcommand)]
pub enum EventsAction {
    /// Publish one CloudEvent (structured JSON) and wait for the broker's acknowledgement, or
    /// signal it to runs on Temporal (`--temporal`).
    Send(EventsSendArgs),
}

#[derive(Debug, Args)]
pub struct EventsSendArgs {
    /// The broker: `nats://host:port`, `mqtt://host:port` (`?version=5` for MQTT 5),
    /// `amqp://user:pass@host:port/vhost` or `http(s)://...` (POSTed in structured mode).
    /// Repeatable; `WORKFLOW_BROKER` may hold a comma-separated list.
    #[arg(
        long = "broker",
        value_name = "URL",
        env = "WORKFLOW_BROKER",
        value_delimiter = ',',
        hide_env_values = true,
        required_unless_present = "temporal"
    )]
    pub brokers: Vec<String>,

    /// Signal the event to runs on Temporal (the server's `HOST:PORT`) instead of publishing
    /// it (`--broker` is then not used): to the run `--workflow-id`, or to every running run
    /// (each keeps what its listens match).
    #[arg(long, value_name = "HOST:PORT")]
    pub temporal: Option<String>,

    /// With `--temporal`: the namespace.
    #[arg(
        long,
        value_name = "NS",
        default_value = "default",
        requires = "temporal"
    )]
    pub namespace: String,

    /// With `--temporal`: the run (its workflow id) to signal; every running run without it.
    #[arg(long, value_name = "ID", requires = "temporal")]
    pub workflow_id: Option<String>,

    /// A whole CloudEvent (JSON) from PATH, or `-` for stdin; the flags below override its
    /// attributes.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// The event's `type` (also its subject, topic or routing key).
    #[arg(long = "type", value_name = "TYPE")]
    pub type_: Option<String>,

    /// The event's `source` (default `/workflow/cli`).
    #[arg(long, value_name = "URI")]
    pub source: Option<String>,

    /// The event's `id` (default a new UUID).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// The event's `subject`.
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,

    /// The event's `data`: JSON (a value that is not JSON is sent as a string).
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,

    /// An extension attribute, `NAME=VALUE` (repeatable).
    #[arg(long = "ext", value_name = "NAME=VALUE")]
    pub extensions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run: its id or a unique prefix of it.
    #[arg(value_name = "RUN_ID")]
    pub run: String,

    /// Resume even though the document changed since the run started, or the process that
    /// recorded the run still seems to be alive.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The run: its id or a unique prefix of it.
    #[arg(value_name = "RUN_ID")]
    pub run: String,

    /// The task to start again from: a JSON pointer (`/do/2/load`) or a task name when only
    /// one task has it. Default: the task whose fault ended the run.
    #[arg(long, value_name = "TASK")]
    pub from: Option<String>,

    /// A new workflow input (inline JSON, `@PATH` or `-`) instead of the recorded one. The
    /// outputs reused from the recorded run stay those computed from the old input.
    #[arg(long, value_name = "JSON|@PATH|-")]
    pub input: Option<String>,

    #[command(flatten)]
    pub exec: ExecArgs,

    /// Retry a run on Temporal: a new execution of the document and input its history
    /// recorded (everything runs again; `--from` does not apply).
    #[command(flatten)]
    pub temporal: TemporalArgs,

    /// With `--temporal`: print `{"id":...,"status":"running"}` once the new run is started.
    #[arg(long, requires = "address")]
    pub detach: bool,
}

/// The options of `run` that `resume` and `retry` take too: how a run executes and reports.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// `human`: the output as pretty JSON on stdout, errors on stderr. `json`: exactly one JSON
    /// object on stdout with `id`, `status` and `output` or `error`. `github`: as `human`, and
    /// GitHub Actions annotations on stdout (before the output) for the document's warnings,
    /// the run's warnings and its fault, each at its task's line.
    #[arg(long, value_enum, default_value_t = ExecFormat::Human)]
    pub format: ExecFormat,

    /// Treat warnings as errors: a document with warnings is refused (exit 3, as an invalid
    /// one), and an undefined URI template variable faults its task instead of expanding to
    /// nothing.
    #[arg(long)]
    pub strict: bool,

    /// Write every lifecycle event to PATH, one CloudEvents JSON object per line; or, given a
    /// broker URL (`nats://...`, `mqtt://...`, `amqp://...`, `http(s)://...`), publish them there (type
    /// `io.serverlessworkflow.*`, in order, secrets masked).
    #[arg(long, value_name = "PATH|URL")]
    pub events: Option<PathBuf>,

    /// Read secret values from FILE: a JSON or YAML map of name → value, or a dotenv file of
    /// `NAME=value` lines (chosen by the extension `.json`, `.yaml`/`.yml` or `.env`, else by
    /// the content). Repeatable: later files win, and `WORKFLOW_SECRET_<NAME>` environment
    /// variables win over files. Secret values are masked as `***` in everything shown.
    #[arg(long = "secrets", value_name = "FILE")]
    pub secrets: Vec<PathBuf>,

    /// Task executions allowed before the run faults (guards against endless loops). Default
    /// 1,000,000 for a journaled run (each step is recorded: this bounds the journal a runaway
    /// `then` cycle writes), 10,000,000 with `--no-journal`.
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,

    /// What stderr shows while the workflow runs: `tty` a live tree of the tasks, `plain` one
    /// timestamped line per task start/end/retry/fault/skip (CI logs), `none` nothing; `auto`
    /// picks `tty` on a terminal and `plain` otherwise.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// Print only the result (stdout) and errors: no progress, no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Write a JUnit XML report to PATH: one test case per task execution, for CI test reporters.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,

    /// Also look for sub-workflows (`run: workflow`) in DIR, after the document's own directory
    /// and before `./workflows`. Repeatable; searched in the order given.
    #[arg(long = "workflows", value_name = "DIR")]
    pub workflows: Vec<PathBuf>,

    /// Where `emit` publishes and `listen` subscribes: `nats://host:port` (the event type is
    /// the subject; JetStream when the server has it), `mqtt://host:port` (MQTT 3.1.1;
    /// `?version=5` or `mqtt5://` for MQTT 5, `mqtts://` for TLS; the type with `.` as `/` is
    /// the topic), `amqp://user:pass@host:port/vhost` (a topic exchange, `cloudevents` unless
    /// `?exchange=NAME`, the type as routing key) or `http(s)://...` (emitted events are
    /// POSTed in structured mode). Repeatable: every broker gets every emitted event.
    /// `WORKFLOW_BROKER` may hold a comma-separated list. Without one, emitted events go to
    /// `K_SINK` when it is set, else only to the run's own `listen` tasks.
    #[arg(
        long = "broker",
        value_name = "URL",
        env = "WORKFLOW_BROKER",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub brokers: Vec<String>,

    /// Receive CloudEvents for `listen` over HTTP on ADDR (`HOST:PORT`, e.g. `127.0.0.1:8080`):
    /// POSTs in binary (`ce-` headers), structured or batch mode, answered `202` once every
    /// event is stored durably for the listens waiting for it (`503` when none waits, `400`
    /// for a malformed event). Give the same ADDR to `resume`.
    #[arg(long, value_name = "ADDR")]
    pub receive: Option<String>,

    /// Largest HTTP response body a call may receive, in bytes; a larger one fails the call
    /// with a `communication` error (it is never cut).
    #[arg(
        long,
        value_name = "BYTES",
        env = "WORKFLOW_MAX_RESPONSE_BYTES",
        default_value_t = crate::exec::http::HttpSettings::DEFAULT_MAX_RESPONSE_BYTES
    )]
    pub max_response_bytes: u64,

    /// Memory cap of the run, in MiB of the process's resident memory: an expression running
    /// while the process uses more is stopped and its task faults with a `runtime` error (a
    /// runaway `[range(1e9)]` instead of the machine's memory). 0 turns the cap off.
    #[arg(
        long,
        value_name = "MIB",
        env = "WORKFLOW_MAX_MEMORY",
        default_value_t = crate::expr::DEFAULT_MEMORY_CAP / (1024 * 1024)
    )]
    pub max_memory: u64,

    /// Longest an HTTP call may wait for the server to send anything (the response's headers,
    /// or the next piece of its body), in seconds; past it the call fails with a `timeout`
    /// error. `0` waits forever. A task's own `timeout` bounds the whole call as well.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "WORKFLOW_HTTP_TIMEOUT",
        default_value_t = crate::exec::http::HttpSettings::DEFAULT_IDLE_TIMEOUT_SECS
    )]
    pub http_timeout: u64,

    #[command(flatten)]
    pub state: StateArgs,
}

/// `--state-dir`: where the run journal lives.
#[derive(Debug, Clone, Default, Args)]
pub struct StateArgs {
    /// The directory holding the run journal (`journal.db`). Default: $WORKFLOW_STATE_DIR, else
    /// `.workflow` in the current directory.
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The workflow document to draw.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Output language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,

    /// Which way the flow runs: top-down or left-right.
    #[arg(long, value_enum, default_value_t = GraphDirection::Td, ignore_case = true)]
    pub direction: GraphDirection,

    /// Replace the region between the workflow-graph markers of this Markdown file with a fenced
    /// mermaid block (written atomically) instead of printing the graph.
    #[arg(long, value_name = "PATH")]
    pub inject: Option<PathBuf>,

    /// Colour the tasks by what happened to them in this recorded run (completed, faulted,
    /// skipped, not reached): an id or a unique prefix of one.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,

    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphDirection {
    #[value(name = "TD")]
    Td,
    #[value(name = "LR")]
    Lr,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it; `-` prints it on stdout.
    #[arg(value_name = "FILE", default_value = "workflow.yaml")]
    pub file: PathBuf,

    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files or directories to check.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format: `human` diagnostics on stderr, one `json` document on stdout, or `github`
    /// Actions annotations on stdout.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    pub format: ValidateFormat,

    /// Treat warnings as errors: a document with warnings counts as invalid (exit 3).
    #[arg(long)]
    pub strict: bool,

    /// In directories, check every *.yaml, *.yml and *.json file. By default a YAML file
    /// without a top-level `document` key (docker-compose.yml, Taskfile.yml, CI files) is
    /// skipped, and the skipped files are counted.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow document (YAML or JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The workflow input: inline JSON, `@PATH` (a JSON or YAML file), or `-` (stdin).
    /// Defaults to `{}`.
    #[arg(long, value_name = "JSON|@PATH|-")]
    pub input: Option<String>,

    #[command(flatten)]
    pub exec: ExecArgs,

    /// Check and compile the document, check the input against its schema, then print the plan
    /// (the tasks in the order they would run, with what is known statically) and stop: nothing
    /// is executed, no event or report file is written. `--format json` prints it as JSON.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not record the run in the journal (it cannot be resumed, retried or inspected).
    #[arg(long)]
    pub no_journal: bool,

    #[command(flatten)]
    pub temporal: TemporalArgs,

    /// With `--temporal`: print `{"id":...,"status":"running"}` once the run is started and
    /// return; the workers carry on.
    #[arg(long, requires = "address")]
    pub detach: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub action: Option<RunsAction>,

    /// Only runs with this status (listing only, like the options below).
    #[arg(long, value_enum)]
    pub status: Option<RunStatusArg>,

    /// Only runs of the workflow with this `document.name`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// At most this many runs, the most recent first (0: all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// `human`: a table on stdout. `json`: one JSON array of run objects.
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,

    #[command(flatten)]
    pub state: StateArgs,

    /// List the runs on Temporal (its visibility API) instead of the journal's.
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Subcommand)]
pub enum RunsAction {
    /// Show one run: its status, input, output or error, and the timeline of its tasks.
    Show(RunsShowArgs),
    /// Print a run's lifecycle events as CloudEvents, one JSON object per line (the same
    /// shape `run --events` writes).
    Events(RunsEventsArgs),
    /// Delete finished runs that ended longer ago than `--older-than` (running ones are kept).
    Prune(RunsPruneArgs),
    /// Print what a run's `run` tasks wrote to stdout and stderr, line by line, each line
    /// after its task's name (up to 1 MiB is kept per task execution).
    Logs(RunsLogsArgs),
}

#[derive(Debug, Args)]
pub struct RunsLogsArgs {
    /// The run: its id or a unique prefix of it.
    #[arg(value_name = "RUN_ID")]
    pub run: String,

    /// Only this task's lines: its name path (`each/say`, as the lines show it, a loop's
    /// iterations included), its JSON pointer, or a prefix of either followed by `/`.
    #[arg(value_name = "TASK")]
    pub task: Option<String>,

    /// Keep printing new lines while the run is going, until it ends.
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Print the lines as the tasks wrote them, escape codes and carriage returns included
    /// (by default they are removed so that a line cannot garble your terminal).
    #[arg(long)]
    pub raw: bool,

    /// A run on Temporal (its workers answer from the run's history).
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Args)]
pub struct RunsShowArgs {
    /// The run: its id or a unique prefix of it.
    #[arg(value_name = "RUN_ID")]
    pub run: String,

    /// `human`: a summary and a task table. `json`: one JSON object.
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,

    /// A run on Temporal (its workers answer from the run's history).
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Args)]
pub struct RunsEventsArgs {
    /// The run: its id or a unique prefix of it.
    #[arg(value_name = "RUN_ID")]
    pub run: String,

    /// A run on Temporal (its workers answer from the run's history).
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Args)]
pub struct RunsPruneArgs {
    /// An age: a number and a unit, `s`, `m`, `h` or `d` (e.g. `30d`, `12h`).
    #[arg(long, value_name = "AGE", required = true)]
    pub older_than: String,
}

/// `runs --status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunStatusArg {
    /// Running now: its process is alive.
    Running,
    /// Marked running, but its process is gone (killed, crashed): `workflow resume` continues it.
    Interrupted,
    /// Ended with an output.
    Completed,
    /// Ended with an error.
    Faulted,
    /// Stopped by Ctrl-C or SIGTERM.
    Cancelled,
}

/// `--progress`: what to show while the workflow runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// The live tree on a terminal, plain lines otherwise.
    Auto,
    /// Plain timestamped lines.
    Plain,
    /// The live tree.
    Tty,
    /// Nothing until the run ends.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    Human,
    Json,
}

/// `run --format` (and `resume`, `retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecFormat {
    Human,
    Json,
    Github,
}

impl ExecFormat {
    /// The format of what is not annotated: `github` prints as `human` does.
    pub fn base(self) -> RunFormat {
        match self {
            ExecFormat::Json => RunFormat::Json,
            ExecFormat::Human | ExecFormat::Github => RunFormat::Human,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Human,
    Json,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream, given whether it is a terminal. `NO_COLOR` (any non-empty value)
    /// turns colour off in `auto` mode.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        }
    }
}
