//! Process start-up cost of the engine: a workflow of 200 sequential `run: shell` tasks running
//! `true`, against a shell loop running `sh -c true` 200 times, measured side by side (the two
//! alternate, so machine load hits both alike). Target: the workflow within 1.2x of the loop.
//! Run with `cargo bench --bench processes`; the figures are printed, nothing is asserted.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");
/// Tasks in the workflow, and iterations of the shell loop.
const TASKS: usize = 200;
/// Measured runs of each side (after one warm-up run each).
const RUNS: usize = 15;

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
    let loop_script =
        format!("i=0; while [ \"$i\" -lt {TASKS} ]; do sh -c true; i=$((i + 1)); done");
    let mut workflow_times = Vec::new();
    let mut loop_times = Vec::new();
    for round in 0..=RUNS {
        let engine = time(Command::new(BINARY).arg("run").arg(&document).args([
            "--progress",
            "none",
            "--format",
            "json",
        ]));
        let shell = time(Command::new("sh").args(["-c", &loop_script]));
        // Round 0 warms the page cache and the binary up.
        if round > 0 {
            workflow_times.push(engine);
            loop_times.push(shell);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (workflow, shell) = (median(&mut workflow_times), median(&mut loop_times));
    println!(
        "\n{:<52} {:>10} {:>10}",
        format!("{TASKS} sequential processes running `true`"),
        "median",
        "per task"
    );
    for (name, total) in [
        ("workflow: run: shell tasks (--progress none)", workflow),
        ("sh loop: sh -c true", shell),
    ] {
        println!(
            "{name:<52} {:>8.1}ms {:>8.2}ms",
            millis(total),
            millis(total) / TASKS as f64
        );
    }
    println!(
        "ratio workflow / sh loop: {:.2}x (target <= 1.20x)",
        workflow.as_secs_f64() / shell.as_secs_f64().max(f64::EPSILON)
    );
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
fn time(command: &mut Command) -> Duration {
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
