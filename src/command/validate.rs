//! `workflow validate PATH...`: checks and compiles every document and reports all findings at
//! once, so a document that passes here is one `run` accepts. Offline: compiling fetches nothing.

use super::error::CommandError;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let paths = match expand_paths(&args.paths) {
        Ok(paths) => paths,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            return ExitCode::Usage;
        }
    };
    let reports: Vec<FileReport> = paths.iter().map(|path| check(path)).collect();
    let written = match args.format {
        ValidateFormat::Human => {
            diagnostics::write_human(&reports, HumanStyle::for_stderr(color), stderr)
        }
        ValidateFormat::Json => writeln!(stdout, "{:#}", diagnostics::render_json(&reports)),
        ValidateFormat::Github => write!(stdout, "{}", diagnostics::render_github(&reports)),
    };
    // Output to a closed pipe cannot be reported anywhere useful; the exit code still tells.
    drop(written);
    if reports.iter().all(FileReport::is_valid) {
        ExitCode::Success
    } else {
        ExitCode::Invalid
    }
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

/// Files stay as given (a missing file is reported as a finding of its own); directories are
/// searched recursively, in a stable order, skipping hidden directories and `node_modules`.
fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CommandError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            collect_documents(path, &mut files).map_err(|source| CommandError::ReadDir {
                path: path.clone(),
                source,
            })?;
            if files.len() == before {
                return Err(CommandError::NoDocuments { path: path.clone() });
            }
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect_documents(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
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
