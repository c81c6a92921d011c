//! `expr::syntax` / `expr::undefined`: every runtime expression compiles with the variables in
//! scope where it runs, each error pointing inside the expression; and the secrets expressions
//! read are declared.
//!
//! One walk over the raw JSON finds the expressions: fields that are always expressions (decision
//! 3, with or without `${ }`) and every `${ }` string in value positions. Plain strings in value
//! positions are literals in strict mode and best-effort guesses in loose mode; neither is checked.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use serde_json::Value;

use super::scopes::{BASE_VARIABLES, Scopes};
use super::{Context, locate, quoted_list, secrets};
use crate::diagnostic::Diagnostic;
use crate::document::is_runtime_expression;
use crate::expr::{CompileError, Expr};
use crate::pointer;

/// Expressions longer than this are shortened in messages.
const SNIPPET_CHARS: usize = 40;

pub(crate) fn check(cx: &mut Context) {
    let document = cx.document;
    if let Some(evaluate) = &document.evaluate
        && evaluate.language != "jq"
    {
        // An error, not a warning: `run` could not evaluate a single expression, so a document
        // that passed `validate` would be refused by `run` (it compiles expressions as jq).
        cx.push(
            Diagnostic::error(
                "expr::unsupported-language",
                format!(
                    "expressions in `{}` cannot be run: this runtime evaluates jq only",
                    evaluate.language
                ),
            )
            .at_pointer(pointer::join(&evaluate.pointer, "language"))
            .with_label("not jq"),
        );
        return;
    }
    let scopes = Scopes::of(document);
    let mut checker = Checker {
        cx,
        scopes: &scopes,
        compiled: HashMap::new(),
    };
    checker.walk(&document.raw);
}

struct Checker<'c, 'a> {
    cx: &'c mut Context<'a>,
    scopes: &'c Scopes,
    /// Compile errors by (code, variables): documents repeat expressions, and a 10 MB one may
    /// hold thousands of copies of the same few.
    compiled: HashMap<(String, Rc<[String]>), Vec<CompileError>>,
}

impl Checker<'_, '_> {
    /// Visits every value with an explicit stack (deep documents cannot overflow it), carrying
    /// the variables in scope.
    fn walk(&mut self, root: &Value) {
        let base: Rc<[String]> = BASE_VARIABLES.iter().map(|v| v.to_string()).collect();
        let mut stack: Vec<(&Value, String, Rc<[String]>)> = vec![(root, String::new(), base)];
        while let Some((value, at, mut vars)) = stack.pop() {
            if self.scopes.skipped.contains(&at) {
                continue;
            }
            if let Some(added) = self.scopes.added.get(&at) {
                let mut extended: Vec<String> = vars.to_vec();
                extended.extend(added.iter().filter(|v| !vars.contains(v)).cloned());
                vars = extended.into();
            }
            match value {
                Value::String(text) => {
                    let always = self.scopes.always.contains(&at);
                    if always || is_runtime_expression(text) {
                        self.expression(&at, text, &vars);
                    }
                }
                Value::Array(items) => {
                    for (index, item) in items.iter().enumerate().rev() {
                        stack.push((item, pointer::join_index(&at, index), Rc::clone(&vars)));
                    }
                }
                Value::Object(map) => {
                    for (key, item) in map.iter().rev() {
                        stack.push((item, pointer::join(&at, key), Rc::clone(&vars)));
                    }
                }
                _ => {}
            }
        }
    }

    /// Checks the expression `text` (the string at `at`) with `vars` in scope.
    fn expression(&mut self, at: &str, text: &str, vars: &Rc<[String]>) {
        let focus = code_range(text);
        let code = text.get(focus.clone()).unwrap_or_default();
        for (name, range) in secrets::mentions(code) {
            let span = self.locate(at, text, &focus, &range);
            secrets::check_declared(self.cx, &name, at, span);
        }
        if code.is_empty() {
            self.cx.push(
                Diagnostic::error("expr::syntax", "empty expression")
                    .at_pointer(at)
                    .with_label("no jq code here")
                    .with_help("write a jq filter, e.g. `${ . }` for the input as it is"),
            );
            return;
        }
        let key = (code.to_string(), Rc::clone(vars));
        let errors = match self.compiled.get(&key) {
            Some(errors) => errors.clone(),
            None => {
                let names: Vec<&str> = vars.iter().map(String::as_str).collect();
                let errors = Expr::compile(code, &names).err().unwrap_or_default();
                self.compiled.insert(key, errors.clone());
                errors
            }
        };
        for error in primary(errors) {
            let span = self.locate(at, text, &focus, &error.range);
            let diagnostic = self.describe(code, &error, vars);
            let diagnostic = diagnostic.at_pointer(at);
            self.cx.push(match span {
                Some(span) => diagnostic.with_span(span),
                None => diagnostic,
            });
        }
    }

    fn locate(
        &self,
        at: &str,
        text: &str,
        focus: &Range<usize>,
        range: &Range<usize>,
    ) -> Option<crate::source::Span> {
        let in_text = focus.start + range.start..focus.start + range.end;
        locate::span_in_string(
            self.cx.source,
            self.cx.spans,
            at,
            text,
            focus.clone(),
            in_text,
        )
    }

    /// Turns a jq compile error into a finding: what is wrong, a short label, and a likely fix.
    fn describe(&self, code: &str, error: &CompileError, vars: &[String]) -> Diagnostic {
        let (message, hint) = split_hint(&error.message);
        if let Some(detail) = message.strip_prefix("syntax error: ") {
            let label = detail.split(", found").next().unwrap_or(detail).to_string();
            return Diagnostic::error(
                "expr::syntax",
                format!("`{}` is not valid jq: {detail}", snippet(code)),
            )
            .with_label(label);
        }
        if !message.starts_with("undefined ") {
            return Diagnostic::error(
                "expr::syntax",
                format!("`{}` is not valid jq: {message}", snippet(code)),
            )
            .with_label("not supported here");
        }
        let variable = message.starts_with("undefined variable");
        let label = if variable {
            "not defined here"
        } else {
            "unknown function"
        };
        let mut diagnostic = Diagnostic::error("expr::undefined", message).with_label(label);
        let named = code
            .get(error.range.clone())
            .unwrap_or_default()
            .trim_start_matches('$');
        let help = match (hint, variable) {
            (Some(hint), _) => Some(hint),
            (None, true) => Some(match self.scopes.defined_by.get(named) {
                Some(place) => format!("`${named}` is only defined inside {place}"),
                None => {
                    // Loop and catch variables first: a renamed `catch.as` or `for.each` is the
                    // likeliest fix, and the list may be cut short.
                    let (scoped, base): (Vec<&String>, Vec<&String>) = vars
                        .iter()
                        .partition(|v| !BASE_VARIABLES.contains(&v.as_str()));
                    let names: Vec<String> = scoped
                        .into_iter()
                        .chain(base)
                        .map(|v| format!("${v}"))
                        .collect();
                    format!(
                        "variables here: {}",
                        quoted_list(names.iter().map(String::as_str))
                    )
                }
            }),
            (None, false) => None,
        };
        if let Some(help) = help {
            diagnostic = diagnostic.with_help(help);
        }
        diagnostic
    }
}

/// The errors worth showing. Undefined names are independent of each other: all of them. Syntax
/// errors cascade (an unclosed `\(` inside a string also leaves both quotes unclosed): only one,
/// an unclosed bracket when there is one, since a stray quote is usually its consequence.
fn primary(mut errors: Vec<CompileError>) -> Vec<CompileError> {
    let syntax = |e: &CompileError| !e.message.starts_with("undefined ");
    if errors.iter().filter(|e| syntax(e)).count() <= 1 {
        return errors;
    }
    let bracket = errors.iter().position(|e| {
        e.message.starts_with("syntax error: unclosed `") && !e.message.contains("`\"`")
    });
    let keep = bracket
        .or_else(|| errors.iter().position(syntax))
        .unwrap_or_default();
    errors.swap(0, keep);
    errors.truncate(1);
    errors
}

/// The byte range of the jq code in an expression string: inside `${ }` when wrapped, else the
/// trimmed text (an always-expression field written without the wrapper).
fn code_range(text: &str) -> Range<usize> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if is_runtime_expression(trimmed) {
        let inner = trimmed
            .get(2..trimmed.len().saturating_sub(1))
            .unwrap_or_default();
        let start = lead + 2 + (inner.len() - inner.trim_start().len());
        start..start + inner.trim().len()
    } else {
        lead..lead + trimmed.len()
    }
}

/// Splits "undefined function `lenght/0` (did you mean `length/0`?)" into the message and a
/// help line "did you mean `length/0`?".
fn split_hint(message: &str) -> (String, Option<String>) {
    const OPEN: &str = " (did you mean ";
    match message.find(OPEN) {
        Some(at) if message.ends_with("?)") => {
            let hint = message.get(at + 2..message.len() - 1).map(str::to_string);
            (message.get(..at).unwrap_or(message).to_string(), hint)
        }
        _ => (message.to_string(), None),
    }
}

/// The code on one line, shortened to [`SNIPPET_CHARS`] characters.
fn snippet(code: &str) -> String {
    let one_line: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= SNIPPET_CHARS {
        one_line
    } else {
        let cut: String = one_line.chars().take(SNIPPET_CHARS - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::test_support::{analyze_yaml, codes, doc, pointed_text};

    #[test]
    fn code_range_strips_the_wrapper_and_spaces() {
        let text = "  ${  .a + 1 }\n";
        assert_eq!(text.get(code_range(text)), Some(".a + 1"));
        assert_eq!(" .a ".get(code_range(" .a ")), Some(".a"));
        assert_eq!("${ }".get(code_range("${ }")), Some(""));
    }

    #[test]
    fn one_syntax_error_per_expression_preferring_brackets() {
        let text = doc("do:\n  - a:\n      set:\n        m: '${ \"ready: \\(.ready\" }'\n");
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["expr::syntax"]);
        assert!(
            found[0].message.contains("unclosed `(`"),
            "{}",
            found[0].message
        );
        assert_eq!(pointed_text(&text, &found[0]), "(");
    }

    #[test]
    fn hints_move_to_the_help_line() {
        assert_eq!(
            split_hint("undefined variable `$imput` (did you mean `$input`?)"),
            (
                "undefined variable `$imput`".to_string(),
                Some("did you mean `$input`?".to_string())
            )
        );
        assert_eq!(split_hint("undefined label `x`").1, None);
    }

    #[test]
    fn syntax_errors_point_inside_the_expression() {
        let text = doc("do:\n  - a:\n      set:\n        x: ${ .a + }\n");
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["expr::syntax"]);
        assert_eq!(found[0].pointer.as_deref(), Some("/do/0/a/set/x"));
        assert!(
            found[0].message.starts_with("`.a +` is not valid jq"),
            "{}",
            found[0].message
        );
        // End of input: an empty span just before the closing brace.
        let span = found[0].span.expect("span");
        assert_eq!(span.start, text.find(" }").map(|i| i + 1).unwrap_or(0) - 1);
    }

    #[test]
    fn always_expression_fields_are_checked_without_wrapper() {
        let text = doc(
            "do:\n  - a:\n      if: .x ==\n      set: {}\n  - b:\n      switch:\n        - c:\n            when: lenght > 1\n            then: end\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["expr::syntax", "expr::undefined"]);
        assert_eq!(pointed_text(&text, &found[1]), "lenght");
        assert_eq!(found[1].help.as_deref(), Some("did you mean `length/0`?"));
    }

    #[test]
    fn loop_and_catch_variables_are_scoped() {
        let text = doc(concat!(
            "do:\n",
            "  - outer:\n      for: {each: row, in: .rows}\n      while: $row != null\n      do:\n",
            "        - inner:\n            for: {in: $row.cells, at: i}\n            do:\n",
            "              - use:\n                  set:\n                    v: ${ [$row, $item, $i, $index] }\n",
            "  - after:\n      set:\n        v: ${ $row }\n",
            "  - guarded:\n      try:\n        - x: {set: {}}\n      catch:\n        as: oops\n        when: $oops.status == 503\n        do:\n          - y:\n              set:\n                e: ${ $oops.title }\n",
        ));
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["expr::undefined"]);
        assert_eq!(pointed_text(&text, &found[0]), "$row");
        assert_eq!(
            found[0].help.as_deref(),
            Some("`$row` is only defined inside the `do` of `for` task `outer`")
        );
    }

    #[test]
    fn plain_strings_in_value_positions_are_literals() {
        let text = doc(
            "do:\n  - a:\n      set:\n        text: this is not jq (\n        shell: echo ${HOME\n",
        );
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), Vec::<&str>::new());
    }

    #[test]
    fn metadata_schemas_and_script_code_are_not_expressions() {
        let text = doc(concat!(
            "do:\n",
            "  - a:\n      metadata:\n        note: ${ not jq\n",
            "      input:\n        schema:\n          document:\n            pattern: ${ nor this\n",
            "      run:\n        script:\n          language: js\n          code: ${ console.log(1) }\n",
        ));
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), Vec::<&str>::new());
    }

    #[test]
    fn other_languages_are_refused_and_not_checked_as_jq() {
        let text =
            doc("evaluate:\n  language: js\ndo:\n  - a:\n      set:\n        x: ${ a b c }\n");
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["expr::unsupported-language"]);
        assert!(found[0].is_error());
    }
}
