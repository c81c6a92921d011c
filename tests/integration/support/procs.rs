//! Helpers for the process, container and sub-workflow tests: running the real binary with a
//! chosen environment and directory, and waiting for a file's content.

use std::path::Path;
use std::time::{Duration, Instant};

use super::Ran;

/// Generous bound for anything that should happen "soon" on a loaded 2-core machine.
pub const SOON: Duration = Duration::from_secs(30);

/// A `workflow run` to set up, then [`Run::go`].
pub struct Run {
    command: assert_cmd::Command,
}

impl Run {
    /// `workflow run FILE --format json --progress none` plus `args`.
    pub fn new(file: &Path, args: &[&str]) -> Self {
        let mut command = super::journaled("procs");
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
        Ran::of(&mut self.command)
    }
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
