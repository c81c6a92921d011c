//! The live progress view on a terminal: an event sink that keeps the run's tree under a short
//! lock, and a drawing thread that renders it through indicatif about twelve times a second.
//! The engine's threads only update the tree; they never draw, wait on the terminal or allocate
//! text.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::outline::Outline;
use crate::report::record::RunRecorder;
use crate::report::tracker::Tracker;
use crate::report::tree::{TreeStyle, render_tree};
use crate::runtime::event::{EventSink, LifecycleEvent};

/// Time between two frames of the drawing thread.
pub const FRAME: Duration = Duration::from_millis(80);
/// Finished children each open task keeps on screen before they fold into a count.
const RECENT_ROWS: usize = 3;

/// The terminal's size in columns and rows, asked again at every frame (windows get resized).
pub type TermSize = Arc<dyn Fn() -> (usize, usize) + Send + Sync>;

/// Where the view reads the run from.
enum Source {
    /// Its own tracker, fed by its own events.
    Own(Mutex<Tracker>),
    /// The tracker of the run's recorder, which gets the events: one tracker does for both.
    Recorder(Arc<RunRecorder>),
}

struct Shared {
    source: Source,
    outline: Option<Arc<Outline>>,
    bar: ProgressBar,
    size: TermSize,
    color: bool,
}

impl Shared {
    fn with_tracker<R>(&self, f: impl FnOnce(&mut Tracker) -> R) -> R {
        match &self.source {
            Source::Own(tracker) => f(&mut lock(tracker)),
            Source::Recorder(recorder) => recorder.with_tracker(f),
        }
    }

    fn draw(&self, now: DateTime<Utc>) {
        let (width, height) = (self.size)();
        // Leave the last terminal row free so the cursor never forces a scroll.
        let style = TreeStyle {
            color: self.color,
            width,
            height: height.saturating_sub(1),
        };
        let outline = self.outline.as_deref();
        let rows = self.with_tracker(|tracker| render_tree(tracker, outline, now, style));
        self.bar.set_message(rows.join("\n"));
    }
}

/// The live tree reporter.
pub struct ProgressSink {
    shared: Arc<Shared>,
    stop: Mutex<Option<Sender<()>>>,
    drawer: Mutex<Option<JoinHandle<()>>>,
    /// The terminal whose cursor the view hid while drawing; shown again by `finish` (or on
    /// drop, whatever way the run ends).
    hidden_cursor: Mutex<Option<console::Term>>,
}

impl ProgressSink {
    /// The view on standard error, refreshed by its own thread. Meant for a terminal: on anything
    /// else indicatif draws nothing.
    pub fn stderr(outline: Option<Arc<Outline>>, color: bool) -> ProgressSink {
        let tracker = Tracker::new(outline.clone(), RECENT_ROWS);
        ProgressSink::on_stderr(Source::Own(Mutex::new(tracker)), outline, color)
    }

    /// The view on standard error drawn from `recorder`'s tracker (made with
    /// [`ProgressSink::recorder`]). It needs no events of its own: hand the engine the recorder.
    pub fn stderr_following(
        recorder: Arc<RunRecorder>,
        outline: Option<Arc<Outline>>,
        color: bool,
    ) -> ProgressSink {
        ProgressSink::on_stderr(Source::Recorder(recorder), outline, color)
    }

    /// A recorder whose tracker keeps what this view draws.
    pub fn recorder(outline: Option<Arc<Outline>>, keep_executions: bool) -> RunRecorder {
        RunRecorder::keeping_recent(outline, keep_executions, RECENT_ROWS)
    }

    fn on_stderr(source: Source, outline: Option<Arc<Outline>>, color: bool) -> ProgressSink {
        let size: TermSize = Arc::new(|| {
            let (rows, columns) = console::Term::stderr().size();
            (usize::from(columns), usize::from(rows))
        });
        let target = ProgressDrawTarget::stderr_with_hz(15);
        let sink = ProgressSink::build(target, size, source, outline, color);
        let term = console::Term::stderr();
        // A blinking cursor jumping over the redrawn rows is noise; it comes back at the end.
        if term.is_term() && term.hide_cursor().is_ok() {
            *lock(&sink.hidden_cursor) = Some(term);
        }
        sink.start(FRAME);
        sink
    }

    /// The view on any indicatif target, drawn only by [`ProgressSink::redraw_at`] until
    /// [`ProgressSink::start`] starts the drawing thread.
    pub fn with_target(
        target: ProgressDrawTarget,
        size: TermSize,
        outline: Option<Arc<Outline>>,
        color: bool,
    ) -> ProgressSink {
        let tracker = Tracker::new(outline.clone(), RECENT_ROWS);
        ProgressSink::build(
            target,
            size,
            Source::Own(Mutex::new(tracker)),
            outline,
            color,
        )
    }

    fn build(
        target: ProgressDrawTarget,
        size: TermSize,
        source: Source,
        outline: Option<Arc<Outline>>,
        color: bool,
    ) -> ProgressSink {
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        ProgressSink {
            shared: Arc::new(Shared {
                source,
                outline,
                bar,
                size,
                color,
            }),
            stop: Mutex::new(None),
            drawer: Mutex::new(None),
            hidden_cursor: Mutex::new(None),
        }
    }

    /// Starts the drawing thread: one frame every `frame`, until [`ProgressSink::finish`].
    pub fn start(&self, frame: Duration) {
        let mut drawer = lock(&self.drawer);
        if drawer.is_some() {
            return;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("workflow-progress".into())
            .spawn(move || {
                loop {
                    match stopped.recv_timeout(frame) {
                        Err(RecvTimeoutError::Timeout) => shared.draw(Utc::now()),
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            });
        if let Ok(handle) = spawned {
            *drawer = Some(handle);
            *lock(&self.stop) = Some(stop);
        }
    }

    /// Draws one frame as of `now`.
    pub fn redraw_at(&self, now: DateTime<Utc>) {
        self.shared.draw(now);
    }

    /// Stops drawing and wipes the view from the terminal, leaving the cursor where the view
    /// began (the summary is printed there).
    pub fn finish(&self) {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.send(());
        }
        if let Some(handle) = lock(&self.drawer).take() {
            let _ = handle.join();
        }
        self.shared.bar.finish_and_clear();
        self.show_cursor();
    }

    fn show_cursor(&self) {
        if let Some(term) = lock(&self.hidden_cursor).take() {
            let _ = term.show_cursor();
        }
    }

    /// Hook: the last line a `run` task printed, shown beside it (for when the engine publishes
    /// process output).
    pub fn output_line(&self, run_id: &str, task: &str, line: &str) {
        self.shared
            .with_tracker(|tracker| tracker.set_last_line(run_id, task, line));
    }

    /// Hook: how many iterations a loop will run, shown as `[i/n]`.
    pub fn iteration_total(&self, run_id: &str, task: &str, total: u64) {
        self.shared
            .with_tracker(|tracker| tracker.set_loop_total(run_id, task, total));
    }
}

impl Drop for ProgressSink {
    /// A view dropped without `finish` (an early return, a panic unwinding) still clears itself
    /// and gives the terminal its cursor back.
    fn drop(&mut self) {
        self.finish();
    }
}

impl EventSink for ProgressSink {
    /// A view following a recorder wants no events: the recorder gets them.
    fn enabled(&self) -> bool {
        matches!(self.shared.source, Source::Own(_))
    }

    fn emit(&self, event: LifecycleEvent) {
        if let Source::Own(tracker) = &self.shared.source {
            lock(tracker).observe(&event, &mut |_| {});
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::script::{epoch, eventful_outline, eventful_run};
    use crate::report::vt::VirtualTerminal;

    fn at(ms: i64) -> DateTime<Utc> {
        epoch() + chrono::Duration::milliseconds(ms)
    }

    fn sink_on(terminal: &VirtualTerminal) -> ProgressSink {
        let (width, height) = terminal.size();
        let size: TermSize = Arc::new(move || (width, height));
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(terminal.clone()), 100);
        ProgressSink::with_target(target, size, Some(Arc::new(eventful_outline())), false)
    }

    #[test]
    fn draws_the_tree_and_clears_it_without_leftovers() {
        let terminal = VirtualTerminal::new(60, 12);
        let sink = sink_on(&terminal);
        let events = eventful_run().events();
        // The loop's second iteration: five rows.
        for event in events.iter().take(18) {
            sink.emit(event.clone());
        }
        sink.redraw_at(at(3720));
        assert_eq!(
            terminal.lines(),
            vec![
                "⠦ default/pipeline:1.0.0  3.72s",
                "  ✓ fetch  call http  3.70s",
                "  ↷ check  wait  skipped",
                "  ⠋ each [2]  for  18ms",
                "    ⠋ add  set  9ms",
            ]
        );
        // The fork: more rows than before, every one redrawn in place.
        for event in events.iter().take(26).skip(18) {
            sink.emit(event.clone());
        }
        sink.redraw_at(at(4000));
        assert_eq!(terminal.lines().len(), 7);
        assert_eq!(terminal.lines()[4], "  ⠹ both  fork  200ms");
        // The upload alone: fewer rows; nothing of the longer frame may remain below.
        for event in events.iter().take(31).skip(26) {
            sink.emit(event.clone());
        }
        sink.redraw_at(at(5500));
        assert_eq!(
            terminal.lines(),
            vec![
                "⠇ default/pipeline:1.0.0  5.50s",
                "  … 1 finished",
                "  ↷ check  wait  skipped",
                "  ✓ each [2]  for  59ms",
                "  ✓ both  fork  1.30s",
                "  ⠸ upload  run  300ms",
            ]
        );
        sink.finish();
        assert!(
            terminal.lines().is_empty(),
            "cleared: {:?}",
            terminal.lines()
        );
        assert_eq!(
            terminal.cursor(),
            (0, 0),
            "the cursor is back where the view began"
        );
    }

    #[test]
    fn a_view_following_a_recorder_draws_from_its_tracker() {
        let terminal = VirtualTerminal::new(60, 12);
        let outline = Some(Arc::new(eventful_outline()));
        let recorder = Arc::new(ProgressSink::recorder(outline.clone(), false));
        let (width, height) = terminal.size();
        let size: TermSize = Arc::new(move || (width, height));
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(terminal.clone()), 100);
        let source = Source::Recorder(Arc::clone(&recorder));
        let sink = ProgressSink::build(target, size, source, outline, false);
        assert!(!sink.enabled(), "the recorder gets the events");
        for event in eventful_run().events().iter().take(18) {
            recorder.emit(event.clone());
        }
        sink.redraw_at(at(3720));
        let lines = terminal.lines();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[3], "  ⠋ each [2]  for  18ms");
        sink.finish();
        assert!(terminal.lines().is_empty());
        let counts = recorder.record().counts;
        assert_eq!(
            (counts.run, counts.skipped),
            (2, 1),
            "the recorder still records"
        );
    }

    #[test]
    fn a_view_taller_than_the_terminal_is_folded_not_scrolled() {
        let terminal = VirtualTerminal::new(40, 6);
        let sink = sink_on(&terminal);
        let mut script = crate::report::script::Script::new("wide");
        script.workflow_started(0).started(1, "/do/0/f");
        for i in 0..20 {
            script.started(2, &format!("/do/0/f/fork/branches/{i}/b{i}"));
        }
        script.play(&sink);
        sink.redraw_at(at(100));
        let lines = terminal.lines();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[4], "  … 18 more rows");
        assert!(!terminal.scrolled(), "the view never scrolls the terminal");
        sink.finish();
        assert!(terminal.lines().is_empty());
    }

    #[test]
    fn the_drawing_thread_draws_and_stops() {
        let terminal = VirtualTerminal::new(60, 12);
        let sink = sink_on(&terminal);
        sink.start(Duration::from_millis(5));
        eventful_run().play(&sink);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while terminal.writes() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(terminal.writes() > 0, "the thread drew at least one frame");
        sink.finish();
        assert!(terminal.lines().is_empty());
    }

    #[test]
    fn live_events_show_loop_totals_and_output_lines() {
        let terminal = VirtualTerminal::new(80, 12);
        let sink = sink_on(&terminal);
        let mut script = crate::report::script::Script::new("pipeline");
        script
            .workflow_started(0)
            .started(1, "/do/0/each")
            .iterations(1, "/do/0/each", 3);
        for (i, at) in [(0, 2), (1, 10)] {
            let task = "/do/0/each/do/0/add";
            script.started(at, task);
            script.output(at + 1, task, &format!("adding {i}"));
            if i == 0 {
                script.completed(at + 5, task);
            }
        }
        script.play(&sink);
        sink.redraw_at(at(20));
        let lines = terminal.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].starts_with("  ⠋ each [2/3]  "), "{lines:?}");
        assert!(lines[2].ends_with("  │ adding 1"), "{lines:?}");
        sink.finish();
    }

    #[test]
    fn hooks_show_output_lines_and_loop_totals() {
        let terminal = VirtualTerminal::new(80, 12);
        let sink = sink_on(&terminal);
        for event in eventful_run().events().iter().take(15) {
            sink.emit(event.clone());
        }
        sink.iteration_total("run-1", "/do/2/each", 2);
        sink.output_line("run-1", "/do/2/each/do/0/add", "adding 1");
        sink.redraw_at(at(3705));
        let lines = terminal.lines();
        assert_eq!(lines[3], "  ⠋ each [1/2]  for  3ms");
        assert_eq!(lines[4], "    ⠋ add  set  2ms  │ adding 1");
    }
}
