//! Where a JSON pointer lands in a workflow, in words: the innermost task around it (name and
//! kind) and the path from that task, so messages read "`with.endpoint` in http call `getPet`".

use serde_json::Value;

use crate::pointer;

/// The kind keys of a task, in the order the DSL reference lists them.
pub(crate) const TASK_KINDS: [&str; 12] = [
    "call", "do", "emit", "for", "fork", "listen", "raise", "run", "set", "switch", "try", "wait",
];

/// Calls with a built-in protocol; any other `call` value names a custom function.
const BUILTIN_CALLS: [&str; 6] = ["http", "grpc", "openapi", "asyncapi", "a2a", "mcp"];

/// The task enclosing a place (possibly the place itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskRef {
    pub name: String,
    pub pointer: String,
    /// "http call", "set task", "function call", or "task" when the kind is unclear.
    pub label: String,
}

/// A place in the document described relative to its innermost task.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub task: Option<TaskRef>,
    /// Steps from the task (or the root): the key or index, and whether it indexes a list.
    rel: Vec<(String, bool)>,
}

/// What kind of node the walk is in, to know where task lists and tasks are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Node {
    Workflow,
    Use,
    Functions,
    Extensions,
    ExtensionItem,
    Extension,
    TaskList,
    TaskItem,
    Task,
    Fork,
    Catch,
    Iterator,
    CallWith,
    Subscription,
    Other,
}

/// The kind keys present in a task (a `do` beside `for` is the loop body, not a kind).
pub(crate) fn kinds_present(task: &Value) -> Vec<&'static str> {
    let Some(map) = task.as_object() else {
        return Vec::new();
    };
    let has_for = map.contains_key("for");
    TASK_KINDS
        .iter()
        .copied()
        .filter(|kind| map.contains_key(*kind) && !(*kind == "do" && has_for))
        .collect()
}

/// "http call", "function call", "set task", ... from a task's content.
pub(crate) fn task_label(task: &Value) -> String {
    match kinds_present(task).as_slice() {
        ["call"] => match task.get("call").and_then(Value::as_str) {
            Some(protocol) if BUILTIN_CALLS.contains(&protocol) => format!("{protocol} call"),
            Some(_) => "function call".to_string(),
            None => "call task".to_string(),
        },
        [kind] => format!("{kind} task"),
        _ => "task".to_string(),
    }
}

impl Place {
    /// Describes `at` (a JSON pointer into `document`).
    pub(crate) fn of(document: &Value, at: &str) -> Place {
        let mut place = Place {
            task: None,
            rel: Vec::new(),
        };
        let mut node = Node::Workflow;
        let mut value = Some(document);
        let mut here = String::new();
        for token in pointer::tokens(at) {
            let is_index = value.is_some_and(Value::is_array);
            here = if is_index {
                format!("{here}/{token}")
            } else {
                pointer::join(&here, &token)
            };
            value = value.and_then(|v| match v {
                Value::Object(map) => map.get(&token),
                Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            });
            node = step(node, &token);
            if node == Node::Task {
                let label = value.map_or_else(|| "task".to_string(), task_label);
                place.task = Some(TaskRef {
                    name: token.clone(),
                    pointer: here.clone(),
                    label,
                });
                place.rel.clear();
            } else {
                place.rel.push((token, is_index));
            }
        }
        place
    }

    /// The path from the task (or the root) as written in YAML terms: `with.endpoint`, `switch[0]`.
    pub(crate) fn path(&self) -> String {
        let mut out = String::new();
        for (i, (token, is_index)) in self.rel.iter().enumerate() {
            if *is_index {
                out.push_str(&format!("[{token}]"));
            } else {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(token);
            }
        }
        out
    }

    /// Names the value at this place: "http call `getPet`", "`with.method` in http call `getPet`",
    /// "`document.name`", "the workflow".
    pub(crate) fn value_subject(&self) -> String {
        let path = self.path();
        match (&self.task, path.is_empty()) {
            (Some(task), true) => format!("{} `{}`", task.label, task.name),
            (Some(task), false) => format!("`{path}` in {} `{}`", task.label, task.name),
            (None, true) => "the workflow".to_string(),
            (None, false) => format!("`{path}`"),
        }
    }

    /// Names an object at this place. A call's `with` mapping holds the call's own arguments,
    /// so it is named after the call: "unknown property `endpont` in http call `getPet`".
    pub(crate) fn object_subject(&self) -> String {
        match (&self.task, self.rel.as_slice()) {
            (Some(task), [(key, false)]) if key == "with" => {
                format!("{} `{}`", task.label, task.name)
            }
            _ => self.value_subject(),
        }
    }
}

/// One step of the walk: which node a key or index leads to.
fn step(node: Node, token: &str) -> Node {
    match (node, token) {
        (Node::Workflow, "do") => Node::TaskList,
        (Node::Workflow, "use") => Node::Use,
        (Node::Use, "functions") => Node::Functions,
        (Node::Use, "extensions") => Node::Extensions,
        (Node::Functions, _) => Node::Task,
        (Node::Extensions, _) => Node::ExtensionItem,
        (Node::ExtensionItem, _) => Node::Extension,
        (Node::Extension, "before" | "after") => Node::TaskList,
        (Node::TaskList, _) => Node::TaskItem,
        (Node::TaskItem, _) => Node::Task,
        (Node::Task, "do" | "try") => Node::TaskList,
        (Node::Task, "fork") => Node::Fork,
        (Node::Task, "catch") => Node::Catch,
        (Node::Task, "foreach") => Node::Iterator,
        (Node::Task, "with") => Node::CallWith,
        (Node::Fork, "branches") => Node::TaskList,
        (Node::Catch | Node::Iterator, "do") => Node::TaskList,
        (Node::CallWith, "subscription") => Node::Subscription,
        (Node::Subscription, "foreach") => Node::Iterator,
        _ => Node::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "document": {"name": "x"},
            "use": {"functions": {"greet": {"call": "http", "with": {}}}},
            "do": [
                {"getPet": {"call": "http", "with": {"endpoint": {"uri": "x"}}}},
                {"loop": {"for": {"in": ".xs"}, "do": [{"inner": {"set": {"a": 1}}}]}},
                {"guard": {"try": [{"risky": {"call": "fn"}}], "catch": {"do": [{"log": {"wait": "PT1S"}}]}}},
                {"pick": {"switch": [{"a": {"then": "end"}}]}}
            ]
        })
    }

    #[test]
    fn names_the_innermost_task_and_the_path_from_it() {
        let d = doc();
        let p = Place::of(&d, "/do/0/getPet/with/endpoint");
        assert_eq!(p.value_subject(), "`with.endpoint` in http call `getPet`");
        let p = Place::of(&d, "/do/0/getPet/with");
        assert_eq!(p.object_subject(), "http call `getPet`");
        assert_eq!(
            Place::of(&d, "/do/0/getPet").value_subject(),
            "http call `getPet`"
        );
        assert_eq!(Place::of(&d, "/do/0/getPet").path(), "");
        assert_eq!(
            Place::of(&d, "/do/1/loop/do/0/inner/set").value_subject(),
            "`set` in set task `inner`"
        );
        assert_eq!(
            Place::of(&d, "/do/2/guard/catch/do/0/log").value_subject(),
            "wait task `log`"
        );
        assert_eq!(
            Place::of(&d, "/do/2/guard/try/0/risky").value_subject(),
            "function call `risky`"
        );
        assert_eq!(
            Place::of(&d, "/do/3/pick/switch/0/a").value_subject(),
            "`switch[0].a` in switch task `pick`"
        );
        assert_eq!(
            Place::of(&d, "/use/functions/greet").value_subject(),
            "http call `greet`"
        );
        assert_eq!(
            Place::of(&d, "/document/name").value_subject(),
            "`document.name`"
        );
        assert_eq!(Place::of(&d, "").value_subject(), "the workflow");
        assert_eq!(Place::of(&d, "/do/0").value_subject(), "`do[0]`");
    }

    #[test]
    fn for_loops_have_one_kind() {
        assert_eq!(kinds_present(&json!({"for": {}, "do": []})), vec!["for"]);
        assert_eq!(
            kinds_present(&json!({"call": "x", "set": {}})),
            vec!["call", "set"]
        );
        assert_eq!(task_label(&json!({"call": "openapi"})), "openapi call");
        assert_eq!(task_label(&json!({"call": 5})), "call task");
        assert_eq!(task_label(&json!("text")), "task");
    }
}
