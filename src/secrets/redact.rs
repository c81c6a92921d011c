//! The `Redactor`: replaces every occurrence of a secret value with `***` in what is shown or
//! written (text, JSON, engine values, errors), never in the data the workflow computes with.
//! Built once per run from the declared secrets' values.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use jaq_json::Rc;
use memchr::memmem::Finder;
use serde_json::Value;

use crate::expr::Val;
use crate::problem::WorkflowError;

/// What a secret value is replaced with.
pub const MASK: &str = "***";

/// Secret strings shorter than this many characters are not masked inside longer text (free
/// text, or a longer string value): `on`, `1` or `abc` would mask ordinary words and numbers
/// everywhere, and hiding them protects nothing. A string value that *equals* a shorter secret
/// is still masked, since replacing a whole value cannot damage anything around it.
pub const MIN_SECRET_CHARS: usize = 4;

/// Base64 patterns shorter than this are not searched: a few base64 characters occur by chance.
const MIN_BASE64_CHARS: usize = 8;

/// Masks secret values. Holds one searcher per distinct form of a secret (as written, JSON
/// escaped, base64 in every alignment) and looks at percent-decoded text too.
pub struct Redactor {
    finders: Vec<Finder<'static>>,
    /// Every secret string, whatever its length, for whole-value masking.
    exact: HashSet<String>,
    /// The secrets as written (not their encodings), for the truncation-edge guard.
    plain: Vec<String>,
    /// Whether some secret reads like a number, so numbers must be looked at too.
    numeric: bool,
    /// Whether some secret holds a space (form encoding writes it as `+`).
    spaced: bool,
}

impl Redactor {
    /// A redactor for `values`: every string leaf of every value (objects and arrays are walked;
    /// numbers count as their decimal text), and the HTTP Basic credentials
    /// (`base64(username:password)`) of every object holding a `username` and a `password`.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a Value>) -> Redactor {
        let mut all: Vec<String> = Vec::new();
        let mut basic: Vec<String> = Vec::new();
        for value in values {
            collect_strings(value, &mut all);
            collect_basic(value, &mut basic);
        }
        all.retain(|text| !text.is_empty());
        let exact: HashSet<String> = all.iter().cloned().collect();
        let mut plain: Vec<String> = all
            .into_iter()
            .filter(|text| text.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        plain.sort();
        plain.dedup();
        let mut patterns: Vec<String> = plain.clone();
        for text in &plain {
            if let Ok(json) = serde_json::to_string(text)
                && let Some(inner) = json.get(1..json.len().saturating_sub(1))
                && inner != text
            {
                patterns.push(inner.to_string());
            }
            patterns.extend(base64_forms(text.as_bytes()));
        }
        patterns.extend(basic);
        patterns.sort();
        patterns.dedup();
        let numeric = plain.iter().any(|text| looks_numeric(text));
        let spaced = plain.iter().any(|text| text.contains(' '));
        let finders = patterns
            .iter()
            .map(|pattern| Finder::new(pattern.as_bytes()).into_owned())
            .collect();
        Redactor {
            finders,
            exact,
            plain,
            numeric,
            spaced,
        }
    }

    /// Whether there is anything to redact. When not, callers skip redaction entirely.
    pub fn is_active(&self) -> bool {
        !self.exact.is_empty()
    }

    /// `text` with every secret masked; borrowed when nothing was found.
    pub fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.bytes(text.as_bytes()) {
            // Matches of UTF-8 secrets in UTF-8 text start and end on character boundaries
            // (a percent-encoded match starts and ends on ASCII).
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

    /// A string value: masked whole when it equals a secret (of any length), else every secret
    /// inside it.
    fn value_text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.exact.contains(text) {
            Cow::Borrowed(MASK)
        } else {
            self.text(text)
        }
    }

    /// `text` masked, then cut to `max_chars` characters with `ellipsis` appended when it was
    /// longer. Masking comes first, so a secret that straddles the cut is never left half
    /// shown; and a kept tail that begins a secret (the text was already cut before it came
    /// here, say a response body at its size limit) is masked too.
    pub fn shorten(&self, text: &str, max_chars: usize, ellipsis: &str) -> String {
        let masked = self.text(text);
        let cut = masked.chars().count() > max_chars;
        let mut kept: String = if cut {
            masked.chars().take(max_chars).collect()
        } else {
            masked.into_owned()
        };
        self.mask_partial_tail(&mut kept);
        if cut {
            kept.push_str(ellipsis);
        }
        kept
    }

    /// Masks the end of `text` when it is the beginning of a secret (at least
    /// [`MIN_SECRET_CHARS`] characters of it, or half of it when that is more).
    fn mask_partial_tail(&self, text: &mut String) {
        let mut longest = 0;
        for secret in &self.plain {
            let floor = MIN_SECRET_CHARS.max(secret.len() / 2);
            let most = secret.len().min(text.len());
            for len in (floor..=most).rev() {
                if secret.is_char_boundary(len)
                    && text.is_char_boundary(text.len() - len)
                    && text.as_bytes().ends_with(&secret.as_bytes()[..len])
                {
                    longest = longest.max(len);
                    break;
                }
            }
        }
        if longest > 0 {
            text.truncate(text.len() - longest);
            text.push_str(MASK);
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

    /// The merged byte ranges where secrets occur, in order: as written, and in the
    /// percent-decoded text (both `%2F` and, for secrets with spaces, form encoding's `+`),
    /// which covers every mix of encoded and plain characters that URLs and query strings take.
    fn spans(&self, haystack: &[u8]) -> Vec<Range<usize>> {
        let mut found: Vec<Range<usize>> = Vec::new();
        self.find_in(haystack, &mut found, |at| at, |at| at + 1);
        if memchr::memchr(b'%', haystack).is_some()
            || (self.spaced && memchr::memchr(b'+', haystack).is_some())
        {
            for plus_is_space in [false, true] {
                if plus_is_space && !self.spaced {
                    continue;
                }
                let (decoded, origin) = percent_decode(haystack, plus_is_space);
                self.find_in(
                    &decoded,
                    &mut found,
                    |at| origin.get(at).map_or(haystack.len(), |o| o.start),
                    |at| origin.get(at).map_or(haystack.len(), |o| o.end),
                );
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

    /// Every occurrence of every pattern in `haystack`, mapped to the original text by
    /// `start_of` (a byte's first original byte) and `end_of` (past its last one).
    fn find_in(
        &self,
        haystack: &[u8],
        found: &mut Vec<Range<usize>>,
        start_of: impl Fn(usize) -> usize,
        end_of: impl Fn(usize) -> usize,
    ) {
        for finder in &self.finders {
            let mut from = 0;
            while let Some(at) = haystack.get(from..).and_then(|rest| finder.find(rest)) {
                let start = from + at;
                let last = start + finder.needle().len() - 1;
                found.push(start_of(start)..end_of(last));
                // One byte on, not past the match: `aaaa` occurs twice in `aaaaa`.
                from = start + 1;
            }
        }
    }

    /// Masks a JSON value in place, at the value level: string values are masked as text, a
    /// number equal to a numeric secret becomes the string `"***"`; object keys, `true`,
    /// `false`, `null` and the structure are never touched, so JSON stays JSON and keeps its
    /// shape whatever a secret's value is.
    pub fn json(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(masked) = self.value_text(text) {
                    *text = masked;
                } else if self.exact.contains(text.as_str()) {
                    *text = MASK.to_string();
                }
            }
            Value::Number(number) if self.numeric => {
                if self.number_shows_secret(&number.to_string()) {
                    *value = Value::String(MASK.to_string());
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.json(item)),
            // Keys are the shape of the data (and of the output contract: a secret equal to
            // `status` must not rename a key): never rewritten.
            Value::Object(map) => map.values_mut().for_each(|item| self.json(item)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Whether a number, as text, is or holds a secret. Only secrets of [`MIN_SECRET_CHARS`]
    /// or more count: a secret `7` must not turn every 7 of an output into `"***"`.
    fn number_shows_secret(&self, text: &str) -> bool {
        (text.len() >= MIN_SECRET_CHARS && self.exact.contains(text))
            || !self.spans(text.as_bytes()).is_empty()
    }

    /// A string value's bytes masked, or `None` when unchanged.
    fn value_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        match std::str::from_utf8(bytes) {
            Ok(text) if self.exact.contains(text) => Some(MASK.as_bytes().to_vec()),
            _ => self.bytes(bytes),
        }
    }

    /// An engine value with every secret masked, or `None` when it holds none (nothing is copied
    /// then: event payloads are redacted on every task). Value level, like [`Redactor::json`].
    pub(crate) fn val(&self, value: &Val) -> Option<Val> {
        match value {
            Val::TStr(bytes) => self.value_bytes(bytes).map(Val::utf8_str),
            Val::BStr(bytes) => self.value_bytes(bytes).map(Val::byte_str),
            Val::Num(number) if self.numeric => self
                .number_shows_secret(&number.to_string())
                .then(|| Val::from(MASK.to_string())),
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
                // Keys are never rewritten (see `json`).
                for (at, (key, item)) in map.iter().enumerate() {
                    let masked_item = self.val(item);
                    if changed.is_none() && masked_item.is_some() {
                        let before = map.iter().take(at);
                        changed = Some(before.map(|(k, v)| (k.clone(), v.clone())).collect());
                    }
                    if let Some(copy) = &mut changed {
                        copy.insert(key.clone(), masked_item.unwrap_or_else(|| item.clone()));
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

/// Whether a secret's text reads like a JSON number.
fn looks_numeric(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
}

/// `bytes` with `%XX` escapes (and, with `plus_is_space`, `+`) decoded, and for each decoded
/// byte the range of original bytes it came from.
fn percent_decode(bytes: &[u8], plus_is_space: bool) -> (Vec<u8>, Vec<Range<usize>>) {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut origin = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let escaped = (byte == b'%')
            .then(|| Some(hex(*bytes.get(at + 1)?)? * 16 + hex(*bytes.get(at + 2)?)?))
            .flatten();
        match escaped {
            Some(value) => {
                decoded.push(u8::try_from(value).unwrap_or(b'%'));
                origin.push(at..at + 3);
                at += 3;
            }
            None => {
                decoded.push(if plus_is_space && byte == b'+' {
                    b' '
                } else {
                    byte
                });
                origin.push(at..at + 1);
                at += 1;
            }
        }
    }
    (decoded, origin)
}

/// The base64 texts that show `secret` inside any base64 string: for each of the three
/// alignments it can start at, and in both alphabets (standard and URL-safe, so also JWT-style
/// unpadded text), the characters that depend on the secret's bytes alone.
fn base64_forms(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let mut forms = Vec::new();
    for engine in [&STANDARD, &URL_SAFE] {
        // Whole, padded: how `Authorization: Basic` or a data URI carries a value alone.
        forms.push(engine.encode(secret));
        for offset in 0..3usize {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(secret);
            let encoded = engine.encode(&shifted);
            // Characters mixing the leading filler bits, and the last group (which mixes in
            // whatever follows the secret), are left out.
            let skip = [0, 2, 3][offset];
            let whole_groups = shifted.len() / 3 * 4;
            if let Some(inner) = encoded.get(skip..whole_groups)
                && inner.len() >= MIN_BASE64_CHARS
            {
                forms.push(inner.to_string());
            }
        }
    }
    forms
}

/// The string leaves of a secret value (numbers as their text).
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Number(number) => out.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Object(map) => map.values().for_each(|item| collect_strings(item, out)),
        Value::Null | Value::Bool(_) => {}
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
    use crate::problem::ErrorKind;
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
    fn short_values_are_masked_only_as_whole_values() {
        let r = redactor(&[json!("abc"), json!(""), json!({"k": "no"})]);
        assert!(r.is_active());
        assert_eq!(r.text("abc no"), "abc no");
        let mut value = json!({"a": "abc", "b": "abc no", "c": ["no", true]});
        r.json(&mut value);
        assert_eq!(
            value,
            json!({"a": "***", "b": "abc no", "c": ["***", true]})
        );
        // Four characters, not four bytes: `héé` is five bytes but three characters.
        assert_eq!(redactor(&[json!("héé")]).text("héé"), "héé");
        assert_eq!(redactor(&[json!("abcd")]).text("abcd"), "***");
        assert!(!redactor(&[json!("")]).is_active());
    }

    #[test]
    fn json_stays_json_whatever_the_secret() {
        let r = redactor(&[json!("true"), json!("status"), json!("null")]);
        let mut value = json!({"status": "ok", "ok": true, "v": null, "w": "status"});
        r.json(&mut value);
        // Keys and literals stay; the string values equal to a secret do not.
        assert_eq!(
            value,
            json!({"status": "ok", "ok": true, "v": null, "w": "***"})
        );
    }

    #[test]
    fn percent_encoded_forms_are_masked() {
        let r = redactor(&[json!("sk_live/AbCd+Ef=Gh"), json!("two words here")]);
        for shown in [
            "https://x/q?key=sk_live%2FAbCd%2BEf%3DGh&x=1",
            "https://x/q?key=sk_live%2fAbCd%2bEf%3dGh&x=1",
            "https://x/q?key=sk_live/AbCd%2BEf%3DGh&x=1",
            "https://x/q?key=sk_live/AbCd+Ef=Gh&x=1",
        ] {
            assert_eq!(r.text(shown), "https://x/q?key=***&x=1", "{shown}");
        }
        assert_eq!(r.text("q=two+words+here!"), "q=***!");
        assert_eq!(r.text("q=two%20words%20here!"), "q=***!");
        // A lone `%` or a `+` elsewhere changes nothing.
        assert_eq!(r.text("100% a+b"), "100% a+b");
    }

    #[test]
    fn base64_forms_are_masked_in_any_alignment() {
        use base64::Engine as _;
        let secret = "correct-horse-battery";
        let r = redactor(&[json!(secret)]);
        for prefix in ["", "u:", "ab:", "user:"] {
            for engine in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let encoded = engine.encode(format!("{prefix}{secret}"));
                let shown = r.text(&encoded).into_owned();
                assert!(shown.contains(MASK), "{prefix}: {encoded} -> {shown}");
            }
        }
    }

    #[test]
    fn numbers_are_masked_like_the_same_text() {
        let from_file = redactor(&[json!(98765432)]);
        let from_env = redactor(&[json!("98765432")]);
        for r in [&from_file, &from_env] {
            assert_eq!(r.text("pin 98765432"), "pin ***");
            let mut value = json!({"n": 98765432, "s": "98765432", "m": 7});
            r.json(&mut value);
            assert_eq!(value, json!({"n": "***", "s": "***", "m": 7}));
        }
        // A short number is not masked inside numbers: `7` would hide every 7.
        let short = redactor(&[json!(7)]);
        let mut value = json!({"n": 7});
        short.json(&mut value);
        assert_eq!(value, json!({"n": 7}));
    }

    #[test]
    fn shortening_masks_first_and_leaves_no_partial_secret() {
        let r = redactor(&[json!("SuperSecretToken")]);
        let text = r#"{"token":"SuperSecretToken","more":"x"}"#;
        // Cut in the middle of the secret: it was masked before the cut.
        assert_eq!(r.shorten(text, 16, "..."), r#"{"token":"***","..."#);
        // A text that already ends in the secret's beginning.
        assert_eq!(r.shorten("body: SuperSecr", 100, "..."), "body: ***");
        assert_eq!(r.shorten("plain text", 100, "..."), "plain text");
        assert_eq!(r.shorten("abcdefgh", 4, "…"), "abcd…");
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
            // The port too: a number in a secret is as secret as its text.
            "***:*** *** ***"
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
            json!({"k3y-value": ["a ***", "***", 1234, true, null], "plain": {"deep": "x***x"}})
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
            Some(json!({"a": [1, "x ***", {"s3cret": "y"}], "n": 2}))
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
