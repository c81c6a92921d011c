//! `Jv`: the value type our jq programs run on. A transparent wrapper around `jaq_json::Val` that
//! delegates to it, except where jq 1.7 and jaq disagree in ways workflow authors would trip on:
//! updates through `null` (`.a.b = 1` on `{}`), array padding (`.[3] = 1`), float array indices,
//! number printing in `tostring`/`tojson`/interpolation (`6 / 2` gives `"3"`, not `"3.0"`).
//! Data never changes representation: wrapping and unwrapping a `Val` is free.

use super::update;
use super::value::number_text;
use jaq_core::box_iter::BoxIter;
use jaq_core::path::Opt;
use jaq_core::val::Range;
use jaq_core::{Error, ValR, ValT, ValX};
use jaq_json::{Num, Val};
use std::fmt;

/// A jq value as seen by the interpreter; see the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub(crate) struct Jv(pub(crate) Val);

/// Re-labels an error about `Val`s as one about `Jv`s, keeping its value (for `catch`) or text.
pub(crate) fn conv_err(e: Error<Val>) -> Error<Jv> {
    Error::new(Jv(e.into_val()))
}

fn conv(r: ValR<Val>) -> ValR<Jv> {
    r.map(Jv).map_err(conv_err)
}

impl ValT for Jv {
    fn from_num(n: &str) -> ValR<Self> {
        conv(Val::from_num(n))
    }

    fn from_map<I: IntoIterator<Item = (Self, Self)>>(iter: I) -> ValR<Self> {
        let map = conv(Val::from_map(iter.into_iter().map(|(k, v)| (k.0, v.0))))?;
        if let Val::Obj(entries) = &map.0
            && let Some(first) = entries.values().next()
        {
            check_nesting(first);
        }
        Ok(map)
    }

    fn key_values(self) -> BoxIter<'static, ValR<(Self, Self), Self>> {
        Box::new(
            self.0
                .key_values()
                .map(|r| r.map(|(k, v)| (Jv(k), Jv(v))).map_err(conv_err)),
        )
    }

    fn values(self) -> Box<dyn Iterator<Item = ValR<Self>>> {
        Box::new(self.0.values().map(conv))
    }

    fn index(self, index: &Self) -> ValR<Self> {
        // jq truncates a fractional array index (`.[1.5]` is `.[1]`); jaq rejects it.
        if let (Val::Arr(_), Val::Num(n @ (Num::Float(_) | Num::Dec(_)))) = (&self.0, &index.0) {
            let f = jaq_std::ValT::as_f64(&Val::Num(n.clone())).unwrap_or(f64::NAN);
            if !f.is_finite() {
                return Ok(Jv(Val::Null));
            }
            return conv(self.0.index(&Val::from(f.floor() as isize)));
        }
        conv(self.0.index(&index.0))
    }

    fn range(self, range: Range<&Self>) -> ValR<Self> {
        match self.0 {
            // jq: `null | .[1:2]` is null.
            Val::Null => Ok(Jv(Val::Null)),
            v => conv(v.range(range.start.map(|s| &s.0)..range.end.map(|e| &e.0))),
        }
    }

    fn map_values<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        update::map_values(self, opt, f)
    }

    fn map_index<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        index: &Self,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        update::map_index(self, index, opt, f)
    }

    fn map_range<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        range: Range<&Self>,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        update::map_range(self, range, opt, f)
    }

    fn as_bool(&self) -> bool {
        self.0.as_bool()
    }

    fn into_string(self) -> Self {
        match self.0 {
            Val::TStr(b) | Val::BStr(b) => Jv(Val::TStr(b)),
            other => Jv(Val::from(Jv(other).to_string())),
        }
    }
}

impl jaq_std::ValT for Jv {
    fn into_seq<S: FromIterator<Self>>(self) -> Result<S, Self> {
        match jaq_std::ValT::into_seq::<Vec<Val>>(self.0) {
            Ok(items) => Ok(items.into_iter().map(Jv).collect()),
            Err(v) => Err(Jv(v)),
        }
    }

    fn is_int(&self) -> bool {
        jaq_std::ValT::is_int(&self.0)
    }

    fn as_isize(&self) -> Option<isize> {
        jaq_std::ValT::as_isize(&self.0)
    }

    fn as_f64(&self) -> Option<f64> {
        jaq_std::ValT::as_f64(&self.0)
    }

    fn is_utf8_str(&self) -> bool {
        jaq_std::ValT::is_utf8_str(&self.0)
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        jaq_std::ValT::as_bytes(&self.0)
    }

    fn as_sub_str(&self, sub: &[u8]) -> Self {
        Jv(jaq_std::ValT::as_sub_str(&self.0, sub))
    }

    fn from_utf8_bytes(b: impl AsRef<[u8]> + Send + 'static) -> Self {
        Jv(<Val as jaq_std::ValT>::from_utf8_bytes(b))
    }
}

impl From<bool> for Jv {
    fn from(b: bool) -> Self {
        Jv(Val::from(b))
    }
}

impl From<isize> for Jv {
    fn from(i: isize) -> Self {
        Jv(Val::from(i))
    }
}

impl From<usize> for Jv {
    fn from(i: usize) -> Self {
        Jv(Val::from(i))
    }
}

impl From<f64> for Jv {
    fn from(f: f64) -> Self {
        Jv(Val::from(f))
    }
}

impl From<String> for Jv {
    fn from(s: String) -> Self {
        Jv(Val::from(s))
    }
}

impl From<Range<Jv>> for Jv {
    fn from(r: Range<Jv>) -> Self {
        Jv(Val::from(r.start.map(|s| s.0)..r.end.map(|e| e.0)))
    }
}

impl FromIterator<Jv> for Jv {
    fn from_iter<T: IntoIterator<Item = Jv>>(iter: T) -> Self {
        let array: Val = iter.into_iter().map(|j| j.0).collect();
        if let Val::Arr(items) = &array
            && let Some(first) = items.first()
        {
            check_nesting(first);
        }
        Jv(array)
    }
}

/// Stops the evaluation when `first`, about to be wrapped in one more array or object, already
/// nests as deep as values may (see `depth`).
fn check_nesting(first: &Val) {
    if matches!(first, Val::Arr(_) | Val::Obj(_))
        && super::depth::first_chain(first, super::depth::MAX_DEPTH) >= super::depth::MAX_DEPTH
    {
        super::guard::stop(super::guard::Stop::Nested);
    }
}

macro_rules! delegate_op {
    ($trait:ident, $method:ident) => {
        impl std::ops::$trait for Jv {
            type Output = ValR<Jv>;
            fn $method(self, rhs: Self) -> ValR<Jv> {
                // `range` produces its items by adding: counted, so `[range(1e9)]` is watched.
                super::guard::tick();
                conv(std::ops::$trait::$method(self.0, rhs.0))
            }
        }
    };
}
delegate_op!(Add, add);
delegate_op!(Sub, sub);
delegate_op!(Div, div);
delegate_op!(Rem, rem);

impl std::ops::Mul for Jv {
    type Output = ValR<Jv>;
    fn mul(self, rhs: Self) -> ValR<Jv> {
        super::guard::tick();
        // `"x" * 1e12` would ask for a terabyte at once (or overflow and panic): refused here.
        let repeated = |text: &Val, times: &Val| match (text, times) {
            (Val::TStr(s) | Val::BStr(s), Val::Num(n)) => {
                let times = jaq_std::ValT::as_f64(&Val::Num(n.clone())).unwrap_or(0.0);
                (times >= 1.0).then(|| (s.len() as f64) * times.floor())
            }
            _ => None,
        };
        let size = repeated(&self.0, &rhs.0).or_else(|| repeated(&rhs.0, &self.0));
        if let Some(size) = size
            && size > super::guard::max_string_bytes() as f64
        {
            return Err(Error::str(format!(
                "string repetition would make {size:.0} bytes, more than the memory cap allows"
            )));
        }
        conv(self.0 * rhs.0)
    }
}

impl std::ops::Neg for Jv {
    type Output = ValR<Jv>;
    fn neg(self) -> ValR<Jv> {
        conv(-self.0)
    }
}

/// Compact JSON as jq 1.7 writes it (used by `tostring`, `tojson`, interpolation and messages).
impl fmt::Display for Jv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_json(&mut out, &self.0);
        f.write_str(&out)
    }
}

fn write_json(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => out.push_str(&number_text(n)),
        Val::TStr(b) | Val::BStr(b) => write_str(out, &String::from_utf8_lossy(b)),
        Val::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Val::Obj(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    Val::TStr(b) | Val::BStr(b) => write_str(out, &String::from_utf8_lossy(b)),
                    other => write_str(out, &Jv(other.clone()).to_string()),
                }
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::from_json;
    use serde_json::json;

    #[test]
    fn display_is_compact_json_with_jq_numbers() {
        let v = Jv(from_json(
            &json!({"a": [1, 2.5, null, true], "s": "q\"\\\n\u{1}\u{7f}é", "f": 1.0}),
        ));
        assert_eq!(
            v.to_string(),
            r#"{"a":[1,2.5,null,true],"s":"q\"\\\n\u0001\u007fé","f":1.0}"#
        );
        assert_eq!(Jv(Val::from(3.0)).to_string(), "3");
        assert_eq!(Jv(Val::from(0.1 + 0.2)).to_string(), "0.30000000000000004");
    }

    #[test]
    fn errors_keep_their_value() {
        let e = conv_err(Error::new(Val::from(7isize)));
        assert_eq!(e.into_val(), Jv(Val::from(7isize)));
    }
}
