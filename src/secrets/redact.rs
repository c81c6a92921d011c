//! The `Redactor`: replaces every occurrence of a secret value with `***` in what is shown or
//! written (text, JSON, engine values, errors), never in the data the workflow computes with.
//! Built once per run from the declared secrets' values.

use std::borrow::Cow;
use std::ops::Range;

use jaq_json::Rc;
use memchr::memmem::Finder;
use serde_json::Value;

use crate::expr::Val;
use crate::runtime::error::WorkflowError;

/// What a secret value is replaced with.
pub const MASK: &str = "***";

/// Secret strings shorter than this many characters are not redacted: `on`, `1` or `abc` would
/// mask ordinary words and numbers everywhere, and hiding them protects nothing.
pub const MIN_SECRET_CHARS: usize = 4;

/// Masks secret values. Holds one searcher per distinct secret string (and per JSON-escaped
/// form of one, for text that carries JSON).
pub struct Redactor {
    finders: Vec<Finder<'static>>,
    /// Whether some secret reads like a number, so numbers must be looked at too.
    numeric: bool,
}

impl Redactor {
    /// A redactor for `values`: every string leaf of every value (objects and arrays are walked)
    /// of at least [`MIN_SECRET_CHARS`] characters, and the HTTP Basic credentials
    /// (`base64(username:password)`) of every object holding a `username` and a `password`.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a Value>) -> Redactor {
        let mut patterns: Vec<String> = Vec::new();
        for value in values {
            collect_strings(value, &mut patterns);
            collect_basic(value, &mut patterns);
        }
        let mut escaped: Vec<String> = patterns
            .iter()
            .filter_map(|text| {
                let json = serde_json::to_string(text).ok()?;
                let inner = json.get(1..json.len().saturating_sub(1))?;
                (inner != text).then(|| inner.to_string())
            })
            .collect();
        patterns.append(&mut escaped);
        patterns.sort();
        patterns.dedup();
        let numeric = patterns.iter().any(|pattern| {
            pattern
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        });
        let finders = patterns
            .iter()
            .map(|pattern| Finder::new(pattern.as_bytes()).into_owned())
            .collect();
        Redactor { finders, numeric }
    }

    /// Whether there is anything to redact. When not, callers skip redaction entirely.
    pub fn is_active(&self) -> bool {
        !self.finders.is_empty()
    }

    /// `text` with every secret masked; borrowed when nothing was found.
    pub fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.bytes(text.as_bytes()) {
            // Matches of UTF-8 secrets in UTF-8 text start and end on character boundaries.
            Some(masked) => Cow::Owned(
                String::from_utf8(masked)
                    .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
            ),
            None => Cow::Borrowed(text),
        }
    }

    /// Masks the secrets of `text` in place.
    pub fn string(&self, text: &mut String) {
        if let Cow::Owned(masked) = self.text(text) {
            *text = masked;
        }
    }

    /// `bytes` with every secret masked, or `None` when none occurs. Overlapping occurrences
    /// (of one secret or of two) are masked as one.
    pub fn bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let spans = self.spans(bytes);
        if spans.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut from = 0;
        for span in spans {
            out.extend_from_slice(bytes.get(from..span.start).unwrap_or_default());
            out.extend_from_slice(MASK.as_bytes());
            from = span.end;
        }
        out.extend_from_slice(bytes.get(from..).unwrap_or_default());
        Some(out)
    }

    /// The merged byte ranges where secrets occur, in order.
    fn spans(&self, haystack: &[u8]) -> Vec<Range<usize>> {
        let mut found: Vec<Range<usize>> = Vec::new();
        for finder in &self.finders {
            let mut from = 0;
            while let Some(at) = haystack.get(from..).and_then(|rest| finder.find(rest)) {
                let start = from + at;
                found.push(start..start + finder.needle().len());
                // One byte on, not past the match: `aaaa` occurs twice in `aaaaa`.
                from = start + 1;
            }
        }
        found.sort_by_key(|span| span.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(found.len());
        for span in found {
            match merged.last_mut() {
                Some(last) if span.start < last.end => last.end = last.end.max(span.end),
                _ => merged.push(span),
            }
        }
        merged
    }

    /// Masks every string of a JSON value in place, object keys included.
    pub fn json(&self, value: &mut Value) {
        match value {
            Value::String(text) => self.string(text),
            Value::Number(number) if self.numeric => {
                if let Cow::Owned(masked) = self.text(&number.to_string()) {
                    *value = Value::String(masked);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.json(item)),
            Value::Object(map) => {
                let keys_change = map.keys().any(|key| !self.spans(key.as_bytes()).is_empty());
                if keys_change {
                    let entries = std::mem::take(map);
                    for (key, value) in entries {
                        map.insert(self.text(&key).into_owned(), value);
                    }
                }
                map.values_mut().for_each(|item| self.json(item));
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// An engine value with every secret masked, or `None` when it holds none (nothing is copied
    /// then: event payloads are redacted on every task).
    pub(crate) fn val(&self, value: &Val) -> Option<Val> {
        match value {
            Val::TStr(bytes) => self.bytes(bytes).map(Val::utf8_str),
            Val::BStr(bytes) => self.bytes(bytes).map(Val::byte_str),
            Val::Num(number) if self.numeric => match self.text(&number.to_string()) {
                Cow::Owned(masked) => Some(Val::from(masked)),
                Cow::Borrowed(_) => None,
            },
            Val::Arr(items) => {
                let mut changed: Option<Vec<Val>> = None;
                for (at, item) in items.iter().enumerate() {
                    if let Some(masked) = self.val(item) {
                        let copy = changed.get_or_insert_with(|| items.to_vec());
                        if let Some(slot) = copy.get_mut(at) {
                            *slot = masked;
                        }
                    }
                }
                changed.map(|items| Val::Arr(Rc::new(items)))
            }
            Val::Obj(map) => {
                let mut changed: Option<jaq_json::Map> = None;
                for (at, (key, item)) in map.iter().enumerate() {
                    let (masked_key, masked_item) = (self.val(key), self.val(item));
                    if changed.is_none() && (masked_key.is_some() || masked_item.is_some()) {
                        let before = map.iter().take(at);
                        changed = Some(before.map(|(k, v)| (k.clone(), v.clone())).collect());
                    }
                    if let Some(copy) = &mut changed {
                        copy.insert(
                            masked_key.unwrap_or_else(|| key.clone()),
                            masked_item.unwrap_or_else(|| item.clone()),
                        );
                    }
                }
                changed.map(Val::obj)
            }
            Val::Null | Val::Bool(_) | Val::Num(_) => None,
        }
    }

    /// Masks every text field of a problem-details error.
    pub fn error(&self, error: &mut WorkflowError) {
        self.string(&mut error.type_);
        for text in [&mut error.instance, &mut error.title, &mut error.detail]
            .into_iter()
            .flatten()
        {
            self.string(text);
        }
    }
}

/// The string leaves of a secret value long enough to redact.
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) if text.chars().count() >= MIN_SECRET_CHARS => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Object(map) => map.values().for_each(|item| collect_strings(item, out)),
        _ => {}
    }
}

/// `Authorization: Basic` parameters a secret-based `basic` policy would send: an echoed
/// request header must not reveal what the plain strings would.
fn collect_basic(value: &Value, out: &mut Vec<String>) {
    use base64::Engine as _;
    if let Value::Object(map) = value {
        if let (Some(Value::String(username)), Some(Value::String(password))) =
            (map.get("username"), map.get("password"))
        {
            let pair = format!("{username}:{password}");
            out.push(base64::engine::general_purpose::STANDARD.encode(pair));
        }
        map.values().for_each(|item| collect_basic(item, out));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{from_json, to_json};
    use crate::runtime::error::ErrorKind;
    use serde_json::json;

    fn redactor(values: &[Value]) -> Redactor {
        Redactor::new(values)
    }

    #[test]
    fn every_occurrence_is_masked() {
        let r = redactor(&[json!("hunter2")]);
        assert!(r.is_active());
        assert_eq!(r.text("pw=hunter2; again hunter2."), "pw=***; again ***.");
        assert_eq!(r.text("hunter"), "hunter");
        assert!(matches!(r.text("nothing here"), Cow::Borrowed(_)));
        assert_eq!(r.text("hunter2hunter2"), "******");
    }

    #[test]
    fn short_values_are_ignored() {
        let r = redactor(&[json!("abc"), json!(""), json!({"k": "no"})]);
        assert!(!r.is_active());
        assert_eq!(r.text("abc no"), "abc no");
        // Four characters, not four bytes: `héé` is five bytes but three characters.
        assert!(!redactor(&[json!("héé")]).is_active());
        assert!(redactor(&[json!("abcd")]).is_active());
    }

    #[test]
    fn overlapping_occurrences_are_masked_as_one() {
        let r = redactor(&[json!("abcdef"), json!("defghi")]);
        assert_eq!(r.text("xxabcdefghiyy"), "xx***yy");
        // A secret inside another.
        let r = redactor(&[json!("secret-token"), json!("token")]);
        assert_eq!(r.text("a secret-token and a token"), "a *** and a ***");
        // Overlapping occurrences of one secret.
        let r = redactor(&[json!("aaaa")]);
        assert_eq!(r.text("baaaaaab"), "b***b");
    }

    #[test]
    fn object_secrets_mask_each_string_leaf() {
        let r = redactor(&[
            json!({"username": "ada-lovelace", "password": "s3cr3t!!", "port": 5432, "list": ["tok-xyz"]}),
        ]);
        assert_eq!(
            r.text("ada-lovelace:s3cr3t!! tok-xyz 5432"),
            "***:*** *** 5432"
        );
    }

    #[test]
    fn basic_credentials_of_object_secrets_are_masked() {
        let r = redactor(&[json!({"creds": {"username": "ada", "password": "pw"}})]);
        // `ada` and `pw` are too short alone, but `Basic YWRhOnB3` would still tell them.
        assert!(r.is_active());
        assert_eq!(
            r.text("Authorization: Basic YWRhOnB3"),
            "Authorization: Basic ***"
        );
        assert_eq!(r.text("ada pw"), "ada pw");
    }

    #[test]
    fn unicode_secrets_and_text() {
        let r = redactor(&[json!("pässwörd🔑")]);
        assert_eq!(r.text("→pässwörd🔑←"), "→***←");
        assert_eq!(r.text("ü pässwörd ü"), "ü pässwörd ü");
    }

    #[test]
    fn json_escaped_forms_are_masked_in_text() {
        let r = redactor(&[json!("line1\nline2\"q")]);
        let shown = serde_json::to_string(&json!({"v": "line1\nline2\"q"})).unwrap_or_default();
        assert_eq!(r.text(&shown), r#"{"v":"***"}"#);
    }

    #[test]
    fn json_values_keys_and_numbers() {
        let r = redactor(&[json!("k3y-value"), json!("12345678")]);
        let mut value = json!({
            "k3y-value": ["a k3y-value", 12345678, 1234, true, null],
            "plain": {"deep": "xk3y-valuex"}
        });
        r.json(&mut value);
        assert_eq!(
            value,
            json!({"***": ["a ***", "***", 1234, true, null], "plain": {"deep": "x***x"}})
        );
    }

    #[test]
    fn engine_values_are_copied_only_when_they_change() {
        let r = redactor(&[json!("s3cret")]);
        let clean = from_json(&json!({"a": [1, "x", {"b": "y"}]}));
        assert!(r.val(&clean).is_none());
        let dirty = from_json(&json!({"a": [1, "x s3cret", {"s3cret": "y"}], "n": 2}));
        let masked = r.val(&dirty).map(|v| to_json(&v));
        assert_eq!(
            masked,
            Some(json!({"a": [1, "x ***", {"***": "y"}], "n": 2}))
        );
        let bytes = Val::byte_str(b"\xffs3cret".to_vec());
        assert!(matches!(r.val(&bytes), Some(Val::BStr(b)) if b[..] == b"\xff***"[..]));
    }

    #[test]
    fn errors_mask_every_text_field() {
        let r = redactor(&[json!("p4ssword")]);
        let mut error = WorkflowError::new(ErrorKind::Runtime, "bad p4ssword")
            .with_detail("the password p4ssword was refused")
            .at_instance("/do/0/x");
        error.type_ = "urn:p4ssword".into();
        r.error(&mut error);
        assert_eq!(error.title.as_deref(), Some("bad ***"));
        assert_eq!(
            error.detail.as_deref(),
            Some("the password *** was refused")
        );
        assert_eq!(error.instance.as_deref(), Some("/do/0/x"));
        assert_eq!(error.type_, "urn:***");
    }
}
