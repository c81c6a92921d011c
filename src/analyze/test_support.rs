//! Test helpers for the analyzer: YAML text in, findings out, and the source text they point at.

use crate::diagnostic::Diagnostic;
use crate::source::Source;

/// Loads, parses and analyzes `text` (which must parse), returning the source and the findings.
pub(crate) fn analyze_yaml(text: &str) -> (Source, Vec<Diagnostic>) {
    let source = Source::new("test.yaml", text);
    let loaded = crate::yaml::load(&source).unwrap_or_else(|d| panic!("does not load: {d:?}"));
    let document =
        crate::parse::parse(&loaded.value).unwrap_or_else(|d| panic!("does not parse: {d:#?}"));
    let found = super::analyze(&document, &source, &loaded.spans);
    (source, found)
}

/// The findings' codes, in order.
pub(crate) fn codes(found: &[Diagnostic]) -> Vec<&'static str> {
    found.iter().map(|d| d.code).collect()
}

/// The source text a finding points at (its span, or the span its pointer resolves to).
pub(crate) fn pointed_text(text: &str, diagnostic: &Diagnostic) -> String {
    let source = Source::new("test.yaml", text);
    let loaded = crate::yaml::load(&source).unwrap_or_else(|d| panic!("does not load: {d:?}"));
    let span = diagnostic
        .span
        .or_else(|| {
            let pointer = diagnostic.pointer.as_deref()?;
            loaded.spans.locate(pointer, diagnostic.on_key)
        })
        .unwrap_or_else(|| panic!("no location: {diagnostic:?}"));
    text.get(span.start..span.end)
        .unwrap_or_else(|| panic!("span off char boundaries: {span:?}"))
        .to_string()
}

/// A minimal valid header followed by `body` (which starts at the `do:` or `use:` level).
pub(crate) fn doc(body: &str) -> String {
    format!("document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '0.1.0'\n{body}")
}
