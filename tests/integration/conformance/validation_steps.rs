//! Step definitions about what `validate` says of a definition (warnings such as near-miss keys)
//! and what `run --format json` prints for a definition that does not validate.

use cucumber::{then, when};
use serde_json::Value;

use super::support;
use super::{WorkflowWorld, clip};

#[when(regex = r"^the workflow is validated$")]
async fn validated(world: &mut WorkflowWorld) {
    let definition = world
        .definition
        .as_deref()
        .expect("no definition: add `Given a workflow with definition:`");
    world.validation = Some(support::validate(definition).await);
}

/// The diagnostics of the one file `validate --format json` checked.
fn validation_diagnostics(world: &WorkflowWorld) -> (&support::Run, Vec<Value>) {
    let run = world
        .validation
        .as_ref()
        .expect("not validated yet: add `When the workflow is validated`");
    let result = run.result.as_ref().unwrap_or_else(|| {
        panic!(
            "validate printed no JSON object (exit {:?})\nstdout: {}\nstderr: {}",
            run.exit_code,
            clip(&run.stdout),
            clip(&run.stderr)
        )
    });
    let diagnostics = result
        .pointer("/files/0/diagnostics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    (run, diagnostics)
}

fn field<'a>(diagnostic: &'a Value, name: &str) -> &'a str {
    diagnostic.get(name).and_then(Value::as_str).unwrap_or("")
}

#[then(regex = r"^validation should pass with a '([^']+)' warning at '([^']*)'$")]
fn warns(world: &mut WorkflowWorld, code: String, pointer: String) {
    warning(world, &code, &pointer);
}

#[then(
    regex = r"^validation should pass with a '([^']+)' warning at '([^']*)' suggesting '([^']+)'$"
)]
fn warns_suggesting(world: &mut WorkflowWorld, code: String, pointer: String, suggestion: String) {
    let found = warning(world, &code, &pointer);
    assert!(
        field(&found, "help").contains(&suggestion),
        "the help of {found} does not mention {suggestion}"
    );
}

/// The warning `code` at `pointer`, in a document that still validates.
fn warning(world: &WorkflowWorld, code: &str, pointer: &str) -> Value {
    let (run, diagnostics) = validation_diagnostics(world);
    assert_eq!(
        run.exit_code,
        Some(0),
        "warnings keep a document valid\n{}",
        run.stdout
    );
    diagnostics
        .into_iter()
        .find(|d| {
            field(d, "severity") == "warning"
                && field(d, "code") == code
                && field(d, "pointer") == pointer
        })
        .unwrap_or_else(|| panic!("no {code} warning at {pointer}"))
}

#[then(regex = r"^validation should pass without warnings$")]
fn no_warnings(world: &mut WorkflowWorld) {
    let (run, diagnostics) = validation_diagnostics(world);
    assert_eq!(run.exit_code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

#[then(regex = r"^validation should fail with a '([^']+)' error at '([^']*)'$")]
fn fails(world: &mut WorkflowWorld, code: String, pointer: String) {
    let (run, diagnostics) = validation_diagnostics(world);
    assert_eq!(run.exit_code, Some(3), "{}\n{}", run.stdout, run.stderr);
    assert!(
        diagnostics.iter().any(|d| field(d, "severity") == "error"
            && field(d, "code") == code
            && field(d, "pointer") == pointer),
        "no {code} error at {pointer}: {diagnostics:#?}"
    );
}

/// `run --format json` of an invalid document: exactly one JSON object on stdout, exit 3, and
/// the diagnostics `validate --format json` gives for the same document.
#[then(regex = r"^the run should be refused as invalid with the diagnostics of validate$")]
async fn refused_as_invalid(world: &mut WorkflowWorld) {
    let definition = world.definition.clone().expect("a definition");
    let run = world.run();
    assert_eq!(run.exit_code, Some(3), "{}", world.describe());
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {}", run.stdout);
    let result = world.result().clone();
    let mut keys: Vec<&String> = result
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["diagnostics", "status"], "{result}");
    assert_eq!(result["status"], "invalid");
    let diagnostics = result["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!diagnostics.is_empty(), "{result}");
    world.validation = Some(support::validate(&definition).await);
    let (_, expected) = validation_diagnostics(world);
    assert_eq!(diagnostics, expected);
}
