//! Maps a byte range inside a string value (a jq error inside an expression) back to the source
//! text, so a label points at the offending token rather than at the whole field.

use std::ops::Range;

use crate::source::{Source, Span};
use crate::yaml::SpanIndex;

/// Where bytes `range` of `text`, the string value at `pointer`, are written in the source.
///
/// `focus` is the part of `text` that holds `range` (the jq code inside `${ }`). Tries, in order:
/// the string written verbatim (a plain or quoted scalar without escapes); the focus found
/// verbatim inside the written value; the focus's lines found one after the other (a literal
/// block scalar, whose lines are indented in the source). When none works (escapes, folding),
/// the whole value is returned, which is still the right field.
pub(crate) fn span_in_string(
    source: &Source,
    spans: &SpanIndex,
    pointer: &str,
    text: &str,
    focus: Range<usize>,
    range: Range<usize>,
) -> Option<Span> {
    let value = spans
        .value(pointer)
        .or_else(|| spans.locate(pointer, false))?;
    let Some(written) = source.text.get(value.start..value.end) else {
        return Some(value);
    };
    let at = |offset: usize| Some(Span::new(offset + range.start, offset + range.end));
    // The string as written, at the start of the value or after its opening quote.
    for skip in [0, 1] {
        if skip == 1 && !written.starts_with(['"', '\'']) {
            continue;
        }
        if written
            .get(skip..)
            .is_some_and(|rest| rest.starts_with(text))
        {
            return at(value.start + skip);
        }
    }
    let Some(code) = text.get(focus.clone()) else {
        return Some(value);
    };
    // Search after `${` when the value has one, so the code is not matched inside the wrapper.
    let search_from = written.find("${").map_or(0, |i| i + 2);
    if !code.is_empty()
        && let Some(found) = written.get(search_from..).and_then(|rest| rest.find(code))
    {
        let code_start = value.start + search_from + found;
        return at(code_start.saturating_sub(focus.start));
    }
    Some(by_lines(text, written, range).map_or(value, |span| {
        Span::new(value.start + span.start, value.start + span.end)
    }))
}

/// Finds the lines of `text` one after the other in `written`, and returns where `range` (which
/// must start on one of them) lies in `written`. The end is clamped to the end of that line.
fn by_lines(text: &str, written: &str, range: Range<usize>) -> Option<Span> {
    let mut searched = 0;
    let mut line_start = 0;
    for line in text.split('\n') {
        let line_end = line_start + line.len();
        let content = line.trim_start();
        let indent = line.len() - content.len();
        let found = if content.is_empty() {
            None
        } else {
            let at = written.get(searched..)?.find(content)? + searched;
            searched = at + content.len();
            Some(at)
        };
        if (line_start..=line_end).contains(&range.start) {
            let column = range.start - line_start;
            let at = found? + column.checked_sub(indent)?;
            let end = at + range.end.min(line_end).saturating_sub(range.start);
            return Some(Span::new(at, end));
        }
        line_start = line_end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load;

    /// The source text `range` of the string at `/v` maps to (focus: the `${ }` body).
    fn mapped(yaml: &str, range: Range<usize>) -> String {
        let source = Source::new("t.yaml", yaml);
        let loaded = load(&source).expect("loads");
        let text = loaded.value["v"].as_str().expect("a string").to_string();
        let body = crate::expr::strip_expression(&text).unwrap_or(&text);
        let start = text.find(body).unwrap_or(0);
        let focus = start..start + body.len();
        let span =
            span_in_string(&source, &loaded.spans, "/v", &text, focus, range).expect("located");
        yaml[span.start..span.end].to_string()
    }

    #[test]
    fn plain_and_quoted_scalars_map_exactly() {
        assert_eq!(mapped("v: ${ .a + $x }\n", 8..10), "$x");
        assert_eq!(mapped("v: '${ .a + $x }'\n", 8..10), "$x");
        assert_eq!(mapped("v: \"${ .a + $x }\"\n", 8..10), "$x");
    }

    #[test]
    fn escapes_fall_back_to_the_code_then_to_the_value() {
        // The escaped quote shifts offsets; the code itself is not verbatim either.
        let yaml = "v: \"${ .a == \\\"b\\\" + $x }\"\n";
        assert_eq!(mapped(yaml, 15..17), "\"${ .a == \\\"b\\\" + $x }\"");
        // A tag before the string: the code is still found verbatim.
        assert_eq!(mapped("v: !!str ${ .a + $y }\n", 8..10), "$y");
    }

    #[test]
    fn literal_block_lines_are_followed() {
        let yaml = "v: |\n  ${\n    .a\n    | $zz\n  }\n";
        // text = "${\n  .a\n  | $zz\n}\n": `$zz` starts at byte 12.
        assert_eq!(mapped(yaml, 12..15), "$zz");
    }

    #[test]
    fn folded_scalars_point_at_the_whole_value() {
        let yaml = "v: >\n  ${ .a\n  + $zz }\n";
        // A block scalar's span starts after its indicator line.
        assert_eq!(mapped(yaml, 8..11), "${ .a\n  + $zz }\n");
    }
}
