//! Conversions between `serde_json::Value` (documents, HTTP bodies) and jaq's `Val` (engine data).
//!
//! The engine keeps data as `Val` (Arc-based, cheap to clone) and converts only at the edges.
//! Numbers follow jq 1.7: a number read from JSON prints back as it was read, and a number computed
//! as a float with an integral value prints without a fraction (`6 / 2` is `3`, not `3.0`).

use jaq_json::{Map, Num, Val};
use serde_json::{Number, Value};

/// Largest integer magnitude a double represents exactly (2^53); past it a float stays a float.
const EXACT_FLOAT_INT: f64 = 9_007_199_254_740_992.0;

/// Converts a jaq value to JSON. Lossless for every value that came from JSON; NaN becomes `null`
/// and the infinities become ±`f64::MAX`, as jq prints them. Byte strings are decoded as UTF-8
/// (invalid sequences replaced); object keys that are not strings are written as their JSON text.
pub fn to_json(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => num_to_json(n),
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(a) => Value::Array(a.iter().map(to_json).collect()),
        Val::Obj(o) => {
            let mut map = serde_json::Map::with_capacity(o.len());
            for (k, v) in o.iter() {
                map.insert(key_text(k), to_json(v));
            }
            Value::Object(map)
        }
    }
}

/// Converts JSON to a jaq value. Object key order is kept (jaq's objects are insertion-ordered
/// maps, like serde_json with `preserve_order`).
pub fn from_json(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(num_from_json(n)),
        Value::String(s) => Val::from(s.clone()),
        Value::Array(a) => Val::Arr(jaq_json::Rc::new(a.iter().map(from_json).collect())),
        Value::Object(o) => {
            let mut map = Map::with_capacity_and_hasher(o.len(), Default::default());
            for (k, v) in o {
                map.insert(Val::from(k.clone()), from_json(v));
            }
            Val::obj(map)
        }
    }
}

/// The text of an object key: strings as they are, anything else as its JSON form.
fn key_text(k: &Val) -> String {
    match k {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_string(),
    }
}

fn num_from_json(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::from_integral(i)
    } else if let Some(u) = n.as_u64() {
        Num::from_integral(u)
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        if f.is_finite() && f.fract() == 0.0 {
            // Keep the literal (`1.0`, `1e20`) so that data passed through prints as it came in,
            // which is what jq 1.7 does; jaq parses decimal literals lazily when computing.
            Num::Dec(jaq_json::Rc::new(n.to_string()))
        } else {
            Num::Float(f)
        }
    }
}

fn num_to_json(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::from(*i as i64),
        Num::Float(f) => float_to_json(*f),
        // Beyond isize: it may still fit u64/i64 (serde_json's range); otherwise it degrades to a
        // float, since serde_json (without arbitrary precision) cannot hold it.
        Num::BigInt(_) | Num::Dec(_) => {
            let text = n.to_string();
            if let Ok(i) = text.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = text.parse::<u64>() {
                Value::from(u)
            } else if let (Num::Dec(_), Some(v)) = (n, text.parse::<f64>().ok().and_then(float)) {
                v
            } else {
                float_to_json(text.parse::<f64>().unwrap_or(f64::NAN))
            }
        }
    }
}

/// A number as jq 1.7 prints it: integers exactly (big ones too), literals as written, computed
/// floats without a spurious `.0`.
pub(crate) fn number_text(n: &Num) -> String {
    match n {
        Num::Int(_) | Num::BigInt(_) | Num::Dec(_) => n.to_string(),
        Num::Float(f) => float_to_json(*f).to_string(),
    }
}

/// A literal float kept as written (`1.0` stays `1.0`).
fn float(f: f64) -> Option<Value> {
    Number::from_f64(f).map(Value::Number)
}

/// A computed float: integral values print as integers, non-finite ones as jq prints them.
fn float_to_json(f: f64) -> Value {
    if f.is_nan() {
        Value::Null
    } else if f.is_infinite() {
        float(f64::MAX.copysign(f)).unwrap_or(Value::Null)
    } else if f.fract() == 0.0 && f.abs() < EXACT_FLOAT_INT {
        Value::from(f as i64)
    } else {
        float(f).unwrap_or(Value::Null)
    }
}

/// An object with the given entries, in order.
pub(crate) fn obj<'a>(entries: impl IntoIterator<Item = (&'a str, Val)>) -> Val {
    let mut map = jaq_json::Map::default();
    for (key, value) in entries {
        map.insert(Val::from(key.to_owned()), value);
    }
    Val::obj(map)
}

pub(crate) fn string(text: impl Into<String>) -> Val {
    Val::from(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: Value) {
        assert_eq!(to_json(&from_json(&v)), v, "round trip of {v}");
        // Also compare the printed text, since serde_json's equality treats 1.0 and 1 differently
        // but the text is what users see.
        assert_eq!(to_json(&from_json(&v)).to_string(), v.to_string());
    }

    #[test]
    fn scalars_round_trip() {
        round_trip(json!(null));
        round_trip(json!(true));
        round_trip(json!(false));
        round_trip(json!(0));
        round_trip(json!(-17));
        round_trip(json!(1.5));
        round_trip(json!(-0.001));
        round_trip(json!(1.0));
        round_trip(json!(1e300));
        round_trip(json!("héllo wörld ✓ 🎉"));
        round_trip(json!(""));
    }

    #[test]
    fn big_integers_round_trip() {
        round_trip(json!(i64::MAX));
        round_trip(json!(i64::MIN));
        round_trip(json!(u64::MAX));
        round_trip(json!(9_007_199_254_740_993_u64));
    }

    #[test]
    fn key_order_is_preserved() {
        let v = json!({"zeta": 1, "alpha": {"y": [1, 2, {"b": 1, "a": 2}], "x": null}, "mid": "s"});
        round_trip(v.clone());
        let keys: Vec<_> = to_json(&from_json(&v))
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn computed_floats_print_like_jq() {
        assert_eq!(to_json(&Val::from(3.0)), json!(3));
        assert_eq!(to_json(&Val::from(2.5)), json!(2.5));
        assert_eq!(to_json(&Val::from(f64::NAN)), json!(null));
        assert_eq!(to_json(&Val::from(f64::INFINITY)), json!(f64::MAX));
        assert_eq!(to_json(&Val::from(f64::NEG_INFINITY)), json!(-f64::MAX));
        assert_eq!(to_json(&Val::from(1e20)), json!(1e20));
    }

    #[test]
    fn byte_strings_and_odd_keys_become_text() {
        let mut map = Map::default();
        map.insert(Val::from(1isize), Val::byte_str(b"ab".to_vec()));
        assert_eq!(to_json(&Val::obj(map)), json!({"1": "ab"}));
    }
}
