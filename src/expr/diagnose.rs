//! Compile errors: jaq's lex, parse and "undefined name" errors turned into readable messages with
//! byte ranges into the user's jq code.

use crate::diagnostic::did_you_mean;
use jaq_core::compile::Undefined;
use jaq_core::load::{self, lex, parse};
use std::ops::Range;

/// A problem in jq code, located by a byte range into that code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// E.g. "undefined variable `$foo`", "undefined function `lenght/0` (did you mean
    /// `length/0`?)", "syntax error: expected term, found `)`".
    pub message: String,
    /// Byte range in the code given to `Expr::compile` (for `Template` errors: in the whole
    /// string, `${` included); empty at the end of the code for "found end of input".
    pub range: Range<usize>,
}

/// Where `part` (a slice jaq took from `code`) sits in `code`. jaq's errors hold slices of the
/// source rather than offsets; a slice from elsewhere (never expected) maps to an empty range at
/// the start instead of a panic.
fn range_of(code: &str, part: &str) -> Range<usize> {
    let base = code.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    match at.checked_sub(base) {
        Some(start) if start + part.len() <= code.len() => start..start + part.len(),
        _ => 0..0,
    }
}

/// The range of the first character at `rest` (a suffix slice of `code`), or the empty range at
/// the end of the code.
fn first_char(code: &str, rest: &str) -> Range<usize> {
    let start = range_of(code, rest).start;
    let len = rest.chars().next().map_or(0, char::len_utf8);
    start..start + len
}

fn found(code: &str, token: &str) -> String {
    if token.is_empty() && range_of(code, token).start >= code.len() {
        "end of input".to_owned()
    } else {
        format!("`{token}`")
    }
}

/// Lex, parse and module errors from jaq's loader.
pub(crate) fn load_errors(code: &str, errs: load::Errors<&str, ()>) -> Vec<CompileError> {
    let mut out = Vec::new();
    for (_file, err) in errs {
        match err {
            load::Error::Io(items) => {
                out.extend(items.into_iter().map(|(path, why)| CompileError {
                    message: format!("cannot load module `{path}`: {why}"),
                    range: range_of(code, path),
                }))
            }
            load::Error::Lex(items) => out.extend(
                items
                    .into_iter()
                    .map(|(expect, rest)| lex_error(code, expect, rest)),
            ),
            load::Error::Parse(items) => {
                out.extend(items.into_iter().map(|(expect, token)| CompileError {
                    message: format!(
                        "syntax error: expected {}, found {}",
                        expected(&expect),
                        found(code, token)
                    ),
                    range: range_of(code, token),
                }))
            }
        }
    }
    if out.is_empty() {
        out.push(CompileError {
            message: "the expression could not be parsed".to_owned(),
            range: 0..code.len(),
        });
    }
    out
}

fn lex_error(code: &str, expect: lex::Expect<&str>, rest: &str) -> CompileError {
    use lex::Expect::*;
    let (message, range) = match expect {
        // An unclosed delimiter is best shown at its opening character.
        Delim(open) => {
            let close = match open {
                "(" => "`)`",
                "[" => "`]`",
                "{" => "`}`",
                "\"" => "closing `\"`",
                _ => "a closing delimiter",
            };
            (
                format!("syntax error: unclosed `{open}`, expected {close}"),
                range_of(code, open),
            )
        }
        Digit => (
            "syntax error: expected a digit".to_owned(),
            first_char(code, rest),
        ),
        Ident => (
            "syntax error: expected an identifier".to_owned(),
            first_char(code, rest),
        ),
        Escape => (
            "syntax error: invalid escape sequence in string".to_owned(),
            first_char(code, rest),
        ),
        Unicode => (
            "syntax error: expected 4 hexadecimal digits of a code point after `\\u`".to_owned(),
            first_char(code, rest),
        ),
        Token => {
            let range = first_char(code, rest);
            let text = code.get(range.clone()).unwrap_or("");
            (
                format!("syntax error: unexpected character `{text}`"),
                range,
            )
        }
        _ => ("syntax error".to_owned(), first_char(code, rest)),
    };
    CompileError { message, range }
}

fn expected(expect: &parse::Expect<&str>) -> String {
    match expect {
        parse::Expect::Just(s) => format!("`{s}`"),
        other => other.as_str().to_owned(),
    }
}

/// Undefined variables, functions, modules and labels, with a suggestion when a close name exists.
pub(crate) fn undefined(
    code: &str,
    errs: jaq_core::compile::Errors<&str, ()>,
    vars: &[&str],
    builtins: &[String],
) -> Vec<CompileError> {
    let var_names: Vec<String> = vars
        .iter()
        .map(|v| format!("${}", v.trim_start_matches('$')))
        .chain(["$ENV".to_owned(), "$__loc__".to_owned()])
        .collect();
    let mut out = Vec::new();
    for (_file, items) in errs {
        for (name, what) in items {
            let message = match what {
                Undefined::Var => {
                    let hint = did_you_mean(name, var_names.iter().map(String::as_str));
                    format!("undefined variable `{name}`{}", hint_text(hint))
                }
                Undefined::Filter(arity) => {
                    let full = format!("{name}/{arity}");
                    // Prefer a builtin taking as many arguments; then any close name.
                    let suffix = format!("/{arity}");
                    let same_arity = builtins
                        .iter()
                        .map(String::as_str)
                        .filter(|b| b.ends_with(&suffix));
                    let hint = did_you_mean(&full, same_arity)
                        .or_else(|| did_you_mean(&full, builtins.iter().map(String::as_str)));
                    format!("undefined function `{full}`{}", hint_text(hint))
                }
                Undefined::Mod => format!("undefined module `{name}`"),
                Undefined::Label => format!("undefined label `{name}`"),
                _ => format!("undefined name `{name}`"),
            };
            out.push(CompileError {
                message,
                range: range_of(code, name),
            });
        }
    }
    out
}

fn hint_text(hint: Option<&str>) -> String {
    hint.map(|h| format!(" (did you mean `{h}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::expr::Expr;

    fn errors(code: &str, vars: &[&str]) -> Vec<(String, std::ops::Range<usize>)> {
        match Expr::compile(code, vars) {
            Ok(_) => panic!("`{code}` should not compile"),
            Err(errs) => errs.into_iter().map(|e| (e.message, e.range)).collect(),
        }
    }

    #[test]
    fn undefined_variable_points_at_it() {
        let errs = errors(".a + $foo", &["input"]);
        assert_eq!(errs, [("undefined variable `$foo`".to_owned(), 5..9)]);
        let errs = errors("$imput.a", &["input", "context"]);
        assert_eq!(
            errs,
            [(
                "undefined variable `$imput` (did you mean `$input`?)".to_owned(),
                0..6
            )]
        );
    }

    #[test]
    fn undefined_function_suggests_a_builtin() {
        let errs = errors(".items | lenght", &[]);
        assert_eq!(
            errs,
            [(
                "undefined function `lenght/0` (did you mean `length/0`?)".to_owned(),
                9..15
            )]
        );
        let errs = errors("formt(\"csv\")", &[]);
        assert_eq!(
            errs,
            [(
                "undefined function `formt/1` (did you mean `format/1`?)".to_owned(),
                0..5
            )]
        );
        let errs = errors("map(.x; .y)", &[]);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].0.starts_with("undefined function `map/2`"),
            "{}",
            errs[0].0
        );
        assert_eq!(errs[0].1, 0..3);
    }

    #[test]
    fn every_undefined_name_is_reported() {
        let errs = errors("$a + $b | nope", &[]);
        let ranges: Vec<_> = errs.iter().map(|e| e.1.clone()).collect();
        assert_eq!(ranges, [0..2, 5..7, 10..14]);
    }

    #[test]
    fn syntax_errors_name_what_was_expected() {
        let errs = errors(".a +", &[]);
        assert_eq!(
            errs,
            [(
                "syntax error: expected term, found end of input".to_owned(),
                4..4
            )]
        );
        let errs = errors("if . then 1", &[]);
        assert_eq!(
            errs,
            [(
                "syntax error: expected else or end, found end of input".to_owned(),
                11..11
            )]
        );
        let errs = errors(".a | )", &[]);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].0.starts_with("syntax error: "), "{}", errs[0].0);
    }

    #[test]
    fn lex_errors_point_at_the_culprit() {
        let errs = errors("(.a | .b", &[]);
        assert_eq!(
            errs,
            [("syntax error: unclosed `(`, expected `)`".to_owned(), 0..1)]
        );
        let errs = errors(".a + \"abc", &[]);
        assert_eq!(
            errs,
            [(
                "syntax error: unclosed `\"`, expected closing `\"`".to_owned(),
                5..6
            )]
        );
        let errs = errors(".a § 1", &[]);
        assert_eq!(errs[0].1, 3..5);
        assert!(errs[0].0.contains('§'), "{}", errs[0].0);
    }

    #[test]
    fn modules_are_not_loaded() {
        let errs = errors("include \"x\"; .", &[]);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].0.starts_with("cannot load module `x`"),
            "{}",
            errs[0].0
        );
    }

    #[test]
    fn unicode_offsets_are_bytes() {
        let errs = errors("\"é\" + $zz", &[]);
        // `"é"` is 4 bytes (é is 2), so `$zz` starts at byte 7, not at character 6.
        assert_eq!(errs, [("undefined variable `$zz`".to_owned(), 7..10)]);
    }
}
