//! Task lists and flow: duplicate task names, `then` targets that are not in the same list,
//! switches with several default cases, and tasks no path can reach (a warning).

use std::collections::{HashMap, HashSet};

use super::{Context, quoted_list};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::document::{FlowDirective, Reference, SwitchTask, Task, TaskKind, TaskList};

/// The directives a `then` may name besides a task; offered as corrections of typos.
const DIRECTIVES: [&str; 3] = ["continue", "exit", "end"];

pub(crate) fn check(cx: &mut Context) {
    let document = cx.document;
    let lists = document.task_lists();
    // Fork branches run side by side, not one after the other: "reachable by falling through"
    // means nothing there.
    let branches: HashSet<&str> = document
        .tasks()
        .iter()
        .filter_map(|visit| match &visit.task.kind {
            TaskKind::Fork(fork) => Some(fork.branches.pointer.as_str()),
            _ => None,
        })
        .collect();
    // Where each task name is defined, for "it is in another list" hints.
    let mut everywhere: HashMap<&str, &Task> = HashMap::new();
    for list in &lists {
        for task in list.iter() {
            everywhere.entry(task.name.as_str()).or_insert(task);
        }
    }
    let mut dangling: HashSet<&str> = HashSet::new();
    let mut broken: HashSet<&str> = HashSet::new();
    for list in &lists {
        duplicates(cx, list);
        for task in list.iter() {
            for target in targets(task) {
                if list.position(&target.name).is_none() {
                    dangling.insert(&target.name);
                    broken.insert(&list.pointer);
                    unknown_target(cx, list, target, everywhere.get(target.name.as_str()));
                }
            }
            if let TaskKind::Switch(switch) = &task.kind {
                multiple_defaults(cx, task, switch);
            }
        }
    }
    for list in &lists {
        // With a broken `then` the intended flow is unknown: any task of that list may be the
        // one it meant to reach, and so may a task named by a `then` in another list.
        if !broken.contains(list.pointer.as_str()) && !branches.contains(list.pointer.as_str()) {
            unreachable(cx, list, &dangling);
        }
    }
}

/// Every task name a task may jump to: its own `then` and, for a switch, each case's.
fn targets(task: &Task) -> Vec<&Reference> {
    let mut out = Vec::new();
    if let FlowDirective::Goto(target) = &task.common.then {
        out.push(target);
    }
    if let TaskKind::Switch(switch) = &task.kind {
        out.extend(switch.cases.iter().filter_map(|case| match &case.then {
            FlowDirective::Goto(target) => Some(target),
            _ => None,
        }));
    }
    out
}

fn duplicates(cx: &mut Context, list: &TaskList) {
    let mut first: HashMap<&str, &Task> = HashMap::new();
    for task in list.iter() {
        let Some(original) = first.get(task.name.as_str()) else {
            first.insert(&task.name, task);
            continue;
        };
        let help = match cx.line_of(&original.pointer) {
            Some(line) => format!(
                "the first `{}` is defined on line {line}; a `then` naming it would always jump \
                 to that one: rename one of them",
                task.name
            ),
            None => "rename one of them".to_string(),
        };
        cx.push(
            Diagnostic::error(
                "name::duplicate-task",
                format!("task name `{}` is used twice in the same list", task.name),
            )
            .at_pointer(&task.pointer)
            .on_key()
            .with_label("duplicate task name")
            .with_help(help),
        );
    }
}

fn unknown_target(
    cx: &mut Context,
    list: &TaskList,
    target: &Reference,
    elsewhere: Option<&&Task>,
) {
    let names = || list.iter().map(|task| task.name.as_str());
    let candidates = names().chain(DIRECTIVES);
    let help = if let Some(close) = did_you_mean(&target.name, candidates) {
        format!("did you mean `{close}`?")
    } else if let Some(task) = elsewhere {
        let line = cx
            .line_of(&task.pointer)
            .map(|line| format!(" (line {line})"))
            .unwrap_or_default();
        format!(
            "`{}` is in another task list{line}; `then` can only jump to a task in the same \
             list: {}",
            target.name,
            quoted_list(names())
        )
    } else {
        format!(
            "`then` can only jump to a task in the same list ({}), or be `continue`, `exit` or \
             `end`",
            quoted_list(names())
        )
    };
    cx.push(
        Diagnostic::error(
            "flow::unknown-target",
            format!(
                "`then` names `{}`, which is not a task of this list",
                target.name
            ),
        )
        .at_pointer(&target.pointer)
        .with_label("no such task here")
        .with_help(help),
    );
}

fn multiple_defaults(cx: &mut Context, task: &Task, switch: &SwitchTask) {
    let mut defaults = switch.cases.iter().filter(|case| case.when.is_none());
    let Some(first) = defaults.next() else {
        return;
    };
    for extra in defaults {
        let line = cx
            .line_of(&first.pointer)
            .map(|line| format!(" (line {line})"))
            .unwrap_or_default();
        cx.push(
            Diagnostic::error(
                "switch::multiple-defaults",
                format!(
                    "switch `{}` has more than one default case: `{}` has no `when`",
                    task.name, extra.name
                ),
            )
            .at_pointer(&extra.pointer)
            .on_key()
            .with_label("second default case")
            .with_help(format!(
                "case `{}`{line} is already the default; give `{}` a `when` or remove it",
                first.name, extra.name
            )),
        );
    }
}

/// Indexes of the tasks of `list` that control may go to after task `index`: the next one when
/// it may fall through, and the targets it may jump to. Conservative: a task with `if` may be
/// skipped, so it may also fall through. (Lists with an unknown target are not analysed.)
fn successors(list: &TaskList, index: usize) -> Vec<usize> {
    let Some(task) = list.tasks.get(index) else {
        return Vec::new();
    };
    let mut next = Vec::new();
    let mut follow = |directive: &FlowDirective| match directive {
        FlowDirective::Continue => next.push(index + 1),
        FlowDirective::Goto(target) => next.extend(list.position(&target.name)),
        FlowDirective::Exit | FlowDirective::End => {}
    };
    match &task.kind {
        TaskKind::Switch(switch) => {
            for case in &switch.cases {
                follow(&case.then);
            }
            // With no default case, nothing may match: then the switch's own `then` applies.
            if switch.cases.iter().all(|case| case.when.is_some()) {
                follow(&task.common.then);
            }
        }
        _ => follow(&task.common.then),
    }
    if task.common.if_.is_some() {
        next.push(index + 1);
    }
    next
}

fn unreachable(cx: &mut Context, list: &TaskList, dangling: &HashSet<&str>) {
    let count = list.len();
    let mut reached = vec![false; count];
    let mut stack = vec![0];
    while let Some(index) = stack.pop() {
        match reached.get_mut(index) {
            Some(seen) if !*seen => *seen = true,
            _ => continue,
        }
        stack.extend(successors(list, index));
    }
    for (index, task) in list.iter().enumerate() {
        if reached.get(index).copied().unwrap_or(true) || dangling.contains(task.name.as_str()) {
            continue;
        }
        let Some(before) = index.checked_sub(1).and_then(|i| list.tasks.get(i)) else {
            continue;
        };
        let before_reached = reached.get(index - 1).copied().unwrap_or(false);
        let help = if before_reached {
            format!(
                "{}, and no `then` in this list names `{}`",
                why_no_fall_through(before),
                task.name
            )
        } else {
            format!(
                "it follows `{}`, which can never run either, and no `then` in this list names `{}`",
                before.name, task.name
            )
        };
        cx.push(
            Diagnostic::warning(
                "flow::unreachable",
                format!("task `{}` can never run", task.name),
            )
            .at_pointer(&task.pointer)
            .on_key()
            .with_label("unreachable task")
            .with_help(help),
        );
    }
}

/// Why control never continues from `task` to the task after it.
fn why_no_fall_through(task: &Task) -> String {
    if matches!(task.kind, TaskKind::Switch(_)) {
        return format!(
            "every case of switch `{}` leads elsewhere and one of them is the default",
            task.name
        );
    }
    match &task.common.then {
        FlowDirective::End => format!("`{}` ends the workflow (`then: end`)", task.name),
        FlowDirective::Exit => format!("`{}` leaves this list (`then: exit`)", task.name),
        FlowDirective::Goto(target) => {
            format!("`{}` always jumps to `{}`", task.name, target.name)
        }
        FlowDirective::Continue => format!("`{}` never continues", task.name),
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze::test_support::{analyze_yaml, codes, doc, pointed_text};

    #[test]
    fn unknown_target_suggests_a_close_name() {
        let text = doc(
            "do:\n  - first:\n      set: {a: 1}\n      then: secnd\n  - second:\n      set: {b: 2}\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["flow::unknown-target"]);
        assert_eq!(pointed_text(&text, &found[0]), "secnd");
        assert_eq!(found[0].help.as_deref(), Some("did you mean `second`?"));
    }

    #[test]
    fn targets_in_another_list_are_named_as_such() {
        let text = doc(
            "do:\n  - outer:\n      do:\n        - inner:\n            set: {}\n            then: finish\n  - finish:\n      set: {}\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["flow::unknown-target"]);
        let help = found[0].help.as_deref().unwrap_or_default();
        assert!(help.contains("another task list (line 12)"), "{help}");
        assert!(help.contains("`inner`"), "{help}");
    }

    #[test]
    fn backward_jumps_and_switch_targets_are_fine() {
        let text = doc(
            "do:\n  - loop:\n      switch:\n        - again:\n            when: .n < 3\n            then: bump\n        - done:\n            then: end\n  - bump:\n      set: {n: 1}\n      then: loop\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), Vec::<&str>::new());
    }

    #[test]
    fn duplicate_names_point_at_the_second_and_name_the_first_line() {
        let text = doc("do:\n  - a:\n      set: {}\n  - a:\n      set: {}\n");
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["name::duplicate-task"]);
        assert_eq!(pointed_text(&text, &found[0]), "a");
        assert!(found[0].pointer.as_deref() == Some("/do/1/a"));
        let help = found[0].help.as_deref().unwrap_or_default();
        assert!(help.contains("line 7"), "{help}");
    }

    #[test]
    fn second_default_case_is_reported() {
        let text = doc(
            "do:\n  - route:\n      switch:\n        - a:\n            then: end\n        - b:\n            then: exit\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["switch::multiple-defaults"]);
        assert_eq!(pointed_text(&text, &found[0]), "b");
    }

    #[test]
    fn tasks_after_end_are_unreachable_unless_targeted() {
        let text = doc(
            "do:\n  - a:\n      set: {}\n      then: end\n  - b:\n      set: {}\n  - c:\n      set: {}\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["flow::unreachable", "flow::unreachable"]);
        assert_eq!(pointed_text(&text, &found[0]), "b");
        assert!(
            found[1]
                .help
                .as_deref()
                .unwrap_or_default()
                .contains("`b`, which can never run")
        );

        let targeted = doc(
            "do:\n  - a:\n      set: {}\n      then: c\n  - b:\n      set: {}\n      then: end\n  - c:\n      set: {}\n      then: b\n",
        );
        let (_, found) = analyze_yaml(&targeted);
        assert_eq!(codes(&found), Vec::<&str>::new());
    }

    #[test]
    fn conditional_tasks_and_switches_without_default_fall_through() {
        let text = doc(
            "do:\n  - a:\n      if: .x\n      set: {}\n      then: end\n  - b:\n      switch:\n        - x:\n            when: .y\n            then: end\n  - c:\n      set: {}\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), Vec::<&str>::new());
        let closed = doc(
            "do:\n  - b:\n      switch:\n        - x:\n            when: .y\n            then: end\n        - other:\n            then: exit\n  - c:\n      set: {}\n",
        );
        let (_, found) = analyze_yaml(&closed);
        assert_eq!(codes(&found), ["flow::unreachable"]);
        assert!(
            found[0]
                .help
                .as_deref()
                .unwrap_or_default()
                .contains("every case")
        );
    }

    #[test]
    fn broken_targets_silence_reachability() {
        // `blue` was meant to be `paintBlue`: calling `paintBlue` unreachable would be noise.
        let text = doc(
            "do:\n  - route:\n      switch:\n        - other:\n            then: blue\n  - paintRed:\n      set: {}\n      then: end\n  - paintBlue:\n      set: {}\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["flow::unknown-target"]);
        // A nested `then` naming an outer task: the outer task is not called unreachable.
        let nested = doc(
            "do:\n  - a:\n      do:\n        - inner:\n            set: {}\n            then: b\n      then: end\n  - b:\n      set: {}\n",
        );
        let (_, found) = analyze_yaml(&nested);
        assert_eq!(codes(&found), ["flow::unknown-target"]);
    }

    #[test]
    fn fork_branches_are_not_sequential() {
        let text = doc(
            "do:\n  - f:\n      fork:\n        branches:\n          - a:\n              set: {}\n              then: end\n          - b:\n              set: {}\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), Vec::<&str>::new());
    }
}
