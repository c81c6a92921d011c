//! `run` tasks: containers, scripts, shell commands and sub-workflows, and what they return.

use serde::Serialize;

use super::common::{StringOrExpr, ValueTemplate};
use super::duration::Duration;
use super::policy::ExternalResource;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunTask {
    /// `await`, true when absent: wait for the process to finish.
    pub await_: bool,
    /// `return`, stdout when absent.
    pub return_: ProcessReturn,
    pub process: Process,
}

/// What a run task outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum ProcessReturn {
    #[default]
    Stdout,
    Stderr,
    Code,
    /// `{ code, stdout, stderr }`.
    All,
    /// `null`.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Process {
    Container(ContainerProcess),
    Script(ScriptProcess),
    Shell(ShellProcess),
    Workflow(WorkflowProcess),
}

/// Process arguments: the 1.0.3 argv list, or the 1.0.0 map of named arguments
/// (CHECKLIST decision 2). Each item may be an expression; it stays one argv item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Arguments {
    List(Vec<StringOrExpr>),
    Map(ValueTemplate),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShellProcess {
    pub command: StringOrExpr,
    pub arguments: Option<Arguments>,
    pub environment: Option<ValueTemplate>,
    pub stdin: Option<StringOrExpr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptProcess {
    /// As written: `js`/`javascript` or `python`.
    pub language: String,
    pub source: ScriptSource,
    pub arguments: Option<Arguments>,
    pub environment: Option<ValueTemplate>,
    pub stdin: Option<StringOrExpr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ScriptSource {
    /// `code`: the script text.
    Inline(String),
    /// `source`: where to load it from.
    External(ExternalResource),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerProcess {
    pub image: String,
    /// Usually an expression (`${ "hello-\(.x)" }`).
    pub name: Option<StringOrExpr>,
    pub command: Option<StringOrExpr>,
    pub ports: Option<ValueTemplate>,
    pub volumes: Option<ValueTemplate>,
    pub environment: Option<ValueTemplate>,
    pub stdin: Option<StringOrExpr>,
    pub arguments: Option<Arguments>,
    pub lifetime: Option<ContainerLifetime>,
    pub pull_policy: PullPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerLifetime {
    pub cleanup: Cleanup,
    /// Present exactly when `cleanup` is `eventually`.
    pub after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Cleanup {
    Always,
    #[default]
    Never,
    Eventually,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum PullPolicy {
    #[default]
    IfNotPresent,
    Always,
    Never,
}

/// A child workflow, found by namespace, name and version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowProcess {
    pub namespace: String,
    pub name: String,
    /// Required by the schema; the prose's default is `latest`.
    pub version: String,
    pub input: Option<ValueTemplate>,
}
