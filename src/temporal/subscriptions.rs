//! The AsyncAPI subscriptions a worker keeps open between the consumption steps of a run:
//! a step that lands on the worker that ran the previous one takes the next message from the
//! same live subscription (its acknowledgements reach the broker, nothing is redelivered); a
//! step on another worker re-attaches to the durable subscription. A subscription no step used
//! for [`IDLE`] is dropped (the broker keeps the durable part until the run's last step
//! removes it).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::host::effects::asyncapi::Consumption;

/// How long an unused open subscription is kept.
const IDLE: Duration = Duration::from_secs(60);

/// Open subscriptions by run step (the durable name) and channel.
#[derive(Default)]
pub(crate) struct OpenSubscriptions {
    open: Mutex<HashMap<String, (Consumption, Instant)>>,
}

impl OpenSubscriptions {
    /// The open subscription under `key`, taken out while a step uses it.
    pub(crate) fn take(&self, key: &str) -> Option<Consumption> {
        let (taken, idle) = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let taken = open.remove(key).map(|(consumption, _)| consumption);
            (taken, Self::expired(&mut open))
        };
        // Dropped outside the lock: dropping disconnects.
        drop(idle);
        taken
    }

    /// Keeps `consumption` open for the next step.
    pub(crate) fn put(&self, key: String, consumption: Consumption) {
        let idle = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            open.insert(key, (consumption, Instant::now()));
            Self::expired(&mut open)
        };
        drop(idle);
    }

    fn expired(open: &mut HashMap<String, (Consumption, Instant)>) -> Vec<Consumption> {
        let old: Vec<String> = open
            .iter()
            .filter(|(_, (_, used))| used.elapsed() > IDLE)
            .map(|(key, _)| key.clone())
            .collect();
        old.iter()
            .filter_map(|key| open.remove(key).map(|(consumption, _)| consumption))
            .collect()
    }
}
