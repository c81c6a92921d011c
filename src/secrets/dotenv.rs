//! Reading dotenv files (`NAME=value` lines) given to `--secrets`: `#` comments, an optional
//! `export ` prefix, unquoted, 'single-quoted' (literal) and "double-quoted" (escapes) values, and
//! quoted values spanning several lines (private keys). Values are literal: no `${VAR}` expansion.

/// One `NAME=value` entry and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Why a dotenv file was refused, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub(crate) struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// The entries of a dotenv file, in order. A name given twice is refused rather than guessed.
pub(crate) fn parse(text: &str) -> Result<Vec<Entry>, DotenvError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let mut entries: Vec<Entry> = Vec::new();
    let mut next = 0;
    while let Some(&raw) = lines.get(next) {
        let number = next + 1;
        next += 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: String| DotenvError {
            line: number,
            message,
        };
        let line = strip_export(line);
        let Some((key, rest)) = line.split_once('=') else {
            return Err(fail(format!(
                "expected `NAME=value`, found `{}`",
                shorten(line.trim_end())
            )));
        };
        let key = key.trim();
        if !is_name(key) {
            return Err(fail(format!(
                "`{}` is not a valid name (letters, digits, `_`, `.` and `-`, not starting with a digit)",
                shorten(key)
            )));
        }
        let value_text = rest;
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let (value, after) = quoted(rest, quote, &lines, &mut next).ok_or_else(|| {
                    fail(format!("the {quote}-quoted value of `{key}` never ends"))
                })?;
                let after = after.trim_start();
                if !after.is_empty() && !after.starts_with('#') {
                    return Err(DotenvError {
                        line: next,
                        message: format!(
                            "unexpected `{}` after the closing quote of `{key}`",
                            shorten(after)
                        ),
                    });
                }
                value
            }
            _ => unquoted(value_text),
        };
        if let Some(first) = entries.iter().find(|entry| entry.key == key) {
            return Err(fail(format!(
                "`{key}` is set twice (first on line {})",
                first.line
            )));
        }
        entries.push(Entry {
            key: key.to_string(),
            value,
            line: number,
        });
    }
    Ok(entries)
}

/// `export NAME=value` is how shells source such files; the keyword is not part of the name.
fn strip_export(line: &str) -> &str {
    match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    }
}

fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// An unquoted value: up to a `#` that follows whitespace (a comment, as in the shell: `A=#x`
/// is the value `#x`, `A= #x` is empty), trimmed.
fn unquoted(rest: &str) -> String {
    let mut end = rest.len();
    let mut previous_blank = false;
    for (at, c) in rest.char_indices() {
        if c == '#' && previous_blank {
            end = at;
            break;
        }
        previous_blank = c == ' ' || c == '\t';
    }
    rest.get(..end).unwrap_or(rest).trim().to_string()
}

/// A quoted value starting at `rest` (which begins with `quote`), continued on the following
/// lines until the closing quote; `next` moves past the lines consumed. Returns the value and the
/// text after the closing quote, or `None` when the file ends first.
fn quoted<'t>(
    rest: &'t str,
    quote: char,
    lines: &[&'t str],
    next: &mut usize,
) -> Option<(String, &'t str)> {
    let mut value = String::new();
    let mut segment = rest.get(1..).unwrap_or_default();
    loop {
        let mut chars = segment.char_indices();
        while let Some((at, c)) = chars.next() {
            if c == quote {
                return Some((value, segment.get(at + 1..).unwrap_or_default()));
            }
            if c == '\\' && quote == '"' {
                match chars.next() {
                    Some((_, escaped)) => value.push_str(&unescape(escaped)),
                    // A backslash at the end of a line stays as written.
                    None => value.push('\\'),
                }
            } else {
                value.push(c);
            }
        }
        segment = lines.get(*next)?;
        *next += 1;
        value.push('\n');
    }
}

/// The escapes of a double-quoted value; an unknown one is kept as written.
fn unescape(c: char) -> String {
    match c {
        'n' => "\n".into(),
        't' => "\t".into(),
        'r' => "\r".into(),
        '"' | '\\' | '$' | '\'' => c.to_string(),
        other => format!("\\{other}"),
    }
}

/// Long offending text is cut in messages; a malformed line may be a secret value itself.
fn shorten(text: &str) -> String {
    const MAX: usize = 24;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let kept: String = text.chars().take(MAX).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|entry| (entry.key, entry.value))
            .collect()
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn plain_lines_comments_and_export() {
        let text = "# a comment\n\nA=1\n  export B = two words  \nC=x#not-a-comment\nD=y # comment\nE=\nF=#hash\nG= #c\n";
        assert_eq!(
            pairs(text),
            [
                pair("A", "1"),
                pair("B", "two words"),
                pair("C", "x#not-a-comment"),
                pair("D", "y"),
                pair("E", ""),
                pair("F", "#hash"),
                pair("G", ""),
            ]
        );
        // `exporter` is a name, not the keyword.
        assert_eq!(pairs("exporter=1"), [pair("exporter", "1")]);
    }

    #[test]
    fn quotes_single_literal_double_escaped() {
        let text = "S='a \\n # b'\nD=\"x\\ty\\n\\\"q\\\" \\$HOME \\u\" # trailing\nEQ='k=v'\r\n";
        assert_eq!(
            pairs(text),
            [
                pair("S", "a \\n # b"),
                pair("D", "x\ty\n\"q\" $HOME \\u"),
                pair("EQ", "k=v"),
            ]
        );
    }

    #[test]
    fn quoted_values_may_span_lines() {
        let text = "KEY=\"-----BEGIN-----\nabc\n-----END-----\"\nNEXT=1\n";
        let entries = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].value, "-----BEGIN-----\nabc\n-----END-----");
        assert_eq!(entries[1].line, 4);
        assert_eq!(entries[1].key, "NEXT");
    }

    #[test]
    fn unicode_values_are_kept() {
        assert_eq!(
            pairs("P=pässwörd🔑\nQ='日本語'"),
            [pair("P", "pässwörd🔑"), pair("Q", "日本語")]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let error = |text: &str| {
            parse(text)
                .err()
                .unwrap_or_else(|| panic!("accepted {text}"))
        };
        assert_eq!(
            error("A=1\nnot a pair\n"),
            DotenvError {
                line: 2,
                message: "expected `NAME=value`, found `not a pair`".into()
            }
        );
        assert_eq!(error("\n\n1A=x").line, 3);
        assert!(error("1A=x").message.contains("not a valid name"));
        assert!(error("=x").message.contains("`` is not a valid name"));
        let open = error("A=1\nB='never\nclosed\n");
        assert_eq!(open.line, 2);
        assert_eq!(open.message, "the '-quoted value of `B` never ends");
        let after = error("A=\"x\ny\" junk\n");
        assert_eq!(after.line, 2);
        assert!(after.message.contains("unexpected `junk`"), "{after}");
        let twice = error("A=1\n# x\nA=2\n");
        assert_eq!(twice.line, 3);
        assert_eq!(twice.message, "`A` is set twice (first on line 1)");
    }

    #[test]
    fn long_offending_text_is_shortened() {
        let error = parse("abcdefghijklmnopqrstuvwxyz0123456789")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(
            error.message.ends_with("abcdefghijklmnopqrstuvwx…`"),
            "{error}"
        );
    }
}
