//! `Targets`: every `then: <name>` of a document resolved to the position of the task it names,
//! once, by the compiler. The engine follows the positions inside the `Machine`; the graph reads
//! them from here instead of looking names up again.

use std::collections::HashMap;

/// Resolved `then` targets, by the JSON pointer of the `then` value that names them (a task's
/// `then`, or a switch case's).
#[derive(Debug, Default, Clone)]
pub struct Targets(HashMap<Box<str>, usize>);

impl Targets {
    /// Records that the `then` at `pointer` jumps to the task at `position` of its list.
    pub(crate) fn insert(&mut self, pointer: &str, position: usize) {
        self.0.insert(Box::from(pointer), position);
    }

    /// The position, in its own task list, of the task the `then` at `pointer` jumps to; `None`
    /// when that `then` names no task (a document the compiler rejected).
    pub(crate) fn get(&self, pointer: &str) -> Option<usize> {
        self.0.get(pointer).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_found_by_the_pointer_of_their_then() {
        let mut targets = Targets::default();
        targets.insert("/do/2/again/then", 0);
        assert_eq!(targets.get("/do/2/again/then"), Some(0));
        assert_eq!(targets.get("/do/1/other/then"), None);
    }
}
