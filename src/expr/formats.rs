//! jq's `@csv`, `@tsv`, `@base32` and `@base32d` formats, which jaq lacks.

use super::jv::Jv;
use super::natives::{short, type_name};
use super::value::to_json;
use jaq_core::{Error, ValR};
use jaq_json::Val;

/// What jq's formats apply first: strings as they are, anything else as its JSON text.
pub(crate) fn text_of(v: &Val) -> String {
    match v {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => to_json(other).to_string(),
    }
}

/// Which of the two row formats.
#[derive(Clone, Copy)]
pub(crate) enum Row {
    Csv,
    Tsv,
}

/// `@csv` / `@tsv`: an array of scalars to one line. Strings are quoted (CSV, `"` doubled) or
/// escaped (TSV: `\\`, `\t`, `\n`, `\r`); numbers and booleans as text; null as an empty field.
pub(crate) fn csv_tsv(input: &Val, row: Row) -> ValR<Jv> {
    let name = match row {
        Row::Csv => "csv",
        Row::Tsv => "tsv",
    };
    let Val::Arr(items) = input else {
        return Err(Error::str(format!(
            "{} ({}) cannot be {name}-formatted, only an array can be",
            type_name(input),
            short(input)
        )));
    };
    let mut fields = Vec::with_capacity(items.len());
    for item in items.iter() {
        let field = match item {
            Val::Null => String::new(),
            Val::Bool(b) => b.to_string(),
            Val::Num(_) => to_json(item).to_string(),
            Val::TStr(_) | Val::BStr(_) => {
                let s = text_of(item);
                match row {
                    Row::Csv => format!("\"{}\"", s.replace('"', "\"\"")),
                    Row::Tsv => s
                        .replace('\\', "\\\\")
                        .replace('\t', "\\t")
                        .replace('\n', "\\n")
                        .replace('\r', "\\r"),
                }
            }
            Val::Arr(_) | Val::Obj(_) => {
                return Err(Error::str(format!(
                    "{} ({}) is not valid in a {name} row",
                    type_name(item),
                    short(item)
                )));
            }
        };
        fields.push(field);
    }
    let sep = match row {
        Row::Csv => ",",
        Row::Tsv => "\t",
    };
    Ok(Jv::from(fields.join(sep)))
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 with `=` padding, as jq's `@base32`.
pub(crate) fn base32_encode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        // Number of output symbols that carry data for a chunk of 1..=5 bytes.
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                let index = ((bits >> (35 - 5 * i)) & 0x1f) as usize;
                out.push(char::from(BASE32[index]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes `@base32` output; padding is optional, other characters are an error.
pub(crate) fn base32_decode(text: &str) -> ValR<Jv> {
    let mut bits: u64 = 0;
    let mut nbits = 0u32;
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    for c in text.trim_end_matches('=').bytes() {
        let Some(value) = BASE32.iter().position(|b| *b == c.to_ascii_uppercase()) else {
            return Err(Error::str(format!(
                "string ({}) is not valid base32 data",
                short(&Val::from(text.to_owned()))
            )));
        };
        bits = (bits << 5) | value as u64;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push(((bits >> nbits) & 0xff) as u8);
        }
    }
    Ok(Jv::from(String::from_utf8_lossy(&out).into_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_util::{fails, run};

    #[test]
    fn csv_and_tsv_follow_the_jq_manual() {
        // jq manual: [1,"foo",null,true] ... @csv / @tsv
        let row = json!([1, "one", "o\"ne", null, true, 1.5]);
        assert_eq!(
            run("@csv", row.clone()),
            json!("1,\"one\",\"o\"\"ne\",,true,1.5")
        );
        let row = json!(["a\tb", "c\\d", "e\nf", 3]);
        assert_eq!(run("@tsv", row), json!("a\\tb\tc\\\\d\te\\nf\t3"));
        assert!(fails("@csv", json!([[1]])).contains("is not valid in a csv row"));
        assert!(fails("@tsv", json!("x")).contains("only an array can be"));
    }

    #[test]
    fn csv_in_string_interpolation_formats_each_part() {
        let out = run(r#"@csv "row: \(.)""#, json!(["a", 1]));
        assert_eq!(out, json!("row: \"a\",1"));
    }

    #[test]
    fn base32_round_trips_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(run("@base32", json!(plain)), json!(coded));
            assert_eq!(run("@base32d", json!(coded)), json!(plain));
        }
        // jq manual: "This is a message" | @base32 | @base32d round trip, unicode included.
        assert_eq!(
            run("@base32 | @base32d", json!("héllo ✓")),
            json!("héllo ✓")
        );
        assert!(fails("@base32d", json!("!!")).contains("not valid base32"));
    }
}
