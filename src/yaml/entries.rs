//! The finished entries of a mapping still being loaded, so a duplicate key can find the entry
//! it replaces: its index node, the extent of its subtree, and where its key was first written.

use std::collections::HashMap;

use super::spans::SpanIndex;
use crate::source::Span;

/// One finished entry of an open mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    /// Index id of its value.
    pub(super) id: usize,
    /// One past the last index id of its subtree (ids follow document order, so a subtree is a
    /// contiguous range).
    pub(super) end: usize,
    /// The key's first definition: an earlier duplicate's, when this entry replaced one.
    pub(super) first: Option<Span>,
}

/// The entries of one mapping. A plain list until the first duplicate key, then by name: hashing
/// every key of every mapping would slow down every load for the sake of a rare mistake, and
/// scanning the list on each duplicate would make a file of repeated keys quadratic.
#[derive(Debug, Default)]
pub(super) struct Entries {
    /// `(id, end)` of each entry, in order; emptied once `by_name` is built.
    list: Vec<(usize, usize)>,
    by_name: Option<HashMap<String, Entry>>,
}

impl Entries {
    /// Records the finished entry `name` (index ids `id..end`). When it replaces an entry of the
    /// same name, the first definition's key is kept for later duplicates' messages.
    pub(super) fn add(&mut self, name: &str, id: usize, end: usize, key: Option<Span>) {
        let Some(by_name) = &mut self.by_name else {
            self.list.push((id, end));
            return;
        };
        match by_name.get_mut(name) {
            Some(entry) => {
                entry.id = id;
                entry.end = end;
            }
            None => {
                let entry = Entry {
                    id,
                    end,
                    first: key,
                };
                by_name.insert(name.to_owned(), entry);
            }
        }
    }

    /// The finished entry named `name`, if any (keys and names come from `spans`).
    pub(super) fn find(&mut self, name: &str, spans: &SpanIndex) -> Option<Entry> {
        let by_name = self.by_name.get_or_insert_with(|| {
            let list = std::mem::take(&mut self.list);
            let mut by_name = HashMap::with_capacity(list.len());
            for (id, end) in list {
                if let Some((Some(name), _)) = spans.token_of(id) {
                    let first = spans.key_of(id);
                    by_name.insert(name.to_owned(), Entry { id, end, first });
                }
            }
            by_name
        });
        by_name.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index with a root mapping and the keys `names`, each with a scalar value.
    fn index(names: &[&str]) -> SpanIndex {
        let mut spans = SpanIndex::default();
        spans.push(None, 0, None, Span::new(0, 100));
        for (ordinal, name) in names.iter().enumerate() {
            let key = Span::new(ordinal * 10, ordinal * 10 + name.len());
            spans.push(
                Some(0),
                ordinal,
                Some((name, key)),
                Span::new(key.end + 2, key.end + 3),
            );
        }
        spans
    }

    #[test]
    fn finds_entries_by_name_after_the_list_is_turned_into_a_map() {
        let spans = index(&["a", "b"]);
        let mut entries = Entries::default();
        entries.add("a", 1, 2, spans.key_of(1));
        entries.add("b", 2, 3, spans.key_of(2));
        assert_eq!(entries.find("zz", &spans), None);
        let b = entries.find("b", &spans);
        assert_eq!(
            b,
            Some(Entry {
                id: 2,
                end: 3,
                first: Some(Span::new(10, 11))
            })
        );
        // After the map is built, new names are added to it.
        entries.add("c", 3, 4, Some(Span::new(20, 21)));
        assert_eq!(
            entries.find("c", &spans).map(|e| (e.id, e.end)),
            Some((3, 4))
        );
    }

    #[test]
    fn a_replacement_keeps_the_first_key() {
        let spans = index(&["a", "a"]);
        let mut entries = Entries::default();
        entries.add("a", 1, 2, spans.key_of(1));
        assert_eq!(entries.find("a", &spans).map(|e| e.id), Some(1));
        entries.add("a", 2, 3, spans.key_of(2));
        assert_eq!(
            entries.find("a", &spans),
            Some(Entry {
                id: 2,
                end: 3,
                first: Some(Span::new(0, 1))
            })
        );
    }
}
