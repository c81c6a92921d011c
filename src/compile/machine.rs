//! The `Machine`: a compiled workflow, the engine's only input. Tasks and task lists live in
//! `Vec`s indexed by ids; flow directives are resolved to positions; expressions are compiled;
//! policies are plain data. Nothing in here is looked up by name at run time.

use std::sync::Arc;
use std::time::Duration;

use crate::document::ErrorFilter;
use crate::expr::{Expr, Template, Val};
use crate::host::effects::process::ScriptLanguage;

/// Index of a task in [`Machine::tasks`].
pub(crate) type TaskId = usize;
/// Index of a task list in [`Machine::blocks`].
pub(crate) type BlockId = usize;

/// A compiled workflow. Built once by [`crate::compile::compile`], shared (`Arc`) by every run.
#[derive(Debug)]
pub struct Machine {
    pub(crate) tasks: Vec<TaskNode>,
    pub(crate) blocks: Vec<Block>,
    pub(crate) workflow: WorkflowNode,
    /// Every `then: <name>` resolved, for readers of the document (the graph).
    pub(crate) targets: super::Targets,
}

impl Machine {
    /// The `then` targets the compiler resolved.
    pub fn targets(&self) -> &super::Targets {
        &self.targets
    }

    /// `document.name`.
    pub fn name(&self) -> &str {
        &self.workflow.name
    }

    /// `document.namespace`.
    pub fn namespace(&self) -> &str {
        &self.workflow.namespace
    }

    /// `document.version`.
    pub fn version(&self) -> &str {
        &self.workflow.version
    }

    /// The names declared in `use.secrets`, whose values the caller supplies.
    /// The compiled `schedule.on`, when the document has one.
    pub(crate) fn schedule_on(&self) -> Option<&super::ListenSpec> {
        self.workflow.schedule_on.as_ref()
    }

    pub fn secret_names(&self) -> &[String] {
        &self.workflow.secrets
    }

    /// Whether a task may make an HTTP request: `call: http`, `call: openapi`, `mcp`, `a2a`, or a function
    /// call (a catalog or URL function is only known once loaded, and loading one is itself a
    /// request).
    pub fn may_call_http(&self) -> bool {
        self.tasks.iter().any(|task| {
            matches!(
                task.body,
                Body::Http(_)
                    | Body::OpenApi(_)
                    | Body::Function(_)
                    | Body::Mcp(_)
                    | Body::A2a(_)
                    | Body::AsyncApi(_)
            )
        })
    }

    /// How many tasks the machine holds (every nesting level).
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    pub(crate) fn task(&self, id: TaskId) -> &TaskNode {
        &self.tasks[id]
    }

    pub(crate) fn block(&self, id: BlockId) -> &Block {
        &self.blocks[id]
    }
}

/// The workflow itself: identity, its data flow, timeout and the top-level task list.
#[derive(Debug)]
pub(crate) struct WorkflowNode {
    pub root: BlockId,
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// The whole document, for `$workflow.definition`.
    pub definition: Val,
    pub input_schema: Option<SchemaCheck>,
    pub input_from: Option<Transform>,
    pub output_as: Option<Transform>,
    pub output_schema: Option<SchemaCheck>,
    pub timeout: Option<TimeoutSpec>,
    pub secrets: Vec<String>,
    /// `schedule.on`: the events that start a run (their array is its input).
    pub schedule_on: Option<super::ListenSpec>,
}

/// One task list, in order. A `then: name` is already a position in `tasks`.
#[derive(Debug)]
pub(crate) struct Block {
    pub tasks: Vec<TaskId>,
}

/// One compiled task.
#[derive(Debug)]
pub(crate) struct TaskNode {
    pub name: Arc<str>,
    /// JSON pointer of the task (`/do/0/greet`): its reference, events and error instances.
    pub pointer: Arc<str>,
    /// Pointer of the task this one runs inside (`do`, `for`, `fork`, `try`, a function call);
    /// `None` at the top of its document. Lifecycle events carry it, so that their readers
    /// never guess nesting from pointers.
    pub parent: Option<Arc<str>>,
    /// The task's definition, converted once for `$task.definition`.
    pub definition: Val,
    /// Whether any expression of the task mentions `$task`: only then is it built at run time.
    pub uses_task_var: bool,
    pub flow: DataFlow,
    pub timeout: Option<TimeoutSpec>,
    pub then: Transition,
    pub body: Body,
}

/// Where to go after a task (or a switch case), resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    Continue,
    /// Complete the enclosing list.
    Exit,
    /// End the workflow with this output.
    End,
    /// Continue at this position of the same list.
    Goto(usize),
}

/// The data-flow stages of a task, in the order the engine applies them.
#[derive(Debug, Default)]
pub(crate) struct DataFlow {
    pub if_: Option<Compiled>,
    pub input_schema: Option<SchemaCheck>,
    pub input_from: Option<Transform>,
    pub output_as: Option<Transform>,
    pub output_schema: Option<SchemaCheck>,
    pub export_as: Option<Transform>,
    pub export_schema: Option<SchemaCheck>,
}

/// An always-expression field (decision 3), compiled, with the pointer of its field.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub expr: Expr,
    pub at: Arc<str>,
}

/// A value position (strict or loose mode), compiled, with the pointer of its field.
#[derive(Debug, Clone)]
pub(crate) struct Tmpl {
    pub template: Template,
    pub at: Arc<str>,
}

/// `input.from`, `output.as`, `export.as`: an expression or an object template.
#[derive(Debug, Clone)]
pub(crate) enum Transform {
    Expr(Compiled),
    Template(Tmpl),
}

/// A schema the data must satisfy at some stage.
#[derive(Debug)]
pub(crate) enum SchemaCheck {
    Json {
        validator: Arc<jsonschema::Validator>,
        at: Arc<str>,
    },
    /// A schema this runtime cannot check (external resource, non-JSON format): reaching it
    /// raises a `configuration` error with this message.
    Unsupported { message: String, at: Arc<str> },
}

/// A duration known at compile time, or an expression yielding an ISO 8601 string.
#[derive(Debug, Clone)]
pub(crate) enum DurationSpec {
    Fixed(Duration),
    Expr(Compiled),
}

#[derive(Debug, Clone)]
pub(crate) struct TimeoutSpec {
    pub after: DurationSpec,
}

/// What a task does.
#[derive(Debug)]
pub(crate) enum Body {
    /// The template's value replaces the output.
    Set(Tmpl),
    Do(BlockId),
    Switch(Vec<Case>),
    For(ForBody),
    Fork(ForkBody),
    Try(Box<TryBody>),
    Raise(ErrorSpec),
    Wait(DurationSpec),
    Emit(EmitSpec),
    Listen(Box<super::listen::ListenSpec>),
    Process(ProcessSpec),
    /// `call: http`.
    Http(Box<super::http::HttpSpec>),
    OpenApi(Box<super::openapi::OpenApiSpec>),
    /// `call: <function>`: a `use.functions` entry, a catalog reference or a URL.
    Function(Box<super::function::FunctionBody>),
    Container(Box<super::container::ContainerSpec>),
    Subflow(super::subflow::SubflowSpec),
    /// `call: grpc`.
    Grpc(Box<super::grpc::GrpcSpec>),
    AsyncApi(Box<super::asyncapi::AsyncApiSpec>),
    /// `call: mcp`.
    Mcp(Box<super::mcp::McpSpec>),
    /// `call: a2a`.
    A2a(Box<super::a2a::A2aSpec>),
    /// A task this runtime does not execute yet: raises a `configuration` error with this text.
    Unsupported(String),
}

#[derive(Debug)]
pub(crate) struct Case {
    /// `None` for the default case.
    pub when: Option<Compiled>,
    pub then: Transition,
}

/// `for`: the runtime pushes the item, then the index, onto the variable frame of the body.
#[derive(Debug)]
pub(crate) struct ForBody {
    pub in_: Compiled,
    pub while_: Option<Compiled>,
    pub body: BlockId,
}

/// `fork`: each task of `branches` is one concurrent branch.
#[derive(Debug)]
pub(crate) struct ForkBody {
    pub branches: BlockId,
    pub compete: bool,
}

#[derive(Debug)]
pub(crate) struct TryBody {
    pub body: BlockId,
    pub catch: CatchBody,
}

/// `catch`: the runtime pushes the caught error onto the variable frame for `when`,
/// `exceptWhen`, the retry policy's expressions and `do`.
#[derive(Debug)]
pub(crate) struct CatchBody {
    pub filter: Option<ErrorFilter>,
    pub when: Option<Compiled>,
    pub except_when: Option<Compiled>,
    pub retry: Option<RetrySpec>,
    pub do_: Option<BlockId>,
}

/// A retry policy as data (decision 6).
#[derive(Debug)]
pub(crate) struct RetrySpec {
    pub when: Option<Compiled>,
    pub except_when: Option<Compiled>,
    pub delay: Option<DurationSpec>,
    pub backoff: BackoffKind,
    pub jitter: Option<(DurationSpec, DurationSpec)>,
    /// Retries after the first attempt; `None`: no limit (the step budget still applies).
    pub max_retries: Option<u64>,
    pub attempt_duration: Option<DurationSpec>,
    pub total_duration: Option<DurationSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackoffKind {
    Constant,
    Linear,
    Exponential,
}

/// An error to raise; `instance` defaults to the raising task's pointer.
#[derive(Debug)]
pub(crate) struct ErrorSpec {
    pub type_: Tmpl,
    pub status: u16,
    pub title: Option<Tmpl>,
    pub detail: Option<Tmpl>,
    pub instance: Option<Tmpl>,
}

/// `emit.event.with`: every attribute evaluated at run time; `id` and `time` filled when absent.
#[derive(Debug)]
pub(crate) struct EmitSpec {
    pub id: Option<Tmpl>,
    pub source: Option<Tmpl>,
    pub type_: Option<Tmpl>,
    pub time: Option<Tmpl>,
    pub subject: Option<Tmpl>,
    pub datacontenttype: Option<Tmpl>,
    pub dataschema: Option<Tmpl>,
    pub data: Option<Tmpl>,
    pub extensions: Vec<(String, Tmpl)>,
}

/// `run: shell` and `run: script`, with every part still to evaluate.
#[derive(Debug)]
pub(crate) struct ProcessSpec {
    pub program: ProgramSpec,
    pub arguments: ArgumentsSpec,
    pub environment: Option<Tmpl>,
    pub stdin: Option<Tmpl>,
    pub await_: bool,
    pub return_: crate::document::ProcessReturn,
}

#[derive(Debug)]
pub(crate) enum ProgramSpec {
    Shell(Tmpl),
    Script {
        language: ScriptLanguage,
        code: ScriptCode,
    },
}

/// Where a script's code comes from.
#[derive(Debug)]
pub(crate) enum ScriptCode {
    /// `code`.
    Inline(String),
    /// `source`: loaded when the task runs.
    External(super::script::SourceSpec),
}

#[derive(Debug)]
pub(crate) enum ArgumentsSpec {
    None,
    /// The 1.0.3 argv list: one item each.
    List(Vec<Tmpl>),
    /// The 1.0.0 map: each entry becomes one `key=value` item, in document order.
    Map(Tmpl),
}
