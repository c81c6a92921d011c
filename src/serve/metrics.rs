//! `GET /metrics`: what the server counts, in the Prometheus text format: runs ended by
//! workflow and status, runs running and queued, and task durations (a histogram per workflow)
//! taken from the runs' lifecycle events.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use crate::runtime::event::{EventKind, EventSink, LifecycleEvent};

/// Upper bounds of the task duration buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0, 120.0, 600.0];

/// The counters, shared by the server and every run's [`TaskTimer`].
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// (workflow label, status) → runs that ended so.
    ended: BTreeMap<(String, &'static str), u64>,
    running: BTreeMap<String, i64>,
    queued: i64,
    tasks: BTreeMap<String, Histogram>,
    started: u64,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(crate) fn queued(&self, delta: i64) {
        self.lock().queued += delta;
    }

    pub(crate) fn started(&self, workflow: &str) {
        let mut state = self.lock();
        state.started += 1;
        *state.running.entry(workflow.to_owned()).or_default() += 1;
    }

    pub(crate) fn ended(&self, workflow: &str, status: &'static str) {
        let mut state = self.lock();
        *state.running.entry(workflow.to_owned()).or_default() -= 1;
        *state
            .ended
            .entry((workflow.to_owned(), status))
            .or_default() += 1;
    }

    fn task(&self, workflow: &str, seconds: f64) {
        let mut state = self.lock();
        let histogram = state.tasks.entry(workflow.to_owned()).or_default();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let state = self.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP workflow_runs_total Runs that ended, by workflow and status.\n\
             # TYPE workflow_runs_total counter"
        );
        for ((workflow, status), count) in &state.ended {
            let _ = writeln!(
                out,
                "workflow_runs_total{{workflow=\"{}\",status=\"{status}\"}} {count}",
                label(workflow)
            );
        }
        let _ = writeln!(
            out,
            "# HELP workflow_runs_started_total Runs started by this server.\n\
             # TYPE workflow_runs_started_total counter\nworkflow_runs_started_total {}",
            state.started
        );
        let _ = writeln!(
            out,
            "# HELP workflow_runs_running Runs running now, by workflow.\n\
             # TYPE workflow_runs_running gauge"
        );
        for (workflow, count) in &state.running {
            let _ = writeln!(
                out,
                "workflow_runs_running{{workflow=\"{}\"}} {count}",
                label(workflow)
            );
        }
        let _ = writeln!(
            out,
            "# HELP workflow_queue_depth Runs waiting for a slot (--max-concurrent-runs).\n\
             # TYPE workflow_queue_depth gauge\nworkflow_queue_depth {}",
            state.queued
        );
        let _ = writeln!(
            out,
            "# HELP workflow_task_duration_seconds Task durations, by workflow.\n\
             # TYPE workflow_task_duration_seconds histogram"
        );
        for (workflow, histogram) in &state.tasks {
            let workflow = label(workflow);
            for (count, bound) in histogram.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "workflow_task_duration_seconds_bucket{{workflow=\"{workflow}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "workflow_task_duration_seconds_bucket{{workflow=\"{workflow}\",le=\"+Inf\"}} {}\n\
                 workflow_task_duration_seconds_sum{{workflow=\"{workflow}\"}} {}\n\
                 workflow_task_duration_seconds_count{{workflow=\"{workflow}\"}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One run's sink: times each task execution from its start to its end.
pub(crate) struct TaskTimer {
    workflow: String,
    metrics: Arc<Metrics>,
    starts: Mutex<HashMap<Arc<str>, DateTime<Utc>>>,
}

impl TaskTimer {
    pub(crate) fn new(workflow: String, metrics: Arc<Metrics>) -> TaskTimer {
        TaskTimer {
            workflow,
            metrics,
            starts: Mutex::new(HashMap::new()),
        }
    }
}

impl EventSink for TaskTimer {
    fn emit(&self, event: LifecycleEvent) {
        let Some(step) = event.step.clone().or_else(|| event.task.clone()) else {
            return;
        };
        let Ok(mut starts) = self.starts.lock() else {
            return;
        };
        match event.kind {
            EventKind::TaskStarted => {
                starts.insert(step, event.time);
            }
            EventKind::TaskCompleted { .. }
            | EventKind::TaskFaulted { .. }
            | EventKind::TaskCancelled => {
                if let Some(start) = starts.remove(&step) {
                    let seconds = (event.time - start).num_microseconds().unwrap_or(0) as f64 / 1e6;
                    self.metrics.task(&self.workflow, seconds.max(0.0));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_runs_and_buckets_durations() {
        let metrics = Metrics::default();
        metrics.started("t/a/1");
        metrics.ended("t/a/1", "completed");
        metrics.task("t/a/1", 0.02);
        let text = metrics.render();
        assert!(text.contains("workflow_runs_total{workflow=\"t/a/1\",status=\"completed\"} 1"));
        assert!(text.contains("workflow_runs_running{workflow=\"t/a/1\"} 0"));
        assert!(
            text.contains(
                "workflow_task_duration_seconds_bucket{workflow=\"t/a/1\",le=\"0.01\"} 0"
            )
        );
        assert!(
            text.contains(
                "workflow_task_duration_seconds_bucket{workflow=\"t/a/1\",le=\"0.05\"} 1"
            )
        );
        assert!(text.contains("workflow_queue_depth 0"));
        assert_eq!(label("a\"b"), "a\\\"b");
    }
}
