//! `schedule.on`: runs started by events. Each event the server receives (POSTed to
//! `/api/v1/events`, or delivered by the brokers of `--broker`) is offered to every served
//! workflow with a `schedule.on`; events are grouped by the strategy's correlation, and a run
//! starts when a group satisfies it, with the group's events as its input. Groups still
//! waiting are kept in memory only: a restart forgets a half-satisfied `all`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::StreamExt;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::catalog::{Catalog, Loaded, WorkflowKey};
use super::dispatch::Dispatcher;
use crate::host::effects::events::{EventBus, SubscribeRequest};
use crate::runtime::{TriggerOffer, offer_trigger};

/// What offering one event did.
#[derive(Debug, Default)]
pub(crate) struct Started {
    /// Some schedule took the event.
    pub wanted: bool,
    /// The runs it completed a group for.
    pub runs: Vec<String>,
}

/// The groups of events waiting, for one workflow.
type Groups = Arc<Mutex<Vec<Vec<Value>>>>;

struct Entry {
    hash: String,
    groups: Groups,
    /// The subscription to the brokers, when there are some.
    task: Option<JoinHandle<()>>,
}

/// The `schedule.on` triggers of the served workflows.
#[derive(Default)]
pub(crate) struct Triggers {
    entries: Mutex<HashMap<WorkflowKey, Entry>>,
}

impl Triggers {
    fn entries(&self) -> MutexGuard<'_, HashMap<WorkflowKey, Entry>> {
        match self.entries.lock() {
            Ok(entries) => entries,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Follows the catalog: new or changed workflows with `schedule.on` get fresh groups (and a
    /// subscription on `bus` when it delivers events), removed ones lose theirs.
    pub(crate) fn sync(
        &self,
        catalog: &Catalog,
        dispatcher: &Arc<Dispatcher>,
        bus: &Arc<dyn EventBus>,
    ) {
        let mut entries = self.entries();
        entries.retain(|key, entry| {
            let keep = catalog
                .get(key)
                .is_some_and(|loaded| loaded.hash == entry.hash);
            if !keep && let Some(task) = &entry.task {
                task.abort();
            }
            keep
        });
        for (key, loaded) in &catalog.workflows {
            if entries.contains_key(key) {
                continue;
            }
            let Some(spec) = loaded.machine.schedule_on() else {
                continue;
            };
            let groups: Groups = Arc::default();
            let task = bus.delivers().then(|| {
                let request = SubscribeRequest {
                    name: format!(
                        "workflow-schedule-{}",
                        &crate::journal::document_hash(key.to_string().as_bytes())[..24]
                    ),
                    types: spec.strategy.exact_types(),
                };
                tokio::spawn(subscribe(
                    Arc::clone(bus),
                    request,
                    Arc::clone(loaded),
                    Arc::clone(&groups),
                    Arc::clone(dispatcher),
                ))
            });
            entries.insert(
                key.clone(),
                Entry {
                    hash: loaded.hash.clone(),
                    groups,
                    task,
                },
            );
        }
    }

    /// Offers `event` to every served `schedule.on`.
    pub(crate) fn offer(
        &self,
        catalog: &Catalog,
        dispatcher: &Arc<Dispatcher>,
        event: &Value,
    ) -> Started {
        let targets: Vec<(Arc<Loaded>, Groups)> = {
            let entries = self.entries();
            entries
                .iter()
                .filter_map(|(key, entry)| {
                    let loaded = catalog.get(key)?;
                    (loaded.hash == entry.hash)
                        .then(|| (Arc::clone(loaded), Arc::clone(&entry.groups)))
                })
                .collect()
        };
        let mut started = Started::default();
        for (loaded, groups) in targets {
            let (wanted, run) = offer_one(&loaded, &groups, dispatcher, event);
            started.wanted |= wanted;
            started.runs.extend(run);
        }
        started
    }

    /// Ends the broker subscriptions (the server is stopping).
    pub(crate) fn stop(&self) {
        for (_, entry) in self.entries().drain() {
            if let Some(task) = entry.task {
                task.abort();
            }
        }
    }
}

/// Offers `event` to one workflow's groups: to the first group that wants it, else to a new
/// group. Returns whether it was taken, and the run a completed group started.
fn offer_one(
    loaded: &Arc<Loaded>,
    groups: &Groups,
    dispatcher: &Arc<Dispatcher>,
    event: &Value,
) -> (bool, Option<String>) {
    let Some(spec) = loaded.machine.schedule_on() else {
        return (false, None);
    };
    let mut groups = match groups.lock() {
        Ok(groups) => groups,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut outcome = None;
    for index in 0..groups.len() {
        match offer_trigger(spec, &groups[index], event) {
            Ok(TriggerOffer::Unwanted) | Err(_) => continue,
            Ok(TriggerOffer::Taken) => {
                groups[index].push(event.clone());
                return (true, None);
            }
            Ok(TriggerOffer::Complete(events)) => {
                groups.remove(index);
                outcome = Some(events);
                break;
            }
        }
    }
    let events = match outcome {
        Some(events) => events,
        None => match offer_trigger(spec, &[], event) {
            Ok(TriggerOffer::Taken) => {
                groups.push(vec![event.clone()]);
                return (true, None);
            }
            Ok(TriggerOffer::Complete(events)) => events,
            Ok(TriggerOffer::Unwanted) => return (false, None),
            Err(error) => {
                eprintln!("warning: schedule.on of {}: {}", loaded.key, error);
                return (false, None);
            }
        },
    };
    drop(groups);
    match dispatcher.start(Arc::clone(loaded), events, None) {
        Ok(admitted) => (true, Some(admitted.id)),
        Err(error) => {
            eprintln!("warning: schedule.on of {}: {error}", loaded.key);
            (true, None)
        }
    }
}

/// Feeds one workflow's trigger from the brokers, acknowledging each event once the run it
/// completed is recorded (or once it is known to be unwanted).
async fn subscribe(
    bus: Arc<dyn EventBus>,
    request: SubscribeRequest,
    loaded: Arc<Loaded>,
    groups: Groups,
    dispatcher: Arc<Dispatcher>,
) {
    let mut subscription = loop {
        match bus.subscribe(request.clone()).await {
            Ok(subscription) => break subscription,
            Err(error) => {
                eprintln!(
                    "warning: schedule.on of {}: cannot subscribe ({}); retrying",
                    loaded.key, error
                );
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        }
    };
    while let Some(delivery) = subscription.deliveries.next().await {
        let Ok(delivery) = delivery else { continue };
        let _ = offer_one(&loaded, &groups, &dispatcher, &delivery.event);
        let _ = delivery.ack().await;
    }
}
