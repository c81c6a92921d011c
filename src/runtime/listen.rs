//! `listen`: subscribes through the run's event bus, offers each delivered CloudEvent to the
//! consumption strategy (filters, correlation, `until`), records every consumed event in the
//! journal before acknowledging it to the broker, and runs `foreach` for each one in arrival
//! order. A resumed run takes the events its journal holds first, then waits for new ones.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;
use sha2::Digest;

use super::engine::Run;
use super::error::WorkflowError;
use super::event::EventKind;
use super::step::{Mark, StepScope};
use super::task::{Flow, Step};
use super::values::{self, eval_bool, eval_tmpl};
use crate::compile::{
    CONTEXT, FilterSpec, ForeachSpec, INPUT, ListenSpec, OUTPUT, Pattern, StrategySpec, TaskNode,
    UntilSpec, ValueMatch, WORKFLOW,
};
use crate::document::ListenRead;
use crate::expr::{Val, from_json, to_json};
use crate::host::effects::events::{SubscribeRequest, communication};

impl<'m> Run<'m> {
    pub(crate) async fn run_listen(
        &self,
        node: &TaskNode,
        spec: &ListenSpec,
        input: Val,
        frame: &[Val],
        vars: &[Val],
        step: Option<&Arc<str>>,
    ) -> Result<Step, WorkflowError> {
        let mut listening = Listening::start(spec, &input, vars)?;
        let name = subscription_name(&self.run_id(), step.unwrap_or(&node.pointer));
        let request = SubscribeRequest {
            name,
            types: spec.strategy.exact_types(),
        };
        let mut subscription = self.executors.events.subscribe(request).await?;
        let mut results = Vec::new();
        let mut seen = HashSet::new();
        // Consumed before the run stopped: taken again, in order, without waiting or recording.
        let recorded: Vec<Val> = match (&self.replay, step) {
            (Some(replay), Some(step)) => replay.consumed(step).to_vec(),
            _ => Vec::new(),
        };
        for event in recorded {
            let json = to_json(&event);
            seen.insert(identity(&json));
            if let Some(ended) = self
                .offer(node, spec, &mut listening, &json, frame, &mut results, step)
                .await?
            {
                return Ok(Step::End(ended));
            }
            if listening.done {
                break;
            }
        }
        while !listening.done {
            let delivery = match subscription.deliveries.next().await {
                Some(Ok(delivery)) => delivery,
                Some(Err(error)) => return Err(error),
                None => {
                    return Err(communication(
                        "The event subscription ended",
                        "the broker closed the subscription before the listen completed",
                    ));
                }
            };
            let key = identity(&delivery.event);
            // Redelivered after a restart although the journal has it: consumed already.
            if seen.contains(&key) || !listening.wants(&delivery.event) {
                let _ = delivery.ack().await;
                continue;
            }
            seen.insert(key);
            let event = from_json(&delivery.event);
            self.step_event(&node.pointer, step, || EventKind::EventConsumed {
                event,
                masked: false,
                delivery: None,
            });
            // The journal has it before the broker forgets it: a crash now redelivers it, and
            // the `seen` check above drops the copy.
            self.durable().await;
            // A failed acknowledgement only means a redelivery, which the journal dedupes.
            let json = delivery.event.clone();
            let _ = delivery.ack().await;
            if let Some(ended) = self
                .offer(node, spec, &mut listening, &json, frame, &mut results, step)
                .await?
            {
                return Ok(Step::End(ended));
            }
        }
        if let Some(close) = subscription.close.take() {
            close.await;
        }
        let output = match &spec.foreach {
            Some(_) => results,
            None => listening.consumed,
        };
        Ok(Step::Next(Val::from_iter(output), None))
    }

    /// Consumes `event` (known to be wanted) and runs its `foreach` iteration; `Some` when an
    /// iteration ended the workflow (`then: end`).
    #[allow(clippy::too_many_arguments)]
    async fn offer(
        &self,
        node: &TaskNode,
        spec: &ListenSpec,
        listening: &mut Listening<'_>,
        event: &Value,
        frame: &[Val],
        results: &mut Vec<Val>,
        step: Option<&Arc<str>>,
    ) -> Result<Option<Val>, WorkflowError> {
        let Some(item) = listening.consume(event)? else {
            return Ok(None);
        };
        if let Some(foreach) = &spec.foreach {
            let index = results.len();
            match self
                .iteration(node, foreach, item, index, frame, step)
                .await?
            {
                Flow::Done(output) => results.push(output),
                Flow::End(output) => return Ok(Some(output)),
            }
        }
        Ok(None)
    }

    /// One `foreach` turn: `do` on the item with the item and index bound, then `output.as`
    /// and `export.as`.
    pub(super) async fn iteration(
        &self,
        node: &TaskNode,
        foreach: &ForeachSpec,
        item: Val,
        index: usize,
        frame: &[Val],
        step: Option<&Arc<str>>,
    ) -> Result<Flow, WorkflowError> {
        let mut inner = Vec::with_capacity(frame.len() + 2);
        inner.extend_from_slice(frame);
        inner.extend([item.clone(), Val::from(index)]);
        let output = match foreach.body {
            Some(block) => {
                let scope = StepScope::inside(step, &node.pointer, Mark::Iteration(index));
                match self.run_block(block, item.clone(), &inner, &scope).await? {
                    Flow::Done(output) => output,
                    Flow::End(output) => return Ok(Flow::End(output)),
                }
            }
            None => item.clone(),
        };
        let mut vars = self.vars(&inner);
        vars[INPUT] = item;
        let output = match &foreach.output_as {
            Some(as_) => values::transform(as_, output, &vars)?,
            None => output,
        };
        if let Some(export) = &foreach.export_as {
            vars[OUTPUT] = output.clone();
            vars[CONTEXT] = self.context();
            let context = values::transform(export, output.clone(), &vars)?;
            self.step_event(&node.pointer, step, || EventKind::ContextChanged {
                context: context.clone(),
                masked: false,
            });
            self.set_context(context);
        }
        Ok(Flow::Done(output))
    }

    /// `$workflow.id`.
    pub(super) fn run_id(&self) -> String {
        match &self.vars(&[])[WORKFLOW] {
            Val::Obj(entries) => entries
                .get(&Val::from("id".to_owned()))
                .and_then(values::as_text)
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// The durable name of a listen's subscription: the run and the step, in characters every
/// broker accepts in a consumer, queue or client id.
pub(super) fn subscription_name(run_id: &str, step: &str) -> String {
    let digest = sha2::Sha256::digest(step.as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let run: String = run_id.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("wf-{run}-{hash}")
}

/// What makes a CloudEvent unique: `source` and `id`.
fn identity(event: &Value) -> (String, String) {
    let text = |name: &str| {
        event
            .get(name)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    (text("source"), text("id"))
}

impl StrategySpec {
    /// The literal types the listen can match; empty when any type may (a filter without a
    /// literal `type`, `any: []`).
    pub(crate) fn exact_types(&self) -> Vec<String> {
        let mut types = Vec::new();
        if self.collect_types(&mut types) {
            types.sort();
            types.dedup();
            types
        } else {
            Vec::new()
        }
    }

    /// Adds the literal types; false when some filter accepts any type.
    fn collect_types(&self, types: &mut Vec<String>) -> bool {
        let filter_type = |filter: &FilterSpec, types: &mut Vec<String>| {
            let literal = filter.with.iter().find_map(|(name, value)| match value {
                ValueMatch::Pattern(pattern) if name == "type" && pattern.regex.is_none() => {
                    Some(pattern.text.to_string())
                }
                _ => None,
            });
            literal.map(|t| types.push(t)).is_some()
        };
        match self {
            StrategySpec::All(filters) => filters.iter().all(|f| filter_type(f, types)),
            StrategySpec::One(filter) => filter_type(filter, types),
            StrategySpec::Any { filters, until } => {
                let own = !filters.is_empty() && filters.iter().all(|f| filter_type(f, types));
                let until = match until.as_deref() {
                    Some(UntilSpec::Events(strategy)) => strategy.collect_types(types),
                    _ => true,
                };
                own && until
            }
        }
    }
}

/// A listen in progress: what each strategy still waits for, the correlation values fixed so
/// far, and the events consumed into the output.
struct Listening<'s> {
    progress: Progress<'s>,
    read: ListenRead,
    /// Correlation key → the value every event must have.
    correlation: HashMap<String, Value>,
    vars: Vec<Val>,
    /// The consumed events as `read` presents them (the output without `foreach`).
    consumed: Vec<Val>,
    done: bool,
}

enum Progress<'s> {
    All {
        filters: &'s [FilterSpec],
        satisfied: Vec<bool>,
    },
    Any {
        filters: &'s [FilterSpec],
        until: Until<'s>,
    },
    One {
        filter: &'s FilterSpec,
        satisfied: bool,
    },
}

enum Until<'s> {
    FirstMatch,
    Expr(&'s crate::compile::Compiled),
    Events(Box<Progress<'s>>),
}

/// Which part of a strategy an event went to.
enum Taken {
    Output,
    /// Consumed by an `until` strategy: not part of the output.
    Until,
}

impl<'s> Progress<'s> {
    fn new(strategy: &'s StrategySpec) -> Progress<'s> {
        match strategy {
            StrategySpec::All(filters) => Progress::All {
                filters,
                satisfied: vec![false; filters.len()],
            },
            StrategySpec::Any { filters, until } => Progress::Any {
                filters,
                until: match until.as_deref() {
                    None => Until::FirstMatch,
                    Some(UntilSpec::Expr(expr)) => Until::Expr(expr),
                    Some(UntilSpec::Events(strategy)) => {
                        Until::Events(Box::new(Progress::new(strategy)))
                    }
                },
            },
            StrategySpec::One(filter) => Progress::One {
                filter,
                satisfied: false,
            },
        }
    }

    /// The filter this event would go to, and where: `None` when no part of the strategy
    /// still wants it.
    fn find(&self, matches: &dyn Fn(&FilterSpec) -> bool) -> Option<(Taken, Path)> {
        match self {
            Progress::All { filters, satisfied } => filters
                .iter()
                .zip(satisfied)
                .position(|(filter, done)| !done && matches(filter))
                .map(|i| (Taken::Output, Path::Own(i))),
            Progress::One { filter, satisfied } => {
                (!satisfied && matches(filter)).then_some((Taken::Output, Path::Own(0)))
            }
            Progress::Any { filters, until } => {
                // The event that stops the listen wins over one it would collect.
                if let Until::Events(nested) = until
                    && let Some((_, path)) = nested.find(matches)
                {
                    return Some((Taken::Until, Path::Until(Box::new(path))));
                }
                if filters.is_empty() {
                    return Some((Taken::Output, Path::Own(0)));
                }
                filters
                    .iter()
                    .position(matches)
                    .map(|i| (Taken::Output, Path::Own(i)))
            }
        }
    }

    /// Marks the filter at `path` as consumed; the filter itself for correlation.
    fn take(&mut self, path: &Path) -> Option<&'s FilterSpec> {
        match (self, path) {
            (Progress::All { filters, satisfied }, Path::Own(i)) => {
                if let Some(done) = satisfied.get_mut(*i) {
                    *done = true;
                }
                filters.get(*i)
            }
            (Progress::One { filter, satisfied }, Path::Own(_)) => {
                *satisfied = true;
                Some(*filter)
            }
            (Progress::Any { filters, .. }, Path::Own(i)) => filters.get(*i),
            (
                Progress::Any {
                    until: Until::Events(nested),
                    ..
                },
                Path::Until(path),
            ) => nested.take(path),
            _ => None,
        }
    }

    /// Whether the strategy is complete without looking at the output (`all`, `one`, `any`
    /// stopped by its nested strategy). `any` with an `until` expression is checked apart.
    fn complete(&self) -> bool {
        match self {
            Progress::All { satisfied, .. } => satisfied.iter().all(|done| *done),
            Progress::One { satisfied, .. } => *satisfied,
            Progress::Any {
                until: Until::Events(nested),
                ..
            } => nested.complete(),
            Progress::Any { .. } => false,
        }
    }
}

/// Where in a strategy a filter sits.
enum Path {
    Own(usize),
    Until(Box<Path>),
}

impl<'s> Listening<'s> {
    /// Evaluates the correlation expectations given by `expect` against the task's input.
    fn start(spec: &'s ListenSpec, input: &Val, vars: &[Val]) -> Result<Self, WorkflowError> {
        let mut correlation = HashMap::new();
        let mut filters = Vec::new();
        spec.strategy.filters(&mut filters);
        for filter in filters {
            for key in &filter.correlate {
                if let Some(expect) = &key.expect
                    && !correlation.contains_key(&key.key)
                {
                    let value = eval_tmpl(expect, input.clone(), vars)?;
                    correlation.insert(key.key.clone(), to_json(&value));
                }
            }
        }
        Ok(Listening {
            progress: Progress::new(&spec.strategy),
            read: spec.read,
            correlation,
            vars: vars.to_vec(),
            consumed: Vec::new(),
            done: false,
        })
    }

    /// Whether some part of the strategy still wants `event`.
    fn wants(&self, event: &Value) -> bool {
        self.progress
            .find(&|filter| self.correlated(filter, event).is_some())
            .is_some()
    }

    /// The correlation values `event` would fix through `filter`, when it passes the filter.
    fn correlated(&self, filter: &FilterSpec, event: &Value) -> Option<Vec<(String, Value)>> {
        let attributes_match = filter.with.iter().all(|(name, matcher)| {
            let value = attribute(event, name);
            value_matches(matcher, value, &self.vars)
        });
        if !attributes_match {
            return None;
        }
        let envelope = from_json(event);
        let mut fixed = Vec::new();
        for key in &filter.correlate {
            let value = key.from.expr.eval(envelope.clone(), &self.vars).ok()?;
            let value = to_json(&value);
            match self.correlation.get(&key.key) {
                Some(expected) if *expected != value => return None,
                Some(_) => {}
                None => fixed.push((key.key.clone(), value)),
            }
        }
        Some(fixed)
    }

    /// Consumes `event`: fixes its correlation values, records it in the output when it goes
    /// there, and updates `done`. Returns the item a `foreach` iterates with.
    fn consume(&mut self, event: &Value) -> Result<Option<Val>, WorkflowError> {
        let Some((taken, path)) = self
            .progress
            .find(&|filter| self.correlated(filter, event).is_some())
        else {
            return Ok(None);
        };
        if let Some(filter) = self.progress.take(&path)
            && let Some(fixed) = self.correlated(filter, event)
        {
            self.correlation.extend(fixed);
        }
        let item = match taken {
            Taken::Output => {
                let item = present(event, self.read);
                self.consumed.push(item.clone());
                Some(item)
            }
            Taken::Until => None,
        };
        self.done = self.progress.complete();
        if let Progress::Any { until, .. } = &self.progress {
            match until {
                Until::FirstMatch => self.done = item.is_some(),
                Until::Expr(expr) => {
                    if item.is_some() {
                        let consumed = Val::from_iter(self.consumed.iter().cloned());
                        self.done = eval_bool(expr, consumed, &self.vars)?;
                    }
                }
                Until::Events(_) => {}
            }
        }
        Ok(item)
    }
}

/// What one more event does to a group of events a `schedule.on` strategy already consumed
/// (outside any run: the server feeds it the events it receives).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TriggerOffer {
    /// No part of the strategy wants it (with the group's correlation values).
    Unwanted,
    /// Consumed; the strategy waits for more.
    Taken,
    /// Consumed, and the strategy is satisfied: the consumed events, as `read` presents them.
    Complete(Value),
}

/// Offers `event` to the strategy of `spec` after the events of `group`. Expressions see null
/// runtime arguments: there is no run yet.
pub(crate) fn offer_trigger(
    spec: &ListenSpec,
    group: &[Value],
    event: &Value,
) -> Result<TriggerOffer, WorkflowError> {
    let vars = vec![Val::Null; crate::compile::BASE_VARS.len()];
    let mut listening = Listening::start(spec, &Val::Null, &vars)?;
    for consumed in group {
        listening.consume(consumed)?;
    }
    if listening.done || !listening.wants(event) {
        return Ok(TriggerOffer::Unwanted);
    }
    listening.consume(event)?;
    Ok(if listening.done {
        TriggerOffer::Complete(to_json(&Val::from_iter(listening.consumed)))
    } else {
        TriggerOffer::Taken
    })
}

impl StrategySpec {
    /// Every filter of the strategy, `until` included.
    fn filters<'s>(&'s self, out: &mut Vec<&'s FilterSpec>) {
        match self {
            StrategySpec::All(filters) => out.extend(filters),
            StrategySpec::One(filter) => out.push(filter),
            StrategySpec::Any { filters, until } => {
                out.extend(filters);
                if let Some(UntilSpec::Events(strategy)) = until.as_deref() {
                    strategy.filters(out);
                }
            }
        }
    }
}

/// An attribute of the event (`data` included); absent ones are `None`.
fn attribute<'e>(event: &'e Value, name: &str) -> Option<&'e Value> {
    event.get(name).filter(|value| !value.is_null())
}

fn value_matches(matcher: &ValueMatch, value: Option<&Value>, vars: &[Val]) -> bool {
    match matcher {
        ValueMatch::Pattern(pattern) => value.is_some_and(|value| pattern_matches(pattern, value)),
        ValueMatch::Predicate(tmpl) => {
            let input = value.map(from_json).unwrap_or(Val::Null);
            // An event that makes the expression fail (another shape of data) is not a match.
            match eval_tmpl(tmpl, input, vars) {
                Ok(Val::Bool(result)) => result,
                Ok(other) => value.is_some_and(|value| to_json(&other) == *value),
                Err(_) => false,
            }
        }
        ValueMatch::Shape(tmpl) => {
            let input = value.map(from_json).unwrap_or(Val::Null);
            match (eval_tmpl(tmpl, input, vars), value) {
                (Ok(expected), Some(value)) => contains(value, &to_json(&expected)),
                _ => false,
            }
        }
    }
}

fn pattern_matches(pattern: &Pattern, value: &Value) -> bool {
    match value {
        Value::String(text) => pattern.matches(text),
        other => pattern.matches(&other.to_string()),
    }
}

/// `actual` has everything `expected` says: objects by subset, strings as patterns.
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|a| contains(a, value))),
        (actual, Value::String(text)) => pattern_matches(&Pattern::new(text), actual),
        (actual, expected) => actual == expected,
    }
}

/// The event as `read` presents it: its data, the whole envelope, or the data as received
/// (the base64 text of binary data, the JSON text of structured data).
fn present(event: &Value, read: ListenRead) -> Val {
    match read {
        ListenRead::Envelope => from_json(event),
        ListenRead::Data => event
            .get("data")
            .map(from_json)
            .or_else(|| event.get("data_base64").map(from_json))
            .unwrap_or(Val::Null),
        ListenRead::Raw => match (event.get("data_base64"), event.get("data")) {
            (Some(Value::String(base64)), _) => from_json(&Value::String(base64.clone())),
            (_, Some(Value::String(text))) => from_json(&Value::String(text.clone())),
            (_, Some(other)) => from_json(&Value::String(other.to_string())),
            (_, None) => Val::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscription_names_are_stable_and_broker_safe() {
        let a = subscription_name("0190-abcd", "/do/0/wait");
        assert_eq!(a, subscription_name("0190-abcd", "/do/0/wait"));
        assert_ne!(a, subscription_name("0190-abcd", "/do/0/wait#2"));
        assert!(a.starts_with("wf-0190abcd-"));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn shapes_match_by_subset_with_string_patterns() {
        let event = json!({"order": {"id": "A-1", "total": 3}, "tags": [1]});
        assert!(contains(&event, &json!({"order": {"id": "A-\\d+"}})));
        assert!(contains(&event, &json!({"order": {"total": 3}})));
        assert!(!contains(&event, &json!({"order": {"total": 4}})));
        assert!(!contains(&event, &json!({"missing": 1})));
        assert!(contains(&event, &json!({"tags": [1]})));
    }

    use crate::compile::Body;
    use crate::runtime::test_support::{doc, machine};

    /// The listen spec of the document's first task.
    fn spec_of(to: &str) -> std::sync::Arc<crate::compile::Machine> {
        machine(&doc(&format!(
            "do:\n  - wait:\n      listen:\n        to:\n{to}"
        )))
    }

    fn listen(machine: &crate::compile::Machine) -> &ListenSpec {
        match &machine.task(0).body {
            Body::Listen(spec) => spec,
            other => panic!("not a listen: {other:?}"),
        }
    }

    fn ev(type_: &str, data: Value) -> Value {
        json!({"specversion": "1.0", "id": type_, "source": "s", "type": type_, "data": data})
    }

    /// Offers `events` in order; the data of those consumed into the output, and `done`.
    fn feed(spec: &ListenSpec, events: &[Value]) -> (Vec<Value>, bool) {
        let mut listening =
            Listening::start(spec, &Val::Null, &[]).unwrap_or_else(|e| panic!("{e:?}"));
        let mut taken = Vec::new();
        for event in events {
            if listening.done {
                break;
            }
            if listening.wants(event)
                && let Ok(Some(item)) = listening.consume(event)
            {
                taken.push(to_json(&item));
            }
        }
        (taken, listening.done)
    }

    #[test]
    fn all_takes_one_event_per_filter_and_correlates_on_the_first_value() {
        let machine = spec_of(concat!(
            "          all:\n",
            "            - with: {type: paid}\n",
            "              correlate: {order: {from: .data.id}}\n",
            "            - with: {type: shipped}\n",
            "              correlate: {order: {from: .data.id}}\n",
        ));
        let spec = listen(&machine);
        let events = [
            ev("shipped", json!({"id": 2})),
            ev("paid", json!({"id": 1})),
            ev("paid", json!({"id": 2})),
            ev("shipped", json!({"id": 3})),
        ];
        // The first shipped fixes order 2; paid 1 is another order's.
        assert_eq!(
            feed(spec, &events),
            (vec![json!({"id": 2}), json!({"id": 2})], true)
        );
        assert_eq!(feed(spec, &events[..2]), (vec![json!({"id": 2})], false));
    }

    #[test]
    fn any_until_a_strategy_keeps_the_stopping_events_out_of_the_output() {
        let machine = spec_of(concat!(
            "          any:\n",
            "            - with: {type: reading, data: '${ .v > 1 }'}\n",
            "          until:\n",
            "            one:\n",
            "              with: {type: stop}\n",
        ));
        let spec = listen(&machine);
        let events = [
            ev("reading", json!({"v": 1})),
            ev("reading", json!({"v": 2})),
            ev("reading", json!({"v": 3})),
            ev("stop", json!(null)),
            ev("reading", json!({"v": 4})),
        ];
        assert_eq!(
            feed(spec, &events),
            (vec![json!({"v": 2}), json!({"v": 3})], true)
        );
    }

    #[test]
    fn any_without_filters_takes_the_first_event_and_types_stay_open() {
        let machine = spec_of("          any: []\n");
        let spec = listen(&machine);
        assert!(spec.strategy.exact_types().is_empty());
        assert_eq!(feed(spec, &[ev("x", json!(1))]), (vec![json!(1)], true));
        let typed = spec_of("          one:\n            with: {type: 'a.b'}\n");
        assert_eq!(listen(&typed).strategy.exact_types(), ["a.b"]);
        let pattern = spec_of("          one:\n            with: {type: 'a\\..*'}\n");
        assert!(listen(&pattern).strategy.exact_types().is_empty());
    }

    #[test]
    fn read_modes_present_data_envelope_or_raw() {
        let event = json!({"id": "1", "data": {"x": 1}});
        assert_eq!(to_json(&present(&event, ListenRead::Data)), json!({"x": 1}));
        assert_eq!(to_json(&present(&event, ListenRead::Envelope)), event);
        assert_eq!(
            to_json(&present(&event, ListenRead::Raw)),
            json!("{\"x\":1}")
        );
        let binary = json!({"id": "2", "data_base64": "AAE="});
        assert_eq!(to_json(&present(&binary, ListenRead::Raw)), json!("AAE="));
    }
}
