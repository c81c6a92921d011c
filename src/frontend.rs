//! The front end as one call: source → YAML with spans → schema → typed document → analysis.
//! Every command that loads a document goes through here, so they all report the same problems.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::document::Document;
use crate::source::Source;
use crate::yaml::{self, SpanIndex};
use crate::{analyze, parse, schema};

/// The outcome of checking one document: everything found, and the typed document when the
/// document is well-formed enough to build one.
#[derive(Debug)]
pub struct Checked {
    pub source: Option<Source>,
    pub spans: Option<SpanIndex>,
    pub document: Option<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The document, only when no error was found: what `run` and `graph` may use.
    pub fn valid_document(&self) -> Option<&Document> {
        if self.has_errors() {
            None
        } else {
            self.document.as_ref()
        }
    }
}

/// Reads and checks the file at `path`.
pub fn check_path(path: &Path) -> Checked {
    match Source::read(path) {
        Ok(source) => check_source(source),
        Err(diagnostic) => Checked {
            source: None,
            spans: None,
            document: None,
            diagnostics: vec![diagnostic],
        },
    }
}

/// Checks a document already in memory.
pub fn check_source(source: Source) -> Checked {
    let loaded = match yaml::load(&source) {
        Ok(loaded) => loaded,
        Err(diagnostic) => {
            return Checked {
                source: Some(source),
                spans: None,
                document: None,
                diagnostics: vec![diagnostic],
            };
        }
    };
    let mut diagnostics = schema::check(&loaded.value);
    let schema_valid = !diagnostics.iter().any(Diagnostic::is_error);
    // The parser expects schema-valid shapes; when the schema already complained, a parse failure
    // only repeats the same problem, so its findings are kept only for schema-valid documents.
    let document = match parse::parse(&loaded.value) {
        Ok(document) => {
            // Semantic checks need a well-formed document: on a schema-invalid one they would
            // mostly repeat, in other words, what the schema already said.
            if schema_valid {
                diagnostics.extend(analyze::analyze(&document, &source, &loaded.spans));
            }
            Some(document)
        }
        Err(found) => {
            if schema_valid {
                diagnostics.extend(found);
            }
            None
        }
    };
    yaml::locate_all(&mut diagnostics, &loaded.spans);
    diagnostics.sort_by_key(|d| (d.span.map(|s| s.start), d.severity));
    Checked {
        source: Some(source),
        spans: Some(loaded.spans),
        document,
        diagnostics,
    }
}
