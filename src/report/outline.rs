//! What reporters know about a document's tasks before they run: for each task pointer, its kind
//! (`call http`, `for`, ...) and whether it iterates, so views can label rows and loops.

use std::collections::HashMap;

use crate::document::{Document, Task, TaskKind, TaskList};

/// Static facts about one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// `call http`, `run`, `for`, `set`, ...
    pub kind: String,
    /// The task repeats its body (`for`): its children are counted in iterations.
    pub loops: bool,
}

/// Every task of a document by JSON pointer. Optional for reporters: without it they infer
/// loops from tasks that start again, and show no kinds.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    tasks: HashMap<String, TaskInfo>,
}

impl Outline {
    pub fn from_document(document: &Document) -> Outline {
        let mut outline = Outline::default();
        outline.add_list(&document.do_);
        for function in &document.use_.functions {
            outline.add_task(function);
        }
        outline
    }

    fn add_list(&mut self, list: &TaskList) {
        for task in list {
            self.add_task(task);
        }
    }

    fn add_task(&mut self, task: &Task) {
        let kind = match &task.kind {
            TaskKind::Call(call) => format!("call {}", call.call_name()),
            other => other.type_name().to_string(),
        };
        let loops = matches!(task.kind, TaskKind::For(_));
        self.tasks
            .insert(task.pointer.clone(), TaskInfo { kind, loops });
        for list in task.child_lists() {
            self.add_list(list);
        }
    }

    /// Adds one task by hand (tests, and documents built without the parser).
    pub fn insert(&mut self, pointer: impl Into<String>, kind: impl Into<String>, loops: bool) {
        self.tasks.insert(
            pointer.into(),
            TaskInfo {
                kind: kind.into(),
                loops,
            },
        );
    }

    pub fn get(&self, pointer: &str) -> Option<&TaskInfo> {
        self.tasks.get(pointer)
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    #[test]
    fn nested_tasks_get_kinds_and_loops() {
        let text = "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: outline\n  version: '1.0.0'\ndo:\n  - each:\n      for:\n        in: ${ [1, 2] }\n      do:\n        - add:\n            set:\n              x: 1\n  - fetch:\n      call: http\n      with:\n        method: get\n        endpoint: http://127.0.0.1/\n";
        let checked = crate::frontend::check_source(Source::new("o.yaml", text));
        let document = checked.valid_document().expect("valid document");
        let outline = Outline::from_document(document);
        assert_eq!(outline.len(), 3);
        assert_eq!(
            outline.get("/do/0/each"),
            Some(&TaskInfo {
                kind: "for".into(),
                loops: true
            })
        );
        assert_eq!(
            outline.get("/do/0/each/do/0/add").map(|t| t.kind.as_str()),
            Some("set")
        );
        assert_eq!(
            outline.get("/do/1/fetch").map(|t| t.kind.as_str()),
            Some("call http")
        );
    }
}
