//! Process start-up cost of the engine: a workflow of 200 sequential `run: shell` tasks running
//! `true`, against a shell loop running `sh -c true` 200 times, measured side by side (the sides
//! alternate, so machine load hits them alike). Target: the workflow within 1.2x of the loop.
//!
//! The workflow runs twice: with the journal (the default: every task with side effects is
//! committed before the next starts) and with `--no-journal`. A third side starts the same 200
//! processes from Rust through `tokio::process` (the engine's fallback way: glibc's
//! `posix_spawn`), without the binary's start-up or any engine, for comparison with the engine's
//! own way of starting them (`clone` with a pidfd, `src/exec/process/spawn.rs`).
//! Run with `cargo bench --bench processes`; the figures are printed, nothing is asserted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");
/// Tasks in the workflow, and iterations of the shell loop.
const TASKS: usize = 200;
/// Measured runs of each side (after one warm-up run each).
const RUNS: usize = 21;

fn main() {
    let dir = std::env::temp_dir().join(format!("workflow-bench-processes-{}", std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        return;
    }
    let document = dir.join("shell-200.yaml");
    if let Err(error) = std::fs::write(&document, workflow(TASKS)) {
        eprintln!("cannot write {}: {error}", document.display());
        return;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a tokio runtime: {error}");
            return;
        }
    };
    let loop_script =
        format!("i=0; while [ \"$i\" -lt {TASKS} ]; do sh -c true; i=$((i + 1)); done");
    let sides = [
        "workflow run (journal on, the default)",
        "workflow run --no-journal",
        "tokio::process loop in-process (no engine)",
        "sh loop: sh -c true",
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); sides.len()];
    for round in 0..=RUNS {
        let round_times = [
            time(workflow_command(&document, &dir, true)),
            time(workflow_command(&document, &dir, false)),
            runtime.block_on(tokio_loop(TASKS)),
            time(shell_loop(&loop_script)),
        ];
        // Round 0 warms the page cache and the binary up.
        if round > 0 {
            for (side, elapsed) in samples.iter_mut().zip(round_times) {
                side.push(elapsed);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let medians: Vec<Duration> = samples.iter_mut().map(|side| median(side)).collect();
    let shell = medians.last().copied().unwrap_or_default();
    println!(
        "\n{:<48} {:>9} {:>9} {:>10}",
        format!("{TASKS} sequential processes running `true`"),
        "median",
        "per task",
        "/ sh loop"
    );
    for (name, total) in sides.iter().zip(&medians) {
        println!(
            "{name:<48} {:>7.1}ms {:>7.2}ms {:>9.2}x",
            millis(*total),
            millis(*total) / TASKS as f64,
            total.as_secs_f64() / shell.as_secs_f64().max(f64::EPSILON)
        );
    }
    println!("target: workflow run within 1.20x of the sh loop");
}

/// `workflow run` of the document, JSON result, no progress view; the journal in `state`.
fn workflow_command(document: &Path, state: &Path, journal: bool) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("run")
        .arg(document)
        .args(["--progress", "none", "--format", "json", "--state-dir"])
        .arg(state);
    if !journal {
        command.arg("--no-journal");
    }
    command
}

fn shell_loop(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

/// Where `sh` is on PATH, found once as the engine finds it (a bare name would be searched for
/// at every start).
fn shell_path() -> std::path::PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|directory| directory.join("sh"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| "sh".into())
}

/// `tasks` processes started one after the other through `tokio::process`, as the engine did
/// before it started them itself: own process group, stdout and stderr piped and read to the end
/// while waiting for the exit.
async fn tokio_loop(tasks: usize) -> Duration {
    use tokio::io::AsyncReadExt;
    let shell = shell_path();
    let started = Instant::now();
    for _ in 0..tasks {
        let mut child = tokio::process::Command::new(&shell)
            .args(["-c", "true", "sh"])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("the benchmark could not start sh: {error}"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (status, _, _) = match (child.stdout.take(), child.stderr.take()) {
            (Some(mut stdout), Some(mut stderr)) => tokio::join!(
                child.wait(),
                stdout.read_to_end(&mut out),
                stderr.read_to_end(&mut err)
            ),
            _ => panic!("the benchmark's pipes were not set up"),
        };
        assert!(status.is_ok_and(|status| status.success()));
    }
    started.elapsed()
}

/// `tasks` sequential tasks running `true`.
fn workflow(tasks: usize) -> String {
    let mut text = String::from(
        "document:\n  dsl: '1.0.3'\n  namespace: bench\n  name: shell-200\n  version: '1.0.0'\ndo:\n",
    );
    for index in 0..tasks {
        text.push_str(&format!(
            "  - t{index}:\n      run:\n        shell:\n          command: 'true'\n"
        ));
    }
    text
}

/// Wall time of one run of `command`, which must succeed.
fn time(mut command: Command) -> Duration {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|error| panic!("the benchmark could not start a process: {error}"));
    let elapsed = started.elapsed();
    assert!(status.success(), "a benchmark run failed: {status}");
    elapsed
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
