//! Lowering of `run: workflow`: the child's identity as written and its `input` template. The
//! child itself is found and compiled when the task first runs (`exec/catalog.rs`), so a parent
//! compiles without its children at hand.

use super::compiler::Compiler;
use super::machine::{Body, Tmpl};
use super::scope::Scope;
use crate::document::{RunTask, WorkflowProcess};

/// `run: workflow`, still to evaluate.
#[derive(Debug)]
pub(crate) struct SubflowSpec {
    pub namespace: String,
    pub name: String,
    /// `latest` picks the highest version found.
    pub version: String,
    /// `input`: evaluated against the task's transformed input; absent, the child gets that input.
    pub input: Option<Tmpl>,
    /// `await: false` starts the child in the background.
    pub await_: bool,
}

impl Compiler<'_> {
    pub(super) fn subflow(
        &mut self,
        run: &RunTask,
        workflow: &WorkflowProcess,
        scope: &Scope,
    ) -> Body {
        let input = match &workflow.input {
            None => None,
            Some(template) => match self.template(template, scope) {
                Some(input) => Some(input),
                None => return Body::Unsupported(String::from("this task did not compile")),
            },
        };
        Body::Subflow(SubflowSpec {
            namespace: workflow.namespace.clone(),
            name: workflow.name.clone(),
            version: workflow.version.clone(),
            input,
            await_: run.await_,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::source::Source;

    #[test]
    fn the_identity_input_and_await_are_kept() {
        let text = "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\ndo:\n  - child:\n      run:\n        await: false\n        workflow:\n          namespace: acme\n          name: register\n          version: 0.2.0\n          input:\n            customer: ${ .user }\n";
        let checked = crate::test_support::check_source(Source::new("t.yaml", text));
        let document = checked
            .valid_document()
            .unwrap_or_else(|| panic!("invalid: {:#?}", checked.diagnostics));
        let machine = compile(document).unwrap_or_else(|d| panic!("does not compile: {d:#?}"));
        let root = machine.block(machine.workflow.root);
        let Body::Subflow(spec) = &machine.task(root.tasks[0]).body else {
            panic!("not a sub-workflow body");
        };
        assert_eq!(
            (
                spec.namespace.as_str(),
                spec.name.as_str(),
                spec.version.as_str()
            ),
            ("acme", "register", "0.2.0")
        );
        assert!(!spec.await_);
        assert_eq!(
            spec.input.as_ref().map(|i| &*i.at),
            Some("/do/0/child/run/workflow/input")
        );
    }
}
