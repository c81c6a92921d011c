//! Durable step names: one deterministic, unique name per task execution, stamped on its events
//! and used by a resumed run to find what already completed.
//!
//! A step name is the task's JSON pointer with the execution's coordinates written right after
//! the pointer segment of the task they belong to:
//! - `[i]` after a `for` task: its iteration `i` (from 0, like the `at` variable);
//! - `@n` after a `try` task: its `n`th retry (absent for the first attempt, as in the
//!   `retried` event's `attempt`);
//! - `#n` after any task: its `n`th execution in the same run of its task list (a `then` that
//!   jumps back; absent for the first).
//!
//! So `/do/1/loop[3]/do/0/fetch` is `fetch` in the fourth iteration of `loop`, and
//! `/do/0/poll#2` the second run of `poll` after a `then` looped back to it. A task outside any
//! loop or repetition is named by its pointer alone. Given the document, the name is unambiguous:
//! every pointer segment before a task name is a list index, and the coordinates never contain
//! `/`. The same execution gets the same name when a run is resumed, because the coordinates
//! come from the document's structure and the order of the run, never from time.

use std::fmt::Write;
use std::sync::Arc;

/// Where a task list runs: the step name of the enclosing execution, from which its tasks'
/// names are made. Disabled (and free) when no event is built and nothing is replayed.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepScope(Option<Inner>);

#[derive(Debug, Clone)]
struct Inner {
    /// The enclosing execution's step name, with the list's own coordinate (`[i]`, `@n`).
    prefix: Arc<str>,
    /// Length of the enclosing task's pointer: the tasks' pointers continue it from here.
    cut: usize,
    /// The prefix is exactly the enclosing pointer: a first execution is named by its pointer.
    plain: bool,
}

/// The coordinate a task list adds to its enclosing task's step name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// The list runs once per execution of its task (`do`, `catch.do`, fork branches).
    Once,
    /// A `for` iteration, from 0.
    Iteration(usize),
    /// A `try` attempt: 0 for the first, `n` for the `n`th retry.
    Attempt(u64),
}

impl StepScope {
    /// The workflow's top-level list; `on` says whether step names are wanted at all.
    pub(crate) fn root(on: bool) -> StepScope {
        StepScope(on.then(|| Inner {
            prefix: Arc::from(""),
            cut: 0,
            plain: true,
        }))
    }

    /// The name of the `repeat`th execution (from 1) of the task at `pointer` in this list.
    pub(crate) fn name(&self, pointer: &Arc<str>, repeat: u32) -> Option<Arc<str>> {
        let inner = self.0.as_ref()?;
        if inner.plain && repeat <= 1 {
            return Some(Arc::clone(pointer));
        }
        // A pointer not under the enclosing task's cannot happen; keep it whole if it does.
        let rest = pointer.get(inner.cut..).unwrap_or(pointer);
        let mut name = String::with_capacity(inner.prefix.len() + rest.len() + 4);
        name.push_str(&inner.prefix);
        name.push_str(rest);
        if repeat > 1 {
            let _ = write!(name, "#{repeat}");
        }
        Some(Arc::from(name))
    }

    /// The scope of a list inside the execution `step` of the task at `pointer`.
    pub(crate) fn inside(step: Option<&Arc<str>>, pointer: &str, mark: Mark) -> StepScope {
        let Some(step) = step else {
            return StepScope(None);
        };
        let plain_step = step.as_ref() == pointer;
        let prefix = match mark {
            Mark::Once | Mark::Attempt(0) => Arc::clone(step),
            Mark::Iteration(index) => Arc::from(format!("{step}[{index}]")),
            Mark::Attempt(retry) => Arc::from(format!("{step}@{retry}")),
        };
        let plain = plain_step && matches!(mark, Mark::Once | Mark::Attempt(0));
        StepScope(Some(Inner {
            prefix,
            cut: pointer.len(),
            plain,
        }))
    }
}

/// Counts executions per position of one run of a task list, so a task run again after a `then`
/// jumped back gets a new name. Nothing is allocated until the first jump: before it the list
/// ran straight from its top, each position at most once.
#[derive(Debug, Default)]
pub(crate) struct Repeats(Vec<u32>);

impl Repeats {
    /// The task at `position` starts: how many times it has started in this run of the list,
    /// from 1.
    pub(crate) fn start(&mut self, position: usize) -> u32 {
        match self.0.get_mut(position) {
            Some(count) => {
                *count = count.saturating_add(1);
                *count
            }
            None => 1,
        }
    }

    /// The task at `from` (of a list of `len`) jumped elsewhere; counting starts at the first.
    pub(crate) fn jumped(&mut self, from: usize, len: usize) {
        if self.0.is_empty() {
            self.0 = (0..len)
                .map(|position| u32::from(position <= from))
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(scope: &StepScope, pointer: &str, repeat: u32) -> String {
        scope
            .name(&Arc::from(pointer), repeat)
            .map(|n| n.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn top_level_tasks_are_named_by_their_pointer() {
        let root = StepScope::root(true);
        assert_eq!(name(&root, "/do/0/greet", 1), "/do/0/greet");
        assert_eq!(name(&root, "/do/0/greet", 2), "/do/0/greet#2");
        assert_eq!(StepScope::root(false).name(&Arc::from("/do/0/a"), 1), None);
    }

    #[test]
    fn loop_iterations_and_retries_mark_the_owning_segment() {
        let root = StepScope::root(true);
        let loop_ = Arc::from("/do/1/loop");
        let step = root.name(&loop_, 1);
        let third = StepScope::inside(step.as_ref(), &loop_, Mark::Iteration(3));
        assert_eq!(
            name(&third, "/do/1/loop/do/0/fetch", 1),
            "/do/1/loop[3]/do/0/fetch"
        );
        let again = root.name(&loop_, 2);
        let first = StepScope::inside(again.as_ref(), &loop_, Mark::Iteration(0));
        assert_eq!(
            name(&first, "/do/1/loop/do/0/fetch", 2),
            "/do/1/loop#2[0]/do/0/fetch#2"
        );
        let try_ = Arc::from("/do/2/guard");
        let step = root.name(&try_, 1);
        let retry = StepScope::inside(step.as_ref(), &try_, Mark::Attempt(2));
        assert_eq!(
            name(&retry, "/do/2/guard/try/0/call", 1),
            "/do/2/guard@2/try/0/call"
        );
        let first = StepScope::inside(step.as_ref(), &try_, Mark::Attempt(0));
        assert_eq!(
            name(&first, "/do/2/guard/try/0/call", 1),
            "/do/2/guard/try/0/call"
        );
    }

    #[test]
    fn nested_plain_lists_keep_the_pointer() {
        let root = StepScope::root(true);
        let outer = Arc::from("/do/0/outer");
        let step = root.name(&outer, 1);
        let inner = StepScope::inside(step.as_ref(), &outer, Mark::Once);
        let child: Arc<str> = Arc::from("/do/0/outer/do/0/inner");
        let named = inner.name(&child, 1);
        assert!(named.as_ref().is_some_and(|n| Arc::ptr_eq(n, &child)));
        let disabled = StepScope::inside(None, &outer, Mark::Iteration(1));
        assert_eq!(disabled.name(&child, 1), None);
    }

    #[test]
    fn repeats_count_from_the_first_jump() {
        let mut repeats = Repeats::default();
        assert_eq!(repeats.start(0), 1);
        assert_eq!(repeats.start(1), 1);
        // Position 1 jumps back to 0.
        repeats.jumped(1, 3);
        assert_eq!(repeats.start(0), 2);
        assert_eq!(repeats.start(1), 2);
        // A later jump changes nothing in the counts.
        repeats.jumped(1, 3);
        assert_eq!(repeats.start(2), 1);
        assert_eq!(repeats.start(0), 3);
        assert_eq!(repeats.start(7), 1);
    }
}
