//! Native (Rust) builtins: the jq 1.7 ones jaq lacks (`@csv`, `@tsv`, `@base32`, `@base32d`,
//! `builtins`), a panic-free `env` (jaq's panics on non-UTF-8 variables), and jaq-json's natives
//! (`length`, `tojson`, `fromjson`, `contains`, `has`, `indices`, `bsearch`) redone for `Jv`.

use super::formats::{self, Row, text_of};
use super::jv::Jv;
use super::value::from_json;
use jaq_core::native::{Filter, Fun, bome, run, unary, v};
use jaq_core::{DataT, Error, RunPtr, ValR};
use jaq_json::Val;

/// Our natives. They come first in the native table, so they win over jaq's of the same name.
pub(crate) fn natives<D: for<'a> DataT<V<'a> = Jv>>() -> impl Iterator<Item = Fun<D>> {
    table().into_vec().into_iter().map(run)
}

fn table<D: for<'a> DataT<V<'a> = Jv>>() -> Box<[Filter<RunPtr<D>>]> {
    Box::new([
        ("@csv", v(0), |cv| bome(formats::csv_tsv(&cv.1.0, Row::Csv))),
        ("@tsv", v(0), |cv| bome(formats::csv_tsv(&cv.1.0, Row::Tsv))),
        ("@base32", v(0), |cv| {
            bome(Ok(Jv::from(formats::base32_encode(&text_of(&cv.1.0)))))
        }),
        ("@base32d", v(0), |cv| {
            bome(formats::base32_decode(&text_of(&cv.1.0)))
        }),
        ("builtins", v(0), |_| {
            bome(Ok(Jv(super::library::builtins_val())))
        }),
        ("env", v(0), |_| bome(Ok(Jv(env_object())))),
        ("length", v(0), |cv| bome(length(&cv.1.0))),
        ("tojson", v(0), |cv| bome(Ok(Jv::from(cv.1.to_string())))),
        ("fromjson", v(0), |cv| bome(fromjson(&cv.1.0))),
        ("contains", v(1), |cv| {
            unary(cv, |x, y| contains(&x.0, &y.0).map(Jv::from))
        }),
        ("has", v(1), |cv| {
            unary(cv, |x, k| has(&x.0, &k.0).map(Jv::from))
        }),
        ("indices", v(1), |cv| unary(cv, |x, y| indices(&x.0, &y.0))),
        ("bsearch", v(1), |cv| unary(cv, |x, y| bsearch(&x.0, &y.0))),
    ])
}

/// The process environment as an object (`$ENV` and `env`). Invalid UTF-8 is replaced, never a
/// panic. Built on every use so that it always reflects the current environment.
pub(crate) fn env_object() -> Val {
    let mut map = jaq_json::Map::default();
    for (k, v) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let v = v.to_string_lossy().into_owned();
        map.insert(Val::from(k), Val::from(v));
    }
    Val::obj(map)
}

/// jq's name for the type of a value, as used in error messages.
pub(crate) fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::TStr(_) | Val::BStr(_) => "string",
        Val::Arr(_) => "array",
        Val::Obj(_) => "object",
    }
}

/// A value's JSON text, cut to a readable length for messages.
pub(crate) fn short(v: &Val) -> String {
    const MAX: usize = 40;
    // Masked before it is cut: a secret cut in half would no longer be recognised.
    crate::secrets::shorten(&Jv(v.clone()).to_string(), MAX, "...")
}

fn err<T>(message: String) -> ValR<T, Jv> {
    Err(Error::str(message))
}

fn length(v: &Val) -> ValR<Jv> {
    Ok(Jv(match v {
        Val::Null => Val::from(0usize),
        Val::Bool(_) => return err(format!("boolean ({}) has no length", short(v))),
        Val::Num(n) => match n {
            jaq_json::Num::Int(i) => i
                .checked_abs()
                .map_or_else(|| Val::from((*i as f64).abs()), Val::from),
            other => Val::from(
                jaq_std::ValT::as_f64(&Val::Num(other.clone()))
                    .unwrap_or(f64::NAN)
                    .abs(),
            ),
        },
        Val::TStr(b) => Val::from(String::from_utf8_lossy(b).chars().count()),
        Val::BStr(b) => Val::from(b.len()),
        Val::Arr(a) => Val::from(a.len()),
        Val::Obj(o) => Val::from(o.len()),
    }))
}

fn fromjson(v: &Val) -> ValR<Jv> {
    let Val::TStr(b) = v else {
        return err(format!(
            "{} ({}) cannot be parsed as JSON, only a string can",
            type_name(v),
            short(v)
        ));
    };
    match serde_json::from_slice::<serde_json::Value>(b) {
        Ok(json) => Ok(Jv(from_json(&json))),
        Err(e) => err(format!("cannot parse {} as JSON: {e}", short(v))),
    }
}

/// jq's containment: substrings, every element of `b` inside some element of `a`, every key of `b`
/// present in `a` with a containing value, equality for scalars. Different types are an error.
fn contains(a: &Val, b: &Val) -> ValR<bool, Jv> {
    Ok(match (a, b) {
        (Val::TStr(x) | Val::BStr(x), Val::TStr(y) | Val::BStr(y)) => {
            y.is_empty() || x.windows(y.len()).any(|w| w == &y[..])
        }
        (Val::Arr(x), Val::Arr(y)) => {
            for item in y.iter() {
                let mut found = false;
                for candidate in x.iter() {
                    if contains(candidate, item).unwrap_or(false) {
                        found = true;
                        break;
                    }
                }
                if !found {
                    return Ok(false);
                }
            }
            true
        }
        (Val::Obj(x), Val::Obj(y)) => {
            for (k, item) in y.iter() {
                match x.get(k) {
                    Some(candidate) if contains(candidate, item)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        (x, y) if type_name(x) == type_name(y) => x == y,
        (x, y) => {
            return err(format!(
                "{} ({}) and {} ({}) cannot have their containment checked",
                type_name(x),
                short(x),
                type_name(y),
                short(y)
            ));
        }
    })
}

fn has(v: &Val, key: &Val) -> ValR<bool, Jv> {
    match (v, key) {
        (Val::Obj(o), Val::TStr(_) | Val::BStr(_)) => Ok(o.contains_key(key)),
        (Val::Arr(a), Val::Num(_)) => {
            let i = jaq_std::ValT::as_f64(key).unwrap_or(f64::NAN);
            Ok(i >= 0.0 && i < a.len() as f64)
        }
        _ => err(format!(
            "cannot check whether {} has a {} key",
            type_name(v),
            type_name(key)
        )),
    }
}

/// Positions of `y` in `x`: character offsets of a substring, start indices of a sub-array, or
/// indices of an element. `null` input gives `null`, as in jq.
fn indices(x: &Val, y: &Val) -> ValR<Jv> {
    let found: Vec<usize> = match (x, y) {
        (Val::Null, _) => return Ok(Jv(Val::Null)),
        (Val::TStr(s) | Val::BStr(s), Val::TStr(t) | Val::BStr(t)) => {
            let (s, t) = (String::from_utf8_lossy(s), String::from_utf8_lossy(t));
            if t.is_empty() {
                Vec::new()
            } else {
                s.char_indices()
                    .enumerate()
                    .filter(|(_, (byte, _))| {
                        s.get(*byte..).is_some_and(|rest| rest.starts_with(&*t))
                    })
                    .map(|(chars, _)| chars)
                    .collect()
            }
        }
        (Val::Arr(_), Val::Arr(b)) if b.is_empty() => Vec::new(),
        (Val::Arr(a), Val::Arr(b)) => a
            .windows(b.len())
            .enumerate()
            .filter(|(_, w)| *w == &b[..])
            .map(|(i, _)| i)
            .collect(),
        (Val::Arr(a), y) => a
            .iter()
            .enumerate()
            .filter(|(_, v)| *v == y)
            .map(|(i, _)| i)
            .collect(),
        (x, y) => {
            return err(format!(
                "cannot index {} with {} ({})",
                type_name(x),
                type_name(y),
                short(y)
            ));
        }
    };
    Ok(Jv(found.into_iter().map(Val::from).collect()))
}

fn bsearch(a: &Val, x: &Val) -> ValR<Jv> {
    let Val::Arr(items) = a else {
        return err(format!(
            "{} ({}) cannot be searched from",
            type_name(a),
            short(a)
        ));
    };
    let at = match items.binary_search(x) {
        Ok(i) => i as isize,
        Err(i) => -1 - i as isize,
    };
    Ok(Jv::from(at))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::test_util::{fails, run};

    #[test]
    fn builtins_lists_name_and_arity() {
        let out = run("builtins", json!(null));
        let names: Vec<&str> = out
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for expected in [
            "length/0",
            "map/1",
            "@csv/0",
            "tostream/0",
            "IN/1",
            "splits/1",
        ] {
            assert!(names.contains(&expected), "builtins lacks {expected}");
        }
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with('!') || n.starts_with('_'))
        );
    }

    #[test]
    fn env_and_dollar_env_see_the_process_environment() {
        // PATH is set in every environment cargo runs tests in.
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(run("$ENV.PATH", json!(null)), json!(path));
        assert_eq!(run("env.PATH", json!(null)), json!(path));
        assert_eq!(run("$ENV | type", json!(null)), json!("object"));
    }

    #[test]
    fn length_follows_jq() {
        assert_eq!(
            run(
                "[.[] | length]",
                json!([null, -5, 2.5, "héllo", [1, 2], {"a": 1}])
            ),
            json!([0, 5, 2.5, 5, 2, 1])
        );
        assert_eq!(fails("length", json!(true)), "boolean (true) has no length");
    }

    #[test]
    fn tojson_and_fromjson() {
        assert_eq!(
            run("[1, 6 / 2, \"x\", {\"a\": [null]}] | tojson", json!(null)),
            json!("[1,3,\"x\",{\"a\":[null]}]")
        );
        assert_eq!(
            run("\"{\\\"a\\\":[1,2.5]}\" | fromjson", json!(null)),
            json!({"a": [1, 2.5]})
        );
        assert!(fails("fromjson", json!("{nope")).starts_with("cannot parse"));
        // tostring and interpolation print computed floats like jq.
        assert_eq!(
            run("\"\\(.a / 2) \\(.a / 4)\" ", json!({"a": 10})),
            json!("5 2.5")
        );
        assert_eq!(run("(.a / 2) | tostring", json!({"a": 10})), json!("5"));
    }

    #[test]
    fn contains_has_indices_bsearch() {
        // jq manual examples.
        assert_eq!(run("contains(\"bar\")", json!("foobar")), json!(true));
        assert_eq!(
            run(
                "contains([\"baz\", \"bar\"])",
                json!(["foobar", "foobaz", "blarp"])
            ),
            json!(true)
        );
        assert_eq!(
            run(
                "contains({foo: 12, bar: [{barp: 12}]})",
                json!({"foo": 12, "bar": [1, 2, {"barp": 12, "blip": 13}]})
            ),
            json!(true)
        );
        assert_eq!(
            run(
                "contains({foo: 12, bar: [{barp: 15}]})",
                json!({"foo": 12, "bar": [1, 2, {"barp": 12, "blip": 13}]})
            ),
            json!(false)
        );
        assert!(fails("contains(1)", json!("a")).contains("cannot have their containment checked"));
        assert_eq!(
            run("map(has(\"foo\"))", json!([{"foo": 42}, {}])),
            json!([true, false])
        );
        assert_eq!(
            run("map(has(2))", json!([[0, 1], ["a", "b", "c"]])),
            json!([false, true])
        );
        assert_eq!(
            run("indices(\", \")", json!("a,b, cd, efg, hijk")),
            json!([3, 7, 12])
        );
        assert_eq!(
            run("indices(1)", json!([0, 1, 2, 1, 3, 1, 4])),
            json!([1, 3, 5])
        );
        assert_eq!(
            run(
                "indices([1,2])",
                json!([0, 1, 2, 3, 1, 4, 2, 5, 1, 2, 6, 7])
            ),
            json!([1, 8])
        );
        assert_eq!(
            run("index(\", \"), rindex(\", \")", json!("a,b, cd, efg, hijk")),
            json!([3, 12])
        );
        assert_eq!(run("indices(\"é\")", json!("aébé")), json!([1, 3]));
        assert_eq!(run("bsearch(0)", json!([0, 1])), json!(0));
        assert_eq!(run("bsearch(0)", json!([1, 2, 3])), json!(-1));
        assert_eq!(
            run(
                "bsearch(4) as $ix | if $ix < 0 then .[-(1+$ix)] = 4 else . end",
                json!([1, 2, 3])
            ),
            json!([1, 2, 3, 4])
        );
    }
}
