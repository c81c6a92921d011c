//! The index that finds a task of a list by name: `then: name` is resolved for every task of a
//! list (by the analyzer, the compiler and the graph), and a linear search each time made a
//! document of many tasks with `then` quadratic to validate.

use std::sync::OnceLock;

/// Lists this short are searched in order: no index is built (most lists in real documents).
const SEARCHED_IN_ORDER: usize = 16;

/// Positions of a list's tasks sorted by name, ties in list order, built on the first lookup in
/// a long list. Holds nothing a document means: it is equal to every other index, and is
/// neither printed nor serialized.
#[derive(Clone, Default)]
pub struct NameIndex(OnceLock<Box<[usize]>>);

impl NameIndex {
    /// Position of the first of `names` equal to `name`. `names` must be the same sequence at
    /// every call (the list's task names).
    pub(super) fn position<'a, F>(&self, len: usize, name_at: F, name: &str) -> Option<usize>
    where
        F: Fn(usize) -> Option<&'a str>,
    {
        if len <= SEARCHED_IN_ORDER {
            return (0..len).find(|&i| name_at(i) == Some(name));
        }
        let sorted = self.0.get_or_init(|| {
            let mut order: Vec<usize> = (0..len).collect();
            // A stable sort: among tasks of the same name, the first stays first.
            order.sort_by(|&a, &b| name_at(a).cmp(&name_at(b)));
            order.into_boxed_slice()
        });
        let first = sorted.partition_point(|&i| name_at(i) < Some(name));
        sorted
            .get(first)
            .copied()
            .filter(|&i| name_at(i) == Some(name))
    }
}

impl PartialEq for NameIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameIndex")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(names: &[&str], name: &str) -> Option<usize> {
        let index = NameIndex::default();
        let at = |i: usize| names.get(i).copied();
        let found = index.position(names.len(), at, name);
        // A second lookup uses the index built by the first.
        assert_eq!(index.position(names.len(), at, name), found);
        found
    }

    #[test]
    fn finds_the_first_task_of_a_name_in_short_and_long_lists() {
        assert_eq!(lookup(&["a", "b", "a"], "a"), Some(0));
        assert_eq!(lookup(&["a", "b"], "c"), None);
        let long: Vec<String> = (0..100).rev().map(|i| format!("t{}", i % 40)).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        for name in ["t0", "t39", "t7", "zz", "", "t"] {
            let expected = long.iter().position(|n| *n == name);
            assert_eq!(lookup(&long, name), expected, "{name}");
        }
    }
}
