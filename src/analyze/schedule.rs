//! `schedule::cron`: `schedule.cron` must be a cron expression a scheduler could act on. The
//! schema only asks for a string, so `0 25 * * *` (hour 25) or a six-field Quartz expression
//! passed until this check. (`every` and `after` are durations, checked with the others.)

use super::Context;
use crate::diagnostic::Diagnostic;
use crate::pointer::join;

pub(crate) fn check(cx: &mut Context) {
    let Some(schedule) = &cx.document.schedule else {
        return;
    };
    let Some(cron) = &schedule.cron else {
        return;
    };
    if let Err(problem) = parse(cron) {
        cx.push(
            Diagnostic::error(
                "schedule::cron",
                format!("`{cron}` is not a valid cron expression: {problem}"),
            )
            .at_pointer(join(&schedule.pointer, "cron"))
            .with_label("not a cron expression")
            .with_help(
                "write five fields, minute hour day-of-month month day-of-week, e.g. `0 0 * * *` \
                 (every day at midnight) or `*/15 9-17 * * MON-FRI`",
            ),
        );
    }
}

/// Why a text is not a cron expression (the end of the `schedule::cron` diagnostic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CronProblem {
    #[error(
        "it has {fields} field{plural}, where cron has 5 (minute hour day-of-month month \
         day-of-week; seconds and years are not part of it)",
        plural = if *fields == 1 { "" } else { "s" }
    )]
    FieldCount { fields: usize },
    /// What the cron parser found wrong, in its words (see [`describe`]).
    #[error("{0}")]
    Invalid(String),
}

/// Checks `text` as a POSIX (Vixie) cron expression of five fields, or an `@daily`-style
/// nickname. Seconds and years are not part of it: a sixth field is refused, not guessed at.
pub(crate) fn parse(text: &str) -> Result<(), CronProblem> {
    let fields = text.split_whitespace().count();
    if !text.trim_start().starts_with('@') && fields != 5 {
        return Err(CronProblem::FieldCount { fields });
    }
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build();
    parser
        .parse(text)
        .map(|_| ())
        .map_err(|error| CronProblem::Invalid(describe(&error)))
}

/// croner's message without its type prefixes ("Component error: ..."), which say nothing to
/// the reader of a workflow.
fn describe(error: &croner::errors::CronError) -> String {
    use croner::errors::CronError;
    match error {
        CronError::EmptyPattern => "it is empty".to_owned(),
        CronError::InvalidPattern(message)
        | CronError::IllegalCharacters(message)
        | CronError::ComponentError(message) => message.trim_end_matches('.').to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::analyze::test_support::{analyze_yaml, codes, doc, pointed_text};

    #[test]
    fn the_spec_example_and_common_forms_pass() {
        for good in [
            "0 0 * * *",
            "*/5 * * * *",
            "0 9-17 * * MON-FRI",
            "30 2 1 JAN,JUL *",
            "@daily",
            "@hourly",
        ] {
            assert_eq!(parse(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn impossible_or_misshapen_expressions_fail() {
        for bad in [
            "0 25 * * *",
            "61 * * * *",
            "0 0 32 * *",
            "0 0 * 13 *",
            "0 0 0 * * *",
            "0 0 * *",
            "every day",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let six = parse("0 0 0 * * *")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(six.contains("6 fields"), "{six}");
    }

    #[test]
    fn a_bad_cron_is_an_error_at_the_cron_value() {
        let text = doc("schedule:\n  cron: 0 25 * * *\ndo:\n  - a:\n      set: {x: 1}\n");
        let (_, found) = analyze_yaml(&text);
        assert_eq!(codes(&found), ["schedule::cron"]);
        assert_eq!(pointed_text(&text, &found[0]), "0 25 * * *");
        let text = doc("schedule:\n  cron: '0 0 * * *'\ndo:\n  - a:\n      set: {x: 1}\n");
        assert!(analyze_yaml(&text).1.is_empty());
    }
}
