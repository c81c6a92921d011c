//! `ref::undeclared-secret`: secrets read by expressions (`$secrets.NAME`, `$secrets["NAME"]`)
//! or by secret-based authentication (`basic: { use: NAME }`) must be listed in `use.secrets`.

use std::ops::Range;

use super::{Context, quoted_list};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Span;

/// The secret names a jq expression reads directly, each with its byte range in `code`.
///
/// A lexical scan: `$secrets` followed by `.name`, `."name"`, `["name"]` or `.["name"]`.
/// Access through a computed key (`$secrets[$k]`) or a later pipe (`$secrets | .name`) is not
/// seen (a missed finding, never a false one). The scan does not tell code from the inside of a
/// jq string literal, so the literal text `"$secrets.x"` would count: rare enough to accept.
pub(crate) fn mentions(code: &str) -> Vec<(String, Range<usize>)> {
    const VAR: &str = "$secrets";
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code.get(from..).and_then(|rest| rest.find(VAR)) {
        let mut at = from + found + VAR.len();
        from = at;
        if bytes.get(at).is_some_and(|&b| is_ident(b)) {
            continue; // `$secretsX` is another variable.
        }
        at = skip_spaces(bytes, at);
        let quoted_index = |at: usize| -> Option<Range<usize>> {
            if bytes.get(at) != Some(&b'[') {
                return None;
            }
            let range = quoted(bytes, skip_spaces(bytes, at + 1))?;
            let close = skip_spaces(bytes, range.end + 1);
            (bytes.get(close) == Some(&b']')).then_some(range)
        };
        let range = match bytes.get(at) {
            Some(b'.') => {
                let after = skip_spaces(bytes, at + 1);
                match bytes.get(after) {
                    Some(b'"') => quoted(bytes, after),
                    Some(b'[') => quoted_index(after),
                    Some(&b) if is_ident_start(b) => {
                        let end = bytes
                            .get(after..)
                            .and_then(|rest| rest.iter().position(|&b| !is_ident(b)))
                            .map_or(bytes.len(), |len| after + len);
                        Some(after..end)
                    }
                    _ => None,
                }
            }
            Some(b'[') => quoted_index(at),
            _ => None,
        };
        if let Some(range) = range
            && let Some(name) = code.get(range.clone())
        {
            out.push((name.to_string(), range));
        }
    }
    out
}

/// The range of the characters between the quotes of a simple string starting at `at` (a `"`);
/// `None` for escapes or interpolation, whose name is not known statically.
fn quoted(bytes: &[u8], at: usize) -> Option<Range<usize>> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let len = bytes.get(start..)?.iter().position(|&b| b == b'"')?;
    let inner = bytes.get(start..start + len)?;
    if inner.is_empty() || inner.contains(&b'\\') {
        return None;
    }
    Some(start..start + len)
}

fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reports `name` unless `use.secrets` declares it. `span`, when known, points at the name.
pub(crate) fn check_declared(cx: &mut Context, name: &str, pointer: &str, span: Option<Span>) {
    let declared = &cx.document.use_.secrets;
    if cx.document.use_.has_secret(name) {
        return;
    }
    let names: Vec<&str> = declared.iter().map(|secret| secret.name.as_str()).collect();
    let help = match did_you_mean(name, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if names.is_empty() => {
            format!("declare it: `use: {{ secrets: [ {name} ] }}`")
        }
        None => format!(
            "`use.secrets` declares {}; add `{name}` to it",
            quoted_list(names.iter().copied())
        ),
    };
    let mut diagnostic = Diagnostic::error(
        "ref::undeclared-secret",
        format!("secret `{name}` is not declared in `use.secrets`"),
    )
    .at_pointer(pointer)
    .with_label("undeclared secret")
    .with_help(help);
    if let Some(span) = span {
        diagnostic = diagnostic.with_span(span);
    }
    cx.push(diagnostic);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::test_support::{analyze_yaml, codes, doc, pointed_text};

    fn names(code: &str) -> Vec<(String, &str)> {
        mentions(code)
            .into_iter()
            .map(|(name, range)| (name, code.get(range).unwrap_or("?")))
            .collect()
    }

    #[test]
    fn finds_every_written_form() {
        let found = names(
            r#"$secrets.a + $secrets."b c" + $secrets["d"] + $secrets.["e"] + $secrets . f + $secrets[ "g" ]"#,
        );
        let just: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(just, ["a", "b c", "d", "e", "f", "g"]);
        assert!(found.iter().all(|(n, at)| n == at));
    }

    #[test]
    fn ignores_other_variables_and_dynamic_keys() {
        assert!(names("$secretsx.a + $secrets[$k] + $secrets | .a").is_empty());
        assert!(names(r#"$secrets["a\"b"]"#).is_empty());
        assert!(names("$secrets").is_empty());
        assert!(names("$secrets.").is_empty());
    }

    #[test]
    fn expression_and_authentication_secrets_must_be_declared() {
        let text = doc(
            "use:\n  secrets: [apiKey]\ndo:\n  - a:\n      set:\n        k: ${ $secrets.apiKye }\n        ok: ${ $secrets.apiKey }\n  - b:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: https://example.com\n          authentication:\n            bearer:\n              use: token\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(
            codes(&found),
            ["ref::undeclared-secret", "ref::undeclared-secret"]
        );
        let pointed: Vec<String> = found.iter().map(|d| pointed_text(&text, d)).collect();
        assert!(pointed.contains(&"apiKye".to_string()), "{pointed:?}");
        assert!(pointed.contains(&"token".to_string()), "{pointed:?}");
        let helps: Vec<&str> = found.iter().filter_map(|d| d.help.as_deref()).collect();
        assert!(helps.contains(&"did you mean `apiKey`?"), "{helps:?}");
    }
}
