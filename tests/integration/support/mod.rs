//! Helpers shared by every area of the integration tests: the binary and how to start it, what a
//! run left behind and the parsing of its JSON, scratch files and documents, the spec's files
//! beside the repository. Local servers (on 127.0.0.1:0) are in `http_server`; the fake
//! authorization services in `auth_server`; the process-oriented runner in `procs`.

pub mod auth_server;
pub mod grpc_peer;
pub mod http_server;
pub mod peer;
pub mod procs;
pub mod services;
pub mod temporal;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use workflow::exit_code::ExitCode;

/// The `workflow` executable cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_workflow");

/// `workflow` whose runs are journaled under the target directory (`journal-<area>`), never in
/// the repository or the user's state directory.
pub fn journaled(area: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(BINARY);
    command.env("WORKFLOW_STATE_DIR", state_dir(area));
    command
}

/// The state directory of an area's runs: `journal-<area>` under cargo's temporary directory.
pub fn state_dir(area: &str) -> String {
    format!("{}/journal-{area}", env!("CARGO_TARGET_TMPDIR"))
}

/// What a finished `workflow` process left behind.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(output: Output) -> Self {
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Ran {
    /// Runs `command` to its end.
    pub fn of(command: &mut assert_cmd::Command) -> Self {
        Ran::from(command.output().unwrap_or_else(|e| panic!("{e}")))
    }

    /// (exit code, stdout, stderr), for tests that match on all three.
    pub fn parts(self) -> (i32, String, String) {
        (self.code, self.stdout, self.stderr)
    }

    /// The JSON object on stdout (`--format json`).
    pub fn json(&self) -> Value {
        parse_json(&self.stdout, &self.stderr)
    }

    /// The output of a completed run.
    pub fn output(&self) -> Value {
        let json = self.json();
        assert_eq!(
            json["status"], "completed",
            "{json}\nstderr: {}",
            self.stderr
        );
        json["output"].clone()
    }

    /// The error of a faulted run.
    pub fn error(&self) -> Value {
        let json = self.json();
        assert_eq!(json["status"], "faulted", "{json}\nstderr: {}", self.stderr);
        json["error"].clone()
    }
}

/// `stdout` as one JSON value; the failure shows both streams.
pub fn parse_json(stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}\nstderr: {stderr}"))
}

/// `stdout` as one JSON value, when the test has no stderr to show.
pub fn json_of(stdout: &str) -> Value {
    parse_json(stdout, "")
}

/// The `output` of a run result printed with `--format json`, after checking it completed.
pub fn completed(code: i32, result: &Value) -> &Value {
    assert_eq!(code, ExitCode::Success.code(), "{result:#}");
    &result["output"]
}

/// The `error` of a run result printed with `--format json`, after checking it faulted.
pub fn faulted(code: i32, result: &Value) -> &Value {
    assert_eq!(code, ExitCode::Faulted.code(), "{result:#}");
    &result["error"]
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

/// Writes `text` to `dir/name` (creating the parent directories) and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// A document named `namespace/name:version` with `body` (starting with `do:` or other keys).
pub fn document(namespace: &str, name: &str, version: &str, body: &str) -> String {
    format!(
        "document:\n  dsl: '1.0.3'\n  namespace: {namespace}\n  name: {name}\n  version: '{version}'\n{body}"
    )
}

/// `../shared/spec/<sub>`, or None (with a note) when the spec files are not beside the repo.
pub fn spec_dir(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec")).join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("note: {} is absent; skipping", dir.display());
        None
    }
}

/// A port on 127.0.0.1 that refuses connections for as long as the returned socket lives: it is
/// bound (so no other test can take it) but not listening. A listener bound and dropped would
/// free the port for whichever test binds next.
pub fn refusing_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = socket
        .local_addr()
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("{e}"));
    (socket, port)
}
