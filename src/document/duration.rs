//! Durations (`wait`, `timeout.after`, retry delays, schedules): the inline object, an ISO 8601
//! string, or an expression; and their conversion to `std::time::Duration`.

use serde::Serialize;

use super::common::Expression;

/// A duration as written in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Duration {
    /// `{ days, hours, minutes, seconds, milliseconds }`, at least one present (absent = 0).
    Inline {
        days: u64,
        hours: u64,
        minutes: u64,
        seconds: u64,
        milliseconds: u64,
        pointer: String,
    },
    /// An ISO 8601 duration such as `PT15M` or `P1DT2H`.
    Iso8601 { text: String, pointer: String },
    /// An expression yielding an ISO 8601 string at run time ([main]).
    Expression(Expression),
}

/// Why a static duration has no fixed length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Years and months have no fixed length (CHECKLIST decision 7).
    #[error(
        "`{text}` uses {unit}, which have no fixed length; use weeks, days, hours, minutes or seconds"
    )]
    CalendarUnit { text: String, unit: &'static str },
    #[error("`{text}` is not an ISO 8601 duration such as `PT30S`, `PT1H30M` or `P1DT12H`")]
    Syntax { text: String },
    #[error("duration `{text}` is too large")]
    Overflow { text: String },
    /// An expression duration is only known at run time.
    #[error("duration `{text}` is an expression, known only at run time")]
    Expression { text: String },
}

impl Duration {
    pub fn pointer(&self) -> &str {
        match self {
            Duration::Inline { pointer, .. } | Duration::Iso8601 { pointer, .. } => pointer,
            Duration::Expression(expression) => &expression.pointer,
        }
    }

    /// The fixed length of an inline or ISO 8601 duration.
    pub fn to_std(&self) -> Result<std::time::Duration, DurationError> {
        match self {
            Duration::Inline {
                days,
                hours,
                minutes,
                seconds,
                milliseconds,
                ..
            } => {
                let overflow = || DurationError::Overflow {
                    text: format!("{days}d {hours}h {minutes}m {seconds}s {milliseconds}ms"),
                };
                let secs = days
                    .checked_mul(86_400)
                    .and_then(|d| hours.checked_mul(3_600).and_then(|h| d.checked_add(h)))
                    .and_then(|s| minutes.checked_mul(60).and_then(|m| s.checked_add(m)))
                    .and_then(|s| s.checked_add(*seconds))
                    .and_then(|s| s.checked_add(milliseconds / 1_000))
                    .ok_or_else(overflow)?;
                let nanos = (milliseconds % 1_000) as u32 * 1_000_000;
                Ok(std::time::Duration::new(secs, nanos))
            }
            Duration::Iso8601 { text, .. } => parse_iso8601(text),
            Duration::Expression(expression) => Err(DurationError::Expression {
                text: expression.text.clone(),
            }),
        }
    }
}

/// Parses `P[nW][nD][T[nH][nM][nS]]` with decimals allowed on any number. `Y`, and `M` before
/// `T`, are rejected as calendar units.
pub fn parse_iso8601(text: &str) -> Result<std::time::Duration, DurationError> {
    let syntax = || DurationError::Syntax {
        text: text.to_string(),
    };
    let body = text.strip_prefix('P').ok_or_else(syntax)?;
    if body.is_empty() {
        return Err(syntax());
    }
    let (date, time) = match body.split_once('T') {
        Some((_, "")) => return Err(syntax()),
        Some((date, time)) => (date, Some(time)),
        None => (body, None),
    };
    let mut total = 0f64;
    // Designators must come in this order, each at most once.
    let mut parse_part = |part: &str, units: &[(char, f64, Option<&'static str>)]| {
        let mut rest = part;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(syntax)?;
            let (number, tail) = rest.split_at(end);
            let designator = tail.chars().next().ok_or_else(syntax)?;
            if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
                return Err(syntax());
            }
            let value: f64 = number.parse().map_err(|_| syntax())?;
            let position = units[next_unit..]
                .iter()
                .position(|(unit, _, _)| *unit == designator)
                .ok_or_else(syntax)?;
            let (_, seconds, calendar) = units[next_unit + position];
            if let Some(unit) = calendar {
                return Err(DurationError::CalendarUnit {
                    text: text.to_string(),
                    unit,
                });
            }
            total += value * seconds;
            next_unit += position + 1;
            rest = &tail[designator.len_utf8()..];
        }
        Ok(())
    };
    parse_part(
        date,
        &[
            ('Y', 0.0, Some("years")),
            ('M', 0.0, Some("months")),
            ('W', 604_800.0, None),
            ('D', 86_400.0, None),
        ],
    )?;
    if let Some(time) = time {
        parse_part(
            time,
            &[('H', 3_600.0, None), ('M', 60.0, None), ('S', 1.0, None)],
        )?;
    }
    std::time::Duration::try_from_secs_f64(total).map_err(|_| DurationError::Overflow {
        text: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    fn iso(text: &str) -> Result<Std, DurationError> {
        Duration::Iso8601 {
            text: text.into(),
            pointer: "/wait".into(),
        }
        .to_std()
    }

    #[test]
    fn parses_iso8601_durations() {
        assert_eq!(iso("PT15M"), Ok(Std::from_secs(900)));
        assert_eq!(iso("PT0.5S"), Ok(Std::from_millis(500)));
        assert_eq!(iso("P1W"), Ok(Std::from_secs(604_800)));
        assert_eq!(
            iso("P1DT2H30M"),
            Ok(Std::from_secs(86_400 + 2 * 3_600 + 30 * 60))
        );
        assert_eq!(iso("PT1M"), Ok(Std::from_secs(60)));
        assert_eq!(iso("PT30S"), Ok(Std::from_secs(30)));
        assert_eq!(iso("P2D"), Ok(Std::from_secs(172_800)));
        assert_eq!(iso("PT1.5H"), Ok(Std::from_secs(5_400)));
    }

    #[test]
    fn rejects_calendar_units_naming_the_unit() {
        assert_eq!(
            iso("P1Y"),
            Err(DurationError::CalendarUnit {
                text: "P1Y".into(),
                unit: "years"
            })
        );
        assert_eq!(
            iso("P1M"),
            Err(DurationError::CalendarUnit {
                text: "P1M".into(),
                unit: "months"
            })
        );
        let message = iso("P1MT1M").map_err(|e| e.to_string()).unwrap_err();
        assert!(message.contains("months"), "{message}");
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "", "P", "PT", "1H", "PT1H1H", "PT1M1H", "P1H", "PT1D", "PTS", "P.5D", "P1.D", "PT5",
            "abc", "P1DT",
        ] {
            assert!(
                matches!(iso(text), Err(DurationError::Syntax { .. })),
                "{text:?} should be a syntax error"
            );
        }
    }

    #[test]
    fn inline_durations_add_up() {
        let inline = Duration::Inline {
            days: 1,
            hours: 2,
            minutes: 3,
            seconds: 4,
            milliseconds: 1_500,
            pointer: "/wait".into(),
        };
        assert_eq!(
            inline.to_std(),
            Ok(Std::new(86_400 + 7_200 + 180 + 4 + 1, 500_000_000))
        );
        let huge = Duration::Inline {
            days: u64::MAX,
            hours: 0,
            minutes: 0,
            seconds: 0,
            milliseconds: 0,
            pointer: String::new(),
        };
        assert!(matches!(huge.to_std(), Err(DurationError::Overflow { .. })));
    }

    #[test]
    fn expressions_have_no_static_length() {
        let expr = Duration::Expression(Expression::new("${ .delay }", "/wait"));
        assert!(matches!(
            expr.to_std(),
            Err(DurationError::Expression { .. })
        ));
        assert_eq!(expr.pointer(), "/wait");
    }
}
