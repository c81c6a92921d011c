//! Plumbing for the conformance suite: runs the real `workflow` binary in a scratch directory and
//! reads back what the `workflow run` contract promises (one JSON object on stdout, CloudEvents as
//! JSON lines, an exit code), plus docstring and event helpers the steps share.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use workflow::source::Source;

use crate::support::BINARY;

/// A run that outlives this is killed: a hang must fail the scenario, never the whole suite.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// Everything observable about one `workflow run`.
#[derive(Debug, Default)]
pub struct Run {
    /// stdout parsed as JSON, when it was exactly one JSON value.
    pub result: Option<Value>,
    pub stdout: String,
    pub stderr: String,
    /// Every line of the `--events` file, parsed.
    pub events: Vec<Value>,
    /// `None` when the process died from a signal or was killed by the harness.
    pub exit_code: Option<i32>,
    pub elapsed: Duration,
}

/// How a run is started: extra flags and, for cancellation scenarios, a signal sent after a delay.
#[derive(Debug, Default)]
pub struct Launch {
    pub extra_args: Vec<String>,
    pub signal: Option<(i32, Duration)>,
}

/// Writes the definition and input into a fresh temporary directory and runs
/// `workflow run FILE --input @INPUT --format json --events EVENTS [extra]`.
pub async fn execute(definition: &str, input: &Value, launch: &Launch) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory for the scenario");
    let workflow_path = dir.path().join("workflow.yaml");
    let input_path = dir.path().join("input.json");
    let events_path = dir.path().join("events.jsonl");
    std::fs::write(&workflow_path, definition).expect("write workflow.yaml");
    std::fs::write(&input_path, input.to_string()).expect("write input.json");

    let mut command = tokio::process::Command::new(BINARY);
    command
        .arg("run")
        .arg(&workflow_path)
        .arg("--input")
        .arg(format!("@{}", input_path.display()))
        .args(["--format", "json", "--events"])
        .arg(&events_path)
        .args(&launch.extra_args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);

    let started = Instant::now();
    let mut child = command.spawn().expect("spawn the workflow binary");
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    // Read while waiting: a child filling a pipe nobody drains would never exit.
    let finished = async {
        tokio::join!(
            signal_while_running(&mut child, launch.signal, &events_path),
            read_all(stdout),
            read_all(stderr)
        )
    };
    let (status, stdout, stderr) = match tokio::time::timeout(RUN_LIMIT, finished).await {
        Ok(finished) => finished,
        Err(_) => panic!("`workflow run` did not finish within {RUN_LIMIT:?} (killed)"),
    };
    let elapsed = started.elapsed();

    Run {
        result: serde_json::from_str(stdout.trim()).ok(),
        events: read_events(&events_path),
        exit_code: status.code(),
        elapsed,
        stdout,
        stderr,
    }
}

/// Writes the definition into a fresh temporary directory and runs
/// `workflow validate --format json FILE` (no events, no input).
pub async fn validate(definition: &str) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory for the scenario");
    let workflow_path = dir.path().join("workflow.yaml");
    std::fs::write(&workflow_path, definition).expect("write workflow.yaml");
    let started = Instant::now();
    let output = tokio::process::Command::new(BINARY)
        .arg("validate")
        .arg(&workflow_path)
        .args(["--format", "json"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(RUN_LIMIT, output).await {
        Ok(output) => output.expect("run `workflow validate`"),
        Err(_) => panic!("`workflow validate` did not finish within {RUN_LIMIT:?} (killed)"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    Run {
        result: serde_json::from_str(stdout.trim()).ok(),
        events: Vec::new(),
        exit_code: output.status.code(),
        elapsed: started.elapsed(),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Waits for `child` to exit, sending it `signal` (if any) its delay after the first task
/// started. The signal is sent only while the child is ours and not reaped (`id()` is `None`
/// once it is), so it can never reach another process that reused the pid.
async fn signal_while_running(
    child: &mut tokio::process::Child,
    signal: Option<(i32, Duration)>,
    events_path: &Path,
) -> std::process::ExitStatus {
    let mut pending = signal;
    loop {
        let due = async {
            match pending {
                // The delay counts from the first task start, not from spawning: on a loaded
                // machine a process may need longer than the delay just to start.
                Some((_, after)) => {
                    wait_for_first_task(events_path).await;
                    tokio::time::sleep(after).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = child.wait() => return status.expect("wait for the workflow binary"),
            () = due => {
                if let (Some((signal, _)), Some(pid)) = (pending.take(), child.id()) {
                    // SAFETY: kill(2) with the pid of our unreaped child and a plain signal
                    // number has no memory effects.
                    unsafe {
                        libc::kill(pid as libc::pid_t, signal);
                    }
                }
            }
        }
    }
}

/// Everything `stream` gives until its end, as text.
async fn read_all<R: tokio::io::AsyncRead + Unpin>(stream: Option<R>) -> String {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    if let Some(mut stream) = stream {
        let _ = stream.read_to_end(&mut bytes).await;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Polls the events file until a task has started (bounded by the run limit).
async fn wait_for_first_task(events_path: &Path) {
    let deadline = Instant::now() + RUN_LIMIT;
    while Instant::now() < deadline {
        let started = std::fs::read_to_string(events_path)
            .is_ok_and(|text| text.contains("io.serverlessworkflow.task.started.v1"));
        if started {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Parses the JSON-lines events file; a line that is not JSON fails the scenario loudly, since the
/// contract promises one CloudEvent per line.
fn read_events(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("events line is not JSON ({error}): {line}"))
        })
        .collect()
}

/// A step's docstring without the optional content type after the opening quotes (`"""yaml`),
/// dedented. The gherkin parser keeps that first line and, because of it, cannot dedent.
pub fn docstring(step: &cucumber::gherkin::Step) -> String {
    let raw = step
        .docstring
        .as_deref()
        .expect("this step needs a docstring");
    // The opening line holds only the quotes and the optional content type: never content.
    let body = raw.split_once('\n').map_or("", |(_, rest)| rest);
    let indent = body
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    body.lines()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses YAML (or JSON) with the crate's own YAML 1.2 loader.
pub fn yaml(text: &str) -> Value {
    match workflow::yaml::load(&Source::new("expected.yaml", text)) {
        Ok(loaded) if loaded.diagnostics.is_empty() => loaded.value,
        Ok(loaded) => panic!(
            "expected value repeats a key: {:?}\n{text}",
            loaded.diagnostics
        ),
        Err(diagnostic) => panic!("expected value is not YAML: {diagnostic:?}\n{text}"),
    }
}

/// Follows a dotted path (`error.status`) through objects.
pub fn lookup<'a>(value: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(value, |current, key| current.as_object()?.get(key))
}

/// `'a', 'b.c'` → `["a", "b.c"]`.
pub fn quoted_names(text: &str) -> Vec<String> {
    text.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The event's type with the `io.serverlessworkflow.` prefix and `.v1` suffix removed
/// (`task.started`), or the full type when it does not have that shape.
pub fn short_type(event: &Value) -> &str {
    let full = event.get("type").and_then(Value::as_str).unwrap_or("");
    full.strip_prefix("io.serverlessworkflow.")
        .and_then(|rest| rest.strip_suffix(".v1"))
        .unwrap_or(full)
}

/// The JSON pointer in a task event's `data.task`.
pub fn task_of(event: &Value) -> Option<&str> {
    event.get("data")?.get("task")?.as_str()
}

/// The last reference token of a pointer: the task's name.
pub fn last_segment(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

/// The pointer of the task named `name`, taken from the first event about it.
pub fn pointer_of<'a>(events: &'a [Value], name: &str) -> Option<&'a str> {
    events
        .iter()
        .filter_map(task_of)
        .find(|pointer| last_segment(pointer) == name)
}

/// Task events of one kind (`started`, `retried`, ...) for the task named `name`.
pub fn task_events<'a>(events: &'a [Value], kind: &str, name: &str) -> Vec<&'a Value> {
    let wanted = format!("task.{kind}");
    events
        .iter()
        .filter(|event| short_type(event) == wanted)
        .filter(|event| task_of(event).is_some_and(|p| last_segment(p) == name))
        .collect()
}

/// Names of tasks in the order they started.
pub fn start_order(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|event| short_type(event) == "task.started")
        .filter_map(task_of)
        .map(last_segment)
        .collect()
}

/// The `time` attribute of an event, which the contract says is RFC 3339.
pub fn time_of(event: &Value) -> DateTime<FixedOffset> {
    let text = event.get("time").and_then(Value::as_str).unwrap_or("");
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("event time {text:?} is not RFC 3339 ({error}): {event}"))
}

/// The start event of each attempt of the `try` task at `pointer`: its first inner task starts
/// once per attempt (`<pointer>/try/0/<name>`).
pub fn attempt_starts<'a>(events: &'a [Value], pointer: &str) -> Vec<&'a Value> {
    let prefix = format!("{pointer}/try/0/");
    events
        .iter()
        .filter(|event| short_type(event) == "task.started")
        .filter(|event| {
            task_of(event)
                .and_then(|p| p.strip_prefix(&prefix))
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
        })
        .collect()
}

/// Milliseconds between consecutive events.
pub fn gaps_ms(events: &[&Value]) -> Vec<f64> {
    events
        .windows(2)
        .map(|pair| {
            let delta = time_of(pair[1]) - time_of(pair[0]);
            delta.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
        })
        .collect()
}
