//! Path updates (`.a = v`, `.[i] |= f`, `.[s:e] = v`, `.[] |= f`) with jq 1.7's rules: `null`
//! grows into the object or array the path asks for, arrays are padded with `null` up to an index,
//! and an update yielding no value deletes the element.

use super::jv::Jv;
use super::natives::{short, type_name};
use jaq_core::path::Opt;
use jaq_core::val::Range;
use jaq_core::{Error, Exn, ValX};
use jaq_json::{Map, Rc, Val};

/// Most `null`s an assignment may pad an array with (`.[n] = x` past the end), so that one
/// expression cannot allocate without bound (jq has a similar limit).
const MAX_PADDING: usize = 1 << 22;

fn fail<'a>(message: String) -> Exn<'a, Jv> {
    Exn::from(Error::str(message))
}

/// `.[] |= f`: the first output of `f` replaces each element; no output removes it.
pub(crate) fn map_values<'a, I: Iterator<Item = ValX<'a, Jv>>>(
    v: Jv,
    opt: Opt,
    f: impl Fn(Jv) -> I,
) -> ValX<'a, Jv> {
    match v.0 {
        Val::Arr(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in Rc::unwrap_or_clone(items) {
                if let Some(y) = f(Jv(item)).next() {
                    out.push(y?.0);
                }
            }
            Ok(Jv(Val::Arr(Rc::new(out))))
        }
        Val::Obj(map) => {
            let mut out = Map::with_capacity_and_hasher(map.len(), Default::default());
            for (k, item) in Rc::unwrap_or_clone(map) {
                if let Some(y) = f(Jv(item)).next() {
                    out.insert(k, y?.0);
                }
            }
            Ok(Jv(Val::obj(out)))
        }
        other => opt.fail(Jv(other), |v| {
            fail(format!(
                "cannot iterate over {} ({})",
                type_name(&v.0),
                short(&v.0)
            ))
        }),
    }
}

/// `.[k] |= f` on objects (string keys) and arrays (integer indices), growing `null`.
pub(crate) fn map_index<'a, I: Iterator<Item = ValX<'a, Jv>>>(
    v: Jv,
    index: &Jv,
    opt: Opt,
    f: impl Fn(Jv) -> I,
) -> ValX<'a, Jv> {
    match (v.0, &index.0) {
        // `.[{start, end}]` is a slice.
        (v @ (Val::Arr(_) | Val::TStr(_) | Val::BStr(_) | Val::Null), Val::Obj(bounds)) => {
            let start = bounds.get(&Val::from("start".to_owned())).cloned().map(Jv);
            let end = bounds.get(&Val::from("end".to_owned())).cloned().map(Jv);
            map_range(Jv(v), start.as_ref()..end.as_ref(), opt, f)
        }
        (Val::Null, Val::TStr(_) | Val::BStr(_)) => {
            map_index(Jv(Val::obj(Map::default())), index, opt, f)
        }
        (Val::Null, Val::Num(_)) => map_index(Jv(Val::Arr(Rc::new(Vec::new()))), index, opt, f),
        (Val::Obj(mut map), key @ (Val::TStr(_) | Val::BStr(_))) => {
            let entries = Rc::make_mut(&mut map);
            match entries.get_index_of(key) {
                Some(at) => {
                    let old = entries
                        .get_index_mut(at)
                        .map(|(_, v)| std::mem::take(v))
                        .unwrap_or_default();
                    match f(Jv(old)).next() {
                        Some(y) => {
                            if let Some((_, slot)) = entries.get_index_mut(at) {
                                *slot = y?.0;
                            }
                        }
                        // Keep the other keys' order, as jq does.
                        None => {
                            entries.shift_remove_index(at);
                        }
                    }
                }
                None => {
                    if let Some(y) = f(Jv(Val::Null)).next() {
                        entries.insert(key.clone(), y?.0);
                    }
                }
            }
            Ok(Jv(Val::Obj(map)))
        }
        (Val::Arr(mut items), i @ Val::Num(_)) => {
            let Some(i) = int_of(i) else {
                return Err(fail(format!("cannot index array with {}", short(i))));
            };
            let list = Rc::make_mut(&mut items);
            let len = list.len() as isize;
            let at = if i < 0 { i + len } else { i };
            if at < 0 {
                return opt.fail(Jv(Val::Arr(items)), |_| {
                    fail("out of bounds negative array index".to_owned())
                });
            }
            let at = at as usize;
            if at < list.len() {
                let old = list.get_mut(at).map(std::mem::take).unwrap_or_default();
                match f(Jv(old)).next() {
                    Some(y) => {
                        if let Some(slot) = list.get_mut(at) {
                            *slot = y?.0;
                        }
                    }
                    None => {
                        list.remove(at);
                    }
                }
            } else if at - list.len() > MAX_PADDING {
                return Err(fail(format!("array index {at} is too large")));
            } else if let Some(y) = f(Jv(Val::Null)).next() {
                list.resize(at, Val::Null);
                list.push(y?.0);
            }
            Ok(Jv(Val::Arr(items)))
        }
        (v, index) => opt.fail(Jv(v), |v| {
            fail(format!(
                "cannot index {} with {} ({})",
                type_name(&v.0),
                type_name(index),
                short(index)
            ))
        }),
    }
}

/// `.[s:e] |= f` on arrays (and `null`, as an empty array): the slice is replaced by the array
/// `f` yields, or removed when `f` yields nothing.
pub(crate) fn map_range<'a, I: Iterator<Item = ValX<'a, Jv>>>(
    v: Jv,
    range: Range<&Jv>,
    opt: Opt,
    f: impl Fn(Jv) -> I,
) -> ValX<'a, Jv> {
    let mut items = match v.0 {
        Val::Arr(items) => items,
        Val::Null => Rc::new(Vec::new()),
        other => {
            return opt.fail(Jv(other), |v| {
                fail(format!(
                    "cannot update a slice of {} ({})",
                    type_name(&v.0),
                    short(&v.0)
                ))
            });
        }
    };
    let len = items.len();
    let from = bound(range.start, len, 0, f64::floor).map_err(fail)?;
    let upto = bound(range.end, len, len, f64::ceil)
        .map_err(fail)?
        .max(from);
    let slice: Vec<Val> = items
        .get(from..upto)
        .map(<[Val]>::to_vec)
        .unwrap_or_default();
    let replacement = match f(Jv(Val::Arr(Rc::new(slice)))).next() {
        None => Vec::new(),
        Some(y) => match y?.0 {
            Val::Arr(new) => Rc::unwrap_or_clone(new),
            other => {
                return Err(fail(format!(
                    "a slice can only be replaced by an array, not {}",
                    type_name(&other)
                )));
            }
        },
    };
    Rc::make_mut(&mut items).splice(from..upto, replacement);
    Ok(Jv(Val::Arr(items)))
}

/// One end of a slice as an index in `0..=len`: absent or null means `default`, negative counts
/// from the end, fractions are rounded outwards (`round`), and everything is clamped.
fn bound(
    b: Option<&Jv>,
    len: usize,
    default: usize,
    round: fn(f64) -> f64,
) -> Result<usize, String> {
    let n = match b.map(|b| &b.0) {
        None | Some(Val::Null) => return Ok(default),
        Some(Val::Num(n)) => jaq_std::ValT::as_f64(&Val::Num(n.clone())).unwrap_or(f64::NAN),
        Some(other) => {
            return Err(format!(
                "slice bounds must be numbers, not {}",
                type_name(other)
            ));
        }
    };
    let n = round(n);
    let n = if n < 0.0 { n + len as f64 } else { n };
    Ok(n.clamp(0.0, len as f64) as usize)
}

/// An integer array index; fractions are truncated towards negative infinity, like jq.
fn int_of(v: &Val) -> Option<isize> {
    let f = jaq_std::ValT::as_f64(v)?;
    if jaq_std::ValT::is_int(v) {
        return jaq_std::ValT::as_isize(v);
    }
    f.is_finite().then(|| f.floor() as isize)
}

#[cfg(test)]
mod tests {
    use crate::expr::{Expr, from_json, to_json};
    use serde_json::{Value, json};

    fn run(code: &str, input: Value) -> Result<Value, String> {
        let expr = Expr::compile(code, &[]).map_err(|e| format!("{e:?}"))?;
        expr.eval(from_json(&input), &[])
            .map(|v| to_json(&v))
            .map_err(|e| e.message)
    }

    #[test]
    fn null_grows_into_objects_and_arrays() {
        assert_eq!(run(".a = 1", json!(null)), Ok(json!({"a": 1})));
        assert_eq!(
            run(".a.b.c = 1", json!({})),
            Ok(json!({"a": {"b": {"c": 1}}}))
        );
        assert_eq!(run(".[0] = 1", json!(null)), Ok(json!([1])));
        assert_eq!(
            run(".a[1].b = true", json!({"x": 0})),
            Ok(json!({"x": 0, "a": [null, {"b": true}]}))
        );
        assert_eq!(run(".count += 1", json!({})), Ok(json!({"count": 1})));
        assert_eq!(
            run(".list += [\"x\"]", json!({"list": null})),
            Ok(json!({"list": ["x"]}))
        );
        assert_eq!(
            run("setpath([\"a\", 0, \"b\"]; 5)", json!(null)),
            Ok(json!({"a": [{"b": 5}]}))
        );
    }

    #[test]
    fn arrays_are_padded_and_negative_indices_count_from_the_end() {
        assert_eq!(run(".[3] = 1", json!([0])), Ok(json!([0, null, null, 1])));
        assert_eq!(run(".[-1] = 9", json!([1, 2])), Ok(json!([1, 9])));
        assert!(run(".[-5] = 9", json!([1, 2])).is_err());
        assert!(run(".[100000000] = 1", json!([])).is_err());
        assert_eq!(run(".[1.7]", json!([1, 2, 3])), Ok(json!(2)));
    }

    #[test]
    fn empty_updates_delete_and_keep_order() {
        assert_eq!(
            run(".b |= empty", json!({"a": 1, "b": 2, "c": 3})),
            Ok(json!({"a": 1, "c": 3}))
        );
        assert_eq!(
            run("del(.a, .c)", json!({"a": 1, "b": 2, "c": 3})),
            Ok(json!({"b": 2}))
        );
        assert_eq!(run("del(.[1, 2])", json!([1, 2, 3, 4])), Ok(json!([1, 4])));
        assert_eq!(run("[.[] | (1, 2)]", json!([0])), Ok(json!([1, 2])));
        assert_eq!(
            run(".[] |= (. + 1, . + 2)", json!([0, 10])),
            Ok(json!([1, 11]))
        );
        assert_eq!(
            run("map_values(select(. > 1))", json!({"a": 1, "b": 2})),
            Ok(json!({"b": 2}))
        );
        assert_eq!(run(".[] |= . * 2", json!([1, 2])), Ok(json!([2, 4])));
        assert_eq!(
            run("to_entries | map(.key)", json!({"z": 1, "a": 2})),
            Ok(json!(["z", "a"]))
        );
    }

    #[test]
    fn slices_are_replaced() {
        assert_eq!(
            run(".[1:3] = [\"x\"]", json!([0, 1, 2, 3])),
            Ok(json!([0, "x", 3]))
        );
        assert_eq!(
            run(".[-1:] |= map(. * 10)", json!([1, 2])),
            Ok(json!([1, 20]))
        );
        assert_eq!(run(".[2:] = [7]", json!(null)), Ok(json!([7])));
        assert!(run(".[0:1] = 5", json!([1])).is_err());
        assert_eq!(run(".[1:2]", json!(null)), Ok(json!(null)));
    }

    #[test]
    fn type_errors_are_reported_and_optional_paths_skip_them() {
        let err = run(".a = 1", json!(5)).err().unwrap_or_default();
        assert_eq!(err, "cannot index number with string (\"a\")");
        assert_eq!(
            run("try (.[] |= 1) catch .", json!(3)),
            Ok(json!("cannot iterate over number (3)"))
        );
        assert_eq!(run(".[]? |= 1", json!(3)), Ok(json!(3)));
        assert!(run(".[0] = 1", json!({})).is_err());
    }
}
