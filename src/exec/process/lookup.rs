//! Finding a program named without a path (`sh`, `python3`, `docker`) on `PATH` once per run.
//!
//! Why: started by its bare name, a program is looked up again at every start, by trying
//! `execve` in each `PATH` directory until one succeeds. With a long `PATH` that is most of the
//! cost of starting `sh -c true`, and a workflow starting hundreds of processes pays it each
//! time; a shell avoids it by remembering where it found a command, and so do we.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where programs named without a path were found, shared by every start of one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProgramPaths {
    found: Arc<Mutex<HashMap<PathBuf, PathBuf>>>,
}

impl ProgramPaths {
    /// The path to start `program` from. A program given with a directory is used as it is. A
    /// bare name is searched on `search_path` (our `PATH` unless the task sets its own) and
    /// remembered; when it is not found the bare name comes back, so that starting it fails
    /// exactly as it would have (not found, with the install hint).
    pub(crate) fn resolve(&self, program: &Path, task_path: Option<&OsStr>) -> PathBuf {
        if program.components().count() != 1 || program.as_os_str().is_empty() {
            return program.to_path_buf();
        }
        // A task with its own PATH is searched in that PATH by the start itself: not cached.
        if task_path.is_some() {
            return program.to_path_buf();
        }
        if let Some(path) = self.lock().get(program) {
            return path.clone();
        }
        let Some(found) = std::env::var_os("PATH").and_then(|path| search(program, &path)) else {
            return program.to_path_buf();
        };
        self.lock().insert(program.to_path_buf(), found.clone());
        found
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, PathBuf>> {
        match self.found.lock() {
            Ok(found) => found,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The first executable file called `program` in the directories of `path`. Empty entries (the
/// current directory, in the old convention) are skipped: they are left to the start itself.
fn search(program: &Path, path: &OsString) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|directory| !directory.as_os_str().is_empty() && directory.is_absolute())
        .map(|directory| directory.join(program))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(candidate: &Path) -> bool {
    std::fs::metadata(candidate)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(directory: &Path, name: &str) -> PathBuf {
        let path = directory.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_first_executable_on_the_path_wins() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        // Not executable: skipped, as execvp would.
        std::fs::write(first.path().join("tool"), "data").unwrap();
        let wanted = executable(second.path(), "tool");
        executable(second.path(), "other");
        let path = std::env::join_paths([first.path(), second.path()]).unwrap();
        assert_eq!(search(Path::new("tool"), &path), Some(wanted));
        assert_eq!(search(Path::new("missing"), &path), None);
    }

    #[test]
    fn directories_named_tool_and_relative_entries_are_not_programs() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir(directory.path().join("tool")).unwrap();
        let path =
            std::env::join_paths([directory.path(), Path::new("relative"), Path::new("")]).unwrap();
        assert_eq!(search(Path::new("tool"), &path), None);
    }

    #[test]
    fn paths_with_a_directory_and_tasks_with_their_own_path_are_left_alone() {
        let paths = ProgramPaths::default();
        assert_eq!(
            paths.resolve(Path::new("./sh"), None),
            PathBuf::from("./sh")
        );
        assert_eq!(
            paths.resolve(Path::new("/bin/sh"), None),
            PathBuf::from("/bin/sh")
        );
        assert_eq!(
            paths.resolve(Path::new("sh"), Some(OsStr::new("/nowhere"))),
            PathBuf::from("sh")
        );
    }

    #[test]
    fn a_bare_name_found_on_path_is_remembered() {
        let paths = ProgramPaths::default();
        let resolved = paths.resolve(Path::new("sh"), None);
        assert!(resolved.is_absolute(), "{}", resolved.display());
        assert_eq!(paths.lock().get(Path::new("sh")), Some(&resolved));
        assert_eq!(
            paths.resolve(Path::new("surely-no-such-program-here"), None),
            PathBuf::from("surely-no-such-program-here")
        );
    }
}
