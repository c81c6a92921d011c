//! Helpers for the process, container and sub-workflow tests: running the real binary with a
//! chosen environment and directory, writing documents, and waiting for a file's content.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BINARY: &str = env!("CARGO_BIN_EXE_workflow");

/// Generous bound for anything that should happen "soon" on a loaded 2-core machine.
pub const SOON: Duration = Duration::from_secs(30);

/// What a `workflow run` left behind.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// The `--format json` object on stdout.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not one JSON object ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
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

/// A `workflow run` to set up, then [`Run::go`].
pub struct Run {
    command: assert_cmd::Command,
}

impl Run {
    /// `workflow run FILE --format json --progress none` plus `args`.
    pub fn new(file: &Path, args: &[&str]) -> Self {
        let mut command = assert_cmd::Command::new(BINARY);
        // Journaled under the target directory, not the repository.
        command.env(
            "WORKFLOW_STATE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/journal-procs"),
        );
        command
            .arg("run")
            .arg(file)
            .args(["--format", "json", "--progress", "none"])
            .args(args)
            .env_remove("WORKFLOW_CONTAINER_ENGINE")
            .timeout(Duration::from_secs(120));
        Run { command }
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    pub fn dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    pub fn go(mut self) -> Ran {
        let output = self.command.output().unwrap_or_else(|e| panic!("{e}"));
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

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

/// Waits until the file at `path` satisfies `ready`, and returns its text; panics after [`SOON`].
pub fn wait_for(path: &Path, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + SOON;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if ready(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never got ready; it holds:\n{text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Makes `path` executable.
pub fn executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
}
