//! Renders front-end findings: rustc-style miette reports for people, one JSON document for tools,
//! and GitHub Actions annotations for CI logs.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::json;

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Source;

/// Every finding for one checked path. `source` is absent when the file could not be read.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: String,
    pub source: Option<Source>,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    pub fn is_valid(&self) -> bool {
        self.error_count() == 0
    }

    /// 1-based line and column of a diagnostic, when it has a span and the text is known.
    fn position(&self, diagnostic: &Diagnostic) -> Option<(usize, usize)> {
        let source = self.source.as_ref()?;
        let span = diagnostic.span?;
        let position = source.position(span.start);
        Some((position.line, position.column))
    }
}

/// How human reports are drawn.
#[derive(Debug, Clone, Copy)]
pub struct HumanStyle {
    pub color: bool,
    pub width: usize,
}

impl HumanStyle {
    /// The style for reports on stderr: colour as `color` decides for stderr, width from
    /// `COLUMNS` (at least 40), 100 otherwise.
    pub fn for_stderr(color: crate::cli::ColorChoice) -> Self {
        use std::io::IsTerminal;
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|columns| columns.parse().ok())
            .filter(|&width: &usize| width >= 40)
            .unwrap_or(100);
        HumanStyle {
            color: color.enabled(std::io::stderr().is_terminal()),
            width,
        }
    }
}

/// Every report rendered for people, then the one-line summary: what `validate` prints, and what
/// `run` and `graph` print for a document they refuse.
pub fn write_human(
    reports: &[FileReport],
    style: HumanStyle,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for report in reports {
        out.write_all(render_human(report, style).as_bytes())?;
    }
    writeln!(out, "{}", summary_line(reports))
}

/// One diagnostic, as miette wants to see it.
struct MietteView<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<WindowedSource<'a>>,
}

/// A document as miette reads it: only the few lines around a span. miette's own `SourceCode`
/// for text scans from the first byte to every span it draws, which made a report of n findings
/// cost n × the document (20,000 findings took 20 s); the line index of [`Source`] finds the
/// window directly.
struct WindowedSource<'a> {
    name: &'a str,
    source: &'a Source,
}

impl SourceCode for WindowedSource<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let text: &'b str = &self.source.text;
        let end = span.offset().saturating_add(span.len());
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        // One line of margin either side: miette decides itself how much context to keep.
        let (window, first_line) = self.source.line_window(
            span.offset(),
            end,
            context_lines_before.saturating_add(1),
            context_lines_after.saturating_add(1),
        );
        let slice = text.get(window.clone()).ok_or(MietteError::OutOfBounds)?;
        let inner = SourceSpan::new((span.offset() - window.start).into(), span.len());
        let found = slice.read_span(&inner, context_lines_before, context_lines_after)?;
        let shifted = SourceSpan::new(
            (found.span().offset() + window.start).into(),
            found.span().len(),
        );
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            found.data(),
            shifted,
            found.line() + first_line,
            found.column(),
            found.line_count(),
        )))
    }
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let span = self.diagnostic.span?;
        let label = LabeledSpan::new_with_span(self.diagnostic.label.clone(), span);
        Some(Box::new(std::iter::once(label)))
    }
}

/// The rustc-style report of every diagnostic of one file.
pub fn render_human(report: &FileReport, style: HumanStyle) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_context_lines(1);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let view = MietteView {
            diagnostic,
            source: report.source.as_ref().map(|source| WindowedSource {
                name: &report.path,
                source,
            }),
        };
        let mut rendered = String::new();
        if handler.render_report(&mut rendered, &view).is_err() {
            rendered = format!("{}: {}\n", diagnostic.severity.as_str(), diagnostic.message);
        }
        if view.source.is_none() || diagnostic.span.is_none() {
            // Without a span miette does not name the file: say which one it is.
            rendered.push_str(&format!("  at {}\n", report.path));
        }
        out.push_str(&rendered);
        out.push('\n');
    }
    out
}

/// "3 files checked: 2 valid, 1 invalid (4 errors, 1 warning)".
pub fn summary_line(reports: &[FileReport]) -> String {
    let files = reports.len();
    let invalid = reports.iter().filter(|r| !r.is_valid()).count();
    let errors: usize = reports.iter().map(FileReport::error_count).sum();
    let warnings: usize = reports.iter().map(FileReport::warning_count).sum();
    format!(
        "{} checked: {} valid, {} invalid ({}, {})",
        plural(files, "file"),
        files - invalid,
        invalid,
        plural(errors, "error"),
        plural(warnings, "warning"),
    )
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// One JSON document for tools: per file, each diagnostic with its location.
pub fn render_json(reports: &[FileReport]) -> serde_json::Value {
    let files: Vec<_> = reports
        .iter()
        .map(|report| {
            json!({
                "path": report.path,
                "valid": report.is_valid(),
                "diagnostics": diagnostics_json(report),
            })
        })
        .collect();
    let errors: usize = reports.iter().map(FileReport::error_count).sum();
    let warnings: usize = reports.iter().map(FileReport::warning_count).sum();
    json!({
        "valid": reports.iter().all(FileReport::is_valid),
        "files": files,
        "summary": {
            "files": reports.len(),
            "invalid": reports.iter().filter(|r| !r.is_valid()).count(),
            "errors": errors,
            "warnings": warnings,
        }
    })
}

/// A file's diagnostics as JSON objects, each with its location: the `diagnostics` of a file in
/// `validate --format json`, and of `run --format json` on a document that does not validate.
pub fn diagnostics_json(report: &FileReport) -> Vec<serde_json::Value> {
    report
        .diagnostics
        .iter()
        .map(|d| {
            let (line, column) = report.position(d).unzip();
            json!({
                "severity": d.severity.as_str(),
                "code": d.code,
                "message": d.message,
                "pointer": d.pointer,
                "line": line,
                "column": column,
                "help": d.help,
            })
        })
        .collect()
}

/// GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message`.
pub fn render_github(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        for d in &report.diagnostics {
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            let annotation = crate::report::github::Annotation {
                severity: d.severity,
                file: Some(report.path.clone()),
                position: report.position(d),
                title: Some(d.code.to_owned()),
                message,
            };
            out.push_str(&annotation.render());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn sample() -> FileReport {
        let source = Source::new("flow.yaml", "do:\n  - a:\n      bogus: 1\n");
        let diagnostic = Diagnostic::error("schema::unknown-property", "unknown property `bogus`")
            .at_pointer("/do/0/a/bogus")
            .with_span(Span::new(17, 22))
            .with_label("not allowed here")
            .with_help("did you mean `body`?");
        FileReport {
            path: "flow.yaml".into(),
            source: Some(source),
            diagnostics: vec![diagnostic],
        }
    }

    #[test]
    fn human_report_points_at_the_span() {
        let text = render_human(
            &sample(),
            HumanStyle {
                color: false,
                width: 80,
            },
        );
        assert!(text.contains("schema::unknown-property"), "{text}");
        assert!(text.contains("flow.yaml:3:7"), "{text}");
        assert!(text.contains("not allowed here"), "{text}");
        assert!(text.contains("did you mean `body`?"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "no escape codes without colour: {text}"
        );
    }

    #[test]
    fn json_report_has_line_and_column() {
        let value = render_json(&[sample()]);
        let d = &value["files"][0]["diagnostics"][0];
        assert_eq!(d["line"], 3);
        assert_eq!(d["column"], 7);
        assert_eq!(d["pointer"], "/do/0/a/bogus");
        assert_eq!(value["valid"], false);
        assert_eq!(value["summary"]["errors"], 1);
    }

    #[test]
    fn github_annotations_escape_their_fields() {
        let mut report = sample();
        report.diagnostics[0].message = "a, b: 100%\nnext".into();
        let text = render_github(&[report]);
        assert_eq!(
            text.lines().next().unwrap(),
            "::error file=flow.yaml,line=3,col=7,title=schema%3A%3Aunknown-property::a, b: 100%25%0Anext%0Ahelp: did you mean `body`?"
        );
    }

    #[test]
    fn summary_counts_files_errors_and_warnings() {
        let mut warn = sample();
        warn.diagnostics[0].severity = Severity::Warning;
        assert_eq!(
            summary_line(&[sample(), warn]),
            "2 files checked: 1 valid, 1 invalid (1 error, 1 warning)"
        );
    }
}
