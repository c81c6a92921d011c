//! A long-lived child that a client talks to over its stdin and stdout (an MCP server on the
//! stdio transport): started like every process we start (own process group, program looked up
//! once on `PATH`, the task's environment over ours), with pipes kept open both ways. Dropping
//! it terminates the whole group; [`ServerProcess::shut_down`] first lets it exit on its own.

use std::os::fd::OwnedFd;
use std::time::Duration;

use tokio::net::unix::pipe;

use super::child::{Launch, Stream};
use super::group::GroupGuard;
use super::{Invocation, SystemProcesses, spawn_error};
use crate::problem::{ErrorKind, WorkflowError};

/// A started server: its group guard and the three pipes.
pub(crate) struct ServerProcess {
    guard: GroupGuard,
    pub(crate) stdin: Option<pipe::Sender>,
    pub(crate) stdout: Option<Stream>,
    pub(crate) stderr: Option<Stream>,
}

impl SystemProcesses {
    /// Starts `program ARG...` (a bare name is searched on `PATH`, the task's `PATH` first).
    pub(crate) fn start_server(
        &self,
        program: &str,
        arguments: &[String],
        environment: &[(String, String)],
    ) -> Result<ServerProcess, WorkflowError> {
        let invocation = Invocation {
            program: program.into(),
            args: arguments.to_vec(),
            install_hint: "check that the server's command is installed",
        };
        let pipe_error = |error: std::io::Error| {
            WorkflowError::new(ErrorKind::Runtime, "Could not start the server")
                .with_detail(format!("`{program}`: could not open its input: {error}"))
        };
        let (reader, writer) = std::io::pipe().map_err(pipe_error)?;
        let writer = pipe::Sender::from_owned_fd(OwnedFd::from(writer)).map_err(pipe_error)?;
        let task_path = environment
            .iter()
            .rev()
            .find(|(name, _)| name == "PATH")
            .map(|(_, value)| std::ffi::OsStr::new(value.as_str()));
        let resolved = self.paths.resolve(&invocation.program, task_path);
        let launch = Launch {
            program: &resolved,
            arg0: &invocation.program,
            args: &invocation.args,
            environment,
            directory: self.working_directory.as_deref(),
            stdin: reader.into(),
            capture: true,
            // A server lives for one call and dies with the runner like every task process.
            detached: false,
        };
        let mut child =
            super::child::spawn(launch).map_err(|error| spawn_error(&invocation, &error))?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        Ok(ServerProcess {
            guard: GroupGuard::new(child, self.kill_grace),
            stdin: Some(writer),
            stdout,
            stderr,
        })
    }
}

impl ServerProcess {
    /// Closes the server's input (the MCP way of asking a stdio server to stop) and waits up to
    /// `grace` for it to exit; a server still running then is terminated with its group. The
    /// exit code when it exited by itself (128 + the signal number for a signal).
    pub(crate) async fn shut_down(mut self, grace: Duration) -> Option<i32> {
        self.stdin = None;
        let status = match self.guard.child() {
            Some(child) => match tokio::time::timeout(grace, child.wait()).await {
                Ok(Ok(status)) => Some(super::exit_code(status)),
                _ => None,
            },
            None => None,
        };
        if status.is_some() {
            self.guard.disarm();
        }
        // Otherwise dropping the armed guard sends SIGTERM, then SIGKILL after its grace.
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    #[tokio::test]
    async fn a_server_answers_over_its_pipes_and_exits_when_its_input_closes() {
        let processes = SystemProcesses::default();
        let mut server = processes
            .start_server(
                "sh",
                &[
                    "-c".into(),
                    "read line; echo \"got $line $K\"; cat >/dev/null".into(),
                ],
                &[("K".into(), "v".into())],
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut stdin = server.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        stdin
            .write_all(b"hello\n")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        server.stdin = Some(stdin);
        let stdout = server.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next_line().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(line.as_deref(), Some("got hello v"));
        assert_eq!(server.shut_down(Duration::from_secs(30)).await, Some(0));
    }

    #[tokio::test]
    async fn a_missing_server_is_a_configuration_error() {
        let error = SystemProcesses::default()
            .start_server("no-such-mcp-server-here", &[], &[])
            .err()
            .unwrap_or_else(|| panic!("started"));
        assert!(error.type_.ends_with("/configuration"), "{error:?}");
    }
}
