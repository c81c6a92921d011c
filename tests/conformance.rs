//! Gherkin conformance suite: runs `tests/features/*.feature` (our scenarios) and the offline
//! scenarios of the official CTK features against the real `workflow` binary, black box, through
//! the `workflow run` contract.
//!
//! `cargo test --test conformance` runs everything; a free argument (`cargo test --test
//! conformance -- retry`) keeps only the scenarios whose name contains it, case-insensitively.
//! Any other argument cargo or libtest would pass is ignored, so `cargo test <filter>` over the
//! whole workspace never breaks this binary.

#[path = "conformance/steps.rs"]
mod steps;
#[path = "conformance/support.rs"]
mod support;

use cucumber::{World as _, cli, writer::Stats as _};
use serde_json::Value;

/// One scenario's state: what it runs and what the run left behind.
#[derive(Debug, Default, cucumber::World)]
pub struct WorkflowWorld {
    /// The workflow document text, as written in the scenario.
    pub definition: Option<String>,
    /// The workflow input; `{}` when the scenario gives none.
    pub input: Option<Value>,
    /// The finished run, once `When the workflow is executed` has happened.
    pub run: Option<support::Run>,
}

impl WorkflowWorld {
    /// The finished run; a `Then` step before any `When` is a mistake in the feature file.
    pub fn run(&self) -> &support::Run {
        self.run
            .as_ref()
            .expect("no run yet: add `When the workflow is executed`")
    }

    /// The parsed stdout object, with a readable failure when the binary printed something else.
    pub fn result(&self) -> &Value {
        let run = self.run();
        run.result.as_ref().unwrap_or_else(|| {
            panic!(
                "stdout is not one JSON object (exit {:?})\nstdout: {}\nstderr: {}",
                run.exit_code,
                clip(&run.stdout),
                clip(&run.stderr)
            )
        })
    }

    /// A short description of the run for failure messages.
    pub fn describe(&self) -> String {
        let run = self.run();
        format!(
            "exit {:?} after {:?}\nstdout: {}\nstderr: {}",
            run.exit_code,
            run.elapsed,
            clip(&run.stdout),
            clip(&run.stderr)
        )
    }
}

/// Keeps failure messages readable when a binary prints a lot.
pub fn clip(text: &str) -> String {
    const LIMIT: usize = 1500;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

/// Official CTK scenarios that call public hosts: they need the HTTP mock of `ctk.py`, so this
/// suite leaves them to that tool.
fn needs_network(scenario: &cucumber::gherkin::Scenario) -> bool {
    scenario.steps.iter().any(|step| {
        step.docstring
            .as_deref()
            .is_some_and(|doc| doc.contains("call: http") || doc.contains("call: openapi"))
    })
}

/// The optional scenario-name filter: the first argument that is neither a flag nor the value of
/// a libtest flag that takes one (`--test-threads 2`).
fn name_filter() -> Option<String> {
    const VALUED: [&str; 5] = [
        "--test-threads",
        "--skip",
        "--format",
        "--color",
        "--logfile",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter()
        .enumerate()
        .find(|(at, arg)| {
            let after_valued = at
                .checked_sub(1)
                .and_then(|before| args.get(before))
                .is_some_and(|before| VALUED.contains(&before.as_str()));
            !arg.starts_with('-') && !after_valued
        })
        .map(|(_, arg)| arg.to_lowercase())
}

/// Runs one directory of features; returns whether every scenario passed.
async fn run_features(dir: &str, skip_network: bool) -> bool {
    let filter = name_filter();
    let writer = WorkflowWorld::cucumber()
        .max_concurrent_scenarios(32)
        .fail_on_skipped()
        .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
        .filter_run(dir, move |_, _, scenario| {
            let wanted = filter
                .as_deref()
                .is_none_or(|needle| scenario.name.to_lowercase().contains(needle));
            wanted && !(skip_network && needs_network(scenario))
        })
        .await;
    !writer.execution_has_failed()
}

#[tokio::main]
async fn main() {
    let ours = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/features");
    let official = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec/ctk/features");

    let mut passed = run_features(ours, false).await;
    if std::path::Path::new(official).is_dir() {
        println!("\nOfficial CTK features (offline scenarios only):");
        passed &= run_features(official, true).await;
    } else {
        println!("note: {official} is absent; the official CTK features were not run");
    }
    if !passed {
        eprintln!("conformance: some scenarios failed");
        std::process::exit(1);
    }
}
