//! `workflow validate PATH...`: checks and compiles every document and reports all findings at
//! once, so a document that passes here is one `run` accepts. Offline: compiling fetches nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::CommandError;
use crate::cli::{ColorChoice, ValidateArgs, ValidateFormat};
use crate::exit_code::ExitCode;
use crate::frontend;
use crate::report::diagnostics::{self, FileReport, HumanStyle};

/// File endings `validate` picks up when given a directory.
const DOCUMENT_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

pub fn run(
    args: &ValidateArgs,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let found = match expand_paths(&args.paths, args.all) {
        Ok(found) => found,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    let mut reports: Vec<FileReport> = found.files.iter().map(|path| check(path)).collect();
    if args.strict {
        // `--strict`: a warning fails the check like an error, and is shown as one.
        for report in &mut reports {
            for diagnostic in &mut report.diagnostics {
                diagnostic.severity = crate::diagnostic::Severity::Error;
            }
        }
    }
    let written = match args.format {
        ValidateFormat::Human => {
            diagnostics::write_human(&reports, HumanStyle::for_stderr(color), stderr)
        }
        ValidateFormat::Json => writeln!(stdout, "{:#}", diagnostics::render_json(&reports)),
        ValidateFormat::Github => write!(stdout, "{}", diagnostics::render_github(&reports)),
    };
    // Output to a closed pipe cannot be reported anywhere useful; the exit code still tells.
    drop(written);
    if !found.skipped.is_empty() {
        let _ = writeln!(stderr, "{}", skipped_note(&found.skipped));
    }
    if reports.iter().all(FileReport::is_valid) {
        ExitCode::Success
    } else {
        ExitCode::Invalid
    }
}

/// "skipped 2 files without a top-level `document` key (not workflows): a.yml, b.yml; `--all`
/// checks them too".
fn skipped_note(skipped: &[PathBuf]) -> String {
    const LISTED: usize = 5;
    let mut names: Vec<String> = skipped
        .iter()
        .take(LISTED)
        .map(|path| path.display().to_string())
        .collect();
    if skipped.len() > LISTED {
        names.push(format!("and {} more", skipped.len() - LISTED));
    }
    format!(
        "note: skipped {} without a top-level `document` key (not workflows): {}; `--all` checks \
         them too",
        if skipped.len() == 1 {
            "1 file".to_owned()
        } else {
            format!("{} files", skipped.len())
        },
        names.join(", ")
    )
}

fn check(path: &Path) -> FileReport {
    // The machine itself is not needed; compiling is for its findings.
    let (checked, _) = frontend::check_and_compile(path);
    FileReport {
        path: path.display().to_string(),
        source: checked.source,
        diagnostics: checked.diagnostics,
    }
}

/// The files to check, and those a directory held that are not workflows.
struct Found {
    files: Vec<PathBuf>,
    skipped: Vec<PathBuf>,
}

/// Files stay as given (a missing file is reported as a finding of its own); directories are
/// searched recursively, in a stable order, skipping hidden directories and `node_modules`,
/// and (unless `all`) the files that are not workflows (see [`is_workflow`]).
fn expand_paths(paths: &[PathBuf], all: bool) -> Result<Found, CommandError> {
    let mut found = Found {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            collect_documents(path, &mut files).map_err(|source| CommandError::ReadDirectory {
                path: path.clone(),
                source,
            })?;
            let before = found.skipped.len();
            for file in files {
                if all || is_workflow(&file) {
                    found.files.push(file);
                } else {
                    found.skipped.push(file);
                }
            }
            if !found.files.iter().any(|file| file.starts_with(path)) {
                let skipped = found.skipped.len() - before;
                return Err(if skipped > 0 {
                    CommandError::NoWorkflowsIn {
                        path: path.clone(),
                        skipped,
                    }
                } else {
                    CommandError::NoDocumentsIn { path: path.clone() }
                });
            }
        } else {
            found.files.push(path.clone());
        }
    }
    Ok(found)
}

/// Whether a file found in a directory looks like a workflow: it loads as YAML (or JSON) into
/// a mapping with a `document` key. A file that does not load is kept, so that a broken
/// workflow is reported rather than silently skipped.
pub(crate) fn is_workflow(path: &Path) -> bool {
    let Ok(source) = crate::source::Source::read(path) else {
        return true;
    };
    match crate::yaml::load(&source) {
        Ok(loaded) => loaded
            .value
            .as_object()
            .is_some_and(|map| map.contains_key("document")),
        Err(_) => true,
    }
}

pub(crate) fn collect_documents(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // `metadata` follows a symlink to what it names: a link to a document counts, a FIFO,
        // socket or device (which could block the read forever or never end) does not.
        let Ok(kind) = std::fs::metadata(&path).map(|meta| meta.file_type()) else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') && name != "node_modules" && entry.file_type()?.is_dir() {
                collect_documents(&path, files)?;
            }
        } else if kind.is_file()
            && path
                .extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| DOCUMENT_EXTENSIONS.contains(&ext))
        {
            files.push(path);
        }
    }
    Ok(())
}
