//! `http::template-variable`: a `{name}` in a `call: http` endpoint that the task input cannot
//! provide. A URI template expands only the top-level keys of the task's transformed input
//! (RFC 6570: an undefined variable expands to nothing), so `{uid}` inside a `for` whose loop
//! variable is `$uid` silently calls `/users/` every time. Warnings, never errors: the check
//! only reports what it can tell statically, by these rules.
//!
//! 1. **Loop variables.** `{v}` inside the body of a `for` whose `each` or `at` is `v` is
//!    reported unless the task's input is known to hold a key `v` (rule 2): the author almost
//!    certainly meant the loop variable, which a template never sees.
//! 2. **Known input keys.** The keys a task's input holds are known only when every way into
//!    the task comes from data the document spells out: an `input.from` written as an object,
//!    the output of a `set` (or an `output.as`) written as an object, tasks that pass their
//!    input on (`wait`, `switch`), the declared `properties` of the workflow's input schema.
//!    Everything else (a call's response, a process's output, any expression, the input of a
//!    workflow without an input schema) is unknown, and an unknown input is never reported.
//!    With the keys known, `{v}` is reported when `v` is not one of them.
//!
//! Ways into a task are the previous task of its list (unless that one jumped elsewhere) and
//! every `then` naming it, followed to a fixed point; a `for` body's first task also receives
//! the previous iteration's output. Custom functions are not checked: their input is the
//! caller's `with`, different at every call site.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::Value;

use super::{Context, locate, quoted_list};
use crate::diagnostic::Diagnostic;
use crate::document::{
    CallTask, Document, EndpointUri, FlowDirective, Task, TaskKind, TaskList, Transform,
};

const CODE: &str = "http::template-variable";

/// What is statically known of the keys a value holds: nothing, or exactly this set (a value
/// that is not an object holds no keys).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Keys {
    Unknown,
    Known(BTreeSet<String>),
}

impl Keys {
    fn none() -> Keys {
        Keys::Known(BTreeSet::new())
    }

    /// The keys of a value written in the document: an object's, none for anything else.
    fn of_value(value: &Value) -> Keys {
        match value {
            Value::Object(map) => Keys::Known(map.keys().cloned().collect()),
            Value::String(text) if crate::document::is_runtime_expression(text) => Keys::Unknown,
            _ => Keys::none(),
        }
    }

    /// Either of two values: a key of either may be there. Returns whether `self` changed.
    fn absorb(&mut self, other: &Keys) -> bool {
        match (&mut *self, other) {
            (Keys::Unknown, _) => false,
            (_, Keys::Unknown) => {
                *self = Keys::Unknown;
                true
            }
            (Keys::Known(mine), Keys::Known(theirs)) => {
                let before = mine.len();
                mine.extend(theirs.iter().cloned());
                mine.len() != before
            }
        }
    }

    fn lacks(&self, name: &str) -> bool {
        matches!(self, Keys::Known(keys) if !keys.contains(name))
    }
}

pub(crate) fn check(cx: &mut Context) {
    let document = cx.document;
    let entry = workflow_input(document);
    let mut found = Vec::new();
    check_list(&document.do_, entry, &[], &mut found);
    for extension in &document.use_.extensions {
        for list in extension.before.iter().chain(extension.after.iter()) {
            check_list(list, Keys::Unknown, &[], &mut found);
        }
    }
    for finding in found {
        let diagnostic = finding.diagnostic(cx);
        cx.push(diagnostic);
    }
}

/// The keys of the workflow's input: from an `input.from` object, else the declared
/// `properties` of its inline input schema, else unknown.
fn workflow_input(document: &Document) -> Keys {
    let Some(input) = &document.input else {
        return Keys::Unknown;
    };
    if let Some(from) = &input.from {
        return transform_keys(from);
    }
    let Some(schema) = &input.schema else {
        return Keys::Unknown;
    };
    let crate::document::SchemaSource::Inline(schema) = &schema.source else {
        return Keys::Unknown;
    };
    declared_properties(schema)
}

/// The `properties` of an object schema, when nothing else in it could admit other keys by
/// name (combinators, references, pattern properties, conditionals).
fn declared_properties(schema: &Value) -> Keys {
    let Some(object) = schema.as_object() else {
        return Keys::Unknown;
    };
    let opaque = [
        "allOf",
        "anyOf",
        "oneOf",
        "$ref",
        "$dynamicRef",
        "patternProperties",
        "if",
        "dependentSchemas",
        "unevaluatedProperties",
    ];
    if opaque.iter().any(|key| object.contains_key(*key)) {
        return Keys::Unknown;
    }
    match object.get("properties").and_then(Value::as_object) {
        Some(properties) => Keys::Known(properties.keys().cloned().collect()),
        None => Keys::Unknown,
    }
}

fn transform_keys(transform: &Transform) -> Keys {
    match transform {
        Transform::Expression(_) => Keys::Unknown,
        Transform::Template(template) => Keys::of_value(&template.value),
    }
}

/// The task's input after its `input.from`.
fn transformed_input(task: &Task, raw: &Keys) -> Keys {
    match task
        .common
        .input
        .as_ref()
        .and_then(|input| input.from.as_ref())
    {
        Some(from) => transform_keys(from),
        None => raw.clone(),
    }
}

/// The task's output as the next task sees it, from its transformed input (unknown for a
/// composite task).
fn output(task: &Task, input: &Keys, raw_input: &Keys) -> Keys {
    if let Some(as_) = task.common.output.as_ref().and_then(|o| o.as_.as_ref()) {
        return transform_keys(as_);
    }
    let produced = match &task.kind {
        TaskKind::Set(set) => Keys::of_value(&set.value.value),
        TaskKind::Wait(_) | TaskKind::Switch(_) => input.clone(),
        // Not followed into nested lists: a fixed point per nesting level would multiply.
        _ => Keys::Unknown,
    };
    if task.common.if_.is_some() {
        // Skipped, the task passes its raw input on.
        let mut either = produced;
        either.absorb(raw_input);
        either
    } else {
        produced
    }
}

/// The raw input of every task of `list` entered with `entry`, and what leaves the list (the
/// output of a task that continues past its end or exits it). A task no way reaches is
/// `Unknown`: nothing is said about it.
///
/// A worklist: a task is looked at again only when its input grew. Inputs only grow (key sets
/// widen, `Unknown` absorbs everything), so each task is revisited at most once per key it can
/// gain: linear in practice, even for long lists full of `then` jumps.
fn shapes(list: &TaskList, entry: Keys) -> (Vec<Keys>, Keys) {
    let tasks = &list.tasks;
    if tasks.is_empty() {
        return (Vec::new(), entry);
    }
    let by_name: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, task)| (task.name.as_str(), i))
        .collect();
    let mut inputs: Vec<Option<Keys>> = vec![None; tasks.len()];
    let mut exit: Option<Keys> = None;
    inputs[0] = Some(entry);
    let mut pending: VecDeque<usize> = VecDeque::from([0]);
    let mut queued = vec![false; tasks.len()];
    queued[0] = true;
    while let Some(i) = pending.pop_front() {
        queued[i] = false;
        let (Some(task), Some(Some(raw))) = (tasks.get(i), inputs.get(i).cloned()) else {
            continue;
        };
        let input = transformed_input(task, &raw);
        let out = output(task, &input, &raw);
        for target in successors(task, i, &by_name, tasks.len()) {
            let slot = match target.and_then(|next| inputs.get_mut(next)) {
                Some(slot) => slot,
                None => &mut exit,
            };
            let grew = match slot {
                Some(keys) => keys.absorb(&out),
                None => {
                    *slot = Some(out.clone());
                    true
                }
            };
            if let Some(next) = target.filter(|&next| grew && next < tasks.len())
                && !queued[next]
            {
                queued[next] = true;
                pending.push_back(next);
            }
        }
    }
    let inputs = inputs
        .into_iter()
        .map(|keys| keys.unwrap_or(Keys::Unknown))
        .collect();
    (inputs, exit.unwrap_or(Keys::Unknown))
}

/// Where the flow may go after task `i`: `Some(index)` in the list (an index past the end, or
/// a target that does not exist, leaves it), `None` out of it (`exit`). `end` and `raise` go
/// nowhere here.
fn successors(
    task: &Task,
    i: usize,
    by_name: &HashMap<&str, usize>,
    len: usize,
) -> Vec<Option<usize>> {
    let past_end = len;
    let follow = |directive: &FlowDirective| match directive {
        FlowDirective::Continue => Some(Some(i + 1)),
        FlowDirective::Exit => Some(None),
        FlowDirective::End => None,
        FlowDirective::Goto(target) => Some(Some(
            by_name
                .get(target.name.as_str())
                .copied()
                .unwrap_or(past_end),
        )),
    };
    match &task.kind {
        TaskKind::Raise(_) => Vec::new(),
        TaskKind::Switch(switch) => {
            let mut out: Vec<Option<usize>> = switch
                .cases
                .iter()
                .filter_map(|case| follow(&case.then))
                .collect();
            // No case matching: the flow goes on after the switch.
            out.push(Some(i + 1));
            out
        }
        _ => follow(&task.common.then).into_iter().collect(),
    }
}

/// A `for` body's entry: the loop's input on the first turn, the body's last output after.
fn loop_entry(body: &TaskList, input: &Keys) -> Keys {
    let mut entry = input.clone();
    for _ in 0..3 {
        let (_, exit) = shapes(body, entry.clone());
        if !entry.absorb(&exit) {
            return entry;
        }
    }
    Keys::Unknown
}

/// One template variable the input cannot provide.
struct Finding {
    pointer: String,
    text: String,
    range: std::ops::Range<usize>,
    name: String,
    loop_variable: bool,
    known: Keys,
}

impl Finding {
    fn diagnostic(&self, cx: &Context) -> Diagnostic {
        let name = &self.name;
        let mut diagnostic = if self.loop_variable {
            Diagnostic::warning(
                CODE,
                format!(
                    "`{{{name}}}` expands the task input's key `{name}`, not the loop variable \
                     `${name}`: a URI template sees only the task input, so it expands to nothing \
                     here"
                ),
            )
            .with_label("not the loop variable")
            .with_help(format!(
                "pass it in the input (`input: {{from: {{{name}: '${{ ${name} }}'}}}}`) or build \
                 the URI with an expression: `${{ \"https://...\\(${name})\" }}`"
            ))
        } else {
            let keys = match &self.known {
                Keys::Known(keys) if !keys.is_empty() => {
                    format!(
                        "it only holds {}",
                        quoted_list(keys.iter().map(String::as_str))
                    )
                }
                _ => "it holds no keys".to_owned(),
            };
            Diagnostic::warning(
                CODE,
                format!(
                    "`{{{name}}}` names no key of this task's input ({keys}): it expands to \
                     nothing"
                ),
            )
            .with_label("the input has no such key")
            .with_help(format!(
                "add `{name}` to the task's `input.from`, or build the URI with an expression"
            ))
        };
        diagnostic = diagnostic.at_pointer(self.pointer.clone());
        let whole = 0..self.text.len();
        if let Some(span) = locate::span_in_string(
            cx.source,
            cx.spans,
            &self.pointer,
            &self.text,
            whole,
            self.range.clone(),
        ) {
            diagnostic = diagnostic.with_span(span);
        }
        diagnostic
    }
}

/// Checks the tasks of `list` entered with `entry`, inside the loops whose variables are
/// `loops`, and the lists nested in them.
fn check_list(list: &TaskList, entry: Keys, loops: &[&str], found: &mut Vec<Finding>) {
    let (inputs, _) = shapes(list, entry);
    for (task, raw) in list.tasks.iter().zip(inputs) {
        check_task(task, &transformed_input(task, &raw), loops, found);
    }
}

/// Checks one task whose transformed input is `input`, then the lists nested in it.
fn check_task(task: &Task, input: &Keys, loops: &[&str], found: &mut Vec<Finding>) {
    if let TaskKind::Call(CallTask::Http(call)) = &task.kind
        && let EndpointUri::Template(template) = &call.endpoint.uri
    {
        for (name, range) in variables(&template.text) {
            let loop_variable = loops.contains(&name.as_str());
            let reported = if loop_variable {
                !matches!(input, Keys::Known(keys) if keys.contains(&name))
            } else {
                input.lacks(&name)
            };
            if reported {
                found.push(Finding {
                    pointer: template.pointer.clone(),
                    text: template.text.clone(),
                    range,
                    name,
                    loop_variable,
                    known: input.clone(),
                });
            }
        }
    }
    match &task.kind {
        TaskKind::For(for_) => {
            let mut inner: Vec<&str> = loops.to_vec();
            inner.extend([for_.each.as_str(), for_.at.as_str()]);
            check_list(&for_.do_, loop_entry(&for_.do_, input), &inner, found);
        }
        TaskKind::Do(do_) => check_list(&do_.do_, input.clone(), loops, found),
        TaskKind::Fork(fork) => {
            // Each branch starts from the fork's input.
            for branch in &fork.branches.tasks {
                check_task(branch, &transformed_input(branch, input), loops, found);
            }
        }
        TaskKind::Try(try_) => {
            check_list(&try_.try_, input.clone(), loops, found);
            if let Some(catch) = &try_.catch.do_ {
                check_list(catch, Keys::Unknown, loops, found);
            }
        }
        _ => {
            for nested in task.child_lists() {
                check_list(nested, Keys::Unknown, loops, found);
            }
        }
    }
}

/// The simple `{name}` variables of a URI template and their byte ranges (braces included).
/// Forms the compiler refuses (operators, lists, modifiers) are left to it.
fn variables(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text.get(from..).and_then(|rest| rest.find('{')) {
        let open = from + open;
        let Some(close) = text.get(open..).and_then(|rest| rest.find('}')) else {
            break;
        };
        let close = open + close;
        let name = text.get(open + 1..close).unwrap_or_default();
        let simple = !name.is_empty()
            && !name.starts_with(|c| "+#./;?&=,!@|".contains(c))
            && !name.contains(['{', ',', '*', ':']);
        if simple {
            out.push((name.to_owned(), open..close + 1));
        }
        from = close + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::analyze::test_support::{analyze_yaml, doc, pointed_text};

    fn call(name: &str, uri: &str) -> String {
        format!(
            "  - {name}:\n      call: http\n      with:\n        method: get\n        endpoint: {uri}\n"
        )
    }

    fn warnings(text: &str) -> Vec<(String, String)> {
        let (_, found) = analyze_yaml(text);
        found
            .iter()
            .filter(|d| d.code == super::CODE)
            .map(|d| (pointed_text(text, d), d.message.clone()))
            .collect()
    }

    #[test]
    fn a_loop_variable_in_a_template_is_reported() {
        let text = doc(
            "do:\n  - each:\n      for: {each: uid, in: '${ .ids }'}\n      do:\n        - get:\n            call: http\n            with:\n              method: get\n              endpoint: https://example.com/users/{uid}\n",
        );
        let found = warnings(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "{uid}");
        assert!(
            found[0].1.contains("loop variable `$uid`"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn the_loop_variable_passed_in_the_input_is_fine() {
        let text = doc(
            "do:\n  - each:\n      for: {each: uid, in: '${ .ids }'}\n      do:\n        - get:\n            input:\n              from: {uid: '${ $uid }'}\n            call: http\n            with:\n              method: get\n              endpoint: https://example.com/users/{uid}\n",
        );
        assert_eq!(warnings(&text), []);
    }

    #[test]
    fn keys_set_before_are_known_and_others_reported() {
        let text = doc(&format!(
            "do:\n  - pick:\n      set: {{petId: 1}}\n{}{}",
            call("get", "https://example.com/pets/{petId}"),
            call("owner", "https://example.com/owners/{ownerId}"),
        ));
        // `owner`'s input is `get`'s response: unknown, so nothing is said about it.
        assert_eq!(warnings(&text), []);
        let text = doc(&format!(
            "do:\n  - pick:\n      set: {{petId: 1}}\n{}",
            call("get", "https://example.com/pets/{pet_id}"),
        ));
        let found = warnings(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("only holds `petId`"), "{}", found[0].1);
    }

    #[test]
    fn an_unknown_workflow_input_is_never_reported() {
        let text = doc(&format!(
            "do:\n{}",
            call("get", "https://example.com/{anything}")
        ));
        assert_eq!(warnings(&text), []);
    }

    #[test]
    fn a_declared_input_schema_is_known() {
        let schema = "input:\n  schema:\n    document:\n      type: object\n      properties:\n        id: {type: string}\n";
        let good = doc(&format!(
            "{schema}do:\n{}",
            call("get", "https://example.com/{id}")
        ));
        assert_eq!(warnings(&good), []);
        let bad = doc(&format!(
            "{schema}do:\n{}",
            call("get", "https://example.com/{uid}")
        ));
        assert_eq!(warnings(&bad).len(), 1);
    }

    #[test]
    fn a_jump_back_merges_what_each_way_brings() {
        // `get` is reached from `start` ({a}) and from `again` ({b}): either key may be there.
        let text = doc(&format!(
            "do:\n  - start:\n      set: {{a: 1}}\n{}  - again:\n      set: {{b: 2}}\n      then: get\n",
            call("get", "https://example.com/{a}/{b}"),
        ));
        assert_eq!(warnings(&text), []);
    }

    #[test]
    fn variables_are_found_with_their_braces() {
        assert_eq!(
            super::variables("http://h/{a}/x/{b}?{+c}"),
            [("a".to_owned(), 9..12), ("b".to_owned(), 15..18)]
        );
    }
}
