//! The compiler's driver: walks the document once, allocating blocks and tasks, resolving flow
//! directives, and compiling every expression with the variables in scope where it sits.

use std::sync::Arc;

use serde_json::Value;

use super::machine::{
    Block, BlockId, Compiled, DataFlow, Machine, TaskId, TaskNode, Tmpl, Transform, Transition,
    WorkflowNode,
};
use super::scope::Scope;
use super::targets::Targets;
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
        functions: Default::default(),
        targets: Targets::default(),
        enclosing: Vec::new(),
    };
    let workflow = compiler.workflow();
    if compiler.diagnostics.is_empty() {
        Ok(Machine {
            tasks: compiler.tasks,
            blocks: compiler.blocks,
            workflow,
            targets: compiler.targets,
        })
    } else {
        Err(compiler.diagnostics)
    }
}

pub(super) struct Compiler<'d> {
    pub(super) document: &'d Document,
    mode: ExprMode,
    pub(super) tasks: Vec<TaskNode>,
    blocks: Vec<Block>,
    pub(super) diagnostics: Vec<Diagnostic>,
    pub(super) functions: super::function::FunctionState,
    /// Every `then` resolved so far (see [`Targets`]).
    targets: Targets,
    /// Pointers of the tasks being compiled, outermost first: the last is the parent of the
    /// next task compiled.
    enclosing: Vec<Arc<str>>,
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
            schedule_on: document
                .schedule
                .as_ref()
                .and_then(|schedule| schedule.on.as_ref())
                .and_then(|on| self.strategy(on, &scope))
                // The run's input is the array of the triggering events, whole.
                .map(|strategy| super::ListenSpec {
                    strategy,
                    read: crate::document::ListenRead::Envelope,
                    foreach: None,
                }),
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

    pub(super) fn task(&mut self, task: &Task, list: &TaskList, scope: &Scope) -> TaskId {
        let flow = self.data_flow(&task.common, scope);
        let timeout = task
            .common
            .timeout
            .as_ref()
            .and_then(|t| self.timeout(t, scope));
        let then = self.transition(&task.common.then, list);
        let pointer: Arc<str> = Arc::from(task.pointer.as_str());
        let parent = self.enclosing.last().cloned();
        self.enclosing.push(Arc::clone(&pointer));
        let body = self.body(task, list, scope);
        self.enclosing.pop();
        let node = TaskNode {
            name: Arc::from(task.name.as_str()),
            pointer,
            parent,
            // Only a task that reads `$task` keeps its definition (see `Task::raw`).
            definition: from_json(&task.raw),
            uses_task_var: crate::document::mentions_task_var(&task.raw),
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
                Some(index) => {
                    self.targets.insert(&target.pointer, index);
                    Transition::Goto(index)
                }
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

#[cfg(test)]
impl<'d> Compiler<'d> {
    /// A compiler for unit tests that compile one part of a document (an authentication).
    pub(super) fn for_tests(document: &'d Document) -> Self {
        Compiler {
            document,
            mode: ExprMode::Strict,
            tasks: Vec::new(),
            blocks: Vec::new(),
            diagnostics: Vec::new(),
            functions: Default::default(),
            targets: Targets::default(),
            enclosing: Vec::new(),
        }
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

#[cfg(test)]
mod compile_tests {
    use super::*;
    use crate::compile::machine::Body;
    use crate::source::Source;

    fn compiled(body: &str) -> Result<Machine, Vec<Diagnostic>> {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\n{body}"
        );
        // Straight from the parser: the analyzer would report most of these problems first.
        let loaded = crate::yaml::load(&Source::new("t.yaml", text))
            .unwrap_or_else(|d| panic!("not YAML: {d:#?}"));
        let document =
            crate::parse::parse(&loaded.value).unwrap_or_else(|d| panic!("does not parse: {d:#?}"));
        compile(&document)
    }

    fn errors(body: &str) -> Vec<(String, String, String)> {
        match compiled(body) {
            Ok(_) => panic!("expected diagnostics"),
            Err(found) => found
                .into_iter()
                .map(|d| (d.code.to_owned(), d.pointer.unwrap_or_default(), d.message))
                .collect(),
        }
    }

    #[test]
    fn flow_directives_become_positions() {
        let machine = compiled(
            "do:\n  - a:\n      set: { x: 1 }\n      then: c\n  - b:\n      set: { x: 2 }\n      then: exit\n  - c:\n      set: { x: 3 }\n      then: end\n",
        )
        .unwrap_or_else(|e| panic!("{e:#?}"));
        let root = machine.block(machine.workflow.root);
        let thens: Vec<Transition> = root.tasks.iter().map(|&t| machine.task(t).then).collect();
        assert_eq!(
            thens,
            [Transition::Goto(2), Transition::Exit, Transition::End]
        );
        let first = machine.task(root.tasks[0]);
        assert_eq!(&*first.pointer, "/do/0/a");
        assert_eq!(&*first.name, "a");
        assert!(!first.uses_task_var);
        assert_eq!(machine.task_count(), 3);
        assert_eq!(machine.name(), "t");
    }

    #[test]
    fn unknown_targets_are_reported_with_a_suggestion() {
        let found = match compiled(
            "do:\n  - first:\n      set: { x: 1 }\n      then: secnd\n  - second:\n      set: { x: 2 }\n",
        ) {
            Err(found) => found,
            Ok(_) => panic!("expected a diagnostic"),
        };
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "flow::unknown-target");
        assert_eq!(found[0].pointer.as_deref(), Some("/do/0/first/then"));
        assert_eq!(found[0].help.as_deref(), Some("did you mean `second`?"));
    }

    #[test]
    fn undefined_references_are_reported() {
        let found = errors(
            "do:\n  - fail:\n      raise:\n        error: missing\n  - guarded:\n      timeout: slow\n      try:\n        - x:\n            set: { a: 1 }\n      catch:\n        retry: again\n",
        );
        let codes: Vec<&str> = found.iter().map(|(c, _, _)| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "ref::undefined-error",
                "ref::undefined-timeout",
                "ref::undefined-retry"
            ]
        );
        assert_eq!(found[0].1, "/do/0/fail/raise/error");
        assert_eq!(found[0].2, "no error named `missing` in `use`");
    }

    #[test]
    fn expressions_are_compiled_with_the_variables_in_scope() {
        // `$item` exists inside the loop, not after it; `$oops` only inside the catch.
        let found = errors(
            r#"do:
  - loop:
      for:
        in: .items
      do:
        - inside:
            set: { v: '${ $item + $index }' }
  - after:
      set: { v: '${ $item }' }
  - guarded:
      try:
        - x:
            set: { a: '${ $oops }' }
      catch:
        as: oops
        when: $oops.status == 500
        do:
          - y:
              set: { a: '${ $oops.title }' }
  - broken:
      if: (.a
      set: { a: 1 }
"#,
        );
        let found: Vec<(&str, &str)> = found
            .iter()
            .map(|(c, p, _)| (c.as_str(), p.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("expr::undefined", "/do/1/after/set/v"),
                ("expr::undefined", "/do/2/guarded/try/0/x/set/a"),
                ("expr::syntax", "/do/3/broken/if"),
            ]
        );
    }

    #[test]
    fn schemas_that_do_not_compile_are_rejected() {
        let found = errors(
            "do:\n  - checked:\n      input:\n        schema:\n          document:\n            type: 12\n      set: { a: 1 }\n",
        );
        let codes: Vec<&str> = found.iter().map(|(c, _, _)| c.as_str()).collect();
        assert_eq!(codes, ["schema::invalid-schema"]);
        assert_eq!(found[0].1, "/do/0/checked/input/schema/document");
    }

    #[test]
    fn tasks_this_runtime_cannot_execute_compile_to_unsupported() {
        let machine = compiled(
            "do:\n  - get:\n      call: http\n      with:\n        method: get\n        endpoint: https://example.com\n  - box:\n      run:\n        script:\n          language: ruby\n          code: puts 1\n  - uses:\n      set: { me: '${ $task.name }' }\n",
        )
        .unwrap_or_else(|e| panic!("{e:#?}"));
        let root = machine.block(machine.workflow.root);
        let messages: Vec<String> = root
            .tasks
            .iter()
            .filter_map(|&t| match &machine.task(t).body {
                Body::Unsupported(message) => Some(message.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            messages,
            ["scripts in `ruby` are not supported by this runtime (javascript or python)"]
        );
        assert!(matches!(machine.task(root.tasks[0]).body, Body::Http(_)));
        assert!(machine.task(root.tasks[2]).uses_task_var);
    }
}
