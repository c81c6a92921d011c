//! `run: container` as a container engine's command line: the evaluated request and the argv of
//! `ENGINE run ...`, finding the engine (`docker`, then `podman`, or the one named by
//! `WORKFLOW_CONTAINER_ENGINE`), and stopping or removing a container whose task was cancelled
//! or whose lifetime ran out. The engine CLI itself runs through the [`ProcessRunner`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::document::PullPolicy;
use crate::host::effects::process::{ProcessRequest, ProcessRunner, Program};
use crate::problem::{ErrorKind, WorkflowError};

/// The environment variable naming the engine to use instead of probing for one.
pub const ENGINE_VARIABLE: &str = "WORKFLOW_CONTAINER_ENGINE";
/// Probed in this order when the variable is not set.
const CANDIDATES: [&str; 2] = ["docker", "podman"];
/// The exit status docker and podman use for their own failures (daemon down, image not found),
/// as opposed to the container's exit code.
pub const ENGINE_FAILURE_CODE: i32 = 125;

/// What happens to the container once it has run (`lifetime.cleanup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// `always`: removed as soon as it exits (`--rm`).
    Remove,
    /// `never`: kept, stopped, for inspection.
    Keep,
    /// `eventually`: kept, then removed this long after the task finished.
    RemoveAfter(Duration),
}

/// A fully evaluated container to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRequest {
    pub image: String,
    /// Always set (generated when the task gives none) so a cancelled task can stop it.
    pub name: String,
    /// Run as `sh -c COMMAND sh ARG...` inside the container.
    pub command: Option<String>,
    /// `(host, container)` pairs.
    pub ports: Vec<(String, String)>,
    /// `(host path, container path)` pairs.
    pub volumes: Vec<(String, String)>,
    pub environment: Vec<(String, String)>,
    pub arguments: Vec<String>,
    /// Keep the container's stdin open (`-i`): the task has `stdin`.
    pub interactive: bool,
    pub pull: PullPolicy,
    pub lifetime: Lifetime,
}

impl ContainerRequest {
    /// The engine's arguments: `run [--rm] [-i] --name=NAME [--publish=H:C]... [--volume=H:C]...
    /// [--env=K=V]... --pull=POLICY IMAGE [sh -c COMMAND sh] [ARG...]`. Options take their value
    /// after `=`, so a value starting with `-` is never read as another option.
    pub fn run_arguments(&self) -> Result<Vec<String>, WorkflowError> {
        if self.image.trim().is_empty() || self.image.starts_with('-') {
            return Err(
                WorkflowError::new(ErrorKind::Configuration, "Invalid container image")
                    .with_detail(format!(
                        "`{}` is not an image reference: it is empty or starts with `-`",
                        self.image
                    )),
            );
        }
        let mut argv = vec!["run".to_owned()];
        if self.lifetime == Lifetime::Remove {
            argv.push("--rm".to_owned());
        }
        if self.interactive {
            argv.push("-i".to_owned());
        }
        argv.push(format!("--name={}", self.name));
        for (host, container) in &self.ports {
            argv.push(format!("--publish={host}:{container}"));
        }
        for (host, container) in &self.volumes {
            argv.push(format!("--volume={host}:{container}"));
        }
        for (name, value) in &self.environment {
            argv.push(format!("--env={name}={value}"));
        }
        let pull = match self.pull {
            PullPolicy::IfNotPresent => "missing",
            PullPolicy::Always => "always",
            PullPolicy::Never => "never",
        };
        argv.push(format!("--pull={pull}"));
        argv.push(self.image.clone());
        if let Some(command) = &self.command {
            // As for `run: shell`: the arguments are `$1`, `$2`, ..., never parsed by the shell.
            argv.extend([
                "sh".to_owned(),
                "-c".to_owned(),
                command.clone(),
                "sh".to_owned(),
            ]);
        }
        argv.extend(self.arguments.iter().cloned());
        Ok(argv)
    }
}

/// A container name for a task that gives none: readable, unique, and valid for the engines
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
pub fn generated_name(task: &str) -> String {
    let task: String = task
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let unique = unique.get(..12).unwrap_or(&unique);
    format!("workflow-{task}-{unique}")
}

/// The engine [`ENGINE_VARIABLE`] names, if it is set.
pub fn configured_engine() -> Option<String> {
    std::env::var(ENGINE_VARIABLE).ok()
}

/// Finds the engine: the one `preferred` names (from [`ENGINE_VARIABLE`]), else the first of
/// `docker` and `podman` whose `--version` succeeds.
pub async fn find_engine(
    processes: &dyn ProcessRunner,
    preferred: Option<String>,
) -> Result<PathBuf, WorkflowError> {
    if let Some(preferred) = preferred.filter(|p| !p.trim().is_empty()) {
        let engine = PathBuf::from(preferred.trim());
        return match probe(processes, &engine).await {
            Ok(()) => Ok(engine),
            Err(problem) => Err(WorkflowError::new(
                ErrorKind::Configuration,
                "Container engine not usable",
            )
            .with_detail(format!(
                "{ENGINE_VARIABLE} names `{}`, but `{} --version` failed: {problem}",
                engine.display(),
                engine.display()
            ))),
        };
    }
    let mut problems = Vec::new();
    for candidate in CANDIDATES {
        let engine = PathBuf::from(candidate);
        match probe(processes, &engine).await {
            Ok(()) => return Ok(engine),
            Err(problem) => problems.push(format!("{candidate}: {problem}")),
        }
    }
    Err(
        WorkflowError::new(ErrorKind::Configuration, "No container engine found").with_detail(
            format!(
                "`run: container` needs Docker or Podman: install one of them (or set \
                 {ENGINE_VARIABLE} to the engine's command). Tried {}",
                problems.join("; ")
            ),
        ),
    )
}

/// Why an engine's `--version` probe failed.
#[derive(Debug, thiserror::Error)]
enum ProbeError {
    #[error("exit code {code}{}", stderr.as_ref().map(|line| format!(" ({line})")).unwrap_or_default())]
    Exit { code: i32, stderr: Option<String> },
    #[error("{0}")]
    NotStarted(String),
}

/// Whether `ENGINE --version` starts and succeeds; the reason when it does not.
async fn probe(processes: &dyn ProcessRunner, engine: &Path) -> Result<(), ProbeError> {
    let request = ProcessRequest {
        program: Program::Exec {
            program: engine.to_path_buf(),
        },
        arguments: vec!["--version".to_owned()],
        environment: Vec::new(),
        stdin: None,
        detach: false,
        on_line: None,
    };
    match processes.run(request).await {
        Ok(output) if output.code == 0 => Ok(()),
        Ok(output) => Err(ProbeError::Exit {
            code: output.code,
            stderr: first_line(&output.stderr).map(str::to_owned),
        }),
        Err(error) => Err(ProbeError::NotStarted(
            error
                .detail
                .or(error.title)
                .unwrap_or_else(|| "it did not start".to_owned()),
        )),
    }
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

/// A detached `sh` that waits `after`, then removes the container (`lifetime: eventually`).
/// Being a process of its own group, it outlives this run, so the removal happens even when the
/// workflow finished long before.
pub fn remove_later(engine: &Path, name: &str, after: Duration) -> ProcessRequest {
    // Whole seconds, rounded up: `sleep` everywhere takes integers.
    let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    ProcessRequest {
        program: Program::Shell {
            command: r#"sleep "$1" && exec "$2" rm -f -- "$3""#.to_owned(),
        },
        arguments: vec![
            seconds.to_string(),
            engine.display().to_string(),
            name.to_owned(),
        ],
        environment: Vec::new(),
        stdin: None,
        detach: true,
        on_line: None,
    }
}

/// Stops the container of a task that did not finish (timeout, cancellation, a competing
/// branch won): dropped while armed, it starts `ENGINE rm -f NAME` (or `ENGINE kill NAME` when
/// the container is to be kept). Killing the engine's CLI alone could leave the container
/// running. The command is started synchronously from `Drop`, in its own process group, so it
/// completes even when this process exits right after.
pub struct ContainerGuard {
    engine: PathBuf,
    name: String,
    keep: bool,
    armed: bool,
}

impl ContainerGuard {
    pub fn new(engine: &Path, request: &ContainerRequest) -> Self {
        ContainerGuard {
            engine: engine.to_path_buf(),
            name: request.name.clone(),
            keep: request.lifetime == Lifetime::Keep,
            armed: true,
        }
    }

    /// The container ran to its end: nothing to stop.
    pub fn disarm(mut self) {
        self.armed = false;
    }

    /// The engine's arguments that stop the container.
    fn stop_arguments(&self) -> [&str; 4] {
        if self.keep {
            ["kill", "--signal=KILL", "--", &self.name]
        } else {
            ["rm", "-f", "--", &self.name]
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut command = std::process::Command::new(&self.engine);
        command
            .args(self.stop_arguments())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        // Best effort: an engine that vanished since the run started cannot be helped.
        if let Ok(mut child) = command.spawn() {
            // Reaped off this thread; the process finishes even if we exit first.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::effects::process::ProcessOutput;
    use crate::test_support::FakeProcesses;

    fn request() -> ContainerRequest {
        ContainerRequest {
            image: "alpine:3".into(),
            name: "box".into(),
            command: None,
            ports: Vec::new(),
            volumes: Vec::new(),
            environment: Vec::new(),
            arguments: Vec::new(),
            interactive: false,
            pull: PullPolicy::IfNotPresent,
            lifetime: Lifetime::Keep,
        }
    }

    #[test]
    fn a_bare_image_runs_with_its_name_and_the_default_pull_policy() {
        assert_eq!(
            request().run_arguments(),
            Ok(vec![
                "run".to_owned(),
                "--name=box".into(),
                "--pull=missing".into(),
                "alpine:3".into()
            ])
        );
    }

    #[test]
    fn every_field_maps_to_its_option_and_the_command_runs_through_sh() {
        let full = ContainerRequest {
            command: Some("echo \"$1\"".into()),
            ports: vec![("8080".into(), "80".into())],
            volumes: vec![("/data".into(), "/mnt/data".into())],
            environment: vec![("GREETING".into(), "hello world".into())],
            arguments: vec!["-x".into(), "$(no)".into()],
            interactive: true,
            pull: PullPolicy::Always,
            lifetime: Lifetime::Remove,
            ..request()
        };
        assert_eq!(
            full.run_arguments().unwrap_or_default(),
            [
                "run",
                "--rm",
                "-i",
                "--name=box",
                "--publish=8080:80",
                "--volume=/data:/mnt/data",
                "--env=GREETING=hello world",
                "--pull=always",
                "alpine:3",
                "sh",
                "-c",
                "echo \"$1\"",
                "sh",
                "-x",
                "$(no)"
            ]
        );
        let never = ContainerRequest {
            pull: PullPolicy::Never,
            lifetime: Lifetime::RemoveAfter(Duration::from_secs(5)),
            arguments: vec!["a".into()],
            ..request()
        };
        assert_eq!(
            never.run_arguments().unwrap_or_default(),
            ["run", "--name=box", "--pull=never", "alpine:3", "a"]
        );
    }

    #[test]
    fn an_image_that_looks_like_an_option_is_refused() {
        for image in ["", "  ", "--privileged"] {
            let error = ContainerRequest {
                image: image.into(),
                ..request()
            }
            .run_arguments()
            .err()
            .unwrap_or_else(|| panic!("`{image}` accepted"));
            assert_eq!(error.title.as_deref(), Some("Invalid container image"));
            assert_eq!(error.status, 400);
        }
    }

    #[test]
    fn generated_names_are_valid_and_unique() {
        let one = generated_name("say hello/now");
        let two = generated_name("say hello/now");
        assert_ne!(one, two);
        assert!(one.starts_with("workflow-say-hello-now-"), "{one}");
        assert!(
            one.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        );
        assert_eq!(one.len(), "workflow-say-hello-now-".len() + 12);
    }

    fn answering(docker: Option<i32>, podman: Option<i32>) -> std::sync::Arc<FakeProcesses> {
        FakeProcesses::new(move |request| {
            let code = match &request.program {
                Program::Exec { program } if program == Path::new("docker") => docker,
                Program::Exec { program } if program == Path::new("podman") => podman,
                Program::Exec { program } if program == Path::new("/opt/nerdctl") => Some(0),
                _ => None,
            };
            match code {
                Some(code) => Ok(ProcessOutput {
                    code,
                    stdout: String::new(),
                    stderr: "daemon says no\n".into(),
                }),
                None => Err(
                    WorkflowError::new(ErrorKind::Configuration, "Program not found")
                        .with_detail("`x` was not found on PATH"),
                ),
            }
        })
    }

    #[tokio::test]
    async fn docker_is_preferred_then_podman() {
        let both = answering(Some(0), Some(0));
        assert_eq!(
            find_engine(both.as_ref(), None).await,
            Ok(PathBuf::from("docker"))
        );
        let requests = both.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].arguments, ["--version"]);
        let podman_only = answering(None, Some(0));
        assert_eq!(
            find_engine(podman_only.as_ref(), None).await,
            Ok(PathBuf::from("podman"))
        );
        let broken_docker = answering(Some(1), Some(0));
        assert_eq!(
            find_engine(broken_docker.as_ref(), None).await,
            Ok(PathBuf::from("podman"))
        );
    }

    #[tokio::test]
    async fn without_an_engine_the_error_says_what_to_install() {
        let none = answering(None, Some(2));
        let error = find_engine(none.as_ref(), None)
            .await
            .err()
            .unwrap_or_else(|| {
                panic!("an engine was found");
            });
        assert_eq!(error.type_, ErrorKind::Configuration.type_uri());
        assert_eq!(error.title.as_deref(), Some("No container engine found"));
        let detail = error.detail.unwrap_or_default();
        assert!(detail.contains("install one of them"), "{detail}");
        assert!(
            detail.contains(
                "docker: `x` was not found on PATH; podman: exit code 2 (daemon says no)"
            ),
            "{detail}"
        );
    }

    #[tokio::test]
    async fn the_variable_picks_the_engine_and_must_answer() {
        let fake = answering(Some(0), Some(0));
        assert_eq!(
            find_engine(fake.as_ref(), Some("/opt/nerdctl".into())).await,
            Ok(PathBuf::from("/opt/nerdctl"))
        );
        let error = find_engine(fake.as_ref(), Some("/opt/missing".into()))
            .await
            .err()
            .unwrap_or_else(|| panic!("a missing engine was accepted"));
        assert_eq!(error.title.as_deref(), Some("Container engine not usable"));
        assert!(
            error
                .detail
                .unwrap_or_default()
                .starts_with("WORKFLOW_CONTAINER_ENGINE names `/opt/missing`"),
        );
        // Blank means unset.
        assert_eq!(
            find_engine(fake.as_ref(), Some(" ".into())).await,
            Ok(PathBuf::from("docker"))
        );
    }

    #[test]
    fn removal_later_rounds_up_to_whole_seconds() {
        let request = remove_later(Path::new("docker"), "box", Duration::from_millis(1500));
        assert!(request.detach);
        assert_eq!(request.arguments, ["2", "docker", "box"]);
    }

    #[test]
    fn a_kept_container_is_killed_and_others_removed() {
        let kept = ContainerGuard::new(Path::new("/nonexistent/engine"), &request());
        assert_eq!(
            kept.stop_arguments(),
            ["kill", "--signal=KILL", "--", "box"]
        );
        let removed = ContainerGuard::new(
            Path::new("/nonexistent/engine"),
            &ContainerRequest {
                lifetime: Lifetime::Remove,
                ..request()
            },
        );
        assert_eq!(removed.stop_arguments(), ["rm", "-f", "--", "box"]);
        // Dropping with an engine that does not exist is harmless.
        drop(kept);
        removed.disarm();
    }
}
