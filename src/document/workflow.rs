//! The document root: metadata, reusable components (`use`), schedule, evaluation settings, and
//! a depth-first visitor over every task.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::AuthenticationPolicy;
use super::common::{Named, find_named};
use super::duration::Duration;
use super::event::{ConsumptionStrategy, Extension};
use super::policy::{Endpoint, ErrorDef, Input, Output, RetryPolicy, Timeout, TimeoutRef};
use super::task::{Task, TaskList};

/// A typed DSL 1.0 workflow document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub meta: DocumentMeta,
    pub input: Option<Input>,
    pub use_: Use,
    pub do_: TaskList,
    pub timeout: Option<TimeoutRef>,
    pub output: Option<Output>,
    pub schedule: Option<Schedule>,
    pub evaluate: Option<Evaluate>,
    /// The whole document as JSON, exposed at run time as `$workflow.definition`.
    #[serde(skip)]
    pub raw: Arc<Value>,
}

/// `document`: who the workflow is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentMeta {
    /// As written; 1.0.x and 1.0.0-alphaN are accepted (the analyzer checks).
    pub dsl: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub tags: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
}

/// `use`: reusable components, each list in document order.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Use {
    pub authentications: Vec<Named<AuthenticationPolicy>>,
    pub errors: Vec<Named<ErrorDef>>,
    pub extensions: Vec<Extension>,
    /// Each function is a task named after its key, pointer `/use/functions/<name>`.
    pub functions: Vec<Task>,
    pub retries: Vec<Named<RetryPolicy>>,
    pub secrets: Vec<Secret>,
    pub timeouts: Vec<Named<Timeout>>,
    pub catalogs: Vec<Named<Catalog>>,
}

impl Use {
    pub fn authentication(&self, name: &str) -> Option<&Named<AuthenticationPolicy>> {
        find_named(&self.authentications, name)
    }

    pub fn error(&self, name: &str) -> Option<&Named<ErrorDef>> {
        find_named(&self.errors, name)
    }

    pub fn function(&self, name: &str) -> Option<&Task> {
        self.functions.iter().find(|task| task.name == name)
    }

    pub fn retry(&self, name: &str) -> Option<&Named<RetryPolicy>> {
        find_named(&self.retries, name)
    }

    pub fn timeout(&self, name: &str) -> Option<&Named<Timeout>> {
        find_named(&self.timeouts, name)
    }

    pub fn catalog(&self, name: &str) -> Option<&Named<Catalog>> {
        find_named(&self.catalogs, name)
    }

    pub fn has_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|secret| secret.name == name)
    }
}

/// One name of `use.secrets`; the value comes from the runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Secret {
    pub name: String,
    pub pointer: String,
}

/// A `use.catalogs` entry: the root of a function catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub endpoint: Endpoint,
}

/// `schedule`: when to start new instances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub every: Option<Duration>,
    pub cron: Option<String>,
    pub after: Option<Duration>,
    pub on: Option<ConsumptionStrategy>,
    pub pointer: String,
}

/// `evaluate`: expression language and mode (documented in prose, absent from the schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluate {
    /// `jq` when absent.
    pub language: String,
    pub mode: EvaluateMode,
    pub pointer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum EvaluateMode {
    /// Only `${ }` strings are expressions (the default).
    #[default]
    Strict,
    /// Every string is tried as an expression, kept as is when evaluation fails.
    Loose,
}

/// One task met by [`Document::tasks`].
#[derive(Debug, Clone, Copy)]
pub struct TaskVisit<'a> {
    pub task: &'a Task,
    /// The list holding the task; `None` for `use.functions` entries.
    pub parent: Option<&'a TaskList>,
    /// Nesting depth: 0 for tasks of a top-level list (`/do`, extension lists, functions).
    pub depth: usize,
}

impl Document {
    /// Every task of the document, depth-first in document order: the top-level `do`, then
    /// `use.functions` bodies, then extension `before`/`after` lists, each with nested lists.
    pub fn tasks(&self) -> Vec<TaskVisit<'_>> {
        let mut out = Vec::new();
        visit_list(&self.do_, 0, &mut out);
        for function in &self.use_.functions {
            visit_task(function, None, 0, &mut out);
        }
        for extension in &self.use_.extensions {
            for list in extension.before.iter().chain(extension.after.iter()) {
                visit_list(list, 0, &mut out);
            }
        }
        out
    }

    /// Every task list of the document (top-level, nested, function bodies, extensions).
    pub fn task_lists(&self) -> Vec<&TaskList> {
        let mut lists = vec![&self.do_];
        for extension in &self.use_.extensions {
            lists.extend(extension.before.iter().chain(extension.after.iter()));
        }
        for visit in self.tasks() {
            lists.extend(visit.task.child_lists());
        }
        lists
    }
}

fn visit_list<'a>(list: &'a TaskList, depth: usize, out: &mut Vec<TaskVisit<'a>>) {
    for task in list {
        visit_task(task, Some(list), depth, out);
    }
}

fn visit_task<'a>(
    task: &'a Task,
    parent: Option<&'a TaskList>,
    depth: usize,
    out: &mut Vec<TaskVisit<'a>>,
) {
    out.push(TaskVisit {
        task,
        parent,
        depth,
    });
    for list in task.child_lists() {
        visit_list(list, depth + 1, out);
    }
}
