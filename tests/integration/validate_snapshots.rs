//! Snapshots of what `workflow validate` says about each invalid fixture, and the proof that
//! valid documents (our fixtures, the spec's examples) get no errors: no false positives.

use std::path::{Path, PathBuf};

use workflow::diagnostic::Diagnostic;
use workflow::frontend;
use workflow::report::diagnostics::{FileReport, HumanStyle, render_human, summary_line};

use crate::support::spec_dir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The files of `tests/fixtures/<kind>`, as paths relative to the package root (so reports and
/// snapshots never contain a machine path; cargo runs tests from the package root).
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(ROOT).join("tests/fixtures").join(kind);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .map(|path| match path.strip_prefix(ROOT) {
            Ok(relative) => relative.to_path_buf(),
            Err(_) => path,
        })
        .collect();
    paths.sort();
    paths
}

fn report(path: &Path) -> FileReport {
    let checked = frontend::check_path(path);
    FileReport {
        path: path.display().to_string(),
        source: checked.source,
        diagnostics: checked.diagnostics,
    }
}

/// What a person sees: the rustc-style report without colour at width 100, and the summary.
fn rendered(report: &FileReport) -> String {
    let style = HumanStyle {
        color: false,
        width: 100,
    };
    let text = render_human(report, style);
    format!("{text}{}\n", summary_line(std::slice::from_ref(report)))
}

fn describe(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("{} {}: {}", d.severity.as_str(), d.code, d.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn invalid_fixtures_match_their_snapshots() {
    let paths = fixtures("invalid");
    assert!(
        paths.len() >= 35,
        "expected at least 35 invalid fixtures, found {}",
        paths.len()
    );
    for path in &paths {
        let report = report(path);
        assert!(
            !report.diagnostics.is_empty(),
            "{} produced no finding",
            path.display()
        );
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_suffix(name);
        settings.set_prepend_module_to_snapshot(false);
        // The snapshots stay in `tests/snapshots`, beside the other test data, not next to
        // this file (insta's default).
        settings.set_snapshot_path("../snapshots");
        settings.set_input_file(path);
        settings.bind(|| insta::assert_snapshot!("invalid", rendered(&report)));
    }
}

#[test]
fn every_diagnostic_of_a_fixture_is_located() {
    for path in fixtures("invalid") {
        let report = report(&path);
        for diagnostic in &report.diagnostics {
            // Only "the file itself is unusable" findings (empty, unreadable) have no place.
            let whole_file =
                diagnostic.code.starts_with("io::") || diagnostic.code == "yaml::empty";
            assert!(
                whole_file || diagnostic.span.is_some(),
                "{}: `{}` has no span",
                path.display(),
                diagnostic.code
            );
        }
    }
}

#[test]
fn valid_fixtures_have_no_findings_at_all() {
    let paths = fixtures("valid");
    assert!(paths.len() >= 5, "expected valid fixtures");
    for path in &paths {
        let report = report(path);
        assert!(
            report.diagnostics.is_empty(),
            "{}:\n{}",
            path.display(),
            describe(&report.diagnostics)
        );
    }
}

#[test]
fn spec_examples_have_no_errors() {
    let Some(dir) = spec_dir("examples") else {
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    assert!(paths.len() >= 60, "expected the spec examples in {dir:?}");
    let mut failures = Vec::new();
    for path in &paths {
        let report = report(path);
        let errors: Vec<Diagnostic> = report
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{}:\n{}", path.display(), describe(&errors)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
