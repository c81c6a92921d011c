//! The run reporters through the real binary: the live tree under a pseudo-terminal, plain lines
//! and `--quiet` on pipes, the JUnit file, completions and the man page.

use std::path::PathBuf;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reporting/progress.yaml")
}

/// Where the runs of these tests are journaled: under the target directory, not the repository.
const STATE_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/journal-reporting");

fn workflow() -> Command {
    let mut command =
        Command::cargo_bin("workflow").unwrap_or_else(|error| panic!("the binary: {error}"));
    command.env("WORKFLOW_STATE_DIR", STATE_DIR);
    command
}

/// Exit code of a faulted run (`ExitCode::Faulted`).
const FAULTED: i32 = 1;

#[test]
fn plain_lines_on_a_pipe() {
    let output = workflow()
        .args(["run", "--color", "always"])
        .arg(fixture())
        .output()
        .unwrap_or_else(|error| panic!("run: {error}"));
    assert_eq!(output.status.code(), Some(FAULTED));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // With `--color always` only the summary is coloured: the lines end at the first escape.
    let (lines, summary) = stderr.split_at(stderr.find('\u{1b}').unwrap_or(stderr.len()));
    let last = lines.lines().last().unwrap_or_default();
    assert!(
        last.contains(" workflow test/reporting:1.0.0 faulted after ")
            && last.ends_with(": the fault of /do/5/upload"),
        "the last line names the task whose fault it was (told on its own line): {last}"
    );
    for line in lines.lines() {
        let (clock, rest) = line.split_at(13);
        assert!(
            clock.len() == 13 && clock.as_bytes()[2] == b':' && clock.as_bytes()[8] == b'.',
            "timestamp: {line}"
        );
        assert!(!rest.is_empty());
    }
    for expected in [
        " /do/1/check skipped",
        " /do/2/each/do/0/pause [2] completed in ",
        " /do/4/flaky faulted: Service Unavailable (503) at /do/4/flaky/try/0/boom; retry 1 in 100ms",
        " /do/5/upload faulted after ",
    ] {
        assert!(
            lines.contains(expected),
            "{expected:?} missing from {lines}"
        );
    }
    assert!(summary.contains("1 passed after 1 retry"), "{summary}");
    assert!(output.stdout.is_empty(), "a faulted run prints no result");
}

#[test]
fn quiet_prints_only_the_error_and_junit_is_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let junit = dir.path().join("junit.xml");
    let output = workflow()
        .args(["run", "--quiet", "--color", "never", "--junit"])
        .arg(&junit)
        .arg(fixture())
        .output()
        .unwrap_or_else(|error| panic!("run: {error}"));
    assert_eq!(output.status.code(), Some(FAULTED));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("× Upload failed (500)"), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(!stderr.contains("started"), "no progress lines: {stderr}");
    assert!(!stderr.contains("slowest"), "no summary: {stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|error| panic!("junit: {error}"));
    let document = roxmltree::Document::parse(&xml).unwrap_or_else(|error| panic!("{error}"));
    let root = document.root_element();
    // `flaky`'s catch.do runs once and its `boom` is skipped on the retry.
    assert_eq!(root.attribute("tests"), Some("14"), "{xml}");
    // `skipped` is counted per suite: the JUnit schema has no such attribute on `testsuites`.
    assert_eq!(root.attribute("skipped"), None, "{xml}");
    let classnames: Vec<_> = document
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("classname"))
        .collect();
    assert!(
        classnames.iter().all(|c| *c == "test/reporting"),
        "{classnames:?}"
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let output = workflow()
            .args(["completions", shell])
            .output()
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(output.status.success());
        assert!(String::from_utf8_lossy(&output.stdout).contains("validate"));
    }
    let output = workflow()
        .arg("man")
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(".TH workflow"));
}

/// The live tree under a real pseudo-terminal (`script` from util-linux): frames are drawn, and
/// once the run ends the screen holds the final tree (collapsed) and the summary, and nothing of
/// the live frames.
#[test]
fn the_live_tree_draws_and_clears_on_a_terminal() {
    let has_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_script {
        eprintln!(
            "note: `script` (util-linux) is not installed; the pseudo-terminal test is skipped"
        );
        return;
    }
    let binary = workflow().get_program().to_string_lossy().into_owned();
    let shell_command = format!(
        "stty cols 80 rows 50; exec '{binary}' run --color never '{}'",
        fixture().display()
    );
    let output = Command::new("script")
        .args(["-qfec", &shell_command, "/dev/null"])
        .env("TERM", "xterm")
        .env("WORKFLOW_STATE_DIR", STATE_DIR)
        .output()
        .unwrap_or_else(|error| panic!("script: {error}"));
    assert_eq!(output.status.code(), Some(FAULTED));
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(
        transcript.contains("\u{1b}[2K"),
        "the view redraws in place: {transcript:?}"
    );
    let screen = terminal::replay(&transcript, 80, 50);
    let first = screen.first().map(String::as_str).unwrap_or_default();
    assert!(
        first.starts_with("✓ prepare  "),
        "the final tree starts where the view was: {screen:#?}"
    );
    assert!(
        screen
            .iter()
            .any(|row| row.starts_with("✗ test/reporting:1.0.0 faulted after")),
        "then the summary: {screen:#?}"
    );
    assert!(
        screen
            .iter()
            .all(|row| !row.contains("⠋") && !row.contains("↻")),
        "nothing of the live tree is left: {screen:#?}"
    );
    assert!(
        screen
            .iter()
            .any(|row| row.contains("× Upload failed (500)")),
        "{screen:#?}"
    );
}

/// Just enough of a VT100 to replay what indicatif and the summary write: printable text with
/// autowrap, CR, LF, cursor up/down, erase line, and colour codes (ignored).
mod terminal {
    pub fn replay(text: &str, width: usize, height: usize) -> Vec<String> {
        let mut cells = vec![vec![' '; width]; height];
        let (mut row, mut col) = (0usize, 0usize);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\u{1b}' if chars.peek() == Some(&'[') => {
                    chars.next();
                    let mut parameter = String::new();
                    let mut command = ' ';
                    for next in chars.by_ref() {
                        if next.is_ascii_digit() || next == ';' || next == '?' {
                            parameter.push(next);
                        } else {
                            command = next;
                            break;
                        }
                    }
                    // `?25l`/`?25h` (cursor hidden/shown) parse as nothing and do nothing.
                    let n: usize = parameter.parse().unwrap_or(1);
                    match command {
                        'A' => row = row.saturating_sub(n),
                        'B' => row = (row + n).min(height - 1),
                        'K' => cells[row] = vec![' '; width],
                        _ => {}
                    }
                    col = col.min(width - 1);
                }
                '\r' => col = 0,
                '\n' => {
                    if row + 1 == height {
                        cells.remove(0);
                        cells.push(vec![' '; width]);
                    } else {
                        row += 1;
                    }
                }
                c => {
                    if col == width {
                        col = 0;
                        if row + 1 == height {
                            cells.remove(0);
                            cells.push(vec![' '; width]);
                        } else {
                            row += 1;
                        }
                    }
                    cells[row][col] = c;
                    col += 1;
                }
            }
        }
        let mut rows: Vec<String> = cells
            .iter()
            .map(|r| r.iter().collect::<String>().trim_end().to_string())
            .collect();
        while rows.last().is_some_and(String::is_empty) {
            rows.pop();
        }
        rows
    }
}
