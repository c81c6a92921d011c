//! `--junit PATH`: the run as JUnit XML for CI test reporters (GitLab, Jenkins, GitHub), in the
//! shape of Jenkins' JUnit schema with Maven Surefire's rerun elements. One test suite per
//! workflow run, one test case per task execution, named by the task's name path (unique in its
//! suite) with the class `namespace/name`; a fault is a failure carrying the error object; a
//! failed attempt that a retry followed is a `flakyFailure` when the task passed in the end
//! (it counts as passed) and a `rerunFailure` when it did not; what the task printed is its
//! `system-out`/`system-err`; a step a resume or retry took from the journal is skipped with a
//! message saying so. An invalid document is one failing test case ([`render_invalid_junit`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::problem::WorkflowError;
use crate::report::fmt;
use crate::report::record::RunRecord;
use crate::report::tracker::{Execution, Outcome};
use crate::runtime::event::RunIdentity;

/// The message of a replayed step's `<skipped>` element.
const REPLAYED: &str = "replayed from the journal: completed by an earlier run, not executed again";

/// Executions grouped by the run they belong to, in order of first appearance.
struct Suite<'a> {
    identity: Arc<RunIdentity>,
    cases: Vec<&'a Execution>,
}

/// The JUnit XML document for a recorded run (the recorder must have kept its executions).
pub fn render_junit(record: &RunRecord) -> String {
    let mut suites: Vec<Suite<'_>> = Vec::new();
    if let Some(identity) = &record.identity {
        suites.push(Suite {
            identity: Arc::clone(identity),
            cases: Vec::new(),
        });
    }
    for execution in &record.executions {
        let run_id = &execution.run.run_id;
        match suites.iter_mut().find(|s| &s.identity.run_id == run_id) {
            Some(suite) => suite.cases.push(execution),
            None => suites.push(Suite {
                identity: Arc::clone(&execution.run),
                cases: vec![execution],
            }),
        }
    }
    // A workflow that faulted outside any task (its input schema, its timeout) still fails CI.
    let workflow_fault = match record.outcome() {
        Some(Outcome::Faulted(error))
            if !record
                .executions
                .iter()
                .any(|e| matches!(e.outcome, Outcome::Faulted(_))) =>
        {
            Some(error)
        }
        _ => None,
    };

    let total = Totals::of(record.executions.iter(), workflow_fault.is_some());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let time = record.duration().unwrap_or_default().as_secs_f64();
    let _ = writeln!(
        out,
        "<testsuites name=\"workflow\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{time:.3}\">",
        total.tests, total.failures
    );
    for (index, suite) in suites.iter().enumerate() {
        let is_main = index == 0 && record.identity.is_some();
        let fault = if is_main { workflow_fault } else { None };
        write_suite(&mut out, suite, record, is_main, fault);
    }
    out.push_str("</testsuites>\n");
    out
}

#[derive(Default)]
struct Totals {
    tests: usize,
    failures: usize,
    skipped: usize,
}

impl Totals {
    fn of<'a>(executions: impl Iterator<Item = &'a Execution>, workflow_fault: bool) -> Totals {
        let mut totals = Totals::default();
        for execution in executions {
            totals.tests += 1;
            match execution.outcome {
                Outcome::Faulted(_) if execution.recovered_by.is_none() => totals.failures += 1,
                Outcome::Faulted(_) => {}
                Outcome::Skipped | Outcome::Cancelled | Outcome::Replayed => totals.skipped += 1,
                Outcome::Completed => {}
            }
        }
        if workflow_fault {
            totals.tests += 1;
            totals.failures += 1;
        }
        totals
    }
}

fn write_suite(
    out: &mut String,
    suite: &Suite<'_>,
    record: &RunRecord,
    is_main: bool,
    workflow_fault: Option<&WorkflowError>,
) {
    let totals = Totals::of(suite.cases.iter().copied(), workflow_fault.is_some());
    let name = &suite.identity.display_name();
    let (started, time) = match (is_main, suite.cases.first()) {
        (true, _) => (
            record.started,
            record.duration().unwrap_or_default().as_secs_f64(),
        ),
        (false, Some(first)) => {
            let end = suite
                .cases
                .iter()
                .map(|c| c.ended)
                .max()
                .unwrap_or(first.ended);
            let took = crate::report::tracker::between(first.started, end);
            (Some(first.started), took.as_secs_f64())
        }
        (false, None) => (None, 0.0),
    };
    let timestamp = started
        .map(|t| format!(" timestamp=\"{}\"", timestamp(t)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{time:.3}\"{timestamp}>",
        attr(name),
        totals.tests,
        totals.failures,
        totals.skipped
    );
    out.push_str("    <properties>\n");
    property(out, 6, "run.id", &suite.identity.run_id);
    if is_main {
        let status = record.outcome().map_or("unfinished", Outcome::word);
        property(out, 6, "status", status);
    }
    out.push_str("    </properties>\n");
    let classname = classname(&suite.identity);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for execution in &suite.cases {
        // A task run again with the same iterations (a `then` jumping back) gets `(2)`, `(3)`.
        let label = execution.name_label();
        let count = seen.entry(label.clone()).or_insert(0);
        *count += 1;
        let name = match *count {
            1 => label,
            n => format!("{label} ({n})"),
        };
        write_case(out, &classname, &name, execution);
    }
    if let Some(error) = workflow_fault {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"(workflow)\" time=\"{time:.3}\">",
            attr(&classname)
        );
        failure(out, error, 0);
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
}

/// `namespace/name`: a class name without dots, which reporters would split into packages.
fn classname(identity: &RunIdentity) -> String {
    format!("{}/{}", identity.namespace, identity.name).replace('.', "_")
}

fn write_case(out: &mut String, classname: &str, name: &str, execution: &Execution) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
        attr(classname),
        attr(name),
        execution.duration().as_secs_f64()
    );
    let log = execution.log.as_deref();
    let printed = log.is_some_and(|log| !log.stdout.is_empty() || !log.stderr.is_empty());
    if execution.retries.is_empty() && execution.outcome == Outcome::Completed && !printed {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    match &execution.outcome {
        // The run recovered: a failure a CI reporter shows as flaky, not as failed.
        Outcome::Faulted(error) if let Some(by) = &execution.recovered_by => {
            let body = serde_json::to_string_pretty(&error.to_json()).unwrap_or_default();
            let _ = writeln!(
                out,
                "      <flakyFailure message=\"{}\" type=\"{}\"><stackTrace>{}</stackTrace></flakyFailure>",
                attr(&format!(
                    "{}; caught by {}",
                    title(error),
                    fmt::task_name_path(by)
                )),
                attr(&error.type_),
                text(&body)
            );
        }
        Outcome::Faulted(error) => failure(out, error, execution.retries.len()),
        Outcome::Skipped => out.push_str("      <skipped message=\"if was false\"/>\n"),
        Outcome::Cancelled => out.push_str("      <skipped message=\"cancelled\"/>\n"),
        // Skipped, not passed: CI reporters show a skipped case and its message in their
        // summaries, while a passed case's details stay folded (see docs/durability.md).
        Outcome::Replayed => out.push_str(&format!("      <skipped message=\"{REPLAYED}\"/>\n")),
        Outcome::Completed => {}
    }
    // Each retry follows a failed attempt: flaky when the task passed in the end.
    let element = if execution.outcome == Outcome::Completed {
        "flakyFailure"
    } else {
        "rerunFailure"
    };
    for retry in &execution.retries {
        let error = &retry.error;
        let body = serde_json::to_string_pretty(&error.to_json()).unwrap_or_default();
        let _ = writeln!(
            out,
            "      <{element} message=\"{}\" type=\"{}\"><stackTrace>{}</stackTrace></{element}>",
            attr(&format!(
                "attempt {} failed: {}; retried after {}",
                retry.attempt,
                title(error),
                fmt::duration(retry.delay)
            )),
            attr(&error.type_),
            text(&body)
        );
    }
    let mut stdout = String::new();
    if !execution.retries.is_empty() {
        let attempts = execution.retries.len() + 1;
        let _ = writeln!(
            stdout,
            "{} after {}",
            if execution.outcome == Outcome::Completed {
                "passed"
            } else {
                "failed"
            },
            fmt::plural(attempts as u64 - 1, "retry", "retries")
        );
        for retry in &execution.retries {
            let _ = writeln!(
                stdout,
                "{} retry {} in {} after: {}",
                timestamp(retry.at),
                retry.attempt,
                fmt::duration(retry.delay),
                retry.error
            );
        }
    }
    if let Some(log) = log {
        stdout.push_str(&log.stdout);
        if log.omitted_lines > 0 {
            let _ = writeln!(
                stdout,
                "[{} more lines not kept: over {} KiB]",
                log.omitted_lines,
                crate::report::tracker::TaskLog::CAP / 1024
            );
        }
    }
    if !stdout.is_empty() {
        let _ = writeln!(out, "      <system-out>{}</system-out>", text(&stdout));
    }
    if let Some(stderr) = log.map(|log| &log.stderr).filter(|s| !s.is_empty()) {
        let _ = writeln!(out, "      <system-err>{}</system-err>", text(stderr));
    }
    out.push_str("    </testcase>\n");
}

fn title(error: &WorkflowError) -> String {
    format!(
        "{} ({})",
        error.title.as_deref().unwrap_or(&error.type_),
        error.status
    )
}

/// The JUnit report of a document that could not run: one suite with one failing test case
/// whose message is the first problem and whose body lists them all, so CI shows why.
pub fn render_invalid_junit(path: &str, problems: &str, first: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<testsuites name=\"workflow\" tests=\"1\" failures=\"1\" errors=\"0\" time=\"0.000\">\n",
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0.000\">",
        attr(path)
    );
    let _ = writeln!(
        out,
        "    <testcase classname=\"workflow/validate\" name=\"{}\" time=\"0.000\">",
        attr(path)
    );
    let _ = writeln!(
        out,
        "      <failure message=\"{}\" type=\"invalid document\">{}</failure>",
        attr(first),
        text(problems)
    );
    out.push_str("    </testcase>\n  </testsuite>\n</testsuites>\n");
    out
}

/// The failure; after `retries` retries, its message says the retry policy gave up.
fn failure(out: &mut String, error: &WorkflowError, retries: usize) {
    let mut message = format!(
        "{} ({})",
        error.title.as_deref().unwrap_or(&error.type_),
        error.status
    );
    if retries > 0 {
        let _ = write!(
            message,
            "; retries exhausted after {} attempts",
            retries + 1
        );
    }
    let body = serde_json::to_string_pretty(&error.to_json()).unwrap_or_default();
    let _ = writeln!(
        out,
        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
        attr(&message),
        attr(&error.type_),
        text(&body)
    );
}

fn property(out: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{:indent$}<property name=\"{}\" value=\"{}\"/>",
        "",
        attr(name),
        attr(value)
    );
}

/// The JUnit schema's timestamp: ISO 8601 without a zone (the times are UTC).
fn timestamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Text content: markup characters escaped, characters XML 1.0 cannot carry replaced.
fn text(value: &str) -> String {
    escape(value, false)
}

/// An attribute value: as text, plus quotes and the whitespace that attribute normalisation
/// would otherwise flatten.
fn attr(value: &str) -> String {
    escape(value, true)
}

fn escape(value: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// XML 1.0's `Char` production (tab, newline and carriage return are handled before).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ErrorKind;
    use crate::report::record::RunRecorder;
    use crate::report::script::{Script, error_at, eventful_outline, eventful_run, resumed_run};

    fn junit_of(script: &Script) -> String {
        let recorder = RunRecorder::new(Some(Arc::new(eventful_outline())), true);
        script.play(&recorder);
        render_junit(&recorder.take())
    }

    fn attribute<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
        node.attribute(name).unwrap_or_default()
    }

    #[test]
    fn junit_of_the_eventful_run() {
        let xml = junit_of(&eventful_run());
        insta::assert_snapshot!(xml);
    }

    #[test]
    fn junit_parses_back_with_the_expected_structure() {
        let xml = junit_of(&eventful_run());
        let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(
            (attribute(root, "tests"), attribute(root, "failures")),
            ("9", "1")
        );
        assert_eq!(root.attribute("skipped"), None, "not in the JUnit schema");
        let suites: Vec<_> = root
            .children()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect();
        assert_eq!(suites.len(), 1);
        let suite = suites[0];
        assert_eq!(attribute(suite, "name"), "default/pipeline:1.0.0");
        assert_eq!(attribute(suite, "time"), "5.901");
        assert_eq!(attribute(suite, "timestamp"), "2026-01-02T10:00:00");
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let names: Vec<_> = cases.iter().map(|c| attribute(*c, "name")).collect();
        assert_eq!(
            names,
            vec![
                "fetch",
                "check",
                "each/add [0]",
                "each/add [1]",
                "each",
                "both/right",
                "both/left",
                "both",
                "upload",
            ]
        );
        assert!(
            cases
                .iter()
                .all(|c| attribute(*c, "classname") == "default/pipeline")
        );

        // Passed after two retries: two flaky failures, no failure, no properties.
        let fetch = cases[0];
        assert!(!fetch.descendants().any(|n| n.has_tag_name("property")));
        assert!(!fetch.children().any(|n| n.has_tag_name("failure")));
        let flaky: Vec<_> = fetch
            .children()
            .filter(|n| n.has_tag_name("flakyFailure"))
            .map(|n| attribute(n, "message"))
            .collect();
        assert_eq!(
            flaky,
            [
                "attempt 1 failed: Service Unavailable (503); retried after 1.00s",
                "attempt 2 failed: Service Unavailable (503); retried after 2.00s"
            ]
        );
        let out = fetch
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .unwrap_or_default();
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(
            out.starts_with(
                "passed after 2 retries\n2026-01-02T10:00:00 retry 1 in 1.00s after: Service Unavailable (503)"
            ),
            "{out}"
        );

        assert!(cases[1].children().any(|n| n.has_tag_name("skipped")));
        let failure = cases[8]
            .children()
            .find(|n| n.has_tag_name("failure"))
            .expect("failure");
        assert_eq!(attribute(failure, "message"), "Upload failed (500)");
        assert_eq!(
            attribute(failure, "type"),
            "https://serverlessworkflow.io/spec/1.0.0/errors/runtime"
        );
        let error: serde_json::Value =
            serde_json::from_str(failure.text().unwrap_or_default()).expect("the error object");
        assert_eq!(error["instance"], "/do/4/upload");
        assert_eq!(
            error["detail"],
            "exit code 2: permission denied <bucket> & \"quota\""
        );
    }

    #[test]
    fn awkward_characters_survive_the_round_trip() {
        let nasty = "a<b>&\"c\" 'd'\n\ttab ]]> \u{1}bell\u{7} ünï 😀";
        let mut s = Script::new("x");
        s.workflow_started(0)
            .started(1, "/do/0/q\"<&>")
            .faulted(
                2,
                "/do/0/q\"<&>",
                error_at(ErrorKind::Runtime, nasty, "/do/0/q\"<&>").with_detail(nasty),
            )
            .workflow_faulted(3, error_at(ErrorKind::Runtime, nasty, "/do/0/q\"<&>"));
        let xml = junit_of(&s);
        let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let case = document
            .descendants()
            .find(|n| n.has_tag_name("testcase"))
            .expect("a test case");
        assert_eq!(attribute(case, "name"), "q\"<&>");
        let failure = case
            .children()
            .find(|n| n.has_tag_name("failure"))
            .expect("failure");
        let expected = nasty.replace(['\u{1}', '\u{7}'], "\u{FFFD}");
        assert_eq!(attribute(failure, "message"), format!("{expected} (500)"));
        let error: serde_json::Value =
            serde_json::from_str(failure.text().unwrap_or_default()).expect("JSON body");
        // The body is JSON, so control characters are already \u escapes and come back intact.
        assert_eq!(error["detail"], nasty);
    }

    #[test]
    fn a_fault_outside_any_task_is_a_workflow_test_case() {
        let error = WorkflowError::new(ErrorKind::Validation, "bad input").at_instance("/");
        let mut s = Script::new("early");
        s.workflow_started(0).workflow_faulted(1, error);
        let xml = junit_of(&s);
        let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let case = document
            .descendants()
            .find(|n| n.has_tag_name("testcase"))
            .expect("the workflow case");
        assert_eq!(attribute(case, "name"), "(workflow)");
        assert!(case.children().any(|n| n.has_tag_name("failure")));
        assert_eq!(attribute(document.root_element(), "failures"), "1");
    }

    #[test]
    fn replayed_steps_are_skipped_with_a_message() {
        let xml = junit_of(&resumed_run());
        let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let suite = document
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .expect("a suite");
        assert_eq!(
            (attribute(suite, "tests"), attribute(suite, "skipped")),
            ("5", "2")
        );
        let cases: Vec<_> = document
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let skipped: Vec<_> = cases
            .iter()
            .filter_map(|case| {
                let skipped = case.children().find(|n| n.has_tag_name("skipped"))?;
                Some((attribute(*case, "name"), attribute(skipped, "message")))
            })
            .collect();
        assert_eq!(
            skipped,
            vec![("fetch", REPLAYED), ("each/add [0]", REPLAYED)]
        );
        assert!(!document.descendants().any(|n| n.has_tag_name("property")
            && n.parent().is_some_and(|p| p.has_tag_name("properties")
                && p.parent().is_some_and(|c| c.has_tag_name("testcase")))));
        let executed = cases
            .iter()
            .find(|case| attribute(**case, "name") == "upload")
            .expect("upload's case");
        assert!(!executed.has_children(), "a plain pass: {xml}");
    }

    #[test]
    fn an_exhausted_retry_says_so_in_the_failure() {
        let unavailable = || {
            error_at(
                ErrorKind::Communication,
                "Service Unavailable",
                "/do/0/fetch",
            )
            .with_status(503)
        };
        let mut s = Script::new("pipeline");
        s.workflow_started(0)
            .started(1, "/do/0/fetch")
            .retried(100, "/do/0/fetch", 1, 10, unavailable())
            .started(110, "/do/0/fetch")
            .retried(200, "/do/0/fetch", 2, 10, unavailable())
            .started(210, "/do/0/fetch")
            .faulted(300, "/do/0/fetch", unavailable())
            .workflow_faulted(301, unavailable());
        let xml = junit_of(&s);
        assert!(
            xml.contains(
                "<failure message=\"Service Unavailable (503); retries exhausted after 3 attempts\""
            ),
            "{xml}"
        );
    }
}
