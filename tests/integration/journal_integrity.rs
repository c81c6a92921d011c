//! The journal never lies, with the real binary: two resumes started together (exactly one
//! proceeds), a journal on a full disk (the run stops with an error, and a resume never reruns a
//! finished step), an empty `journal.db` beside a live write-ahead log (refused, never
//! replaced), private files, and write errors of `--events` and `--junit` (non-zero exit).
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BINARY, tempdir, write};

/// A workflow of `steps` shell steps; each appends its name to `$COUNTER`, and step `gated`
/// waits for `$GATE` to exist (ending itself if the runner that started it is gone, so a killed
/// run leaves no step behind that could count twice). With `bulky`, each step prints 200 KB
/// of random text, which the journal stores as the step's output.
fn steps_workflow(dir: &Path, steps: usize, gated: Option<usize>, bulky: bool) -> PathBuf {
    let mut body = String::from(
        "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: steps\n  version: '1.0.0'\ndo:\n",
    );
    for step in 0..steps {
        let wait = if gated == Some(step) {
            // `$GATE.waiting` says the gated step has started: the steps before it are then
            // committed to the journal (a commit barrier follows every step with side effects).
            r#": > "$GATE.waiting"; while [ ! -f "$GATE" ]; do kill -0 $PPID 2>/dev/null || exit 9; sleep 0.05; done; "#
        } else {
            ""
        };
        let print = if bulky {
            "head -c 150000 /dev/urandom | base64 -w0"
        } else {
            "echo done"
        };
        body.push_str(&format!(
            "  - t{step}:\n      run:\n        shell:\n          command: '{wait}echo t{step} >> \"$COUNTER\"; {print}'\n"
        ));
    }
    write(dir, "steps.yaml", &body)
}

fn command(dir: &Path, state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .env("COUNTER", dir.join("counter"))
        .env("GATE", dir.join("gate"))
        .env_remove("WORKFLOW_STATE_DIR")
        .stdin(Stdio::null());
    command
}

fn counted(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("counter"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "waited 90 s for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The id of the only run in `state`.
fn only_run(dir: &Path, state: &Path) -> String {
    let output = command(dir, state, &["runs", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let runs: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
    runs[0]["id"].as_str().unwrap_or_default().to_string()
}

/// Starts a run blocked at step `gated` and kills it with SIGKILL once the steps before have run.
fn killed_run(dir: &Path, state: &Path, steps: usize, gated: usize) -> String {
    let file = steps_workflow(dir, steps, Some(gated), false);
    let mut child: Child = command(dir, state, &["run"])
        .arg(&file)
        .args(["--progress", "none"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until("the steps before the gate", || counted(dir).len() >= gated);
    // A step that ran is not yet a finished step: it is one once the journal committed it,
    // which it has when the gated step after it started. Killed earlier, the step would rightly
    // run again on resume (the test would count it twice).
    wait_until("the gated step to start", || {
        dir.join("gate.waiting").exists()
    });
    let id = {
        let mut id = String::new();
        wait_until("the run to be recorded", || {
            id = only_run(dir, state);
            !id.is_empty()
        });
        id
    };
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    id
}

#[test]
fn two_resumes_at_the_same_moment_run_the_remaining_steps_once() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let id = killed_run(dir.path(), &state, 4, 1);
    // Both started together; the gate stays closed, so the winner is still running when the
    // loser tries.
    let start = |_| {
        command(
            dir.path(),
            &state,
            &["resume", &id, "--format", "json", "--progress", "none"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut resumes: Vec<Child> = (0..2).map(start).collect();
    let mut refused: Option<Output> = None;
    wait_until("one resume to be refused", || {
        for child in &mut resumes {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
        }
        false
    });
    let (finished, running): (Vec<_>, Vec<_>) = resumes.into_iter().partition(is_done);
    for child in finished {
        refused = Some(child.wait_with_output().unwrap_or_else(|e| panic!("{e}")));
    }
    let refused = refused.unwrap_or_else(|| panic!("no resume was refused"));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains(&id) && message.contains("process"),
        "the refusal names the run and the process holding it: {message}"
    );
    assert_eq!(running.len(), 1);
    std::fs::write(dir.path().join("gate"), "").unwrap_or_else(|e| panic!("{e}"));
    for child in running {
        let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let counts = counted(dir.path());
    for step in ["t0", "t1", "t2", "t3"] {
        let runs = counts.iter().filter(|line| *line == step).count();
        assert_eq!(runs, 1, "{step} ran {runs} times: {counts:?}");
    }
}

fn is_done(child: &Child) -> bool {
    // A child that exited is a zombie until waited for: its state in /proc says so.
    std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
        .map(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                == Some('Z')
        })
        .unwrap_or(true)
}

#[test]
fn a_claim_left_by_a_killed_resume_is_taken_over() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let id = killed_run(dir.path(), &state, 3, 1);
    // A resume killed in turn leaves its own pid in the claim.
    let mut resume = command(dir.path(), &state, &["resume", &id, "--progress", "none"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until("the resume to claim the run", || {
        let output = command(dir.path(), &state, &["runs", "--format", "json"])
            .output()
            .ok();
        // Claimed by a live process: no longer shown as interrupted.
        output
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .is_some_and(|runs| runs[0]["interrupted"] == false)
    });
    resume.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = resume.wait();
    std::fs::write(dir.path().join("gate"), "").unwrap_or_else(|e| panic!("{e}"));
    let output = command(dir.path(), &state, &["resume", &id, "--progress", "none"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn an_empty_database_beside_a_live_log_is_refused_and_left_alone() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let _ = killed_run(dir.path(), &state, 2, 1);
    let wal = state.join("journal.db-wal");
    let log = std::fs::read(&wal).unwrap_or_default();
    assert!(!log.is_empty(), "a killed run leaves its write-ahead log");
    std::fs::write(state.join("journal.db"), b"").unwrap_or_else(|e| panic!("{e}"));
    for args in [vec!["runs"], vec!["run", "steps.yaml"]] {
        let output = command(dir.path(), &state, &args)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&output).contains("write-ahead log"),
            "{}",
            stderr(&output)
        );
        assert_eq!(
            std::fs::read(&wal).unwrap_or_default(),
            log,
            "{args:?} changed the log"
        );
        assert_eq!(
            std::fs::metadata(state.join("journal.db"))
                .map(|m| m.len())
                .ok(),
            Some(0)
        );
    }
}

#[test]
fn the_journal_is_private_to_its_user() {
    let dir = tempdir();
    let state = dir.path().join("fresh").join("state");
    let file = steps_workflow(dir.path(), 1, None, false);
    let output = command(dir.path(), &state, &["run"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default()
    };
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("journal.db")), 0o600);
}

#[test]
fn unwritable_events_and_junit_files_make_the_exit_non_zero() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let file = steps_workflow(dir.path(), 2, None, false);
    let junit = command(dir.path(), &state, &["run"])
        .arg(&file)
        .arg("--junit")
        .arg(dir.path().join("missing-dir").join("junit.xml"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(junit.status.code(), Some(1), "{}", stderr(&junit));
    assert!(stderr(&junit).contains("JUnit"), "{}", stderr(&junit));
    if Path::new("/dev/full").exists() {
        let events = command(dir.path(), &state, &["run"])
            .arg(&file)
            .args(["--events", "/dev/full"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events.status.code(), Some(1), "{}", stderr(&events));
        assert!(
            stderr(&events).contains("events file"),
            "{}",
            stderr(&events)
        );
    }
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).ok()?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk(at.to_path_buf()))
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_run_and_no_finished_step_runs_again() {
    let dir = tempdir();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), "1m") else {
        eprintln!(
            "SKIPPED journal_integrity::a_full_disk_stops_the_run_and_no_finished_step_runs_again: \
             cannot mount a tmpfs here (needs root)"
        );
        return;
    };
    let state = disk.0.join("state");
    let file = steps_workflow(dir.path(), 30, None, true);
    let full = command(dir.path(), &state, &["run"])
        .arg(&file)
        .args(["--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(full.status.code(), Some(1), "{}", stderr(&full));
    assert!(
        stderr(&full).contains("could not be written"),
        "{}",
        stderr(&full)
    );
    let ran_before = counted(dir.path());
    assert!(
        ran_before.len() < 30,
        "the run went on after its journal failed: {ran_before:?}"
    );
    disk.grow("64m");
    let id = only_run(dir.path(), &state);
    let resumed = command(dir.path(), &state, &["resume", &id, "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let counts = counted(dir.path());
    let twice: Vec<String> = (0..30)
        .map(|step| format!("t{step}"))
        .filter(|step| counts.iter().filter(|line| *line == step).count() != 1)
        .collect();
    // Only the step in flight when the disk filled may run again.
    assert!(
        twice.len() <= 1,
        "steps not run exactly once: {twice:?} in {counts:?}"
    );
    drop(disk);
}
