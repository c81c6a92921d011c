//! The rows of the live progress view, drawn from a tracker's state at one instant: a pure
//! function, so the view is tested without a terminal. Open tasks show their children; finished
//! ones collapse into one row; older finished siblings fold into a count.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::problem::WorkflowError;
use crate::report::fmt::{self, Paint, paint};
use crate::report::outline::Outline;
use crate::report::tracker::{Finished, Node, Outcome, RunTrack, Tracker, between};

/// Braille spinner frames, one every `SPIN_FRAME`.
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPIN_FRAME: Duration = Duration::from_millis(80);

/// How the rows are drawn: colour, and the terminal's size (rows beyond it are folded).
#[derive(Debug, Clone, Copy)]
pub struct TreeStyle {
    pub color: bool,
    pub width: usize,
    pub height: usize,
}

/// Every row of the view, already cut to the terminal's width and height.
pub fn render_tree(
    tracker: &Tracker,
    outline: Option<&Outline>,
    now: DateTime<Utc>,
    style: TreeStyle,
) -> Vec<String> {
    let view = View {
        outline,
        now,
        color: style.color,
    };
    let mut rows = Vec::new();
    for run in tracker.runs() {
        view.run_rows(run, &mut rows);
    }
    let height = style.height.max(2);
    if rows.len() > height {
        let hidden = rows.len() - (height - 1);
        rows.truncate(height - 1);
        rows.push(paint(
            &format!("  … {hidden} more rows"),
            Paint::Dim,
            style.color,
        ));
    }
    rows.into_iter()
        .map(|row| console::truncate_str(&row, style.width.max(10), "…").into_owned())
        .collect()
}

struct View<'a> {
    outline: Option<&'a Outline>,
    now: DateTime<Utc>,
    color: bool,
}

impl View<'_> {
    fn run_rows(&self, run: &RunTrack, rows: &mut Vec<String>) {
        let name = paint(&run.identity.display_name(), Paint::Bold, self.color);
        if let Some(end) = &run.end {
            let took = fmt::duration(between(run.started, end.at));
            rows.push(format!(
                "{} {name}  {}",
                self.outcome_mark(&end.outcome),
                self.outcome_text(&end.outcome, took)
            ));
            return;
        }
        let Some(root) = run.root() else {
            return;
        };
        rows.push(format!(
            "{} {name}  {}",
            self.spinner(root.started),
            paint(
                &fmt::duration(self.elapsed(root.started)),
                Paint::Dim,
                self.color
            )
        ));
        self.children(run, root, 1, rows);
    }

    fn children(&self, run: &RunTrack, node: &Node, depth: usize, rows: &mut Vec<String>) {
        let indent = "  ".repeat(depth);
        let folded = node
            .finished_children
            .saturating_sub(node.recent.len() as u64);
        if folded > 0 {
            let text = format!("… {folded} finished");
            rows.push(format!("{indent}{}", paint(&text, Paint::Dim, self.color)));
        }
        for finished in &node.recent {
            rows.push(format!("{indent}{}", self.finished_row(finished)));
        }
        for child in &node.children {
            if let Some(child) = run.node(child) {
                rows.push(format!("{indent}{}", self.open_row(child)));
                self.children(run, child, depth + 1, rows);
            }
        }
    }

    fn open_row(&self, node: &Node) -> String {
        let mut row = String::new();
        let label = self.label(
            &node.task,
            node.loops.then_some(node.loop_index),
            node.loop_total,
        );
        match (node.waiting_until, node.retries.last()) {
            (Some(until), Some(retry)) if until > self.now => {
                let remaining = fmt::duration(between(self.now, until));
                row.push_str(&format!(
                    "{} {label}  ",
                    paint("↻", Paint::Warn, self.color)
                ));
                let waiting = format!("retry {} in {remaining}", retry.attempt);
                row.push_str(&paint(&waiting, Paint::Warn, self.color));
                let reason = format!(" · {}", title(&retry.error));
                row.push_str(&paint(&reason, Paint::Dim, self.color));
            }
            _ => {
                let elapsed = fmt::duration(self.elapsed(node.started));
                row.push_str(&format!("{} {label}  ", self.spinner(node.started)));
                row.push_str(&paint(&elapsed, Paint::Dim, self.color));
                if let Some(attempt) = node.retries.last().map(|retry| retry.attempt + 1) {
                    let text = format!(" · attempt {attempt}");
                    row.push_str(&paint(&text, Paint::Dim, self.color));
                }
            }
        }
        if let Some(line) = &node.last_line {
            row.push_str(&paint(&format!("  │ {line}"), Paint::Dim, self.color));
        }
        row
    }

    fn finished_row(&self, finished: &Finished) -> String {
        let label = self.label(&finished.task, finished.iterations, None);
        let took = fmt::duration(finished.duration);
        format!(
            "{} {label}  {}",
            self.outcome_mark(&finished.outcome),
            self.outcome_text(&finished.outcome, took)
        )
    }

    /// `name [i/n]  kind`: the task's own name, its loop position, and its kind when known.
    fn label(&self, task: &str, iteration: Option<u32>, total: Option<u64>) -> String {
        let name = crate::pointer::tokens(task).last().unwrap_or_default();
        let mut label = name;
        match (iteration, total) {
            (Some(index), Some(total)) if index > 0 => {
                label.push_str(&format!(" [{index}/{total}]"))
            }
            (Some(index), None) if index > 0 => label.push_str(&format!(" [{index}]")),
            _ => {}
        }
        if let Some(info) = self.outline.and_then(|outline| outline.get(task)) {
            label.push_str(&paint(&format!("  {}", info.kind), Paint::Dim, self.color));
        }
        label
    }

    fn outcome_mark(&self, outcome: &Outcome) -> String {
        match outcome {
            Outcome::Completed => paint("✓", Paint::Good, self.color),
            Outcome::Replayed => paint("↺", Paint::Dim, self.color),
            Outcome::Faulted(_) => paint("✗", Paint::Bad, self.color),
            Outcome::Skipped => paint("↷", Paint::Dim, self.color),
            Outcome::Cancelled => paint("⊘", Paint::Warn, self.color),
        }
    }

    fn outcome_text(&self, outcome: &Outcome, took: String) -> String {
        match outcome {
            Outcome::Completed => paint(&took, Paint::Dim, self.color),
            // Not a duration: nothing ran here, the output came from the journal.
            Outcome::Replayed => paint("replayed", Paint::Dim, self.color),
            Outcome::Faulted(error) => {
                let text = format!("faulted after {took}: {}", title(error));
                paint(&text, Paint::Bad, self.color)
            }
            Outcome::Skipped => paint("skipped", Paint::Dim, self.color),
            Outcome::Cancelled => {
                paint(&format!("cancelled after {took}"), Paint::Warn, self.color)
            }
        }
    }

    fn spinner(&self, since: DateTime<Utc>) -> String {
        let ticks = self.elapsed(since).as_millis() / SPIN_FRAME.as_millis();
        let frame = SPINNER
            .get((ticks % SPINNER.len() as u128) as usize)
            .copied()
            .unwrap_or('•');
        paint(&frame.to_string(), Paint::Accent, self.color)
    }

    fn elapsed(&self, since: DateTime<Utc>) -> Duration {
        between(since, self.now)
    }
}

/// An error's title on one line (escape codes and newlines would break the view's geometry).
fn title(error: &WorkflowError) -> String {
    crate::report::sanitize::printable(error.title.as_deref().unwrap_or(&error.type_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::script::{Script, epoch, eventful_outline, eventful_run, resumed_run};
    use std::sync::Arc;

    const STYLE: TreeStyle = TreeStyle {
        color: false,
        width: 100,
        height: 40,
    };

    /// The view after the first `events` events of `script`, at `at_ms`.
    fn view_at(script: &Script, events: usize, at_ms: i64) -> String {
        let outline = eventful_outline();
        let mut tracker = Tracker::new(Some(Arc::new(outline.clone())), 3);
        for event in script.events().iter().take(events) {
            tracker.observe(event, &mut |_| {});
        }
        let now = epoch() + chrono::Duration::milliseconds(at_ms);
        render_tree(&tracker, Some(&outline), now, STYLE).join("\n")
    }

    #[test]
    fn waiting_for_a_retry_shows_attempt_and_countdown() {
        // workflow started, fetch created+started, fetch retried
        let text = view_at(&eventful_run(), 4, 400);
        assert_eq!(
            text,
            "⠴ default/pipeline:1.0.0  400ms\n  ↻ fetch  call http  retry 1 in 720ms · Service Unavailable"
        );
    }

    #[test]
    fn a_running_loop_shows_its_iteration_and_finished_siblings() {
        // up to the second iteration's `add` starting: the first iteration's rows are gone
        let text = view_at(&eventful_run(), 18, 3720);
        insta::assert_snapshot!(text, @r"
        ⠦ default/pipeline:1.0.0  3.72s
          ✓ fetch  call http  3.70s
          ↷ check  wait  skipped
          ⠋ each [2]  for  18ms
            ⠋ add  set  9ms
        ");
    }

    #[test]
    fn fork_branches_run_side_by_side_and_finished_subtrees_collapse() {
        // both branches running; the loop finished and collapsed into one row
        let text = view_at(&eventful_run(), 26, 4000);
        insta::assert_snapshot!(text, @r"
        ⠋ default/pipeline:1.0.0  4.00s
          ✓ fetch  call http  3.70s
          ↷ check  wait  skipped
          ✓ each [2]  for  59ms
          ⠹ both  fork  200ms
            ⠹ left  run  199ms
            ⠹ right  run  199ms
        ");
    }

    #[test]
    fn long_views_fold_to_the_terminal_height() {
        let mut s = Script::new("wide");
        s.workflow_started(0).started(1, "/do/0/f");
        for i in 0..50 {
            s.started(2, &format!("/do/0/f/fork/branches/{i}/b{i}"));
        }
        let mut tracker = Tracker::new(None, 3);
        for event in s.events() {
            tracker.observe(&event, &mut |_| {});
        }
        let style = TreeStyle {
            color: false,
            width: 30,
            height: 10,
        };
        let rows = render_tree(&tracker, None, epoch(), style);
        assert_eq!(rows.len(), 10);
        assert_eq!(rows[9], "  … 43 more rows");
        assert!(
            rows.iter()
                .all(|row| console::measure_text_width(row) <= 30)
        );
    }

    #[test]
    fn replayed_steps_have_their_own_mark_and_no_duration() {
        // the loop's second `add` running: `fetch` and the first `add` came from the journal
        let text = view_at(&resumed_run(), 7, 10);
        assert_eq!(
            text,
            "⠋ default/pipeline:1.0.0  10ms\n  ↺ fetch  call http  replayed\n  ⠋ each [2]  for  8ms\n    ⠋ add  set  6ms"
        );
        // the first `add` scrolled out with its iteration; it was replayed, not run
        let first = view_at(&resumed_run(), 5, 3);
        assert!(first.contains("    ↺ add  set  replayed"), "{first}");
    }
}
