//! The record of a finished run that the summary and the JUnit report are written from: status,
//! times, task counts, the slowest tasks and (when a report needs them) every task execution.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::report::outline::Outline;
use crate::report::tracker::{Execution, Outcome, RunEnd, Step, Tracker, between, is_within};
use crate::runtime::event::{EventSink, LifecycleEvent, RunIdentity};

/// How many of the slowest tasks the summary lists.
pub const SLOWEST_KEPT: usize = 5;
/// Executions the final tree can show at most (see [`RunRecord::notable`]).
pub const NOTABLE_KEPT: usize = 200;

/// Task executions by how they went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Executions that ran (everything but skipped and replayed ones).
    pub run: u64,
    pub completed: u64,
    /// Steps a resumed or retried run took from the journal instead of executing them.
    pub replayed: u64,
    /// Executions where an error was raised (not those it only passed through) and that the
    /// run did not recover from.
    pub failed: u64,
    /// Executions that faulted inside a task that caught the error and completed (a `try`,
    /// retried or not): not failures of the run.
    pub recovered: u64,
    /// Executions that passed after at least one retry.
    pub passed_after_retries: u64,
    pub cancelled: u64,
    pub skipped: u64,
    /// Executions retried at least once.
    pub retried: u64,
    /// Retries of all executions together.
    pub retries: u64,
    /// Retried executions that faulted all the same: their retry policy gave up.
    pub exhausted: u64,
}

/// Everything reporters need once a run is over.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// The main run (the first one seen; sub-workflows count in its tasks).
    pub identity: Option<Arc<RunIdentity>>,
    pub started: Option<DateTime<Utc>>,
    pub end: Option<RunEnd>,
    pub counts: TaskCounts,
    /// The slowest executions of tasks that contain no others, slowest first.
    pub slowest: Vec<Execution>,
    /// Every execution in the order it ended, when the recorder keeps them.
    pub executions: Vec<Execution>,
    /// What the final tree shows, in the order they ended: the main run's top-level tasks and
    /// every execution that faulted or was retried, up to [`NOTABLE_KEPT`].
    pub notable: Vec<Execution>,
    /// Notable executions not kept past the cap.
    pub notable_omitted: u64,
    /// Faulted executions not yet known to be recovered, each waiting for its enclosing task
    /// to end.
    pending: Vec<Pending>,
}

/// A faulted execution and the enclosing task whose end decides whether it was recovered.
#[derive(Debug, Clone)]
struct Pending {
    run: Arc<str>,
    /// The nearest enclosing task still running: the execution's parent, then that task's
    /// parent once it ended without completing, and so on.
    frontier: Option<Arc<str>>,
    /// The error was raised here (it counts as failed until recovered); else it only passed
    /// through, and only the final tree's entry is marked.
    raised: bool,
    /// Index in `executions`, when kept.
    index: Option<usize>,
    /// Index in `notable`, when it is there.
    notable: Option<usize>,
}

impl RunRecord {
    pub fn duration(&self) -> Option<Duration> {
        Some(between(self.started?, self.end.as_ref()?.at))
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.end.as_ref().map(|end| &end.outcome)
    }

    fn add(&mut self, execution: Execution, keep: bool) {
        let counts = &mut self.counts;
        let mut waiting = None;
        match &execution.outcome {
            Outcome::Completed => counts.completed += 1,
            Outcome::Replayed => counts.replayed += 1,
            Outcome::Faulted(error) => {
                let passed_through = error.instance.as_deref().is_some_and(|instance| {
                    instance != &*execution.task && is_within(instance, &execution.task)
                });
                if !passed_through {
                    counts.failed += 1;
                }
                waiting = Some(Pending {
                    run: Arc::from(execution.run.run_id.as_str()),
                    frontier: execution.parent.clone(),
                    raised: !passed_through,
                    index: (keep && !passed_through).then_some(self.executions.len()),
                    notable: None,
                });
            }
            Outcome::Cancelled => counts.cancelled += 1,
            Outcome::Skipped => counts.skipped += 1,
        }
        // Skipped and replayed steps did nothing in this process: they are not "run", nor
        // among the slowest.
        let ran = !matches!(execution.outcome, Outcome::Skipped | Outcome::Replayed);
        if ran {
            counts.run += 1;
        }
        if !execution.retries.is_empty() {
            counts.retried += 1;
            counts.retries += execution.retries.len() as u64;
            if execution.outcome == Outcome::Completed {
                counts.passed_after_retries += 1;
            }
            if matches!(execution.outcome, Outcome::Faulted(_)) {
                counts.exhausted += 1;
            }
        }
        if execution.composite {
            self.settle(&execution);
        }
        let main_run = self
            .identity
            .as_ref()
            .is_none_or(|identity| identity.run_id == execution.run.run_id);
        let top_level = !crate::report::fmt::task_name_path(&execution.task).contains('/');
        let notable = main_run
            && (top_level
                || !execution.retries.is_empty()
                || matches!(execution.outcome, Outcome::Faulted(_)));
        if notable {
            if self.notable.len() < NOTABLE_KEPT {
                if let Some(waiting) = &mut waiting {
                    waiting.notable = Some(self.notable.len());
                }
                let mut copy = execution.clone();
                copy.log = None;
                self.notable.push(copy);
            } else {
                self.notable_omitted += 1;
            }
        }
        if let Some(waiting) = waiting
            && (waiting.raised || waiting.notable.is_some())
        {
            self.pending.push(waiting);
        }
        if !execution.composite && ran {
            self.consider_slowest(&execution);
        }
        if keep {
            self.executions.push(execution);
        }
    }

    /// `execution` (a task that ran others) ended: the faults waiting for it are recovered when
    /// it completed (its children's faults were caught inside it: the run went on), else they
    /// wait for the task around it.
    fn settle(&mut self, execution: &Execution) {
        let run_id = execution.run.run_id.as_str();
        let here = |pending: &Pending| {
            &*pending.run == run_id && pending.frontier.as_deref() == Some(&*execution.task)
        };
        let mut recovered = 0;
        if execution.outcome == Outcome::Completed {
            for pending in self.pending.iter().filter(|p| p.raised && here(p)) {
                recovered += 1;
                if let Some(kept) = pending.index.and_then(|i| self.executions.get_mut(i)) {
                    kept.recovered_by = Some(execution.task.clone());
                }
            }
        }
        self.counts.failed -= recovered;
        self.counts.recovered += recovered;
        for pending in self.pending.iter_mut().filter(|p| here(p)) {
            if recovered > 0 {
                // The final tree marks every fault caught here, those that only passed
                // through included.
                pending.frontier = None;
                if let Some(kept) = pending.notable.and_then(|i| self.notable.get_mut(i))
                    && kept.recovered_by.is_none()
                {
                    kept.recovered_by = Some(execution.task.clone());
                }
            } else {
                pending.frontier.clone_from(&execution.parent);
            }
        }
        self.pending.retain(|pending| pending.frontier.is_some());
    }

    fn consider_slowest(&mut self, execution: &Execution) {
        let duration = execution.duration();
        if self.slowest.len() == SLOWEST_KEPT
            && self
                .slowest
                .last()
                .is_some_and(|last| last.duration() >= duration)
        {
            return;
        }
        let position = self
            .slowest
            .iter()
            .position(|kept| kept.duration() < duration)
            .unwrap_or(self.slowest.len());
        self.slowest.insert(position, execution.clone());
        self.slowest.truncate(SLOWEST_KEPT);
    }
}

struct RecorderState {
    tracker: Tracker,
    record: RunRecord,
}

/// An event sink that builds a [`RunRecord`]. Cheap per event: it does its bookkeeping under a
/// short lock on the engine's thread and never does I/O.
pub struct RunRecorder {
    keep_executions: bool,
    state: Mutex<RecorderState>,
}

impl RunRecorder {
    /// `keep_executions`: remember every execution (the JUnit report needs them; the summary
    /// does not, so a 100,000-iteration loop costs no memory without `--junit`).
    pub fn new(outline: Option<Arc<Outline>>, keep_executions: bool) -> RunRecorder {
        RunRecorder::keeping_recent(outline, keep_executions, 0)
    }

    /// A recorder whose tracker also keeps the last `recent` finished children of every open
    /// task, so that the live view can draw from it (one tracker for both, not two).
    pub fn keeping_recent(
        outline: Option<Arc<Outline>>,
        keep_executions: bool,
        recent: usize,
    ) -> RunRecorder {
        let mut tracker = Tracker::new(outline, recent);
        if keep_executions {
            // The JUnit report attaches what each task printed.
            tracker.keep_output();
        }
        RunRecorder {
            keep_executions,
            state: Mutex::new(RecorderState {
                tracker,
                record: RunRecord::default(),
            }),
        }
    }

    /// Runs `f` on the tracker, under the recorder's lock (keep it short).
    pub fn with_tracker<R>(&self, f: impl FnOnce(&mut Tracker) -> R) -> R {
        f(&mut self.lock().tracker)
    }

    fn lock(&self) -> MutexGuard<'_, RecorderState> {
        // A reporter that panicked mid-update leaves counts, not broken invariants: keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The record so far (complete once the workflow's final event has been emitted).
    pub fn record(&self) -> RunRecord {
        self.lock().record.clone()
    }

    /// The record, leaving an empty one behind (avoids copying every execution).
    pub fn take(&self) -> RunRecord {
        std::mem::take(&mut self.lock().record)
    }
}

impl EventSink for RunRecorder {
    fn emit(&self, event: LifecycleEvent) {
        let keep = self.keep_executions;
        let mut state = self.lock();
        let RecorderState { tracker, record } = &mut *state;
        tracker.observe(&event, &mut |step| match step {
            Step::WorkflowStarted(run) => {
                let main = record
                    .identity
                    .get_or_insert_with(|| Arc::clone(&run.identity));
                if main.run_id == run.identity.run_id {
                    record.started = Some(run.started);
                }
            }
            Step::WorkflowFinished(run) => {
                let main = record
                    .identity
                    .get_or_insert_with(|| Arc::clone(&run.identity));
                if main.run_id == run.identity.run_id {
                    record.started.get_or_insert(run.started);
                    record.end.clone_from(&run.end);
                }
            }
            Step::TaskFinished(execution) => {
                record
                    .identity
                    .get_or_insert_with(|| Arc::clone(&execution.run));
                record.add(execution, keep);
            }
            Step::TaskStarted(..) | Step::TaskRetrying(..) | Step::TaskOutput(..) => {}
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::script::{eventful_run, resumed_run};

    fn recorded(keep: bool) -> RunRecord {
        let recorder = RunRecorder::new(None, keep);
        eventful_run().play(&recorder);
        recorder.take()
    }

    #[test]
    fn counts_and_status_of_the_eventful_run() {
        let record = recorded(false);
        assert_eq!(
            record.counts,
            TaskCounts {
                run: 8,
                completed: 7,
                replayed: 0,
                failed: 1,
                recovered: 0,
                passed_after_retries: 1,
                cancelled: 0,
                skipped: 1,
                retried: 1,
                retries: 2,
                exhausted: 0,
            }
        );
        assert_eq!(record.duration(), Some(Duration::from_millis(5901)));
        assert_eq!(record.outcome().map(Outcome::word), Some("faulted"));
        assert_eq!(
            record.identity.as_ref().map(|i| i.qualified_name.as_str()),
            Some("pipeline.default:1.0.0")
        );
        assert!(record.executions.is_empty(), "not kept unless asked");
    }

    #[test]
    fn slowest_lists_leaf_tasks_slowest_first() {
        let record = recorded(true);
        let slowest: Vec<_> = record.slowest.iter().map(Execution::label).collect();
        assert_eq!(
            slowest,
            vec![
                "/do/0/fetch",
                "/do/3/both/fork/branches/0/left",
                "/do/4/upload",
                "/do/3/both/fork/branches/1/right",
                "/do/2/each/do/0/add [1]",
            ]
        );
        assert_eq!(record.executions.len(), 9);
    }

    #[test]
    fn a_propagated_fault_counts_once() {
        use crate::problem::ErrorKind;
        use crate::report::script::{Script, error_at};
        let error = error_at(ErrorKind::Runtime, "boom", "/do/0/outer/do/0/inner");
        let mut s = Script::new("nest");
        s.workflow_started(0)
            .started(1, "/do/0/outer")
            .started(2, "/do/0/outer/do/0/inner")
            .faulted(3, "/do/0/outer/do/0/inner", error.clone())
            .faulted(4, "/do/0/outer", error.clone())
            .workflow_faulted(5, error);
        let recorder = RunRecorder::new(None, false);
        s.play(&recorder);
        let counts = recorder.record().counts;
        assert_eq!((counts.run, counts.failed), (2, 1));
    }

    #[test]
    fn a_fault_caught_two_levels_up_is_recovered_by_the_task_that_caught_it() {
        use crate::problem::ErrorKind;
        use crate::report::script::{Script, error_at};
        let error = error_at(
            ErrorKind::Runtime,
            "boom",
            "/do/0/guard/try/0/inner/do/0/call",
        );
        let mut s = Script::new("caught");
        s.workflow_started(0)
            .started(1, "/do/0/guard")
            .started(2, "/do/0/guard/try/0/inner")
            .started(3, "/do/0/guard/try/0/inner/do/0/call")
            .faulted(4, "/do/0/guard/try/0/inner/do/0/call", error.clone())
            .faulted(5, "/do/0/guard/try/0/inner", error)
            .completed(6, "/do/0/guard")
            .workflow_completed(7);
        let recorder = RunRecorder::new(None, true);
        s.play(&recorder);
        let record = recorder.record();
        assert_eq!((record.counts.failed, record.counts.recovered), (0, 1));
        let by = |list: &[Execution]| -> Vec<(String, Option<String>)> {
            list.iter()
                .filter(|e| matches!(e.outcome, Outcome::Faulted(_)))
                .map(|e| {
                    (
                        e.task.to_string(),
                        e.recovered_by.as_deref().map(str::to_owned),
                    )
                })
                .collect()
        };
        let guard = Some("/do/0/guard".to_owned());
        assert_eq!(
            by(&record.executions),
            [
                (
                    "/do/0/guard/try/0/inner/do/0/call".to_owned(),
                    guard.clone()
                ),
                // It only passed the error on: not counted, not marked in the full list.
                ("/do/0/guard/try/0/inner".to_owned(), None),
            ]
        );
        assert_eq!(
            by(&record.notable),
            [
                (
                    "/do/0/guard/try/0/inner/do/0/call".to_owned(),
                    guard.clone()
                ),
                ("/do/0/guard/try/0/inner".to_owned(), guard),
            ]
        );
    }

    #[test]
    fn replayed_steps_are_counted_apart_and_never_among_the_slowest() {
        let recorder = RunRecorder::new(None, true);
        resumed_run().play(&recorder);
        let record = recorder.take();
        assert_eq!(
            (
                record.counts.run,
                record.counts.completed,
                record.counts.replayed
            ),
            (3, 3, 2)
        );
        let slowest: Vec<_> = record.slowest.iter().map(Execution::label).collect();
        assert_eq!(slowest, vec!["/do/4/upload", "/do/2/each/do/0/add [1]"]);
        let replayed: Vec<_> = record
            .executions
            .iter()
            .filter(|e| e.outcome == Outcome::Replayed)
            .map(Execution::label)
            .collect();
        // Without an outline the loop is only known to loop from its second iteration.
        assert_eq!(replayed, vec!["/do/0/fetch", "/do/2/each/do/0/add"]);
    }
}
