//! End-to-end benchmarks of the real `workflow` binary: wall time of whole processes (cold
//! start included, as a user or CI sees it) and peak memory. Run with `cargo bench --bench cli`.
//! Figures are printed as a table; nothing here asserts a time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let examples = root.join("../shared/spec/examples");
    let mut rows = Vec::new();

    let one_example = if examples.is_dir() {
        examples.join("do-multiple.yaml")
    } else {
        root.join("workflows/hello.yaml")
    };
    rows.push(measure("validate one document (cold process)", 30, || {
        run_quiet(Command::new(BINARY).arg("validate").arg(&one_example))
    }));

    if examples.is_dir() {
        let files = documents(&examples);
        rows.push(measure(
            &format!("validate {} spec examples (one process)", files.len()),
            10,
            || run_quiet(Command::new(BINARY).arg("validate").args(&files)),
        ));
        if let Some(row) = typescript_sdk(root, &files) {
            rows.push(row);
        }
    }

    let workload = root.join("benches/workloads/sum-100k.yaml");
    // A fresh journal, deleted afterwards: every run of the loop records about 300,000 events.
    let state = tempfile::tempdir().expect("a temporary state directory");
    rows.push(measure(
        "run: for over 100,000 items, one set each",
        5,
        || {
            run_quiet(
                Command::new(BINARY)
                    .arg("run")
                    .arg(&workload)
                    .args(["--format", "json"])
                    .arg("--state-dir")
                    .arg(state.path()),
            )
        },
    ));
    rows.push(measure("same, --no-journal", 5, || {
        run_quiet(Command::new(BINARY).arg("run").arg(&workload).args([
            "--format",
            "json",
            "--no-journal",
        ]))
    }));

    println!(
        "\n{:<52} {:>10} {:>10} {:>12}",
        "benchmark", "median", "min", "peak RSS"
    );
    for row in rows {
        println!(
            "{:<52} {:>8.1}ms {:>8.1}ms {:>9.1} MB",
            row.name,
            millis(row.median),
            millis(row.min),
            row.peak_rss_kb as f64 / 1024.0
        );
    }
}

struct Row {
    name: String,
    median: Duration,
    min: Duration,
    peak_rss_kb: i64,
}

/// One finished child process: how long it took and its peak resident memory.
struct Sample {
    wall: Duration,
    peak_rss_kb: i64,
}

fn measure(name: &str, runs: usize, mut once: impl FnMut() -> Sample) -> Row {
    let _warm_up = once();
    let mut samples: Vec<Sample> = (0..runs).map(|_| once()).collect();
    samples.sort_by_key(|s| s.wall);
    Row {
        name: name.to_string(),
        median: samples[samples.len() / 2].wall,
        min: samples[0].wall,
        peak_rss_kb: samples.iter().map(|s| s.peak_rss_kb).max().unwrap_or(0),
    }
}

/// Runs a command to completion with its output discarded, measuring it with `wait4`.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also reports its peak memory"
)]
fn run_quiet(command: &mut Command) -> Sample {
    let started = Instant::now();
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the benchmark could not start the workflow binary");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, not yet waited for; both pointers are valid.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert!(pid > 0, "wait4 failed");
    Sample {
        wall,
        peak_rss_kb: usage.ru_maxrss,
    }
}

fn documents(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"));
    files.sort();
    files
}

/// The TypeScript SDK's validator on the same files, when Node.js and npm are available.
fn typescript_sdk(root: &Path, files: &[PathBuf]) -> Option<Row> {
    let dir = root.join("benches/ts-sdk");
    if !dir.join("node_modules/@serverlessworkflow/sdk").is_dir() {
        let installed = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            eprintln!(
                "note: npm install of @serverlessworkflow/sdk failed; skipping the comparison"
            );
            return None;
        }
    }
    let script = dir.join("validate.mjs");
    Some(measure(
        &format!("TypeScript SDK: same {} files (one process)", files.len()),
        10,
        || run_quiet(Command::new("node").arg(&script).args(files)),
    ))
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
