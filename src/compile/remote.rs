//! Remote custom functions, compiled at run time. The loader checks a `function.yaml` and wraps
//! it as the only task of a small workflow document (`loader::check_function`); that document
//! is compiled here into a `Machine` of its own for each call site. The engine runs that
//! machine's one task in a child run that shares the caller's context, budget, events and caches.

use serde_json::Value;

use super::compiler::compile;
use super::function::{escape, relocate};
use super::machine::Machine;
use crate::problem::{ErrorKind, WorkflowError};

/// Compiles a checked function document for the call site `caller`: its tasks report under
/// `<caller>/call/<name>`.
pub(crate) fn function_machine(
    wrapped: &Value,
    location: &str,
    name: &str,
    caller: &str,
) -> Result<Machine, WorkflowError> {
    let document = crate::parse::parse(wrapped).map_err(|found| {
        let first = found.first().map(|d| d.message.clone()).unwrap_or_default();
        invalid_function(location, first)
    })?;
    let mut machine = compile(&document).map_err(|found| {
        let first = found.first().map(|d| d.message.clone()).unwrap_or_default();
        invalid_function(location, first)
    })?;
    let from = format!("/do/0/{}", escape(name));
    let to = format!("{caller}/call/{}", escape(name));
    relocate(&mut machine.tasks, &from, &to);
    Ok(machine)
}

/// The error of a custom function definition that is not valid.
pub(crate) fn invalid_function(location: &str, why: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Invalid custom function").with_detail(format!(
        "the function defined at `{location}` is invalid: {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::machine::Body;

    const LOG: &str = "input:\n  schema:\n    document:\n      type: object\n      required: [message]\nset:\n  said: ${ .message }\n";

    #[test]
    fn a_function_definition_is_checked_and_compiled_for_its_call_site() {
        let wrapped = crate::loader::check_function(
            LOG,
            "file:///c/functions/log/1.0.0/function.yaml",
            "log",
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let machine =
            function_machine(&wrapped, "x", "log", "/do/2/say").unwrap_or_else(|e| panic!("{e:?}"));
        let root = machine.block(machine.workflow.root);
        assert_eq!(root.tasks.len(), 1);
        let task = machine.task(root.tasks[0]);
        assert_eq!(&*task.pointer, "/do/2/say/call/log");
        assert_eq!(&*task.name, "log");
        assert!(matches!(task.body, Body::Set(_)));
        assert!(task.flow.input_schema.is_some());
    }
}
