//! Reading task lists and tasks: the kind is found from the task's key first (explicit dispatch,
//! never untagged deserialization), then the common properties and the kind's body are read.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::reader::Parser;
use crate::document::{
    Catch, DoTask, EmitTask, EventProperties, FlowDirective, ForTask, ForkTask, ListenRead,
    ListenTask, RaiseTask, SetTask, SwitchCase, SwitchTask, Task, TaskCommon, TaskKind, TaskList,
    TryTask, WaitTask, mentions_task_var,
};
use crate::pointer;

/// The definition of every task that never reads `$task`: one shared `null`.
static NO_DEFINITION: std::sync::LazyLock<Arc<Value>> =
    std::sync::LazyLock::new(|| Arc::new(Value::Null));

/// Keys that name a task type. `do` is also the body of `for`, so it names a type only alone.
const KIND_KEYS: [&str; 11] = [
    "call", "emit", "for", "fork", "listen", "raise", "run", "set", "switch", "try", "wait",
];

impl Parser {
    pub(crate) fn task_list(&mut self, value: &Value, pointer: &str) -> Option<TaskList> {
        let items = self.array(value, pointer)?;
        let mut tasks = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_pointer = pointer::join_index(pointer, index);
            let Some((name, body)) = self.single_entry(item, &item_pointer) else {
                continue;
            };
            tasks.extend(self.task(name, body, &pointer::join(&item_pointer, name)));
        }
        Some(TaskList::new(tasks, pointer))
    }

    /// One task called `name` whose definition `value` sits at `pointer`.
    pub(crate) fn task(&mut self, name: &str, value: &Value, pointer: &str) -> Option<Task> {
        let map = self.object(value, pointer)?;
        let mut kinds: Vec<&str> = KIND_KEYS
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        if kinds.is_empty() && map.contains_key("do") {
            kinds.push("do");
        }
        let [kind] = kinds.as_slice() else {
            let message = if kinds.is_empty() {
                format!(
                    "task `{name}` has no task type: expected one of `call`, `do`, `emit`, `for`, `fork`, `listen`, `raise`, `run`, `set`, `switch`, `try`, `wait`"
                )
            } else {
                let keys: Vec<String> = kinds.iter().map(|k| format!("`{k}`")).collect();
                format!("task `{name}` has several task types: {}", keys.join(", "))
            };
            self.unexpected(pointer, message);
            return None;
        };
        let common = self.task_common(map, pointer);
        let kind = self.task_kind(kind, map, pointer)?;
        Some(Task {
            name: name.to_string(),
            pointer: pointer.to_string(),
            raw: if mentions_task_var(value) {
                Arc::new(value.clone())
            } else {
                Arc::clone(&NO_DEFINITION)
            },
            common,
            kind,
        })
    }

    fn task_common(&mut self, map: &Map<String, Value>, pointer: &str) -> TaskCommon {
        TaskCommon {
            if_: self.opt(map, pointer, "if", Parser::expression),
            input: self.opt(map, pointer, "input", Parser::input).map(Box::new),
            output: self
                .opt(map, pointer, "output", Parser::output)
                .map(Box::new),
            export: self
                .opt(map, pointer, "export", Parser::export)
                .map(Box::new),
            timeout: self.opt(map, pointer, "timeout", Parser::timeout_ref),
            then: self
                .opt(map, pointer, "then", Parser::flow_directive)
                .unwrap_or_default(),
            metadata: self.opt(map, pointer, "metadata", Parser::free_map),
        }
    }

    fn task_kind(
        &mut self,
        kind: &str,
        map: &Map<String, Value>,
        pointer: &str,
    ) -> Option<TaskKind> {
        Some(match kind {
            "call" => TaskKind::Call(self.call_task(map, pointer)?),
            "do" => TaskKind::Do(DoTask {
                do_: self.req(map, pointer, "do", Parser::task_list)?,
            }),
            "emit" => TaskKind::Emit(Box::new(self.req(
                map,
                pointer,
                "emit",
                Parser::emit_task,
            )?)),
            "for" => TaskKind::For(self.for_task(map, pointer)?),
            "fork" => TaskKind::Fork(self.req(map, pointer, "fork", Parser::fork_task)?),
            "listen" => TaskKind::Listen(Box::new(self.listen_task(map, pointer)?)),
            "raise" => TaskKind::Raise(self.req(map, pointer, "raise", Parser::raise_task)?),
            "run" => TaskKind::Run(Box::new(self.req(map, pointer, "run", Parser::run_task)?)),
            "set" => TaskKind::Set(SetTask {
                value: self.req(map, pointer, "set", Parser::object_or_string)?,
            }),
            "switch" => TaskKind::Switch(self.req(map, pointer, "switch", Parser::switch_task)?),
            "try" => TaskKind::Try(Box::new(self.try_task(map, pointer)?)),
            _ => TaskKind::Wait(WaitTask {
                duration: self.req(map, pointer, "wait", Parser::duration)?,
            }),
        })
    }

    fn emit_task(&mut self, value: &Value, pointer: &str) -> Option<EmitTask> {
        let map = self.object(value, pointer)?;
        let event_pointer = pointer::join(pointer, "event");
        let event = self.req(map, pointer, "event", |p, v, ptr| p.object(v, ptr))?;
        let event = self
            .opt(event, &event_pointer, "with", Parser::event_properties)
            .unwrap_or_else(|| EventProperties {
                pointer: pointer::join(&event_pointer, "with"),
                ..EventProperties::default()
            });
        Some(EmitTask { event })
    }

    fn for_task(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<ForTask> {
        let for_pointer = pointer::join(pointer, "for");
        let config = self.req(map, pointer, "for", |p, v, ptr| p.object(v, ptr))?;
        let in_ = self.req(config, &for_pointer, "in", Parser::expression);
        let do_ = self.req(map, pointer, "do", Parser::task_list);
        Some(ForTask {
            each: self
                .opt(config, &for_pointer, "each", Parser::string)
                .unwrap_or_else(|| "item".to_string()),
            in_: in_?,
            at: self
                .opt(config, &for_pointer, "at", Parser::string)
                .unwrap_or_else(|| "index".to_string()),
            while_: self.opt(map, pointer, "while", Parser::expression),
            do_: do_?,
        })
    }

    fn fork_task(&mut self, value: &Value, pointer: &str) -> Option<ForkTask> {
        let map = self.object(value, pointer)?;
        Some(ForkTask {
            branches: self.req(map, pointer, "branches", Parser::task_list)?,
            compete: self
                .opt(map, pointer, "compete", Parser::boolean)
                .unwrap_or(false),
        })
    }

    fn listen_task(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<ListenTask> {
        let listen_pointer = pointer::join(pointer, "listen");
        let listen = self.req(map, pointer, "listen", |p, v, ptr| p.object(v, ptr))?;
        let read = self.opt(listen, &listen_pointer, "read", |p, v, ptr| {
            let text = p.string(v, ptr)?;
            match text.as_str() {
                "data" => Some(ListenRead::Data),
                "envelope" => Some(ListenRead::Envelope),
                "raw" => Some(ListenRead::Raw),
                other => {
                    p.unexpected(
                        ptr,
                        format!("unknown read mode `{other}`; expected data, envelope or raw"),
                    );
                    None
                }
            }
        });
        Some(ListenTask {
            to: self.req(listen, &listen_pointer, "to", Parser::consumption_strategy)?,
            read: read.unwrap_or_default(),
            foreach: self.opt(map, pointer, "foreach", Parser::subscription_iterator),
        })
    }

    fn raise_task(&mut self, value: &Value, pointer: &str) -> Option<RaiseTask> {
        let map = self.object(value, pointer)?;
        Some(RaiseTask {
            error: self.req(map, pointer, "error", Parser::error_ref)?,
        })
    }

    fn switch_task(&mut self, value: &Value, pointer: &str) -> Option<SwitchTask> {
        let items = self.array(value, pointer)?;
        let mut cases = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_pointer = pointer::join_index(pointer, index);
            let Some((name, body)) = self.single_entry(item, &item_pointer) else {
                continue;
            };
            let case_pointer = pointer::join(&item_pointer, name);
            let Some(case) = self.object(body, &case_pointer) else {
                continue;
            };
            let when = self.opt(case, &case_pointer, "when", Parser::expression);
            let then = self.req(case, &case_pointer, "then", Parser::flow_directive);
            cases.push(SwitchCase {
                name: name.clone(),
                when,
                then: then.unwrap_or(FlowDirective::Continue),
                pointer: case_pointer,
            });
        }
        Some(SwitchTask { cases })
    }

    fn try_task(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<TryTask> {
        let try_ = self.req(map, pointer, "try", Parser::task_list);
        let catch = self.req(map, pointer, "catch", Parser::catch);
        Some(TryTask {
            try_: try_?,
            catch: catch?,
        })
    }

    fn catch(&mut self, value: &Value, pointer: &str) -> Option<Catch> {
        let map = self.object(value, pointer)?;
        let errors_pointer = pointer::join(pointer, "errors");
        let errors = self
            .opt(map, pointer, "errors", |p, v, ptr| p.object(v, ptr))
            .and_then(|errors| self.opt(errors, &errors_pointer, "with", Parser::error_filter));
        Some(Catch {
            errors,
            as_: self.opt(map, pointer, "as", Parser::string),
            when: self.opt(map, pointer, "when", Parser::expression),
            except_when: self.opt(map, pointer, "exceptWhen", Parser::expression),
            retry: self.opt(map, pointer, "retry", Parser::retry_ref),
            do_: self.opt(map, pointer, "do", Parser::task_list),
            pointer: pointer.to_string(),
        })
    }
}
