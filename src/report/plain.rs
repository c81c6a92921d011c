//! Plain progress lines for CI logs and other non-terminals: one timestamped line per task start,
//! end, retry, fault or skip, prefixed with the task's path, and one per line a `run` task
//! prints, prefixed with the task's name path; never an escape code. Under GitHub Actions a
//! task's output lines are folded in a `::group::`.
//!
//! Lines are formatted on the engine's thread into a buffer (no I/O there) and written by a
//! thread of their own, in batches while the run is busy and at once when it is idle.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::host::effects::process::OutputStream;
use crate::problem::WorkflowError;
use crate::report::fmt;
use crate::report::outline::Outline;
use crate::report::sanitize;
use crate::report::tracker::{Node, Outcome, Step, Tracker};
use crate::runtime::event::{EventSink, LifecycleEvent, RunIdentity};

/// How long the writer waits after a write before the next one, so that a fast loop's lines go
/// out in a few large writes rather than one system call each.
const BATCH_PAUSE: Duration = Duration::from_millis(20);

struct PlainState {
    tracker: Tracker,
    /// Formatted lines not yet written.
    pending: Vec<u8>,
    /// The run whose tasks need no prefix (the first one seen).
    main_run: Option<String>,
    /// The task whose output group is open (GitHub Actions only), by its line prefix.
    group: Option<String>,
    /// Fold output in `::group::` ... `::endgroup::` (GitHub Actions).
    groups: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<PlainState>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PlainState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The plain-lines reporter: an event sink writing to `out` from its own thread.
pub struct PlainSink {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl PlainSink {
    pub fn new(out: Box<dyn Write + Send>, outline: Option<Arc<Outline>>) -> PlainSink {
        PlainSink::with_groups(out, outline, false)
    }

    /// `groups`: fold each task's output lines in GitHub Actions' `::group::` commands.
    pub fn with_groups(
        out: Box<dyn Write + Send>,
        outline: Option<Arc<Outline>>,
        groups: bool,
    ) -> PlainSink {
        let shared = Arc::new(Shared {
            state: Mutex::new(PlainState {
                tracker: Tracker::new(outline, 0),
                pending: Vec::new(),
                main_run: None,
                group: None,
                groups,
                closed: false,
            }),
            wake: Condvar::new(),
        });
        let for_writer = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("workflow-plain".into())
            .spawn(move || write_loop(&for_writer, out))
            .ok();
        PlainSink {
            shared,
            writer: Mutex::new(writer),
        }
    }

    /// Writes every line still pending and stops the writer. Later events are ignored.
    pub fn finish(&self) {
        {
            let mut state = self.shared.lock();
            if !state.closed && state.group.take().is_some() {
                state.pending.extend_from_slice(b"::endgroup::\n");
            }
            state.closed = true;
        }
        self.shared.wake.notify_all();
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for PlainSink {
    fn drop(&mut self) {
        self.finish();
    }
}

impl EventSink for PlainSink {
    fn emit(&self, event: LifecycleEvent) {
        let mut state = self.shared.lock();
        if state.closed {
            return;
        }
        let was_empty = state.pending.is_empty();
        let PlainState {
            tracker,
            pending,
            main_run,
            group,
            groups,
            ..
        } = &mut *state;
        let main_run = main_run.get_or_insert_with(|| event.run.run_id.clone());
        tracker.observe(&event, &mut |step| {
            if let Step::TaskOutput(run, node, stream, line) = &step {
                let prefix = output_prefix(run.identity.as_ref(), node, main_run);
                if *groups && group.as_deref() != Some(prefix.as_str()) {
                    if group.is_some() {
                        pending.extend_from_slice(b"::endgroup::\n");
                    }
                    let _ = writeln!(pending, "::group::{prefix} output");
                    *group = Some(prefix.clone());
                }
                write_output(pending, &prefix, *stream, line, event.time);
                return;
            }
            if group.take().is_some() {
                pending.extend_from_slice(b"::endgroup::\n");
            }
            write_step(pending, &step, event.time, main_run);
        });
        let wake = was_empty && !state.pending.is_empty();
        drop(state);
        // Waking the writer costs a system call: only when it has nothing yet.
        if wake {
            self.shared.wake.notify_one();
        }
    }
}

fn write_loop(shared: &Shared, mut out: Box<dyn Write + Send>) {
    let mut chunk = Vec::new();
    let mut broken = false;
    loop {
        let closed = {
            let mut state = shared.lock();
            while state.pending.is_empty() && !state.closed {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            std::mem::swap(&mut chunk, &mut state.pending);
            state.closed
        };
        if !broken && !chunk.is_empty() {
            // A closed pipe is nobody's to report to; the run goes on without its log.
            broken = out.write_all(&chunk).and_then(|()| out.flush()).is_err();
        }
        chunk.clear();
        if closed {
            return;
        }
        std::thread::sleep(BATCH_PAUSE);
    }
}

/// `each/add [2]`: the task's name path and loop iterations, after the sub-workflow's name when
/// the task belongs to one.
fn output_prefix(run: &RunIdentity, node: &Node, main_run: &str) -> String {
    let mut prefix = String::new();
    if run.run_id != main_run {
        prefix.push_str(&run.display_name());
        prefix.push(' ');
    }
    prefix.push_str(&fmt::task_name_path(&node.task));
    for (position, index) in node.iteration.iter().enumerate() {
        if position == 0 {
            prefix.push(' ');
        }
        prefix.push_str(&format!("[{index}]"));
    }
    prefix
}

/// `10:00:00.003 each/add [2] | text` for stdout, `... stderr | text` for stderr, the text made
/// printable.
fn write_output(
    out: &mut Vec<u8>,
    prefix: &str,
    stream: OutputStream,
    line: &str,
    time: DateTime<Utc>,
) {
    write_time(out, time);
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(match stream {
        OutputStream::Stdout => b" | ",
        OutputStream::Stderr => b" stderr | ",
        OutputStream::Warning => b" warning: ",
    });
    if sanitize::is_printable(line) {
        out.extend_from_slice(line.as_bytes());
    } else {
        out.extend_from_slice(sanitize::printable(line).as_bytes());
    }
    out.push(b'\n');
}

fn write_time(out: &mut Vec<u8>, time: DateTime<Utc>) {
    use chrono::Timelike;
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:03} ",
        time.hour(),
        time.minute(),
        time.second(),
        (time.nanosecond() / 1_000_000).min(999)
    );
}

/// Appends the line (if any) for one step. Called for every event of a run, so the common lines
/// (starts and completions) are written straight into the buffer without temporary strings.
fn write_step(out: &mut Vec<u8>, step: &Step<'_>, time: DateTime<Utc>, main_run: &str) {
    if matches!(step, Step::TaskOutput(..)) {
        return; // written by `write_output`
    }
    write_time(out, time);
    let _ = match step {
        Step::TaskOutput(..) => Ok(()),
        Step::WorkflowStarted(run) => writeln!(
            out,
            "workflow {} started (run {})",
            run.identity.display_name(),
            run.identity.run_id
        ),
        Step::TaskStarted(run, node) => {
            write_path(
                out,
                run.identity.as_ref(),
                &node.task,
                &node.iteration,
                main_run,
            );
            match node.retries.len() {
                0 => out.write_all(b" started\n"),
                retries => writeln!(out, " started (attempt {})", retries + 1),
            }
        }
        Step::TaskRetrying(run, node, retry) => {
            write_path(
                out,
                run.identity.as_ref(),
                &node.task,
                &node.iteration,
                main_run,
            );
            writeln!(
                out,
                " faulted: {}; retry {} in {}",
                error_text(&retry.error, Some(&node.task)),
                retry.attempt,
                fmt::duration(retry.delay)
            )
        }
        Step::TaskFinished(execution) => {
            let task = &execution.task;
            write_path(out, &execution.run, task, &execution.iteration, main_run);
            let took = fmt::duration(execution.duration());
            match &execution.outcome {
                Outcome::Completed => writeln!(out, " completed in {took}"),
                // It took no time here: a duration would suggest it ran again.
                Outcome::Replayed => out.write_all(b" replayed from the journal\n"),
                Outcome::Faulted(error) if !execution.retries.is_empty() => writeln!(
                    out,
                    " faulted after {took}, retries exhausted after {} attempts: {}",
                    execution.retries.len() + 1,
                    error_text(error, Some(task))
                ),
                Outcome::Faulted(error) => writeln!(
                    out,
                    " faulted after {took}: {}",
                    error_text(error, Some(task))
                ),
                Outcome::Skipped => out.write_all(b" skipped\n"),
                Outcome::Cancelled => writeln!(out, " cancelled after {took}"),
            }
        }
        Step::WorkflowFinished(run) => {
            let name = &run.identity.display_name();
            let Some(end) = &run.end else {
                return;
            };
            let took = fmt::duration(crate::report::tracker::between(run.started, end.at));
            match &end.outcome {
                // A workflow is never replayed whole; its tasks are.
                Outcome::Completed | Outcome::Replayed => {
                    writeln!(out, "workflow {name} completed in {took}")
                }
                // A task's fault was on its own line already: name it, not say it again.
                Outcome::Faulted(error) => match error.instance.as_deref() {
                    Some(instance) if !instance.is_empty() && instance != "/" => writeln!(
                        out,
                        "workflow {name} faulted after {took}: the fault of {instance}"
                    ),
                    _ => writeln!(
                        out,
                        "workflow {name} faulted after {took}: {}",
                        error_text(error, None)
                    ),
                },
                Outcome::Cancelled | Outcome::Skipped => {
                    writeln!(out, "workflow {name} cancelled after {took}")
                }
            }
        }
    };
}

/// The task's path: its pointer and loop iterations, after the sub-workflow's name when the
/// task belongs to one.
fn write_path(out: &mut Vec<u8>, run: &RunIdentity, task: &str, iteration: &[u32], main_run: &str) {
    if run.run_id != main_run {
        out.extend_from_slice(run.display_name().as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(task.as_bytes());
    if !iteration.is_empty() {
        out.push(b' ');
        for index in iteration {
            let _ = write!(out, "[{index}]");
        }
    }
}

/// `Title (status): detail`, plus where it was raised when that is not `task` itself; control
/// characters escaped so that one event stays one line.
fn error_text(error: &WorkflowError, task: Option<&str>) -> String {
    let mut text = format!(
        "{} ({})",
        error.title.as_deref().unwrap_or(&error.type_),
        error.status
    );
    if let Some(detail) = &error.detail {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(instance) = error.instance.as_deref().filter(|i| Some(*i) != task) {
        text.push_str(" at ");
        text.push_str(instance);
    }
    one_line(&text)
}

fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ErrorKind;
    use crate::report::script::{
        Script, error_at, eventful_outline, eventful_run, identity, resumed_run,
    };

    /// A `Write` whose bytes the test can read after the sink is done.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
            String::from_utf8(bytes).expect("utf-8 output")
        }
    }

    fn lines_of(script: &Script) -> String {
        let captured = Captured::default();
        let outline = Some(Arc::new(eventful_outline()));
        let sink = PlainSink::new(Box::new(captured.clone()), outline);
        script.play(&sink);
        sink.finish();
        captured.text()
    }

    #[test]
    fn plain_lines_of_a_run_with_retries_a_skip_and_a_fault() {
        let text = lines_of(&eventful_run());
        insta::assert_snapshot!(text);
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn control_characters_stay_on_one_line() {
        let error = error_at(ErrorKind::Runtime, "bad\nthing", "/do/0/a")
            .with_detail("\u{1b}[31mred\u{1b}[0m");
        let mut s = Script::new("escape");
        s.started(0, "/do/0/a").faulted(5, "/do/0/a", error);
        let text = lines_of(&s);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains(r"bad\nthing (500): \u{1b}[31mred"), "{text}");
    }

    #[test]
    fn sub_workflow_tasks_are_prefixed_with_their_workflow() {
        let mut main = Script::new("parent");
        main.workflow_started(0).started(1, "/do/0/child");
        let mut child = Script::with_run(identity("child", "run-2"));
        child
            .workflow_started(2)
            .started(3, "/do/0/inner")
            .completed(4, "/do/0/inner")
            .workflow_completed(5);
        let mut after = Script::new("parent");
        after.completed(6, "/do/0/child").workflow_cancelled(7);
        let captured = Captured::default();
        let sink = PlainSink::new(Box::new(captured.clone()), None);
        main.play(&sink);
        child.play(&sink);
        after.play(&sink);
        sink.finish();
        let text = captured.text();
        assert!(
            text.contains("10:00:00.003 default/child:1.0.0 /do/0/inner started\n"),
            "{text}"
        );
        assert!(
            text.ends_with("10:00:00.007 workflow default/parent:1.0.0 cancelled after 7ms\n"),
            "{text}"
        );
    }

    #[test]
    fn events_after_finish_are_ignored_and_finish_is_idempotent() {
        let captured = Captured::default();
        let sink = PlainSink::new(Box::new(captured.clone()), None);
        sink.finish();
        eventful_run().play(&sink);
        sink.finish();
        assert_eq!(captured.text(), "");
    }

    #[test]
    fn replayed_steps_say_so_instead_of_a_duration() {
        let text = lines_of(&resumed_run());
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "10:00:00.000 workflow default/pipeline:1.0.0 started (run run-1)",
                "10:00:00.001 /do/0/fetch replayed from the journal",
                "10:00:00.002 /do/2/each started",
                "10:00:00.003 /do/2/each/do/0/add [0] replayed from the journal",
                "10:00:00.004 /do/2/each/do/0/add [1] started",
                "10:00:00.024 /do/2/each/do/0/add [1] completed in 20ms",
                "10:00:00.025 /do/2/each completed in 23ms",
                "10:00:00.026 /do/4/upload started",
                "10:00:00.126 /do/4/upload completed in 100ms",
                "10:00:00.127 workflow default/pipeline:1.0.0 completed in 127ms",
            ]
        );
    }

    #[test]
    fn an_exhausted_retry_says_so_when_the_task_faults() {
        let unavailable = || {
            crate::report::script::error_at(
                crate::problem::ErrorKind::Communication,
                "Service Unavailable",
                "/do/0/fetch",
            )
        };
        let mut s = Script::new("pipeline");
        s.workflow_started(0)
            .started(1, "/do/0/fetch")
            .retried(100, "/do/0/fetch", 1, 10, unavailable())
            .started(110, "/do/0/fetch")
            .faulted(200, "/do/0/fetch", unavailable())
            .workflow_faulted(201, unavailable());
        let text = lines_of(&s);
        assert!(
            text.contains(", retries exhausted after 2 attempts: "),
            "{text}"
        );
    }
}
