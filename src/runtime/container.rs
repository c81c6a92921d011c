//! `run: container`: evaluates the task into a `ContainerRequest`, runs `ENGINE run ...` through
//! the process executor (found once per run: docker, then podman), and shapes the output by
//! `return` exactly as for a shell command. A task cut short (timeout, cancellation) stops its
//! container, not only the engine's CLI; `lifetime: eventually` schedules the removal.

use std::path::Path;
use std::sync::Arc;

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::process::{arguments, environment, pairs, shape, stdin};
use super::values::{self, eval_text};
use crate::compile::{ContainerSpec, TaskNode, Tmpl};
use crate::document::Cleanup;
use crate::exec::container::{
    ContainerGuard, ContainerRequest, ENGINE_FAILURE_CODE, Lifetime, generated_name, remove_later,
};
use crate::expr::Val;
use crate::host::Loader;
use crate::host::effects::process::{ProcessOutput, ProcessRequest, Program};

/// How many trailing lines of the engine's stderr an engine failure shows.
const STDERR_LINES: usize = 10;

impl Run<'_> {
    pub(crate) async fn run_container(
        &self,
        node: &TaskNode,
        step: Option<&Arc<str>>,
        spec: &ContainerSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Val, WorkflowError> {
        let request = self.container_request(node, spec, &input, vars)?;
        let engine = self.place.family.container_engine(&self.executors).await?;
        let process = ProcessRequest {
            program: Program::Exec {
                program: engine.clone(),
            },
            arguments: request.run_arguments()?,
            environment: Vec::new(),
            stdin: stdin(spec.stdin.as_ref(), &input, vars)?,
            detach: !spec.await_,
            on_line: if spec.await_ {
                self.line_observer(&node.pointer, step)
            } else {
                None
            },
        };
        // Armed until the engine's CLI returns: dropping this future stops the container.
        let guard = ContainerGuard::new(&engine, &request);
        let output = self.executors.processes.run(process).await;
        guard.disarm();
        let output = output?;
        if let Lifetime::RemoveAfter(after) = request.lifetime {
            // Best effort: a removal that cannot start leaves the container behind, no more.
            let _ = self
                .executors
                .processes
                .run(remove_later(&engine, &request.name, after))
                .await;
        }
        if !spec.await_ {
            return Ok(input);
        }
        if output.code == ENGINE_FAILURE_CODE {
            return Err(engine_failure(&engine, &output));
        }
        shape(spec.return_, output)
    }

    fn container_request(
        &self,
        node: &TaskNode,
        spec: &ContainerSpec,
        input: &Val,
        vars: &[Val],
    ) -> Result<ContainerRequest, WorkflowError> {
        let text = |template: &Option<Tmpl>| {
            template
                .as_ref()
                .map(|t| eval_text(t, input.clone(), vars))
                .transpose()
        };
        let name = match text(&spec.name)? {
            Some(name) if !name.trim().is_empty() => name,
            _ => generated_name(&node.name),
        };
        let lifetime = match (spec.cleanup, &spec.after) {
            (Cleanup::Always, _) => Lifetime::Remove,
            (Cleanup::Eventually, Some(after)) => {
                Lifetime::RemoveAfter(values::duration(after, input, vars)?)
            }
            // The schema requires `after` with `eventually`; without it, nothing is scheduled.
            (Cleanup::Never | Cleanup::Eventually, _) => Lifetime::Keep,
        };
        let base = self.place.document.as_deref().and_then(Path::parent);
        Ok(ContainerRequest {
            image: spec.image.clone(),
            name,
            command: text(&spec.command)?,
            ports: pairs(spec.ports.as_ref(), input, vars, "ports")?
                .into_iter()
                .map(|pair| mapping(pair, "port", spec.ports.as_ref()))
                .collect::<Result<_, _>>()?,
            volumes: pairs(spec.volumes.as_ref(), input, vars, "volumes")?
                .into_iter()
                .map(|pair| mapping(pair, "volume", spec.volumes.as_ref()))
                .map(|pair| {
                    pair.map(|(host, inside)| {
                        (host_path(&host, base, &*self.executors.loader), inside)
                    })
                })
                .collect::<Result<_, _>>()?,
            environment: environment(spec.environment.as_ref(), input, vars)?,
            arguments: arguments(&spec.arguments, input, vars)?,
            interactive: spec.stdin.is_some(),
            pull: spec.pull,
            lifetime,
        })
    }
}

/// A `host: container` pair; both sides must be plain values (numbers or strings), since they
/// are joined with `:` on the engine's command line.
fn mapping(
    (host, inside): (String, String),
    what: &str,
    template: Option<&Tmpl>,
) -> Result<(String, String), WorkflowError> {
    let plain = |side: &str| {
        !side.is_empty() && !side.starts_with(['{', '[']) && !side.contains(char::is_whitespace)
    };
    if plain(&host) && plain(&inside) && inside != "null" {
        return Ok((host, inside));
    }
    let at = template.map(|t| &*t.at).unwrap_or_default();
    Err(
        WorkflowError::new(ErrorKind::Configuration, format!("Invalid {what} mapping"))
            .with_detail(format!(
                "`{at}`: `{host}: {inside}` is not a {what} mapping (each entry maps a host {what} to a container {what})"
            )),
    )
}

/// A relative host path (`./data`, `../data`) is taken from the document's directory (the
/// loader makes it absolute), as the engines want absolute paths; other names (named volumes,
/// absolute paths) are kept.
fn host_path(host: &str, base: Option<&Path>, loader: &dyn Loader) -> String {
    let relative = host == "." || host == ".." || host.starts_with("./") || host.starts_with("../");
    if !relative {
        return host.to_owned();
    }
    let base = base.filter(|base| !base.as_os_str().is_empty());
    match loader.locate(host, base).map(|url| url.to_file_path()) {
        Ok(Ok(path)) => path.display().to_string(),
        _ => host.to_owned(),
    }
}

/// The engine could not run the container at all (exit 125: daemon down, image not found).
fn engine_failure(engine: &Path, output: &ProcessOutput) -> WorkflowError {
    let lines: Vec<&str> = output.stderr.trim_end().lines().collect();
    let tail = lines
        .get(lines.len().saturating_sub(STDERR_LINES)..)
        .unwrap_or_default()
        .join("\n");
    let detail = if tail.is_empty() {
        format!(
            "`{}` exited with code {ENGINE_FAILURE_CODE}",
            engine.display()
        )
    } else {
        format!(
            "`{}` exited with code {ENGINE_FAILURE_CODE}: {tail}",
            engine.display()
        )
    };
    WorkflowError::new(ErrorKind::Runtime, "Container engine failed").with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Executors;
    use crate::runtime::event::NoEvents;
    use crate::runtime::test_support::{FakeProcesses, doc, machine};
    use crate::runtime::{Outcome, RunOptions, run};
    use serde_json::json;
    use std::sync::Arc;

    /// Runs `body` with a fake engine answering `docker --version` with `probe` and every
    /// `docker run` with exit code 0 and the stdout "ran".
    async fn run_fake(body: &str, probe: i32) -> (Outcome, Vec<ProcessRequest>) {
        let fake = FakeProcesses::new(move |request| {
            Ok(ProcessOutput {
                code: if request.arguments.first().is_some_and(|a| a == "--version") {
                    probe
                } else {
                    0
                },
                stdout: "ran".into(),
                stderr: String::new(),
            })
        });
        let result = run(
            machine(&doc(body)),
            json!({"who": "box"}),
            RunOptions::default(),
            Executors {
                processes: fake.clone(),
                ..crate::runtime::test_support::no_processes()
            },
            Arc::new(NoEvents),
        )
        .await;
        (result.outcome, fake.requests())
    }

    #[tokio::test]
    async fn the_engine_is_probed_once_per_run() {
        let (outcome, requests) = run_fake(
            "do:\n  - a:\n      run:\n        container:\n          image: alpine\n          name: ${ .who }\n  - b:\n      run:\n        container:\n          image: alpine\n          name: second\n",
            0,
        )
        .await;
        assert_eq!(outcome, Outcome::Completed(json!("ran")));
        let calls: Vec<Vec<String>> = requests.iter().map(|r| r.arguments.clone()).collect();
        assert_eq!(
            calls,
            [
                vec!["--version".to_owned()],
                vec![
                    "run".into(),
                    "--name=box".into(),
                    "--pull=missing".into(),
                    "alpine".into()
                ],
                vec![
                    "run".into(),
                    "--name=second".into(),
                    "--pull=missing".into(),
                    "alpine".into()
                ],
            ]
        );
        assert!(requests.iter().all(|r| r.program
            == Program::Exec {
                program: "docker".into()
            }));
    }

    #[tokio::test]
    async fn a_failed_probe_is_tried_again_by_the_next_task() {
        let (outcome, requests) = run_fake(
            "do:\n  - guarded:\n      try:\n        - a:\n            run:\n              container:\n                image: alpine\n      catch:\n        do:\n          - b:\n              run:\n                container:\n                  image: alpine\n",
            1,
        )
        .await;
        let Outcome::Faulted(error) = outcome else {
            panic!("expected a fault: {outcome:?}");
        };
        assert_eq!(error.title.as_deref(), Some("No container engine found"));
        assert_eq!(
            error.instance.as_deref(),
            Some("/do/0/guarded/catch/do/0/b")
        );
        let probes = requests
            .iter()
            .filter(|r| r.arguments == ["--version"])
            .count();
        // docker and podman, twice.
        assert_eq!(probes, 4);
    }

    #[test]
    fn mappings_must_be_plain_values() {
        assert_eq!(
            mapping(("8080".into(), "80".into()), "port", None),
            Ok(("8080".into(), "80".into()))
        );
        for bad in ["", "null", "{\"a\":1}", "[1]", "a b"] {
            let error = mapping(("8080".into(), bad.into()), "port", None)
                .err()
                .unwrap_or_else(|| panic!("`{bad}` accepted"));
            assert_eq!(error.title.as_deref(), Some("Invalid port mapping"));
        }
    }

    #[test]
    fn relative_host_paths_come_from_the_document_directory() {
        let loader = crate::loader::LocalLoader::default();
        let flows = Some(Path::new("/flows"));
        assert_eq!(host_path("/abs", flows, &loader), "/abs");
        assert_eq!(host_path("named-volume", flows, &loader), "named-volume");
        assert_eq!(host_path("./data", flows, &loader), "/flows/data");
        let from_cwd = host_path("../data", None, &loader);
        assert!(Path::new(&from_cwd).is_absolute(), "{from_cwd}");
    }

    #[test]
    fn engine_failures_show_the_stderr_tail() {
        let output = ProcessOutput {
            code: 125,
            stdout: String::new(),
            stderr: "Unable to find image 'nope:latest' locally\n".into(),
        };
        let error = engine_failure(Path::new("docker"), &output);
        assert_eq!(error.title.as_deref(), Some("Container engine failed"));
        assert_eq!(
            error.detail.as_deref(),
            Some("`docker` exited with code 125: Unable to find image 'nope:latest' locally")
        );
    }
}
