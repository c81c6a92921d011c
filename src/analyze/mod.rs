//! Semantic analysis: the checks the schema cannot express, all findings collected in one pass.
//!
//! Each family of checks has its file; every finding is a `Diagnostic` with a stable code, a
//! message naming the offending thing in backticks, a label and, where a fix is likely, a help.

mod durations;
mod expressions;
mod flow;
mod locate;
mod near_miss;
mod references;
mod schedule;
mod scopes;
mod secrets;
mod unsupported;
mod uri_templates;
mod version;

use crate::diagnostic::Diagnostic;
use crate::document::Document;
use crate::source::Source;
use crate::yaml::SpanIndex;

/// Every semantic finding in one pass (never stops at the first).
pub fn analyze(document: &Document, source: &Source, spans: &SpanIndex) -> Vec<Diagnostic> {
    let mut cx = Context {
        document,
        source,
        spans,
        found: Vec::new(),
    };
    version::check(&mut cx);
    flow::check(&mut cx);
    references::check(&mut cx);
    durations::check(&mut cx);
    expressions::check(&mut cx);
    schedule::check(&mut cx);
    unsupported::check(&mut cx);
    uri_templates::check(&mut cx);
    cx.found
}

/// The warnings about keys the schema tolerates but nothing reads, and empty shell commands
/// (decision 15), found on the loaded value: they need the keys the typed document drops.
pub fn near_misses(value: &serde_json::Value) -> Vec<Diagnostic> {
    near_miss::check(value)
}

/// What every check reads, and where it writes its findings.
pub(crate) struct Context<'a> {
    pub(crate) document: &'a Document,
    pub(crate) source: &'a Source,
    pub(crate) spans: &'a SpanIndex,
    pub(crate) found: Vec<Diagnostic>,
}

impl Context<'_> {
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.found.push(diagnostic);
    }

    /// 1-based line of the key (or, failing that, the value) at `pointer`: help texts such as
    /// "first defined on line 12" refer to other places than the one the label points at.
    pub(crate) fn line_of(&self, pointer: &str) -> Option<usize> {
        let span = self.spans.locate(pointer, true)?;
        Some(self.source.position(span.start).line)
    }
}

/// At most this many names are listed in a help line; the rest are counted.
const LISTED_NAMES: usize = 8;

/// "`a`, `b`, `c`" (and "and 4 more" past [`LISTED_NAMES`]), for help lines listing candidates.
/// Only the listed names are formatted: one finding per task of a 20,000-task list must not
/// copy the whole list each time.
pub(crate) fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut names = names.into_iter();
    let mut out: Vec<String> = names
        .by_ref()
        .take(LISTED_NAMES)
        .map(|name| format!("`{name}`"))
        .collect();
    // Counting the rest one by one would make a finding per task of a long list quadratic;
    // a slice's iterator knows its length.
    let more = match names.size_hint() {
        (low, Some(high)) if low == high => low,
        _ => names.count(),
    };
    if more > 0 {
        out.push(format!("and {more} more"));
    }
    out.join(", ")
}

#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_list_truncates_long_lists() {
        assert_eq!(quoted_list(["a", "b"]), "`a`, `b`");
        let many: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        let text = quoted_list(many.iter().map(String::as_str));
        assert!(text.ends_with("`t7`, and 2 more"), "{text}");
    }
}
