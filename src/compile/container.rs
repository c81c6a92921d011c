//! Lowering of `run: container`: every field that may hold expressions is compiled as a template;
//! the lifetime's duration as a duration. The runtime evaluates them into an engine command line
//! (`runtime/container.rs`, `exec/container.rs`).

use super::compiler::Compiler;
use super::machine::{ArgumentsSpec, Body, DurationSpec, Tmpl};
use super::scope::Scope;
use crate::document::{Arguments, Cleanup, ContainerProcess, ProcessReturn, PullPolicy, RunTask};

/// `run: container`, with every part still to evaluate.
#[derive(Debug)]
pub(crate) struct ContainerSpec {
    /// As written: the schema makes it a plain string.
    pub image: String,
    /// An expression, usually; a name is generated when absent.
    pub name: Option<Tmpl>,
    pub command: Option<Tmpl>,
    /// An object of `host: container` port pairs.
    pub ports: Option<Tmpl>,
    /// An object of `host path: container path` pairs.
    pub volumes: Option<Tmpl>,
    pub environment: Option<Tmpl>,
    pub stdin: Option<Tmpl>,
    pub arguments: ArgumentsSpec,
    pub cleanup: Cleanup,
    /// `lifetime.after`: present exactly when `cleanup` is `eventually` (the schema checks).
    pub after: Option<DurationSpec>,
    pub pull: PullPolicy,
    pub await_: bool,
    pub return_: ProcessReturn,
}

impl Compiler<'_> {
    pub(super) fn container(
        &mut self,
        run: &RunTask,
        container: &ContainerProcess,
        scope: &Scope,
    ) -> Body {
        let mut string = |field: &Option<crate::document::StringOrExpr>| {
            field.as_ref().map(|value| self.string(value, scope))
        };
        let name = string(&container.name);
        let command = string(&container.command);
        let stdin = string(&container.stdin);
        let mut template = |field: &Option<crate::document::ValueTemplate>| {
            field.as_ref().map(|value| self.template(value, scope))
        };
        let ports = template(&container.ports);
        let volumes = template(&container.volumes);
        let environment = template(&container.environment);
        let arguments = self.arguments(container.arguments.as_ref(), scope);
        let lifetime = container.lifetime.as_ref();
        let after = lifetime
            .and_then(|l| l.after.as_ref())
            .map(|after| self.duration(after, scope));
        // A part that failed has its diagnostic already; the machine is never returned then.
        let (
            Some(name),
            Some(command),
            Some(stdin),
            Some(ports),
            Some(volumes),
            Some(environment),
            Some(arguments),
            Some(after),
        ) = (
            transpose(name),
            transpose(command),
            transpose(stdin),
            transpose(ports),
            transpose(volumes),
            transpose(environment),
            arguments,
            transpose(after),
        )
        else {
            return Body::Unsupported(String::from("this task did not compile"));
        };
        Body::Container(Box::new(ContainerSpec {
            image: container.image.clone(),
            name,
            command,
            ports,
            volumes,
            environment,
            stdin,
            arguments,
            cleanup: lifetime.map(|l| l.cleanup).unwrap_or_default(),
            after,
            pull: container.pull_policy,
            await_: run.await_,
            return_: run.return_,
        }))
    }

    /// `arguments` of a shell, script or container: the argv list or the 1.0.0 map.
    pub(super) fn arguments(
        &mut self,
        arguments: Option<&Arguments>,
        scope: &Scope,
    ) -> Option<ArgumentsSpec> {
        match arguments {
            None => Some(ArgumentsSpec::None),
            Some(Arguments::List(items)) => items
                .iter()
                .map(|item| self.string(item, scope))
                .collect::<Option<Vec<_>>>()
                .map(ArgumentsSpec::List),
            Some(Arguments::Map(map)) => self.template(map, scope).map(ArgumentsSpec::Map),
        }
    }
}

/// An optional field that compiled (`Some(Some(_))`), was absent (`Some(None)`) or failed
/// (`None`).
fn transpose<T>(field: Option<Option<T>>) -> Option<Option<T>> {
    match field {
        None => Some(None),
        Some(Some(value)) => Some(Some(value)),
        Some(None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{Machine, compile};
    use crate::source::Source;

    fn machine(run: &str) -> Machine {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\ndo:\n  - box:\n      run:\n{run}"
        );
        let checked = crate::test_support::check_source(Source::new("t.yaml", text));
        let document = checked
            .valid_document()
            .unwrap_or_else(|| panic!("invalid: {:#?}", checked.diagnostics));
        compile(document).unwrap_or_else(|d| panic!("does not compile: {d:#?}"))
    }

    fn spec(machine: &Machine) -> &ContainerSpec {
        let root = machine.block(machine.workflow.root);
        match &machine.task(root.tasks[0]).body {
            Body::Container(spec) => spec,
            other => panic!("not a container body: {other:?}"),
        }
    }

    #[test]
    fn every_field_is_compiled() {
        let machine = machine(
            "        await: false\n        return: all\n        container:\n          image: alpine\n          name: ${ .name }\n          command: echo hi\n          ports:\n            8080: 80\n          volumes:\n            /tmp: /data\n          environment:\n            A: ${ .a }\n          stdin: ${ .in }\n          arguments: [x, '${ .y }']\n          pullPolicy: never\n          lifetime:\n            cleanup: eventually\n            after:\n              seconds: 3\n",
        );
        let spec = spec(&machine);
        assert_eq!(spec.image, "alpine");
        assert!(spec.name.is_some() && spec.command.is_some() && spec.stdin.is_some());
        assert!(spec.ports.is_some() && spec.volumes.is_some() && spec.environment.is_some());
        assert!(matches!(&spec.arguments, ArgumentsSpec::List(items) if items.len() == 2));
        assert_eq!(spec.cleanup, Cleanup::Eventually);
        assert!(matches!(
            spec.after,
            Some(DurationSpec::Fixed(after)) if after == std::time::Duration::from_secs(3)
        ));
        assert_eq!(spec.pull, PullPolicy::Never);
        assert!(!spec.await_);
        assert_eq!(spec.return_, ProcessReturn::All);
    }

    #[test]
    fn defaults_keep_the_container_and_pull_when_missing() {
        let machine = machine("        container:\n          image: hello-world\n");
        let spec = spec(&machine);
        assert!(spec.name.is_none() && spec.command.is_none() && spec.after.is_none());
        assert!(matches!(spec.arguments, ArgumentsSpec::None));
        assert_eq!(spec.cleanup, Cleanup::Never);
        assert_eq!(spec.pull, PullPolicy::IfNotPresent);
        assert!(spec.await_);
        assert_eq!(spec.return_, ProcessReturn::Stdout);
    }
}
