//! Gherkin conformance suite: runs `tests/features/*.feature` (our scenarios) and the offline
//! scenarios of the official CTK features against the real `workflow` binary, black box, through
//! the `workflow run` contract.
//!
//! `cargo test --test integration conformance::` runs both suites (one test each); the
//! environment variable `WORKFLOW_SCENARIO=retry` keeps only the scenarios whose name contains
//! it, case-insensitively. Cucumber's report is captured like any test output: libtest shows it
//! when a suite fails, or always with `-- --nocapture`.

mod steps;
mod support;
mod validation_steps;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use cucumber::writer::{Basic, Coloring, Stats as _, Verbosity};
use cucumber::{World as _, WriterExt as _, cli};
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
    /// `workflow validate --format json` of the definition, once it was asked for.
    pub validation: Option<support::Run>,
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

/// The optional scenario-name filter, lower-cased; libtest owns the command line, so it comes
/// from the environment.
fn name_filter() -> Option<String> {
    std::env::var("WORKFLOW_SCENARIO")
        .ok()
        .filter(|needle| !needle.is_empty())
        .map(|needle| needle.to_lowercase())
}

/// Cucumber's report, kept in memory so it can go through `print!` (which libtest captures)
/// instead of straight to the process's stdout, where it would interleave with other tests.
#[derive(Clone, Default)]
struct Report(Arc<Mutex<Vec<u8>>>);

impl Report {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Report {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs one directory of features and fails the calling test, with cucumber's report, unless
/// every scenario passed.
async fn run_features(dir: &str, skip_network: bool) {
    let filter = name_filter();
    let report = Report::default();
    let writer = WorkflowWorld::cucumber()
        .with_writer(Basic::new(report.clone(), Coloring::Never, Verbosity::Default).summarized())
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
    print!("{}", report.text());
    assert!(
        !writer.execution_has_failed(),
        "some scenarios of {dir} failed (their report is above)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn our_features() {
    run_features(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/features"),
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn official_ctk_features_offline_scenarios() {
    let official = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec/ctk/features");
    if std::path::Path::new(official).is_dir() {
        run_features(official, true).await;
    } else {
        println!("note: {official} is absent; the official CTK features were not run");
    }
}
