//! `graph --run`: what happened to each task in a recorded run, and how each writer shows it
//! (Mermaid classes, DOT fill colours). The picture itself is unchanged; only colour is added.

use std::collections::BTreeMap;

use super::model::Graph;

/// What a task went through in a run. Tasks the run never reached are `NotReached`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskState {
    Completed,
    /// Faulted, then the run recovered: an enclosing `try` caught the error (and perhaps
    /// retried until it passed).
    Recovered,
    Faulted,
    Skipped,
    Cancelled,
    /// Started and never ended: where an interrupted run stopped.
    Running,
    NotReached,
}

impl From<crate::journal::ExecutionStatus> for TaskState {
    /// The state of a task whose (last) recorded execution ended so.
    fn from(status: crate::journal::ExecutionStatus) -> TaskState {
        use crate::journal::ExecutionStatus;
        match status {
            ExecutionStatus::Completed => TaskState::Completed,
            ExecutionStatus::Recovered => TaskState::Recovered,
            ExecutionStatus::Faulted => TaskState::Faulted,
            ExecutionStatus::Skipped => TaskState::Skipped,
            ExecutionStatus::Cancelled => TaskState::Cancelled,
            ExecutionStatus::Running => TaskState::Running,
        }
    }
}

impl TaskState {
    /// The Mermaid class name (also the legend word).
    pub fn class(self) -> &'static str {
        match self {
            TaskState::Completed => "completed",
            TaskState::Recovered => "recovered",
            TaskState::Faulted => "faulted",
            TaskState::Skipped => "skipped",
            TaskState::Cancelled => "cancelled",
            TaskState::Running => "running",
            TaskState::NotReached => "notreached",
        }
    }

    /// (fill, stroke, text) colours.
    fn colours(self) -> (&'static str, &'static str, &'static str) {
        match self {
            TaskState::Completed => ("#e3f4e1", "#2e7d32", "#1b5e20"),
            TaskState::Recovered => ("#f9fbe7", "#9e9d24", "#616200"),
            TaskState::Faulted => ("#fde2e2", "#c62828", "#8e0000"),
            TaskState::Skipped => ("#eeeeee", "#9e9e9e", "#616161"),
            TaskState::Cancelled => ("#fff3e0", "#ef6c00", "#e65100"),
            TaskState::Running => ("#e3f2fd", "#1565c0", "#0d47a1"),
            TaskState::NotReached => ("#ffffff", "#bdbdbd", "#9e9e9e"),
        }
    }

    /// The Mermaid `classDef` line's body.
    pub(crate) fn mermaid_style(self) -> String {
        let (fill, stroke, text) = self.colours();
        let dash = match self {
            TaskState::Skipped | TaskState::NotReached => ",stroke-dasharray:4 3",
            _ => "",
        };
        format!("fill:{fill},stroke:{stroke},color:{text}{dash}")
    }

    /// DOT attributes to append to a node or cluster.
    pub(crate) fn dot_attributes(self, rounded: bool) -> String {
        let (fill, stroke, text) = self.colours();
        let mut style = if rounded { "rounded,filled" } else { "filled" }.to_string();
        if matches!(self, TaskState::Skipped | TaskState::NotReached) {
            style.push_str(",dashed");
        }
        format!("style=\"{style}\", fillcolor=\"{fill}\", color=\"{stroke}\", fontcolor=\"{text}\"")
    }
}

/// Marks every task of `graph` with its state in the run: `states` by task pointer, the rest
/// not reached.
pub(crate) fn apply(graph: &mut Graph, states: &BTreeMap<String, TaskState>) {
    graph.states = graph
        .task_ids
        .iter()
        .map(|(pointer, id)| {
            let state = states
                .get(pointer)
                .copied()
                .unwrap_or(TaskState::NotReached);
            (id.clone(), state)
        })
        .collect();
}

/// The marked ids grouped by state, states in a fixed order, ids sorted.
pub(crate) fn by_state(graph: &Graph) -> Vec<(TaskState, Vec<&str>)> {
    let mut groups: BTreeMap<TaskState, Vec<&str>> = BTreeMap::new();
    for (id, state) in &graph.states {
        groups.entry(*state).or_default().push(id);
    }
    groups.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::fixtures;
    use crate::graph::render::{Direction, Format, render_run};

    const FLOW: &str = "document: {dsl: '1.0.3', namespace: t, name: states, version: '1.0.0'}\n\
        do:\n  - first:\n      set: {a: 1}\n  - maybe:\n      if: ${ false }\n      set: {b: 2}\n  \
        - loop:\n      for: {in: '${ [1] }'}\n      do:\n        - inner:\n            set: {c: 3}\n  \
        - last:\n      set: {d: 4}\n";

    fn states() -> BTreeMap<String, TaskState> {
        [
            ("/do/0/first", TaskState::Completed),
            ("/do/1/maybe", TaskState::Skipped),
            ("/do/2/loop", TaskState::Faulted),
            ("/do/2/loop/do/0/inner", TaskState::Faulted),
        ]
        .into_iter()
        .map(|(pointer, state)| (pointer.to_string(), state))
        .collect()
    }

    #[test]
    fn mermaid_assigns_a_class_per_state() {
        let (document, targets) = fixtures::compiled(FLOW);
        let text = render_run(
            &document,
            &targets,
            Format::Mermaid,
            Direction::TopDown,
            &states(),
        );
        assert!(
            text.contains("    classDef completed fill:#e3f4e1"),
            "{text}"
        );
        assert!(
            text.contains("    class t_do_0_first completed\n"),
            "{text}"
        );
        assert!(text.contains("    class t_do_1_maybe skipped\n"), "{text}");
        assert!(
            text.contains("    class t_do_2_loop,t_do_2_loop_do_0_inner faulted\n"),
            "{text}"
        );
        assert!(
            text.contains("    class t_do_3_last notreached\n"),
            "{text}"
        );
        assert!(!text.contains("classDef cancelled"), "{text}");
    }

    #[test]
    fn dot_fills_the_nodes() {
        let (document, targets) = fixtures::compiled(FLOW);
        let text = render_run(
            &document,
            &targets,
            Format::Dot,
            Direction::TopDown,
            &states(),
        );
        assert!(
            text.contains(
                "\"t_do_0_first\" [label=\"first\\nset\", style=\"rounded,filled\", \
                 fillcolor=\"#e3f4e1\""
            ),
            "{text}"
        );
        assert!(
            text.contains("\"t_do_3_last\" [label=\"last\\nset\", style=\"rounded,filled,dashed\""),
            "{text}"
        );
    }

    #[test]
    fn a_run_that_reached_nothing_marks_every_task_not_reached() {
        let (document, targets) = fixtures::compiled(FLOW);
        let text = render_run(
            &document,
            &targets,
            Format::Mermaid,
            Direction::TopDown,
            &BTreeMap::new(),
        );
        // Every task is marked not reached, and no other state appears.
        assert!(!text.contains("classDef completed"), "{text}");
        assert!(text.contains("notreached"), "{text}");
    }
}
