//! Resolving a YAML scalar (its text, quoting style and tag) into a JSON value.

use saphyr::Scalar;
use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

/// Why a scalar has no JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScalarError {
    /// `.inf`, `-.inf`, `.nan`: YAML floats that JSON cannot represent.
    NonJsonNumber,
    /// A core-schema tag whose text does not match it, e.g. `!!int abc`.
    TagMismatch { tag: String },
}

/// The handle saphyr expands `!!` to.
const CORE_HANDLE: &str = "tag:yaml.org,2002:";

/// Resolves a scalar under the YAML 1.2 core schema (so `on`/`yes` stay strings).
///
/// Core tags are honoured (`!!str 1` is the string "1", `!!float 1` the number 1.0); the
/// non-specific tag `!` forces a string; any other tag is ignored and the value kept as if
/// untagged, since documents sometimes carry application tags that mean nothing to us.
pub(crate) fn resolve(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Value, ScalarError> {
    match tag {
        Some(tag) if tag.handle == CORE_HANDLE => resolve_core(text, &tag.suffix),
        // `! text`: the non-specific tag, which the parser reports with an empty handle.
        Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => Ok(Value::String(text.into())),
        _ if style != ScalarStyle::Plain => Ok(Value::String(text.into())),
        _ if text.is_empty() => Ok(Value::Null),
        _ => plain(text),
    }
}

/// An untagged plain scalar: null, bool, int, float or string, as saphyr decides.
fn plain(text: &str) -> Result<Value, ScalarError> {
    match Scalar::parse_from_cow(text.into()) {
        Scalar::Null => Ok(Value::Null),
        Scalar::Boolean(b) => Ok(Value::Bool(b)),
        Scalar::Integer(i) => Ok(Value::from(i)),
        // saphyr falls back to a float for integers beyond i64; keep those exact up to u64, and
        // as (inexact) floats past that, since JSON numbers have no size limit anyway.
        Scalar::FloatingPoint(f) => match big_unsigned(text) {
            Some(u) => Ok(Value::from(u)),
            None => float(f.into_inner()),
        },
        Scalar::String(s) => Ok(Value::String(s.into_owned())),
    }
}

fn big_unsigned(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn float(f: f64) -> Result<Value, ScalarError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or(ScalarError::NonJsonNumber)
}

fn resolve_core(text: &str, suffix: &str) -> Result<Value, ScalarError> {
    let mismatch = || ScalarError::TagMismatch {
        tag: format!("!!{suffix}"),
    };
    match suffix {
        "str" => Ok(Value::String(text.into())),
        "null" => match text {
            "" | "~" | "null" | "Null" | "NULL" => Ok(Value::Null),
            _ => Err(mismatch()),
        },
        "bool" => match plain(text)? {
            value @ Value::Bool(_) => Ok(value),
            _ => Err(mismatch()),
        },
        "int" => match plain(text)? {
            Value::Number(n) if !n.is_f64() => Ok(Value::Number(n)),
            _ => Err(mismatch()),
        },
        "float" => match plain(text)? {
            Value::Number(n) => n.as_f64().map_or_else(|| Err(mismatch()), float),
            _ => Err(mismatch()),
        },
        // Other `!!` tags (`!!binary`, `!!timestamp`, `!!map` on a scalar, ...): keep the text.
        _ => Ok(Value::String(text.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tag(handle: &str, suffix: &str) -> Tag {
        Tag {
            handle: handle.into(),
            suffix: suffix.into(),
        }
    }

    fn plain_value(text: &str) -> Value {
        resolve(text, ScalarStyle::Plain, None).expect("resolves")
    }

    #[test]
    fn yaml_1_2_core_schema() {
        assert_eq!(plain_value("on"), json!("on"));
        assert_eq!(plain_value("yes"), json!("yes"));
        assert_eq!(plain_value("true"), json!(true));
        assert_eq!(plain_value("~"), Value::Null);
        assert_eq!(plain_value(""), Value::Null);
        assert_eq!(plain_value("0o17"), json!(15));
        assert_eq!(plain_value("0x1F"), json!(31));
        assert_eq!(plain_value("-12"), json!(-12));
        assert_eq!(plain_value("1.5"), json!(1.5));
        assert_eq!(plain_value("1.0.0"), json!("1.0.0"));
        assert_eq!(plain_value("18446744073709551615"), json!(u64::MAX));
        // Too big for an f64: no JSON form either.
        assert_eq!(
            resolve("1e400", ScalarStyle::Plain, None),
            Err(ScalarError::NonJsonNumber)
        );
    }

    #[test]
    fn quoted_scalars_are_strings() {
        assert_eq!(
            resolve("true", ScalarStyle::DoubleQuoted, None),
            Ok(json!("true"))
        );
        assert_eq!(resolve("", ScalarStyle::SingleQuoted, None), Ok(json!("")));
        assert_eq!(resolve("12", ScalarStyle::Literal, None), Ok(json!("12")));
    }

    #[test]
    fn non_json_numbers_are_refused() {
        for text in [".inf", "-.inf", ".NaN", "+.INF"] {
            assert_eq!(
                resolve(text, ScalarStyle::Plain, None),
                Err(ScalarError::NonJsonNumber),
                "{text}"
            );
        }
        assert_eq!(
            resolve(".inf", ScalarStyle::Plain, Some(&tag(CORE_HANDLE, "str"))),
            Ok(json!(".inf"))
        );
    }

    #[test]
    fn core_tags_are_honoured() {
        let core =
            |suffix, text| resolve(text, ScalarStyle::Plain, Some(&tag(CORE_HANDLE, suffix)));
        assert_eq!(core("str", "1"), Ok(json!("1")));
        assert_eq!(core("int", "0x10"), Ok(json!(16)));
        assert_eq!(core("float", "1"), Ok(json!(1.0)));
        assert_eq!(core("bool", "false"), Ok(json!(false)));
        assert_eq!(core("null", "~"), Ok(Value::Null));
        assert_eq!(core("binary", "aGk="), Ok(json!("aGk=")));
        assert_eq!(
            core("int", "abc"),
            Err(ScalarError::TagMismatch {
                tag: "!!int".into()
            })
        );
        assert_eq!(
            core("int", "1.5"),
            Err(ScalarError::TagMismatch {
                tag: "!!int".into()
            })
        );
        assert_eq!(
            core("bool", "yes"),
            Err(ScalarError::TagMismatch {
                tag: "!!bool".into()
            })
        );
        assert_eq!(core("float", ".nan"), Err(ScalarError::NonJsonNumber));
        // An explicit core tag wins over quoting.
        let quoted = resolve(
            "12",
            ScalarStyle::DoubleQuoted,
            Some(&tag(CORE_HANDLE, "int")),
        );
        assert_eq!(quoted, Ok(json!(12)));
    }

    #[test]
    fn other_tags_are_ignored_and_bang_forces_a_string() {
        assert_eq!(
            resolve("12", ScalarStyle::Plain, Some(&tag("!", "custom"))),
            Ok(json!(12))
        );
        assert_eq!(
            resolve("12", ScalarStyle::Plain, Some(&tag("", "!"))),
            Ok(json!("12"))
        );
    }
}
