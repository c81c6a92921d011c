//! The loader's diagnostics: scanner errors made readable, and the limits and rules we add on top
//! of YAML (one document, scalar keys, JSON-representable numbers, bounded size and depth).

use saphyr_parser::ScanError;

use crate::diagnostic::Diagnostic;
use crate::source::{Source, Span};

use super::offsets::CharOffsets;

/// Nesting deeper than this is refused: no workflow needs it, and every later stage (serde,
/// jsonschema, our own walkers) may recurse once per level. 255 because saphyr's scanner counts
/// flow levels in a `u8` and gives up at the 256th `[` or `{`: one limit for both styles.
pub(crate) const MAX_DEPTH: usize = 255;

/// Budget for nodes copied by alias expansion (`*name`), so a "billion laughs" document is refused
/// long before it can exhaust memory.
pub(crate) const MAX_ALIAS_NODES: usize = 2_000_000;

/// Budget for text (scalars and keys) copied by alias expansion: 64 MiB, the size cap of a file.
pub(crate) const MAX_ALIAS_BYTES: usize = 64 * 1024 * 1024;

/// A span covering the character at `offset` (empty at the end of the text or on a line break),
/// so a label has something to underline.
pub(crate) fn char_span(source: &Source, offset: usize) -> Span {
    let text = &*source.text;
    let offset = offset.min(text.len());
    match text.get(offset..).and_then(|rest| rest.chars().next()) {
        Some(c) if c != '\n' && c != '\r' => Span::new(offset, offset + c.len_utf8()),
        _ => Span::new(offset, offset),
    }
}

fn line_of(source: &Source, offset: usize) -> usize {
    source.position(offset).line
}

/// Translates a saphyr scan error into a diagnostic at the scanner's marker.
pub(crate) fn syntax(source: &Source, offsets: &CharOffsets<'_>, error: &ScanError) -> Diagnostic {
    let offset = offsets.byte(error.marker().index());
    let info = error.info();
    if info.contains("tab")
        && let Some(tab) = indentation_tab(source, offset)
    {
        return Diagnostic::error(
            "yaml::tab-indent",
            format!("tab used for indentation on line {}", line_of(source, tab)),
        )
        .with_span(Span::new(tab, tab + 1))
        .with_label("YAML forbids tabs for indentation")
        .with_help("indent with spaces instead");
    }
    let span = char_span(source, offset);
    if info == "recursion limit exceeded" {
        return too_deep(span);
    }
    let found = source
        .text
        .get(span.start..span.end)
        .and_then(|s| s.chars().next());
    if info.contains("unprintable") {
        let code = found.map_or(0, u32::from);
        return Diagnostic::error(
            "yaml::syntax",
            format!(
                "invalid YAML: control character U+{code:04X} on line {}",
                line_of(source, offset)
            ),
        )
        .with_span(span)
        .with_label("unprintable character")
        .with_help("workflow documents are text; is this a binary file?");
    }
    let diagnostic = Diagnostic::error("yaml::syntax", format!("invalid YAML: {info}"))
        .with_span(span)
        .with_label(info.to_owned());
    if info.contains("unknown anchor") {
        return diagnostic
            .with_help("an alias `*name` must come after the anchor `&name` it refers to");
    }
    diagnostic
}

/// The tab in the leading whitespace of the marker's line or the next one, if any. The scanner
/// reports some tab errors at the end of the previous token, hence the look at the next line.
fn indentation_tab(source: &Source, offset: usize) -> Option<usize> {
    let text = &*source.text;
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let mut start = line_start;
    for _ in 0..2 {
        let line = text.get(start..)?;
        let end = line.find('\n').unwrap_or(line.len());
        let indentation = line.get(..end)?;
        let lead = indentation.len() - indentation.trim_start_matches([' ', '\t']).len();
        if let Some(tab) = indentation.get(..lead)?.find('\t') {
            return Some(start + tab);
        }
        start += end + 1;
    }
    None
}

/// A key repeated in one mapping. Not fatal: the load goes on with the last value, so the help
/// says which definition the rest of the checks saw.
pub(crate) fn duplicate_key(
    source: &Source,
    key: &str,
    again: Span,
    first: Option<Span>,
) -> Diagnostic {
    let help = match first {
        Some(first) => format!(
            "`{key}` is first defined on line {}; YAML forbids duplicate keys, remove or rename \
             one (until then, only the last definition is used)",
            line_of(source, first.start)
        ),
        None => "YAML forbids duplicate keys; remove or rename one (until then, only the last \
                 definition is used)"
            .to_owned(),
    };
    Diagnostic::error(
        "yaml::duplicate-key",
        format!("duplicate key `{key}` in a mapping"),
    )
    .with_span(again)
    .with_label("this key is already defined in the same mapping")
    .with_help(help)
}

pub(crate) fn multiple_documents(span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::multiple-documents",
        "more than one YAML document in the file",
    )
    .with_span(span)
    .with_label("a second document starts here")
    .with_help(
        "a workflow file holds exactly one document; remove the `---` separator or split the file",
    )
}

pub(crate) fn complex_key(span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::complex-key",
        "a mapping key must be a scalar, not a sequence or mapping",
    )
    .with_span(span)
    .with_label("this key is a collection")
    .with_help("JSON object keys are strings; use a plain or quoted scalar as the key")
}

pub(crate) fn non_json_number(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::non-json-number",
        format!("`{text}` is a number with no JSON form"),
    )
    .with_span(span)
    .with_label("infinite, NaN, or too large for a 64-bit float")
    .with_help(format!("quote it (\"{text}\") if you mean a string"))
}

pub(crate) fn tag_mismatch(tag: &str, text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::tag-mismatch",
        format!("`{text}` is not a valid `{tag}` value"),
    )
    .with_span(span)
    .with_label(format!("tagged `{tag}`"))
    .with_help("remove the tag or fix the value")
}

pub(crate) fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::too-deep",
        format!("the document nests more than {MAX_DEPTH} levels deep"),
    )
    .with_span(span)
    .with_label(format!("level {} starts here", MAX_DEPTH + 1))
}

pub(crate) fn too_large(span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::too-large",
        format!(
            "aliases expand to more than {MAX_ALIAS_NODES} values or {} MiB of text",
            MAX_ALIAS_BYTES / (1024 * 1024)
        ),
    )
    .with_span(span)
    .with_label("expanding this alias exceeds the limit")
    .with_help("this looks like an alias bomb (\"billion laughs\"); repeat the data explicitly if it is real")
}

pub(crate) fn recursive_alias(span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::recursive-alias",
        "an alias refers to a value that contains it",
    )
    .with_span(span)
    .with_label("this alias is inside its own anchor")
    .with_help("a JSON value cannot contain itself")
}

pub(crate) fn empty(source: &Source, span: Span) -> Diagnostic {
    Diagnostic::error(
        "yaml::empty",
        format!("`{}` contains no YAML document", source.name()),
    )
    .with_span(span)
    .with_help("a workflow document needs at least a `document` and a `do` section")
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Diagnostic;
    use crate::source::Source;
    use crate::yaml::load;

    /// Loads `text`, expecting failure; returns the diagnostic and the text under its span.
    fn fail(text: &str) -> (Diagnostic, String, usize) {
        let source = Source::new("bad.yaml", text);
        let diagnostic = load(&source).expect_err("should not load");
        let span = diagnostic.span.expect("every loader diagnostic is located");
        let covered = source
            .text
            .get(span.start..span.end)
            .expect("char boundaries")
            .to_owned();
        let line = source.position(span.start).line;
        (diagnostic, covered, line)
    }

    #[test]
    fn syntax_error_at_the_scanner_marker() {
        let (d, _, line) = fail("a: 1\nb: c: d\n");
        assert_eq!(d.code, "yaml::syntax");
        assert!(
            d.message.contains("mapping values are not allowed"),
            "{}",
            d.message
        );
        assert_eq!(line, 2);
        let (d, _, line) = fail("a: 1\nb: \"unterminated\n");
        assert_eq!((d.code, line), ("yaml::syntax", 2));
        let (d, _, _) = fail("a: [1, 2\n");
        assert_eq!(d.code, "yaml::syntax");
    }

    #[test]
    fn tab_indentation_points_at_the_tab() {
        for text in ["a:\n\tb: 1\n", "a:\n  b: 1\n\tc: 2\n"] {
            let (d, covered, _) = fail(text);
            assert_eq!(d.code, "yaml::tab-indent", "{text:?}: {}", d.message);
            assert_eq!(covered, "\t");
            assert_eq!(
                d.label.as_deref(),
                Some("YAML forbids tabs for indentation")
            );
        }
    }

    /// Loads `text`, expecting success with exactly one recoverable finding; returns it, the
    /// text under its span and its line.
    fn recovered(text: &str) -> (Diagnostic, String, usize) {
        let source = Source::new("dup.yaml", text);
        let mut loaded = load(&source).expect("a duplicate key is not fatal");
        assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
        let diagnostic = loaded.diagnostics.remove(0);
        let span = diagnostic.span.expect("located");
        let covered = source
            .text
            .get(span.start..span.end)
            .expect("char boundaries");
        let line = source.position(span.start).line;
        (diagnostic, covered.to_owned(), line)
    }

    #[test]
    fn duplicate_key_points_at_the_repeat_and_names_the_first_line() {
        let (d, covered, line) = recovered("name: a\nother: 1\nname: b\n");
        assert_eq!(d.code, "yaml::duplicate-key");
        assert!(d.is_error());
        assert_eq!(d.message, "duplicate key `name` in a mapping");
        assert_eq!((covered.as_str(), line), ("name", 3));
        let help = d.help.unwrap_or_default();
        assert!(
            help.starts_with("`name` is first defined on line 1;"),
            "{help}"
        );
        assert!(help.contains("only the last definition is used"), "{help}");
        // Keys are compared after unquoting, in flow mappings too.
        let (d, covered, _) = recovered("{\"a\": 1, 'a': 2}");
        assert_eq!((d.code, covered.as_str()), ("yaml::duplicate-key", "'a'"));
        // A key whose first value is a collection.
        let (d, _, line) = recovered("do:\n  - x: 1\ndo: []\n");
        assert_eq!((d.code, line), ("yaml::duplicate-key", 3));
    }

    #[test]
    fn several_documents_are_refused() {
        let (d, covered, line) = fail("a: 1\n---\nb: 2\n");
        assert_eq!(d.code, "yaml::multiple-documents");
        assert_eq!(line, 2);
        assert!(covered.starts_with('-'), "{covered:?}");
        let (d, _, _) = fail("a: 1\n...\nb: 2\n");
        assert_eq!(d.code, "yaml::multiple-documents");
    }

    #[test]
    fn collection_keys_are_refused() {
        let (d, covered, _) = fail("? [a, b]\n: 1\n");
        assert_eq!((d.code, covered.as_str()), ("yaml::complex-key", "["));
        let (d, _, _) = fail("{{a: 1}: 2}");
        assert_eq!(d.code, "yaml::complex-key");
        let (d, _, _) = fail("base: &b [1]\n*b : 2\n");
        assert_eq!(d.code, "yaml::complex-key");
    }

    #[test]
    fn infinity_and_nan_have_no_json_form() {
        for (text, covered) in [
            ("a: .inf\n", ".inf"),
            ("a: [-.inf]\n", "-.inf"),
            ("a: !!float .nan\n", "!!float .nan"),
        ] {
            let (d, got, _) = fail(text);
            assert_eq!(d.code, "yaml::non-json-number", "{text}");
            assert_eq!(got, covered);
        }
    }

    #[test]
    fn mismatched_core_tag() {
        let (d, covered, _) = fail("a: !!int abc\n");
        assert_eq!(d.code, "yaml::tag-mismatch");
        assert_eq!(covered, "!!int abc");
        assert!(d.message.contains("!!int"), "{}", d.message);
    }

    #[test]
    fn unknown_and_recursive_aliases() {
        let (d, _, _) = fail("a: *nowhere\n");
        assert_eq!(d.code, "yaml::syntax");
        assert!(d.help.is_some());
        let (d, covered, _) = fail("a: &x [1, *x]\n");
        assert_eq!((d.code, covered.as_str()), ("yaml::recursive-alias", "*x"));
    }

    #[test]
    fn binary_garbage_is_a_clear_syntax_error() {
        let (d, covered, _) = fail("\u{0}\u{1}\u{2}ELF");
        assert_eq!(d.code, "yaml::syntax");
        assert!(d.message.contains("U+0000"), "{}", d.message);
        assert_eq!(covered, "\u{0}");
    }

    #[test]
    fn empty_documents() {
        for text in ["", "   \n", "# only a comment\n", "---\n", "--- # c\n...\n"] {
            let (d, _, _) = fail(text);
            assert_eq!(d.code, "yaml::empty", "{text:?}");
            assert!(d.message.contains("bad.yaml"));
        }
    }
}
