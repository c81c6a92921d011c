//! `schedule.every`, `schedule.cron` and `schedule.after`: one timer task per scheduled
//! workflow, started when the workflow is loaded and stopped when it changes or goes.
//!
//! Ticks of `every` fall on whole multiples of the period since the Unix epoch and ticks of
//! `cron` on the expression's times (UTC), so every server computes the same ticks; each tick
//! is claimed in the journal before it fires (see `Journal::claim_tick`): two servers sharing a
//! state directory start one run per tick. Missed ticks (the server was down): one catch-up
//! run at start for the latest tick missed, never a burst. `after` is a chain of this server's
//! own: the first run `after` once the workflow is loaded, each next one `after` once the
//! previous one ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use tokio::task::JoinHandle;

use super::catalog::{Catalog, Loaded, WorkflowKey};
use super::dispatch::Dispatcher;
use crate::document::Document;

/// When a workflow's runs start by time.
#[derive(Debug, Clone)]
pub(crate) enum Timing {
    Every(Duration),
    /// The expression and the zone it is read in.
    Cron(Box<croner::Cron>, Tz),
    After(Duration),
}

impl Timing {
    /// The document's timed schedule, if it has one (`on` is event-driven, not timed).
    pub(crate) fn of(document: &Document, zone: Tz) -> Option<Timing> {
        let schedule = document.schedule.as_ref()?;
        if let Some(every) = schedule.every.as_ref().and_then(|d| d.to_std().ok()) {
            return (!every.is_zero()).then_some(Timing::Every(every));
        }
        if let Some(cron) = &schedule.cron {
            return parse_cron(cron).map(|cron| Timing::Cron(Box::new(cron), zone));
        }
        schedule
            .after
            .as_ref()
            .and_then(|d| d.to_std().ok())
            .map(Timing::After)
    }

    /// The first tick strictly after `time` (`after` has no ticks of its own).
    pub(crate) fn next_tick(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Timing::Every(period) => {
                let period = period.as_millis().max(1) as i64;
                let now = time.timestamp_millis();
                DateTime::from_timestamp_millis((now.div_euclid(period) + 1) * period)
            }
            Timing::Cron(cron, zone) => cron
                .find_next_occurrence(&time.with_timezone(zone), false)
                .ok()
                .map(|at| at.with_timezone(&Utc)),
            Timing::After(_) => None,
        }
    }

    /// The latest tick at or before `time`.
    pub(crate) fn latest_tick(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Timing::Every(period) => {
                let period = period.as_millis().max(1) as i64;
                let now = time.timestamp_millis();
                DateTime::from_timestamp_millis(now.div_euclid(period) * period)
            }
            Timing::Cron(cron, zone) => cron
                .find_previous_occurrence(&time.with_timezone(zone), true)
                .ok()
                .map(|at| at.with_timezone(&Utc)),
            Timing::After(_) => None,
        }
    }
}

impl Timing {
    /// The missed-tick policy: the tick of the one catch-up run due at `now` when the last
    /// tick that fired was `last` (the latest tick missed since), or none. A schedule that
    /// never fired waits for its next tick.
    pub(crate) fn catch_up(
        &self,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let latest = self.latest_tick(now)?;
        (latest > last?).then_some(latest)
    }
}

/// A five-field cron expression, as `validate` checks it.
fn parse_cron(text: &str) -> Option<croner::Cron> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(text)
        .ok()
}

/// The timer tasks, by workflow.
pub(crate) struct Scheduler {
    timers: Mutex<HashMap<WorkflowKey, Timer>>,
    /// The zone cron expressions are read in (`--cron-timezone`).
    zone: Tz,
}

struct Timer {
    /// The document's hash: a changed document gets a new timer.
    hash: String,
    next: Arc<Mutex<Option<DateTime<Utc>>>>,
    task: JoinHandle<()>,
}

impl Scheduler {
    pub(crate) fn new(zone: Tz) -> Scheduler {
        Scheduler {
            timers: Mutex::default(),
            zone,
        }
    }

    fn timers(&self) -> MutexGuard<'_, HashMap<WorkflowKey, Timer>> {
        match self.timers.lock() {
            Ok(timers) => timers,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Starts the timers of new or changed scheduled workflows, stops those of workflows
    /// changed or gone.
    pub(crate) fn sync(&self, catalog: &Catalog, dispatcher: &Arc<Dispatcher>) {
        let mut timers = self.timers();
        timers.retain(|key, timer| {
            let keep = catalog
                .get(key)
                .is_some_and(|loaded| loaded.hash == timer.hash);
            if !keep {
                timer.task.abort();
            }
            keep
        });
        for (key, loaded) in &catalog.workflows {
            if timers.contains_key(key) {
                continue;
            }
            let Some(timing) = Timing::of(&loaded.document, self.zone) else {
                continue;
            };
            let next = Arc::new(Mutex::new(None));
            let task = tokio::spawn(fire(
                timing,
                Arc::clone(loaded),
                Arc::clone(dispatcher),
                Arc::clone(&next),
            ));
            timers.insert(
                key.clone(),
                Timer {
                    hash: loaded.hash.clone(),
                    next,
                    task,
                },
            );
        }
    }

    /// When `key`'s next scheduled run starts, as far as this server knows.
    pub(crate) fn next_fire(&self, key: &WorkflowKey) -> Option<DateTime<Utc>> {
        let timers = self.timers();
        let timer = timers.get(key)?;
        timer.next.lock().ok().and_then(|next| *next)
    }

    /// Stops every timer (the server is stopping).
    pub(crate) fn stop(&self) {
        for (_, timer) in self.timers().drain() {
            timer.task.abort();
        }
    }
}

/// A workflow's timer, until it is aborted.
async fn fire(
    timing: Timing,
    loaded: Arc<Loaded>,
    dispatcher: Arc<Dispatcher>,
    next: Arc<Mutex<Option<DateTime<Utc>>>>,
) {
    let show = |time: Option<DateTime<Utc>>| {
        if let Ok(mut next) = next.lock() {
            *next = time;
        }
    };
    if let Timing::After(delay) = timing {
        loop {
            show(
                chrono::Duration::from_std(delay)
                    .ok()
                    .map(|d| Utc::now() + d),
            );
            tokio::time::sleep(delay).await;
            show(None);
            match dispatcher.start(Arc::clone(&loaded), json!({}), None) {
                Ok(admitted) => {
                    let mut done = admitted.done;
                    // Ends when the run ends (or the server drops it while stopping).
                    let _ = done.wait_for(Option::is_some).await;
                }
                Err(error) => warn(&loaded, &error.to_string()),
            }
        }
    }
    let workflow = loaded.key.to_string();
    // One catch-up run for ticks missed while no server ran this schedule.
    let last = dispatcher.journal().last_tick(&workflow).ok().flatten();
    if let Some(missed) = timing.catch_up(last, Utc::now()) {
        tick(&dispatcher, &loaded, &workflow, missed);
    }
    loop {
        let Some(at) = timing.next_tick(Utc::now()) else {
            show(None);
            return;
        };
        show(Some(at));
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        tick(&dispatcher, &loaded, &workflow, at);
    }
}

/// Starts the run of tick `at`, unless another server claimed the tick.
fn tick(dispatcher: &Arc<Dispatcher>, loaded: &Arc<Loaded>, workflow: &str, at: DateTime<Utc>) {
    let claimed = dispatcher.journal().claim_tick(workflow, at);
    match claimed {
        Ok(true) => {
            if let Err(error) = dispatcher.start(Arc::clone(loaded), json!({}), None) {
                warn(loaded, &error.to_string());
            }
        }
        Ok(false) => {}
        Err(error) => warn(loaded, &error.to_string()),
    }
}

fn warn(loaded: &Loaded, message: &str) {
    eprintln!("warning: schedule of {}: {message}", loaded.key);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::journal::parse_stamp(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn every_ticks_on_multiples_of_the_period() {
        let timing = Timing::Every(Duration::from_secs(60));
        let now = at("2026-01-01T10:20:30.000000Z");
        assert_eq!(
            timing.next_tick(now),
            Some(at("2026-01-01T10:21:00.000000Z"))
        );
        assert_eq!(
            timing.latest_tick(now),
            Some(at("2026-01-01T10:20:00.000000Z"))
        );
    }

    #[test]
    fn missed_ticks_make_one_catch_up_run_for_the_latest() {
        let timing = Timing::Every(Duration::from_secs(60));
        let now = at("2026-01-01T10:20:30.000000Z");
        // Down since 09:00: sixty-odd ticks missed, one run, for 10:20.
        let last = Some(at("2026-01-01T09:00:00.000000Z"));
        assert_eq!(
            timing.catch_up(last, now),
            Some(at("2026-01-01T10:20:00.000000Z"))
        );
        // The latest tick fired already: nothing to catch up; never fired: wait.
        let last = Some(at("2026-01-01T10:20:00.000000Z"));
        assert_eq!(timing.catch_up(last, now), None);
        assert_eq!(timing.catch_up(None, now), None);
        assert_eq!(
            Timing::After(Duration::from_secs(1)).catch_up(last, now),
            None
        );
    }

    #[test]
    fn the_spec_cron_expression_ticks_at_midnight_utc() {
        let Some(cron) = parse_cron("0 0 * * *") else {
            panic!("the spec's cron expression must parse");
        };
        let timing = Timing::Cron(Box::new(cron), Tz::UTC);
        let now = at("2026-01-01T10:20:30.000000Z");
        assert_eq!(
            timing.next_tick(now),
            Some(at("2026-01-02T00:00:00.000000Z"))
        );
        assert_eq!(
            timing.latest_tick(now),
            Some(at("2026-01-01T00:00:00.000000Z"))
        );
        assert!(parse_cron("0 0 * * * *").is_none());
    }

    #[test]
    fn cron_reads_its_times_in_the_configured_zone_daylight_saving_included() {
        let Some(cron) = parse_cron("0 9 * * *") else {
            panic!("a five-field expression must parse");
        };
        let timing = Timing::Cron(Box::new(cron), chrono_tz::Europe::Paris);
        // 09:00 in Paris is 08:00 UTC in winter (UTC+1) and 07:00 UTC in summer (UTC+2).
        assert_eq!(
            timing.next_tick(at("2026-01-15T12:00:00.000000Z")),
            Some(at("2026-01-16T08:00:00.000000Z"))
        );
        assert_eq!(
            timing.next_tick(at("2026-07-15T12:00:00.000000Z")),
            Some(at("2026-07-16T07:00:00.000000Z"))
        );
        assert_eq!(
            timing.latest_tick(at("2026-07-15T12:00:00.000000Z")),
            Some(at("2026-07-15T07:00:00.000000Z"))
        );
    }
}
