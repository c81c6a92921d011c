//! The one finding type every front-end stage produces (loader, schema, parser, analyzer).
//! Rendering (miette, JSON, GitHub annotations) lives in `report::diagnostics`.

use crate::source::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A problem found in a document, located by JSON pointer and (when known) by byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `schema::unknown-property`, `flow::unknown-target`.
    pub code: &'static str,
    /// One sentence saying what is wrong, naming the offending thing in backticks.
    pub message: String,
    /// JSON pointer of the offending value (`""` for the document root).
    pub pointer: Option<String>,
    /// Where in the source text to point; filled from the span index when only a pointer is known.
    pub span: Option<Span>,
    /// Point at the mapping key of `pointer` rather than at its value (unknown or misspelt keys).
    pub on_key: bool,
    /// Text of the label drawn under the span.
    pub label: Option<String>,
    /// A likely fix ("did you mean `endpoint`?").
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            pointer: None,
            span: None,
            on_key: false,
            label: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn on_key(mut self) -> Self {
        self.on_key = true;
        self
    }

    pub fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Suggestions are looked for among at most this many candidates. A document with one finding
/// per name of a huge list (20,000 `then` targets that do not exist, among 20,000 tasks) would
/// otherwise compare every name with every other: 400 million comparisons, the one quadratic
/// part of validation. Past it the help lists the candidates instead of guessing.
pub const MAX_SUGGESTION_CANDIDATES: usize = 1_000;

/// Name comparisons one process spends on suggestions at most (a fraction of a second): many
/// lists just under the cap, each with a finding per name, stay linear too. Past it, findings
/// come without a "did you mean".
const SUGGESTION_BUDGET: u64 = 2_000_000;

/// Comparisons left of [`SUGGESTION_BUDGET`].
static SUGGESTIONS_LEFT: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(SUGGESTION_BUDGET);

/// The closest candidate to a misspelt name, if one is close enough to be a likely typo (and
/// there are at most [`MAX_SUGGESTION_CANDIDATES`] candidates).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates = candidates.into_iter();
    // A list known to be too long is not even copied (one finding per task of a huge list
    // would copy a thousand names each time).
    if candidates.size_hint().0 > MAX_SUGGESTION_CANDIDATES {
        return None;
    }
    let candidates: Vec<&'a str> = candidates.take(MAX_SUGGESTION_CANDIDATES + 1).collect();
    if candidates.len() > MAX_SUGGESTION_CANDIDATES {
        return None;
    }
    let cost = candidates.len() as u64;
    let spent = SUGGESTIONS_LEFT.fetch_update(
        std::sync::atomic::Ordering::Relaxed,
        std::sync::atomic::Ordering::Relaxed,
        |left| left.checked_sub(cost),
    );
    if spent.is_err() {
        return None;
    }
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = [
            "method", "endpoint", "headers", "body", "query", "output", "redirect",
        ];
        assert_eq!(did_you_mean("endpont", keys), Some("endpoint"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }

    #[test]
    fn huge_candidate_lists_get_no_suggestion() {
        let many: Vec<String> = (0..=MAX_SUGGESTION_CANDIDATES)
            .map(|i| format!("task{i}"))
            .collect();
        assert_eq!(
            did_you_mean("task1x", many.iter().map(String::as_str)),
            None
        );
        let enough = many.get(..MAX_SUGGESTION_CANDIDATES).unwrap_or_default();
        assert!(did_you_mean("task1x", enough.iter().map(String::as_str)).is_some());
    }
}
