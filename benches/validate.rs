//! How validation scales with the size of a document: wall time and peak memory of `workflow
//! validate --format json` (the real binary, one cold process each) on generated documents with
//! 4,000 to 40,000 findings, on valid documents of 20,000 to 200,000 tasks, and on valid lists
//! whose every task names the next in `then` (each target is looked up by name). Run with
//! `cargo bench --bench validate`; figures are printed as a table, nothing asserts a time.
//! Peak memory comes from `/usr/bin/time` when it is installed. Issue 12's targets: 20,000
//! broken tasks under 3 s, 200,000 tasks validate, memory per task well under 15 KB.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");

/// What the generated tasks hold besides their `set`.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Nothing: a valid document.
    Valid,
    /// An unknown property and a `then` naming no task: two findings per task, one of them
    /// with a list of candidates.
    Broken,
    /// A `then` naming the next task (the last one ends): valid, every target looked up.
    Chain,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Valid => "valid",
            Shape::Broken => "broken",
            Shape::Chain => "chain",
        }
    }
}

/// A document of `tasks` `set` tasks of the given shape.
fn document(dir: &Path, tasks: usize, shape: Shape) -> PathBuf {
    let mut text = String::from(
        "document:\n  dsl: '1.0.0'\n  namespace: bench\n  name: big\n  version: '1.0.0'\ndo:\n",
    );
    for task in 0..tasks {
        text.push_str(&format!("  - t{task}:\n      set:\n        a: {task}\n"));
        match shape {
            Shape::Valid => {}
            Shape::Broken => text.push_str(&format!("      bogus: 1\n      then: nowhere{task}\n")),
            Shape::Chain if task + 1 < tasks => {
                text.push_str(&format!("      then: t{}\n", task + 1))
            }
            Shape::Chain => text.push_str("      then: end\n"),
        }
    }
    let path = dir.join(format!("{}-{tasks}.yaml", shape.name()));
    std::fs::write(&path, text).expect("a scratch document");
    path
}

/// Wall seconds and peak RSS (KiB, when measurable) of `validate FILE --format json`.
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
        .args(["--format", "json"])
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
        (2_000, Shape::Broken),
        (5_000, Shape::Broken),
        (10_000, Shape::Broken),
        (20_000, Shape::Broken),
        (20_000, Shape::Valid),
        (200_000, Shape::Valid),
        (20_000, Shape::Chain),
        (200_000, Shape::Chain),
    ];
    for (tasks, shape) in cases {
        let file = document(dir.path(), tasks, shape);
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        let (wall, rss) = validate(&file);
        let name = match shape {
            Shape::Broken => format!("{tasks} tasks, {} findings", 2 * tasks),
            _ => format!(
                "{tasks} {} tasks ({:.1} MB)",
                shape.name(),
                size as f64 / 1e6
            ),
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
