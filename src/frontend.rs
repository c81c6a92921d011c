//! The front end as one call: source → YAML with spans → schema → typed document → analysis,
//! and then, for a document without errors, the compiler. Every command that loads a document
//! goes through here, so `validate`, `run`, `graph`, `resume` and `retry` report the same problems.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::compile::{self, Machine};
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

    /// `--strict`: every warning becomes an error (the document is then refused).
    pub fn make_strict(&mut self) {
        for diagnostic in &mut self.diagnostics {
            diagnostic.severity = crate::diagnostic::Severity::Error;
        }
    }

    /// The document, only when no error was found: what `run` and `graph` may use.
    pub fn valid_document(&self) -> Option<&Document> {
        if self.has_errors() {
            None
        } else {
            self.document.as_ref()
        }
    }

    /// Compiles the document when the front end found no error. The compiler's findings join
    /// the others, located and in document order, so they are reported like any finding; the
    /// machine comes back only when nothing at all is an error. A document with front-end
    /// errors is not compiled: the compiler expects a valid one, and would mostly repeat them.
    /// Compiling reads nothing and calls nothing: remote functions, catalogs, OpenAPI
    /// documents, sub-workflows and secrets are only fetched when a run reaches them.
    pub fn compile(&mut self) -> Option<Machine> {
        let compiled = compile::compile(self.valid_document()?);
        self.add_compiled(compiled)
    }

    /// Checks that read the local files a compiled document's calls name (a gRPC call's proto:
    /// compiled, its service, method and argument fields looked up). Their findings join the
    /// others, located; `false` when one is an error, so `run` refuses what `validate` reports.
    fn add_local_checks(&mut self, machine: &Machine, path: &Path) -> bool {
        #[cfg(feature = "grpc")]
        {
            let found = crate::exec::grpc::check_protos(machine, path.parent());
            if !found.is_empty() {
                let start = self.diagnostics.len();
                self.diagnostics.extend(found);
                if let (Some(spans), Some(added)) = (&self.spans, self.diagnostics.get_mut(start..))
                {
                    yaml::locate_all(added, spans);
                }
                sort(&mut self.diagnostics);
            }
        }
        #[cfg(not(feature = "grpc"))]
        let _ = (machine, path);
        let found = crate::exec::asyncapi::check_documents(machine, path.parent());
        if !found.is_empty() {
            let start = self.diagnostics.len();
            self.diagnostics.extend(found);
            if let (Some(spans), Some(added)) = (&self.spans, self.diagnostics.get_mut(start..)) {
                yaml::locate_all(added, spans);
            }
            sort(&mut self.diagnostics);
        }
        !self.has_errors()
    }

    /// The machine, or the compiler's findings added to the others.
    fn add_compiled(&mut self, compiled: Result<Machine, Vec<Diagnostic>>) -> Option<Machine> {
        let found = match compiled {
            Ok(machine) => return Some(machine),
            Err(found) => found,
        };
        let start = self.diagnostics.len();
        // A named policy or function is compiled at each call site: say it once.
        let mut said = HashSet::new();
        let found: Vec<Diagnostic> = found
            .into_iter()
            .filter(|d| said.insert((d.code, d.pointer.clone(), d.message.clone())))
            .collect();
        self.diagnostics.extend(found);
        if let (Some(spans), Some(added)) = (&self.spans, self.diagnostics.get_mut(start..)) {
            yaml::locate_all(added, spans);
        }
        sort(&mut self.diagnostics);
        None
    }
}

/// Reads, checks and compiles the file at `path`: everything `validate` reports, and the machine
/// `run` executes when there is nothing to report but warnings.
pub fn check_and_compile(path: &Path) -> (Checked, Option<Machine>) {
    check_and_compile_with(path, |_| {})
}

/// [`check_and_compile`], calling `compiled` with the machine as soon as it exists: before the
/// schema check, which may still wait for the validator. The machine may yet be refused; the
/// call is for starting work the run will need (see [`check`]).
pub fn check_and_compile_with(
    path: &Path,
    compiled: impl FnOnce(&Machine),
) -> (Checked, Option<Machine>) {
    let source = match Source::read(path) {
        Ok(source) => source,
        Err(diagnostic) => return (unreadable(diagnostic), None),
    };
    let (mut checked, compiled) = check(source, Some(compiled));
    let machine = match compiled {
        Some(compiled) if !checked.has_errors() => checked.add_compiled(compiled),
        _ => None,
    };
    let machine = machine.filter(|machine| checked.add_local_checks(machine, path));
    (checked, machine)
}

/// Starts the one-off work of checking (compiling the schema validator, parsing the builtin jq
/// library) on two threads, so that it overlaps whatever the caller does before its first check.
/// Checking waits for it where it needs it. The validator is most of a short run's start-up (3
/// to 5 ms of about 9); a thread that cannot start only means the first check builds it itself.
pub fn prepare_in_background() {
    let _ = std::thread::Builder::new()
        .name("schema".into())
        .spawn(schema::prepare);
    let _ = std::thread::Builder::new()
        .name("jq".into())
        .spawn(crate::expr::prepare);
}

/// Reads and checks the file at `path`.
pub fn check_path(path: &Path) -> Checked {
    match Source::read(path) {
        Ok(source) => check_source(source),
        Err(diagnostic) => unreadable(diagnostic),
    }
}

fn unreadable(diagnostic: Diagnostic) -> Checked {
    Checked {
        source: None,
        spans: None,
        document: None,
        diagnostics: vec![diagnostic],
    }
}

/// Checks a document already in memory.
pub fn check_source(source: Source) -> Checked {
    check(source, None::<fn(&Machine)>).0
}

/// Checks `source`, and with `compile` also compiles it when nothing but the schema might still
/// object (calling `compile` with the machine at once): the compiler's result is then only used
/// if the schema does not object.
///
/// Why this order: the schema check waits for the schema validator, which takes most of a
/// short run's start-up to build on its own thread (see [`prepare_in_background`]). Parsing,
/// analysing and compiling need none of it, so they run first, while it builds.
fn check(
    source: Source,
    compile: Option<impl FnOnce(&Machine)>,
) -> (Checked, Option<Result<Machine, Vec<Diagnostic>>>) {
    let loaded = match yaml::load(&source) {
        Ok(loaded) => loaded,
        Err(diagnostic) => {
            let checked = Checked {
                source: Some(source),
                spans: None,
                document: None,
                diagnostics: vec![diagnostic],
            };
            return (checked, None);
        }
    };
    // Shared with the typed document (its `raw`) rather than copied: a copy of a large
    // document was a kilobyte per task.
    let value = Arc::new(loaded.value);
    let parsed = parse::parse_shared(&value);
    let analyzed = match &parsed {
        Ok(document) => analyze::analyze(document, &source, &loaded.spans),
        Err(_) => Vec::new(),
    };
    let compiled = match (&parsed, compile) {
        (Ok(document), Some(on_machine))
            if !loaded.diagnostics.iter().any(Diagnostic::is_error)
                && !analyzed.iter().any(Diagnostic::is_error) =>
        {
            let compiled = compile::compile(document);
            if let Ok(machine) = &compiled {
                on_machine(machine);
            }
            Some(compiled)
        }
        _ => None,
    };
    // Duplicate keys first, then the schema's findings on what the load kept (the last values).
    let mut diagnostics = loaded.diagnostics;
    let found = schema::check(&value);
    let schema_valid = !found.iter().any(Diagnostic::is_error);
    diagnostics.extend(found);
    // The parser expects schema-valid shapes; when the schema already complained, a parse failure
    // only repeats the same problem, so its findings are kept only for schema-valid documents.
    let document = match parsed {
        Ok(document) => {
            // The document was well-formed enough to build, so the semantic checks ran even
            // after schema errors: every problem in one pass. A semantic finding at or inside a
            // place the schema already rejected would only be a consequence; it is dropped.
            // (A duplicate key rejects nothing: the value that survived it is checked as usual.)
            let rejected: HashSet<&str> = diagnostics
                .iter()
                .filter(|d| d.is_error() && !d.code.starts_with("yaml::"))
                .filter_map(|d| d.pointer.as_deref())
                .collect();
            let kept: Vec<Diagnostic> = analyzed
                .into_iter()
                .chain(analyze::near_misses(&value))
                .filter(|d| !within_any(d, &rejected))
                .collect();
            diagnostics.extend(kept);
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
    sort(&mut diagnostics);
    let checked = Checked {
        source: Some(source),
        spans: Some(loaded.spans),
        document,
        diagnostics,
    };
    (checked, compiled)
}

/// Findings without a place first, then document order (a stable sort: ties stay as found).
fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.span.map(|s| s.start), d.severity));
}

/// Whether the finding's pointer is one of `pointers` or inside one of them. Looked up by
/// ancestor: with a finding per task and a rejected place per task, comparing each finding with
/// every rejected place was the quadratic part of validating a large broken document.
fn within_any(diagnostic: &Diagnostic, pointers: &HashSet<&str>) -> bool {
    let Some(at) = diagnostic.pointer.as_deref() else {
        return false;
    };
    crate::pointer::self_and_ancestors(at).any(|place| pointers.contains(place))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        check_source(Source::new("t.yaml", text))
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect()
    }

    /// `(code, line)` of each finding, in the order reported.
    fn findings(checked: &Checked) -> Vec<(&'static str, usize)> {
        let source = checked.source.as_ref().expect("source kept");
        checked
            .diagnostics
            .iter()
            .map(|d| (d.code, d.span.map_or(0, |s| source.position(s.start).line)))
            .collect()
    }

    #[test]
    fn schema_and_semantic_findings_come_together() {
        let text = "document:\n  dsl: '1.0.3'\n  namespace: t\n  name: t\n  version: '0.1.0'\ndo:\n  - a:\n      set: {x: 1}\n      thne: end\n  - b:\n      set:\n        y: ${ .x + }\n";
        assert_eq!(codes(text), ["schema::unknown-property", "expr::syntax"]);
    }

    #[test]
    fn semantic_findings_inside_a_schema_error_are_dropped() {
        // `1.0` breaks the schema's semver pattern; "unsupported version" would only repeat it.
        let text = "document:\n  dsl: '1.0'\n  namespace: t\n  name: t\n  version: '0.1.0'\ndo:\n  - a:\n      set: {x: 1}\n";
        assert_eq!(codes(text), ["schema::pattern"]);
        let finding = Diagnostic::error("x::y", "m").at_pointer("/do/10/a");
        assert!(within_any(&finding, &HashSet::from(["/do/10"])));
        assert!(!within_any(&finding, &HashSet::from(["/do/1"])));
        assert!(within_any(&finding, &HashSet::from([""])));
    }

    #[test]
    fn a_duplicate_key_does_not_hide_the_schema_findings_after_it() {
        let text = "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: dup\n  version: '0.1.0'\ndo:\n  - a:\n      set: {x: 1}\ndo:\n  - b:\n      wait: 5\n";
        let checked = check_source(Source::new("dup.yaml", text));
        let found = findings(&checked);
        assert_eq!(
            found.first(),
            Some(&("yaml::duplicate-key", 9)),
            "{found:?}"
        );
        // The schema saw the second `do` (its `wait` is wrong), not the first.
        assert!(found.len() > 1, "{found:?}");
        assert!(
            found
                .iter()
                .skip(1)
                .all(|&(code, line)| code.starts_with("schema::") && line >= 10),
            "{found:?}"
        );
        assert!(checked.has_errors());
        assert!(checked.valid_document().is_none());
    }

    const HEAD: &str = "document:\n  dsl: '1.0.3'\n  namespace: t\n  name: t\n  version: '0.1.0'\n";

    /// An `oauth2` policy without its `authority` (its settings start on line 10), used by two calls.
    const NO_AUTHORITY: &str = "use:\n  authentications:\n    sso:\n      oauth2:\n        grant: client_credentials\n        client: {id: app, secret: s}\ndo:\n  - a:\n      call: http\n      with:\n        method: get\n        endpoint: {uri: 'https://example.com', authentication: {use: sso}}\n  - b:\n      call: http\n      with:\n        method: get\n        endpoint: {uri: 'https://example.com', authentication: {use: sso}}\n";

    fn compiled(text: &str) -> (Checked, Option<Machine>) {
        let mut checked = check_source(Source::new("t.yaml", text));
        let machine = checked.compile();
        (checked, machine)
    }

    #[test]
    fn the_machine_is_handed_over_before_the_schema_has_its_say() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let check = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("{HEAD}{body}")).unwrap_or_else(|e| panic!("{e}"));
            let mut early = None;
            let (checked, machine) =
                check_and_compile_with(&path, |machine| early = Some(machine.may_call_http()));
            (early, checked.has_errors(), machine.is_some())
        };
        let call = "do:\n  - a:\n      call: http\n      with: {method: get, endpoint: 'http://127.0.0.1:9/x'}\n";
        assert_eq!(check("call.yaml", call), (Some(true), false, true));
        let set = "do:\n  - a:\n      set: {x: 1}\n";
        assert_eq!(check("set.yaml", set), (Some(false), false, true));
        // Built before the schema check, refused by it: the machine is not used.
        let misspelt = "do:\n  - a:\n      set: {x: 1}\n      thne: end\n";
        assert_eq!(check("misspelt.yaml", misspelt), (Some(false), true, false));
        // Not built at all when the checks that come first found an error.
        let broken = "do:\n  - a:\n      set:\n        y: ${ .x + }\n";
        assert_eq!(check("broken.yaml", broken), (None, true, false));
    }

    #[test]
    fn compile_findings_are_located_and_said_once() {
        let (checked, machine) = compiled(&format!("{HEAD}{NO_AUTHORITY}"));
        assert!(machine.is_none());
        assert_eq!(findings(&checked), [("auth::missing-authority", 10)]);
        let source = checked.source.as_ref().expect("source kept");
        let span = checked.diagnostics.first().and_then(|d| d.span);
        assert_eq!(span.map(|s| source.position(s.start).column), Some(9));
        assert!(checked.has_errors());
        assert!(checked.valid_document().is_none());
    }

    #[test]
    fn compile_errors_and_front_end_warnings_come_in_document_order() {
        // `c` can never run (a warning after the policy's error); the error comes first.
        let text = format!("{HEAD}{NO_AUTHORITY}      then: end\n  - c:\n      set: {{x: 1}}\n");
        let (checked, machine) = compiled(&text);
        assert!(machine.is_none());
        assert_eq!(
            findings(&checked),
            [("auth::missing-authority", 10), ("flow::unreachable", 24)]
        );
    }

    #[test]
    fn a_document_with_front_end_errors_is_not_compiled() {
        // The expression error stops it: the policy's problem is not reported on top.
        let text = format!("{HEAD}{NO_AUTHORITY}  - c:\n      set:\n        y: ${{ .x + }}\n");
        let (checked, machine) = compiled(&text);
        assert!(machine.is_none());
        assert_eq!(codes_of(&checked), ["expr::syntax"]);
    }

    #[test]
    fn a_valid_document_compiles_with_its_warnings_kept() {
        let text = format!(
            "{HEAD}do:\n  - a:\n      set: {{x: 1}}\n      then: end\n  - b:\n      set: {{y: 2}}\n"
        );
        let (checked, machine) = compiled(&text);
        assert!(machine.is_some());
        assert_eq!(codes_of(&checked), ["flow::unreachable"]);
        assert!(checked.valid_document().is_some());
        let (clean, machine) = compiled(&format!("{HEAD}do:\n  - a:\n      set: {{x: 1}}\n"));
        assert!(
            machine.is_some() && clean.diagnostics.is_empty(),
            "{clean:?}"
        );
    }

    #[test]
    fn check_and_compile_reads_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("auth.yaml");
        std::fs::write(&path, format!("{HEAD}{NO_AUTHORITY}")).expect("write");
        let (checked, machine) = check_and_compile(&path);
        assert!(machine.is_none());
        assert_eq!(findings(&checked), [("auth::missing-authority", 10)]);
        let (missing, machine) = check_and_compile(&dir.path().join("absent.yaml"));
        assert!(machine.is_none());
        assert_eq!(missing.diagnostics.len(), 1);
    }

    fn codes_of(checked: &Checked) -> Vec<&'static str> {
        checked.diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn the_spec_fixture_with_two_dos_reports_both_problems() {
        let path = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/spec/invalid/listen-any-until-any-until.yaml"
        ));
        if !path.is_file() {
            println!("note: spec fixture not found; skipping");
            return;
        }
        let checked = check_path(path);
        assert_eq!(
            findings(&checked),
            [("yaml::duplicate-key", 7), ("schema::not-allowed", 14)]
        );
        let until = checked.diagnostics.get(1).expect("two findings");
        assert_eq!(
            until.pointer.as_deref(),
            Some("/do/0/callDoctor/listen/to/until/until")
        );
        let help = checked.diagnostics.first().and_then(|d| d.help.as_deref());
        assert!(help.is_some_and(|h| h.contains("line 6")), "{help:?}");
    }
}
