//! The compiler's driver: walks the document once, allocating blocks and tasks, resolving flow
//! directives, and compiling every expression with the variables in scope where it sits.

use std::sync::Arc;

use serde_json::Value;

use super::machine::{
    Block, BlockId, Compiled, DataFlow, Machine, TaskId, TaskNode, Tmpl, Transform, Transition,
    WorkflowNode,
};
use super::scope::Scope;
use crate::diagnostic::Diagnostic;
use crate::document::{
    Document, EvaluateMode, Expression, FlowDirective, StringOrExpr, Task, TaskCommon, TaskList,
    ValueTemplate,
};
use crate::expr::{CompileError, Expr, ExprMode, Template, from_json};

/// Compiles a document the front end accepted. Every problem is returned at once, each with the
/// JSON pointer of the offending field; the compiler never panics on a parsed document.
pub fn compile(document: &Document) -> Result<Machine, Vec<Diagnostic>> {
    let mode = match document.evaluate.as_ref().map(|e| e.mode) {
        Some(EvaluateMode::Loose) => ExprMode::Loose,
        _ => ExprMode::Strict,
    };
    let mut compiler = Compiler {
        document,
        mode,
        tasks: Vec::new(),
        blocks: Vec::new(),
        diagnostics: Vec::new(),
    };
    let workflow = compiler.workflow();
    if compiler.diagnostics.is_empty() {
        Ok(Machine {
            tasks: compiler.tasks,
            blocks: compiler.blocks,
            workflow,
        })
    } else {
        Err(compiler.diagnostics)
    }
}

pub(super) struct Compiler<'d> {
    pub(super) document: &'d Document,
    mode: ExprMode,
    tasks: Vec<TaskNode>,
    blocks: Vec<Block>,
    pub(super) diagnostics: Vec<Diagnostic>,
}

impl<'d> Compiler<'d> {
    fn workflow(&mut self) -> WorkflowNode {
        let document = self.document;
        let scope = Scope::base();
        let input = document.input.as_ref();
        let output = document.output.as_ref();
        let root = self.block(&document.do_, &scope);
        WorkflowNode {
            root,
            namespace: document.meta.namespace.clone(),
            name: document.meta.name.clone(),
            version: document.meta.version.clone(),
            definition: from_json(&document.raw),
            input_schema: input
                .and_then(|i| i.schema.as_ref())
                .and_then(|s| self.schema(s)),
            input_from: input
                .and_then(|i| i.from.as_ref())
                .and_then(|t| self.transform(t, &scope)),
            output_as: output
                .and_then(|o| o.as_.as_ref())
                .and_then(|t| self.transform(t, &scope)),
            output_schema: output
                .and_then(|o| o.schema.as_ref())
                .and_then(|s| self.schema(s)),
            timeout: document
                .timeout
                .as_ref()
                .and_then(|t| self.timeout(t, &scope)),
            secrets: document
                .use_
                .secrets
                .iter()
                .map(|s| s.name.clone())
                .collect(),
        }
    }

    /// Allocates a block for `list` and compiles its tasks with `scope`.
    pub(super) fn block(&mut self, list: &TaskList, scope: &Scope) -> BlockId {
        let id = self.blocks.len();
        self.blocks.push(Block { tasks: Vec::new() });
        let tasks: Vec<TaskId> = list.iter().map(|t| self.task(t, list, scope)).collect();
        if let Some(block) = self.blocks.get_mut(id) {
            block.tasks = tasks;
        }
        id
    }

    fn task(&mut self, task: &Task, list: &TaskList, scope: &Scope) -> TaskId {
        let flow = self.data_flow(&task.common, scope);
        let timeout = task
            .common
            .timeout
            .as_ref()
            .and_then(|t| self.timeout(t, scope));
        let then = self.transition(&task.common.then, list);
        let body = self.body(task, list, scope);
        let node = TaskNode {
            name: Arc::from(task.name.as_str()),
            pointer: Arc::from(task.pointer.as_str()),
            definition: from_json(&task.raw),
            uses_task_var: mentions_task_var(&task.raw),
            flow,
            timeout,
            then,
            body,
        };
        self.tasks.push(node);
        self.tasks.len() - 1
    }

    fn data_flow(&mut self, common: &TaskCommon, scope: &Scope) -> DataFlow {
        let input = common.input.as_ref();
        let output = common.output.as_ref();
        let export = common.export.as_ref();
        DataFlow {
            if_: common.if_.as_ref().and_then(|e| self.expr(e, scope)),
            input_schema: input
                .and_then(|i| i.schema.as_ref())
                .and_then(|s| self.schema(s)),
            input_from: input
                .and_then(|i| i.from.as_ref())
                .and_then(|t| self.transform(t, scope)),
            output_as: output
                .and_then(|o| o.as_.as_ref())
                .and_then(|t| self.transform(t, scope)),
            output_schema: output
                .and_then(|o| o.schema.as_ref())
                .and_then(|s| self.schema(s)),
            export_as: export
                .and_then(|e| e.as_.as_ref())
                .and_then(|t| self.transform(t, scope)),
            export_schema: export
                .and_then(|e| e.schema.as_ref())
                .and_then(|s| self.schema(s)),
        }
    }

    /// Resolves a `then` (or switch case) against the list holding the task.
    pub(super) fn transition(&mut self, directive: &FlowDirective, list: &TaskList) -> Transition {
        match directive {
            FlowDirective::Continue => Transition::Continue,
            FlowDirective::Exit => Transition::Exit,
            FlowDirective::End => Transition::End,
            FlowDirective::Goto(target) => match list.position(&target.name) {
                Some(index) => Transition::Goto(index),
                None => {
                    let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
                    let mut diagnostic = Diagnostic::error(
                        "flow::unknown-target",
                        format!(
                            "`then: {}` names no task of the same task list",
                            target.name
                        ),
                    )
                    .at_pointer(&target.pointer);
                    if let Some(close) = crate::diagnostic::did_you_mean(&target.name, names) {
                        diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
                    }
                    self.diagnostics.push(diagnostic);
                    Transition::Continue
                }
            },
        }
    }

    /// An always-expression field (decision 3): an optional `${ }` is stripped.
    pub(super) fn expr(&mut self, expression: &Expression, scope: &Scope) -> Option<Compiled> {
        match Expr::compile(expression.source(), &scope.vars()) {
            Ok(expr) => Some(Compiled {
                expr,
                at: Arc::from(expression.pointer.as_str()),
            }),
            Err(errors) => {
                for error in errors {
                    self.expression_error(&expression.pointer, expression.source(), &error);
                }
                None
            }
        }
    }

    /// A value position: strings are expressions per the document's mode.
    pub(super) fn value(&mut self, value: &Value, at: &str, scope: &Scope) -> Option<Tmpl> {
        match Template::compile(value, self.mode, &scope.vars()) {
            Ok(template) => Some(Tmpl {
                template,
                at: Arc::from(at),
            }),
            Err(errors) => {
                for (relative, error) in errors {
                    let pointer = format!("{at}{relative}");
                    let text = value_at(value, &relative).unwrap_or_default();
                    self.expression_error(&pointer, text, &error);
                }
                None
            }
        }
    }

    pub(super) fn template(&mut self, template: &ValueTemplate, scope: &Scope) -> Option<Tmpl> {
        self.value(&template.value, &template.pointer, scope)
    }

    /// A string field that may be an expression (error fields, event attributes, commands).
    pub(super) fn string(&mut self, field: &StringOrExpr, scope: &Scope) -> Option<Tmpl> {
        self.value(
            &Value::String(field.text().to_owned()),
            field.pointer(),
            scope,
        )
    }

    pub(super) fn transform(
        &mut self,
        transform: &crate::document::Transform,
        scope: &Scope,
    ) -> Option<Transform> {
        match transform {
            crate::document::Transform::Expression(e) => self.expr(e, scope).map(Transform::Expr),
            crate::document::Transform::Template(t) => {
                self.template(t, scope).map(Transform::Template)
            }
        }
    }

    fn expression_error(&mut self, pointer: &str, code: &str, error: &CompileError) {
        let kind = if error.message.starts_with("undefined") {
            "expr::undefined"
        } else {
            "expr::syntax"
        };
        let shown = code.get(error.range.clone()).filter(|s| !s.is_empty());
        let mut diagnostic =
            Diagnostic::error(kind, format!("{} in `{}`", error.message, code)).at_pointer(pointer);
        if let Some(part) = shown {
            diagnostic = diagnostic.with_label(format!("at `{part}`"));
        }
        self.diagnostics.push(diagnostic);
    }

    /// Records that something could not be compiled.
    pub(super) fn error(&mut self, code: &'static str, pointer: &str, message: String) {
        self.diagnostics
            .push(Diagnostic::error(code, message).at_pointer(pointer));
    }
}

/// The string at a relative pointer inside a template value, for error messages.
fn value_at<'v>(value: &'v Value, relative: &str) -> Option<&'v str> {
    let target = if relative.is_empty() {
        value
    } else {
        value.pointer(relative)?
    };
    target.as_str()
}

/// Whether any string of a task's definition mentions `$task` (an over-approximation: nested
/// tasks count too, which only costs building `$task` once more per execution).
fn mentions_task_var(value: &Value) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_var_mentions_respect_word_boundaries() {
        assert!(mentions_task_var(&json!({"set": {"a": "${ $task.name }"}})));
        assert!(mentions_task_var(&json!(["x", {"b": ["${$task}"]}])));
        assert!(!mentions_task_var(&json!({"set": {"a": "${ $tasks }"}})));
        assert!(!mentions_task_var(&json!({"set": {"a": "${ .task }"}})));
    }
}
