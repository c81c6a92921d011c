//! How validation scales with the size of a document: wall time and peak memory of `workflow
//! validate` (the real binary, one cold process each) on generated documents with 2,000 to
//! 20,000 findings, and on valid documents of 20,000 to 200,000 tasks. Run with
//! `cargo bench --bench validate`; figures are printed as a table, nothing asserts a time.
//! Peak memory comes from `/usr/bin/time -v` when it is installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");

/// A document of `tasks` `set` tasks; with `broken`, each also has an unknown property and a
/// `then` naming no task (two findings per task, one of them with a list of candidates).
fn document(dir: &Path, tasks: usize, broken: bool) -> PathBuf {
    let mut text = String::from(
        "document:\n  dsl: '1.0.0'\n  namespace: bench\n  name: big\n  version: '1.0.0'\ndo:\n",
    );
    for task in 0..tasks {
        text.push_str(&format!("  - t{task}:\n      set:\n        a: {task}\n"));
        if broken {
            text.push_str(&format!("      bogus: 1\n      then: nowhere{task}\n"));
        }
    }
    let path = dir.join(format!(
        "{}-{tasks}.yaml",
        if broken { "broken" } else { "valid" }
    ));
    std::fs::write(&path, text).expect("a scratch document");
    path
}

/// Wall seconds and peak RSS (KiB, when measurable) of `validate FILE` (human report).
fn validate(file: &Path) -> (f64, Option<u64>) {
    let timed = Path::new("/usr/bin/time").exists();
    let mut command = if timed {
        let mut command = Command::new("/usr/bin/time");
        command.args(["-f", "%M"]).arg(BINARY);
        command
    } else {
        Command::new(BINARY)
    };
    command
        .arg("validate")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let output = command.output().expect("workflow runs");
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rss = timed
        .then(|| {
            stderr
                .lines()
                .last()
                .and_then(|line| line.trim().parse().ok())
        })
        .flatten();
    (wall, rss)
}

fn main() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    println!(
        "{:<44} {:>10} {:>12} {:>14}",
        "document", "wall", "peak RSS", "RSS per task"
    );
    let cases = [
        (2_000, true),
        (5_000, true),
        (10_000, true),
        (20_000, true),
        (20_000, false),
        (200_000, false),
    ];
    for (tasks, broken) in cases {
        let file = document(dir.path(), tasks, broken);
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        let (wall, rss) = validate(&file);
        let name = if broken {
            format!("{tasks} tasks, {} findings", 2 * tasks)
        } else {
            format!("{tasks} valid tasks ({:.1} MB)", size as f64 / 1e6)
        };
        let (rss, per_task) = match rss {
            Some(kib) => (
                format!("{:.1} MB", kib as f64 / 1024.0),
                format!("{:.1} KB", kib as f64 * 1.024 / tasks as f64),
            ),
            None => ("n/a".into(), "n/a".into()),
        };
        println!("{name:<44} {:>9.2}s {rss:>12} {per_task:>14}", wall);
    }
}
