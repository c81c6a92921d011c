//! How deep values may nest: everything that walks a value recursively (printing it, comparing
//! it, serialising it for the journal and the reporters, dropping it) uses a stack frame per
//! level, so a value nested a million levels deep (`reduce range(1e6) as $i (null; [.])`) would
//! overflow the stack of whichever thread touched it first. Expressions are the only place such
//! values can come from (parsed JSON stops at 128 levels), so they are checked there:
//! - building an array or an object whose first element already sits at the limit stops the
//!   evaluation (a cheap probe down the first elements, which is how nesting is built in
//!   practice);
//! - every result is walked, without recursion, before it leaves the evaluation;
//! - a value found too deep is taken apart without recursion too.

use jaq_json::{Rc, Val};

/// The deepest nesting a value may have: far beyond real data, far below what a 2 MiB thread
/// stack can walk recursively.
pub const MAX_DEPTH: usize = 1000;

/// True when `value` nests more than `limit` levels of arrays and objects. Iterative.
pub(crate) fn exceeds(value: &Val, limit: usize) -> bool {
    let mut pending: Vec<(&Val, usize)> = vec![(value, 0)];
    while let Some((value, depth)) = pending.pop() {
        match value {
            Val::Arr(items) => {
                if depth >= limit && !items.is_empty() {
                    return true;
                }
                pending.extend(items.iter().map(|item| (item, depth + 1)));
            }
            Val::Obj(map) => {
                if depth >= limit && !map.is_empty() {
                    return true;
                }
                pending.extend(map.values().map(|item| (item, depth + 1)));
            }
            _ => {}
        }
    }
    false
}

/// How deep the chain of first elements below `value` goes, up to `limit`.
pub(crate) fn first_chain(value: &Val, limit: usize) -> usize {
    let mut depth = 0;
    let mut at = value;
    while depth < limit {
        let next = match at {
            Val::Arr(items) => items.first(),
            Val::Obj(map) => map.values().next(),
            _ => None,
        };
        match next {
            Some(next) => {
                depth += 1;
                at = next;
            }
            None => break,
        }
    }
    depth
}

/// Drops `value` without recursing, however deep it is.
pub(crate) fn drop_flat(value: Val) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Val::Arr(items) => {
                if let Ok(items) = Rc::try_unwrap(items) {
                    pending.extend(items);
                }
            }
            Val::Obj(map) => {
                if let Ok(map) = Rc::try_unwrap(map) {
                    for (key, value) in map {
                        pending.push(key);
                        pending.push(value);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> Val {
        let mut value = Val::Null;
        for _ in 0..levels {
            value = Val::from_iter([value]);
        }
        value
    }

    #[test]
    fn depth_is_measured_without_recursion() {
        let deep = nested(200_000);
        assert!(exceeds(&deep, MAX_DEPTH));
        assert_eq!(first_chain(&deep, 50), 50);
        drop_flat(deep);
        let shallow = nested(MAX_DEPTH);
        assert!(!exceeds(&shallow, MAX_DEPTH));
        assert!(exceeds(&shallow, MAX_DEPTH - 1));
        assert_eq!(first_chain(&shallow, usize::MAX), MAX_DEPTH);
    }
}
