//! What a resumed or retried run takes from the journal instead of executing: every completed
//! step's output, the way the flow went from it and `$context` right after it, plus the retries
//! a `try` had already made. Built from a run's stored events, in their recorded order.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::event::{CONTEXT_CHANGED, EVENT_CONSUMED, Next};
use crate::expr::{Val, from_json};

/// One stored event, as the journal gives it back: the kind's name (`completed`, `retried`,
/// `contextChanged`, ...), the task pointer and step name of task events, and the CloudEvent
/// data object.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub kind: String,
    pub task: Option<String>,
    pub step: Option<String>,
    pub data: Value,
}

/// A completed step, as a replay returns it.
#[derive(Debug, Clone)]
pub(crate) struct Completed {
    pub output: Val,
    pub next: Next,
    /// `$context` right after the step completed.
    pub context: Val,
}

/// The recorded steps of a run, by step name.
#[derive(Debug, Default)]
pub struct Replay {
    completed: HashMap<String, Completed>,
    /// Retries a `try` step had announced (the highest `attempt`).
    retries: HashMap<String, u64>,
    /// The events each `listen` step had consumed, in order.
    consumed: HashMap<String, Vec<Val>>,
    /// The broker identities of the messages each step had consumed (where they have one).
    deliveries: HashMap<String, HashSet<String>>,
}

impl Replay {
    /// Replays every completed step among `events` (a run's events in recorded order; events of
    /// the workflow itself and of unknown kinds are ignored). A step recorded twice (completed,
    /// then replayed by a resume) keeps its last record. A step whose output, or the `$context`
    /// after it, had a secret masked is not replayed: it runs again.
    pub fn from_events<'e>(events: impl IntoIterator<Item = &'e RecordedEvent>) -> Replay {
        let mut replay = Replay::default();
        // The initial `$context` is `{}` (decision 4); `None` once a masked one replaced it.
        let mut context = Some(Val::obj(Default::default()));
        for event in events {
            let Some(step) = &event.step else {
                continue;
            };
            match event.kind.as_str() {
                CONTEXT_CHANGED => {
                    context = match event.data.get("context") {
                        Some(value) if !is_masked(&event.data) => Some(from_json(value)),
                        _ => None,
                    };
                }
                "completed" => match &context {
                    Some(context) if !is_masked(&event.data) => {
                        let output = event.data.get("output").map(from_json);
                        let then = event.data.get("then").and_then(Value::as_str);
                        let completed = Completed {
                            output: output.unwrap_or(Val::Null),
                            next: Next::from_directive(then),
                            context: context.clone(),
                        };
                        replay.completed.insert(step.clone(), completed);
                    }
                    _ => {
                        replay.completed.remove(step);
                    }
                },
                EVENT_CONSUMED => {
                    if let Some(consumed) = event.data.get("event") {
                        let list = replay.consumed.entry(step.clone()).or_default();
                        list.push(from_json(consumed));
                    }
                    if let Some(delivery) = event.data.get("delivery").and_then(Value::as_str) {
                        let known = replay.deliveries.entry(step.clone()).or_default();
                        known.insert(delivery.to_owned());
                    }
                }
                "retried" => {
                    let attempt = event.data.get("attempt").and_then(Value::as_u64);
                    let known = replay.retries.entry(step.clone()).or_default();
                    *known = (*known).max(attempt.unwrap_or(0));
                }
                _ => {}
            }
        }
        replay
    }

    /// How many steps are replayed.
    pub fn len(&self) -> usize {
        self.completed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.completed.is_empty()
    }

    /// Whether the step completed in the recorded run.
    pub fn is_completed(&self, step: &str) -> bool {
        self.completed.contains_key(step)
    }

    pub(crate) fn completed(&self, step: &str) -> Option<&Completed> {
        self.completed.get(step)
    }

    /// The events the `listen` step had consumed before the run stopped, in order: the listen
    /// takes them again before it waits for new ones.
    pub(crate) fn consumed(&self, step: &str) -> &[Val] {
        self.consumed
            .get(step)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The broker identities of the messages the step had consumed before the run stopped.
    pub(crate) fn deliveries(&self, step: &str) -> HashSet<String> {
        self.deliveries.get(step).cloned().unwrap_or_default()
    }

    /// The retries the `try` step had made before the run stopped: the next attempt is the one
    /// after them.
    pub(crate) fn retries(&self, step: &str) -> u64 {
        self.retries.get(step).copied().unwrap_or(0)
    }
}

/// Whether the secrets redactor masked a value of the event.
fn is_masked(data: &Value) -> bool {
    data.get("masked").and_then(Value::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::to_json;
    use serde_json::json;

    pub(crate) fn event(kind: &str, step: Option<&str>, data: Value) -> RecordedEvent {
        RecordedEvent {
            kind: kind.into(),
            task: step.map(|s| s.split(['[', '#', '@']).next().unwrap_or(s).to_owned()),
            step: step.map(str::to_owned),
            data,
        }
    }

    #[test]
    fn completed_steps_keep_output_way_and_context() {
        let events = [
            event("started", None, json!({})),
            event("started", Some("/do/0/a"), json!({})),
            event(
                "contextChanged",
                Some("/do/0/a"),
                json!({"context": {"n": 1}}),
            ),
            event("completed", Some("/do/0/a"), json!({"output": {"x": 1}})),
            event(
                "completed",
                Some("/do/1/pick"),
                json!({"output": 2, "then": "a"}),
            ),
            event("started", Some("/do/0/a#2"), json!({})),
        ];
        let replay = Replay::from_events(&events);
        assert_eq!(replay.len(), 2);
        let a = replay
            .completed("/do/0/a")
            .map(|c| (to_json(&c.output), to_json(&c.context)));
        assert_eq!(a, Some((json!({"x": 1}), json!({"n": 1}))));
        let pick = replay.completed("/do/1/pick").map(|c| c.next.clone());
        assert_eq!(pick, Some(Next::Goto("a".into())));
        assert!(!replay.is_completed("/do/0/a#2"));
        // A workflow event is no step, even when it is `completed`.
        let done = [event("completed", None, json!({"output": 1}))];
        assert!(Replay::from_events(&done).is_empty());
    }

    #[test]
    fn consumed_messages_keep_their_order_and_broker_identities() {
        let events = [
            event(
                EVENT_CONSUMED,
                Some("/do/0/s"),
                json!({"event": 1, "delivery": "st:7"}),
            ),
            event(EVENT_CONSUMED, Some("/do/0/s"), json!({"event": 2})),
            event(
                EVENT_CONSUMED,
                Some("/do/1/t"),
                json!({"event": 3, "delivery": "st:9"}),
            ),
        ];
        let replay = Replay::from_events(&events);
        let consumed: Vec<Value> = replay.consumed("/do/0/s").iter().map(to_json).collect();
        assert_eq!(consumed, [json!(1), json!(2)]);
        assert_eq!(
            replay.deliveries("/do/0/s"),
            HashSet::from(["st:7".to_owned()])
        );
        assert!(replay.deliveries("/do/2/u").is_empty());
    }

    #[test]
    fn masked_outputs_and_contexts_are_not_replayed() {
        let events = [
            event("completed", Some("/do/0/a"), json!({"output": 1})),
            event(
                "completed",
                Some("/do/1/b"),
                json!({"output": "***", "masked": true}),
            ),
            event(
                "contextChanged",
                Some("/do/2/c"),
                json!({"context": {"t": "***"}, "masked": true}),
            ),
            event("completed", Some("/do/2/c"), json!({"output": 3})),
            event(
                "contextChanged",
                Some("/do/3/d"),
                json!({"context": {"t": 4}}),
            ),
            event("completed", Some("/do/3/d"), json!({"output": 4})),
        ];
        let replay = Replay::from_events(&events);
        assert!(replay.is_completed("/do/0/a"));
        assert!(!replay.is_completed("/do/1/b"));
        assert!(!replay.is_completed("/do/2/c"));
        assert!(replay.is_completed("/do/3/d"));
        assert_eq!(replay.len(), 2);
    }

    #[test]
    fn context_starts_empty_and_retries_keep_the_highest_attempt() {
        let events = [
            event("completed", Some("/do/0/a"), json!({"output": null})),
            event("retried", Some("/do/1/t"), json!({"attempt": 1})),
            event("retried", Some("/do/1/t"), json!({"attempt": 2})),
            event("retried", Some("/do/1/t"), json!({"attempt": "bad"})),
        ];
        let replay = Replay::from_events(&events);
        let context = replay.completed("/do/0/a").map(|c| to_json(&c.context));
        assert_eq!(context, Some(json!({})));
        assert_eq!(replay.retries("/do/1/t"), 2);
        assert_eq!(replay.retries("/do/2/other"), 0);
    }
}
