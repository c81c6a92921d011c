//! Reading `run` tasks: container, script, shell and workflow processes.

use serde_json::{Map, Value};

use super::reader::Parser;
use crate::document::{
    Arguments, Cleanup, ContainerLifetime, ContainerProcess, Process, ProcessReturn, PullPolicy,
    RunTask, ScriptProcess, ScriptSource, ShellProcess, WorkflowProcess,
};
use crate::pointer;

const PROCESSES: [&str; 4] = ["container", "script", "shell", "workflow"];

impl Parser {
    pub(crate) fn run_task(&mut self, value: &Value, pointer: &str) -> Option<RunTask> {
        let map = self.object(value, pointer)?;
        let found: Vec<&str> = PROCESSES
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        let [kind] = found.as_slice() else {
            self.unexpected(
                pointer,
                "`run` needs exactly one of `container`, `script`, `shell`, `workflow`",
            );
            return None;
        };
        let process_pointer = pointer::join(pointer, kind);
        let body = self.object(map.get(*kind)?, &process_pointer)?;
        let p = process_pointer.as_str();
        let process = match *kind {
            "container" => Process::Container(self.container(body, p)?),
            "script" => Process::Script(self.script(body, p)?),
            "shell" => Process::Shell(self.shell(body, p)?),
            _ => Process::Workflow(self.workflow_process(body, p)?),
        };
        Some(RunTask {
            await_: self
                .opt(map, pointer, "await", Parser::boolean)
                .unwrap_or(true),
            return_: self
                .opt(map, pointer, "return", Parser::process_return)
                .unwrap_or_default(),
            process,
        })
    }

    fn process_return(&mut self, value: &Value, pointer: &str) -> Option<ProcessReturn> {
        let text = self.string(value, pointer)?;
        Some(match text.as_str() {
            "stdout" => ProcessReturn::Stdout,
            "stderr" => ProcessReturn::Stderr,
            "code" => ProcessReturn::Code,
            "all" => ProcessReturn::All,
            "none" => ProcessReturn::None,
            other => {
                self.unexpected(
                    pointer,
                    format!("unknown return `{other}`; expected stdout, stderr, code, all or none"),
                );
                return None;
            }
        })
    }

    /// The 1.0.3 argv list or the 1.0.0 map (CHECKLIST decision 2).
    fn arguments(&mut self, value: &Value, pointer: &str) -> Option<Arguments> {
        match value {
            Value::Array(items) => {
                let mut list = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    list.extend(self.string_or_expr(item, &pointer::join_index(pointer, index)));
                }
                Some(Arguments::List(list))
            }
            Value::Object(_) => self.template(value, pointer).map(Arguments::Map),
            _ => {
                self.unexpected(pointer, "expected arguments as a list of strings or a map");
                None
            }
        }
    }

    fn shell(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<ShellProcess> {
        Some(ShellProcess {
            command: self.req(map, pointer, "command", Parser::string_or_expr)?,
            arguments: self.opt(map, pointer, "arguments", Parser::arguments),
            environment: self.opt(map, pointer, "environment", Parser::object_template),
            stdin: self.opt(map, pointer, "stdin", Parser::string_or_expr),
        })
    }

    fn script(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<ScriptProcess> {
        let language = self.req(map, pointer, "language", Parser::string);
        let source = match (map.get("code"), map.contains_key("source")) {
            (Some(code), false) => {
                ScriptSource::Inline(self.string(code, &pointer::join(pointer, "code"))?)
            }
            (None, true) => ScriptSource::External(self.opt(
                map,
                pointer,
                "source",
                Parser::external_resource,
            )?),
            _ => {
                self.unexpected(pointer, "a script needs exactly one of `code`, `source`");
                return None;
            }
        };
        Some(ScriptProcess {
            language: language?,
            source,
            arguments: self.opt(map, pointer, "arguments", Parser::arguments),
            environment: self.opt(map, pointer, "environment", Parser::object_template),
            stdin: self.opt(map, pointer, "stdin", Parser::string_or_expr),
        })
    }

    fn container(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<ContainerProcess> {
        Some(ContainerProcess {
            image: self.req(map, pointer, "image", Parser::string)?,
            name: self.opt(map, pointer, "name", Parser::string_or_expr),
            command: self.opt(map, pointer, "command", Parser::string_or_expr),
            ports: self.opt(map, pointer, "ports", Parser::object_template),
            volumes: self.opt(map, pointer, "volumes", Parser::object_template),
            environment: self.opt(map, pointer, "environment", Parser::object_template),
            stdin: self.opt(map, pointer, "stdin", Parser::string_or_expr),
            arguments: self.opt(map, pointer, "arguments", Parser::arguments),
            lifetime: self.opt(map, pointer, "lifetime", Parser::container_lifetime),
            pull_policy: self
                .opt(map, pointer, "pullPolicy", Parser::pull_policy)
                .unwrap_or_default(),
        })
    }

    fn container_lifetime(&mut self, value: &Value, pointer: &str) -> Option<ContainerLifetime> {
        let map = self.object(value, pointer)?;
        let cleanup = self.req(map, pointer, "cleanup", |p, v, ptr| {
            let text = p.string(v, ptr)?;
            match text.as_str() {
                "always" => Some(Cleanup::Always),
                "never" => Some(Cleanup::Never),
                "eventually" => Some(Cleanup::Eventually),
                other => {
                    p.unexpected(
                        ptr,
                        format!("unknown cleanup `{other}`; expected always, never or eventually"),
                    );
                    None
                }
            }
        });
        Some(ContainerLifetime {
            cleanup: cleanup?,
            after: self.opt(map, pointer, "after", Parser::duration),
        })
    }

    fn pull_policy(&mut self, value: &Value, pointer: &str) -> Option<PullPolicy> {
        let text = self.string(value, pointer)?;
        Some(match text.as_str() {
            "ifNotPresent" => PullPolicy::IfNotPresent,
            "always" => PullPolicy::Always,
            "never" => PullPolicy::Never,
            other => {
                self.unexpected(
                    pointer,
                    format!(
                        "unknown pull policy `{other}`; expected ifNotPresent, always or never"
                    ),
                );
                return None;
            }
        })
    }

    fn workflow_process(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
    ) -> Option<WorkflowProcess> {
        let namespace = self.req(map, pointer, "namespace", Parser::string);
        let name = self.req(map, pointer, "name", Parser::string);
        Some(WorkflowProcess {
            namespace: namespace?,
            name: name?,
            // Required by the schema; the prose's default applies if a lenient caller skips it.
            version: self
                .opt(map, pointer, "version", Parser::string)
                .unwrap_or_else(|| "latest".to_string()),
            input: self.opt(map, pointer, "input", Parser::object_template),
        })
    }
}
