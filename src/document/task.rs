//! Tasks: task lists, the properties every task shares, and the composite and simple task types
//! (do, fork, emit, for, listen, raise, set, switch, try, wait; call and run have their files).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::call::CallTask;
use super::common::{Expression, ValueTemplate};
use super::duration::Duration;
use super::event::{ConsumptionStrategy, EventProperties, ListenRead, SubscriptionIterator};
use super::names::NameIndex;
use super::policy::{
    ErrorFilter, ErrorRef, Export, FlowDirective, Input, Output, RetryRef, TimeoutRef,
};
use super::run::RunTask;

/// An ordered list of named tasks (`- name: {task}`); names are unique only within one list.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TaskList {
    pub tasks: Vec<Task>,
    /// Pointer of the array (`/do`, `/do/1/tryIt/try`).
    pub pointer: String,
    /// Finds tasks by name; built on first use (see [`NameIndex`]).
    #[serde(skip)]
    pub names: NameIndex,
}

impl TaskList {
    pub fn new(tasks: Vec<Task>, pointer: impl Into<String>) -> Self {
        TaskList {
            tasks,
            pointer: pointer.into(),
            names: NameIndex::default(),
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Task> {
        self.tasks.iter()
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Position of the first task called `name` (the target of `then: name`).
    pub fn position(&self, name: &str) -> Option<usize> {
        let name_at = |i: usize| self.tasks.get(i).map(|task| task.name.as_str());
        self.names.position(self.tasks.len(), name_at, name)
    }

    pub fn find(&self, name: &str) -> Option<&Task> {
        self.tasks.get(self.position(name)?)
    }
}

impl<'a> IntoIterator for &'a TaskList {
    type Item = &'a Task;
    type IntoIter = std::slice::Iter<'a, Task>;

    fn into_iter(self) -> Self::IntoIter {
        self.tasks.iter()
    }
}

/// One named task, with where it sits in the document and its raw definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub name: String,
    /// Pointer of the task's value (`/do/0/getPet`, `/use/functions/getPetById`).
    pub pointer: String,
    /// The task's JSON definition, exposed at run time as `$task.definition`; `null` when no
    /// expression of the task (nested tasks included) mentions `$task`. A copy for every task
    /// was most of a large document's memory, and each level of nesting copied its tasks again.
    #[serde(skip)]
    pub raw: Arc<Value>,
    pub common: TaskCommon,
    pub kind: TaskKind,
}

impl Task {
    /// The task lists nested directly inside this task (do, fork branches, for, try, catch,
    /// foreach of a listen or subscription), in document order.
    pub fn child_lists(&self) -> Vec<&TaskList> {
        let mut lists = Vec::new();
        match &self.kind {
            TaskKind::Do(task) => lists.push(&task.do_),
            TaskKind::Fork(task) => lists.push(&task.branches),
            TaskKind::For(task) => lists.push(&task.do_),
            TaskKind::Try(task) => {
                lists.push(&task.try_);
                lists.extend(task.catch.do_.as_ref());
            }
            TaskKind::Listen(task) => {
                lists.extend(task.foreach.as_ref().and_then(|f| f.do_.as_ref()));
            }
            TaskKind::Call(CallTask::AsyncApi(call)) => {
                let foreach = call.subscription.as_ref().and_then(|s| s.foreach.as_ref());
                lists.extend(foreach.and_then(|f| f.do_.as_ref()));
            }
            TaskKind::Call(_)
            | TaskKind::Emit(_)
            | TaskKind::Raise(_)
            | TaskKind::Run(_)
            | TaskKind::Set(_)
            | TaskKind::Switch(_)
            | TaskKind::Wait(_) => {}
        }
        lists
    }
}

/// Whether a task definition may read `$task` (a `$task` not followed by a name character in
/// any string of it): then its definition is kept for `$task.definition`.
pub fn mentions_task_var(value: &Value) -> bool {
    match value {
        Value::String(text) => text.match_indices("$task").any(|(at, name)| {
            let next = text[at + name.len()..].chars().next();
            !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        }),
        Value::Array(items) => items.iter().any(mentions_task_var),
        Value::Object(map) => map.values().any(mentions_task_var),
        _ => false,
    }
}

/// Properties every task may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TaskCommon {
    /// `if`: run the task only when true (evaluated on the raw task input).
    pub if_: Option<Expression>,
    pub input: Option<Box<Input>>,
    pub output: Option<Box<Output>>,
    pub export: Option<Box<Export>>,
    pub timeout: Option<TimeoutRef>,
    /// `then`, `Continue` when absent.
    pub then: FlowDirective,
    pub metadata: Option<serde_json::Map<String, Value>>,
}

/// The kinds larger than a few hundred bytes are boxed (see [`CallTask`]): a task is as large
/// as its largest kind, and a document may hold hundreds of thousands of tasks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TaskKind {
    Call(CallTask),
    Do(DoTask),
    Fork(ForkTask),
    Emit(Box<EmitTask>),
    For(ForTask),
    Listen(Box<ListenTask>),
    Raise(RaiseTask),
    Run(Box<RunTask>),
    Set(SetTask),
    Switch(SwitchTask),
    Try(Box<TryTask>),
    Wait(WaitTask),
}

impl TaskKind {
    /// The key that names the task type (`call`, `do`, ...), as in extension `extend` values.
    pub fn type_name(&self) -> &'static str {
        match self {
            TaskKind::Call(_) => "call",
            TaskKind::Do(_) => "do",
            TaskKind::Fork(_) => "fork",
            TaskKind::Emit(_) => "emit",
            TaskKind::For(_) => "for",
            TaskKind::Listen(_) => "listen",
            TaskKind::Raise(_) => "raise",
            TaskKind::Run(_) => "run",
            TaskKind::Set(_) => "set",
            TaskKind::Switch(_) => "switch",
            TaskKind::Try(_) => "try",
            TaskKind::Wait(_) => "wait",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoTask {
    pub do_: TaskList,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForkTask {
    /// Each entry is one concurrent branch.
    pub branches: TaskList,
    pub compete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmitTask {
    /// `emit.event.with`.
    pub event: EventProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForTask {
    /// Item variable name, `item` when absent.
    pub each: String,
    pub in_: Expression,
    /// Index variable name, `index` when absent.
    pub at: String,
    /// `while`: keep iterating while true.
    pub while_: Option<Expression>,
    pub do_: TaskList,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListenTask {
    pub to: ConsumptionStrategy,
    pub read: ListenRead,
    pub foreach: Option<SubscriptionIterator>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaiseTask {
    pub error: ErrorRef,
}

/// `set`: an object whose leaves may be expressions, or ([main]) one expression string.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetTask {
    pub value: ValueTemplate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwitchTask {
    pub cases: Vec<SwitchCase>,
}

/// One `caseName: { when?, then }`; a case without `when` is the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchCase {
    pub name: String,
    pub when: Option<Expression>,
    pub then: FlowDirective,
    /// Pointer of the case's value (`/do/0/route/switch/1/blue`).
    pub pointer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TryTask {
    pub try_: TaskList,
    pub catch: Catch,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catch {
    /// `errors.with`; `None` catches every error.
    pub errors: Option<ErrorFilter>,
    /// Error variable name; `error` when absent (see [`Catch::variable`]).
    pub as_: Option<String>,
    pub when: Option<Expression>,
    pub except_when: Option<Expression>,
    pub retry: Option<RetryRef>,
    pub do_: Option<TaskList>,
    pub pointer: String,
}

impl Catch {
    /// The name the caught error is bound to (`$error` by default).
    pub fn variable(&self) -> &str {
        self.as_.as_deref().unwrap_or("error")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitTask {
    pub duration: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document may hold hundreds of thousands of tasks: a task must stay small whatever its
    /// kind (large kinds are boxed). It weighed 7.8 KB when they were inline.
    #[test]
    fn task_var_mentions_respect_word_boundaries() {
        use serde_json::json;
        assert!(mentions_task_var(&json!({"set": {"a": "${ $task.name }"}})));
        assert!(mentions_task_var(&json!(["x", {"b": ["${$task}"]}])));
        assert!(!mentions_task_var(&json!({"set": {"a": "${ $tasks }"}})));
        assert!(!mentions_task_var(&json!({"set": {"a": "${ .task }"}})));
    }

    #[test]
    fn a_task_stays_small() {
        assert!(
            std::mem::size_of::<Task>() <= 768,
            "{}",
            std::mem::size_of::<Task>()
        );
        assert!(std::mem::size_of::<TaskKind>() <= 320);
    }
}
