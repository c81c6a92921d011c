//! A document's text and where it came from, plus byte spans and their line/column positions.

// Reading returns the stage's `Diagnostic` by value (once per file): not worth boxing.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;

/// Files larger than this are refused before parsing: no workflow document is anywhere near it,
/// and the cap stops `workflow validate /dev/zero` (or a runaway pipe) from eating all memory.
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;

/// A half-open byte range `[start, end)` into a [`Source`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        miette::SourceSpan::new(span.start.into(), span.len())
    }
}

/// 1-based line and column (column counted in characters) of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// The text of one document and the name it is shown under in diagnostics.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user gave it (shown in diagnostics; never canonicalised).
    pub path: PathBuf,
    pub text: Arc<str>,
    line_starts: Arc<[usize]>,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// Reads a document from disk. Every way a file can be unusable (missing, a directory,
    /// unreadable, too large, not UTF-8, empty or comment-only) becomes one `Diagnostic` naming
    /// the path, so the CLI can report it like any other finding.
    pub fn read(path: &Path) -> Result<Source, Diagnostic> {
        let shown = path.display();
        // `metadata` follows symlinks, so a link to a directory is reported as a directory.
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(Diagnostic::error(
                    "io::is-a-directory",
                    format!("`{shown}` is a directory, not a workflow file"),
                )
                .with_help("pass the path of a .yaml, .yml or .json file"));
            }
            Ok(_) => {}
            Err(error) => return Err(io_diagnostic(path, &error)),
        }
        let file = std::fs::File::open(path).map_err(|error| io_diagnostic(path, &error))?;
        let mut bytes = Vec::new();
        // Read one byte past the cap to tell "exactly at the cap" from "larger".
        file.take(MAX_SOURCE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| io_diagnostic(path, &error))?;
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(Diagnostic::error(
                "io::too-large",
                format!(
                    "`{shown}` is larger than {} MiB; refusing to load it",
                    MAX_SOURCE_BYTES / (1024 * 1024)
                ),
            ));
        }
        Source::from_bytes(path, bytes)
    }

    /// The checks of [`Source::read`] that concern the content: UTF-8 (a leading byte-order mark
    /// is dropped) and not blank. Also used for standard input and by the fuzz target.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Source, Diagnostic> {
        let path = path.into();
        let text = decode_utf8(&path, bytes)?;
        if let Some(reason) = blank_reason(&text) {
            return Err(
                Diagnostic::error("yaml::empty", format!("`{}` {reason}", path.display()))
                    .with_help(
                        "a workflow document needs at least a `document` and a `do` section",
                    ),
            );
        }
        Ok(Source::new(path, text))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// The byte range of whole lines around `start..end` (itself clamped to the text): `before`
    /// lines before the one holding `start`, `after` lines after the one holding `end`, and the
    /// 0-based number of its first line. Lets a renderer look at a few lines of a large document
    /// without scanning it from the top for every finding.
    pub fn line_window(
        &self,
        start: usize,
        end: usize,
        before: usize,
        after: usize,
    ) -> (std::ops::Range<usize>, usize) {
        let line_of = |offset: usize| match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let len = self.text.len();
        let first = line_of(start.min(len)).saturating_sub(before);
        let last = line_of(end.max(start).min(len)).saturating_add(after);
        let from = self.line_starts.get(first).copied().unwrap_or(0);
        let to = self.line_starts.get(last + 1).copied().unwrap_or(len);
        (from..to.max(from), first)
    }

    /// Line and column of a byte offset (clamped to the text, snapped to a char boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let column = self.text[self.line_starts[line]..offset].chars().count() + 1;
        Position {
            line: line + 1,
            column,
        }
    }
}

/// Turns an I/O error on `path` into a diagnostic with a code per failure kind.
fn io_diagnostic(path: &Path, error: &std::io::Error) -> Diagnostic {
    let shown = path.display();
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            Diagnostic::error("io::not-found", format!("`{shown}` does not exist"))
                .with_help("check the path and the current directory")
        }
        std::io::ErrorKind::PermissionDenied => Diagnostic::error(
            "io::permission-denied",
            format!("`{shown}` cannot be read: permission denied"),
        ),
        std::io::ErrorKind::IsADirectory => Diagnostic::error(
            "io::is-a-directory",
            format!("`{shown}` is a directory, not a workflow file"),
        ),
        _ => Diagnostic::error("io::read", format!("`{shown}` cannot be read: {error}")),
    }
}

/// Decodes file bytes as UTF-8, dropping a leading byte-order mark (editors on Windows add one;
/// it is not part of the document and would shift every span by three bytes otherwise).
fn decode_utf8(path: &Path, mut bytes: Vec<u8>) -> Result<String, Diagnostic> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(error) => {
            let bytes = error.as_bytes();
            let offset = error.utf8_error().valid_up_to();
            let before = bytes.get(..offset).unwrap_or_default();
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            // The prefix is valid UTF-8, so the column counts characters, like `Position`.
            let column = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
                .chars()
                .count()
                + 1;
            let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
            let help = if utf16 {
                "the file looks like UTF-16; save it as UTF-8"
            } else {
                "workflow documents must be UTF-8 text; is this a binary file?"
            };
            Err(Diagnostic::error(
                "io::not-utf8",
                format!(
                    "`{}` is not valid UTF-8: invalid byte 0x{:02X} at byte offset {offset} (line {line}, column {column})",
                    path.display(),
                    bytes.get(offset).copied().unwrap_or_default(),
                ),
            )
            .with_help(help))
        }
    }
}

/// Why a text holds no YAML document at all, if it does not: empty, only whitespace, or only
/// comments. `None` when there is some content.
pub(crate) fn blank_reason(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        return Some("is empty");
    }
    let mut comments = false;
    for line in text.lines() {
        let line = line.trim_start_matches([' ', '\t', '\r', '\u{feff}']);
        if line.starts_with('#') {
            comments = true;
        } else if !line.trim_end_matches([' ', '\t', '\r']).is_empty() {
            return None;
        }
    }
    Some(if comments {
        "contains only comments"
    } else {
        "contains only whitespace"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let source = Source::new("x.yaml", "a: 1\nbé: 2\n");
        assert_eq!(source.position(0), Position { line: 1, column: 1 });
        assert_eq!(source.position(5), Position { line: 2, column: 1 });
        // 'é' is two bytes; the ':' after it is the third character of line 2.
        assert_eq!(source.position(8), Position { line: 2, column: 3 });
        assert_eq!(source.position(1000), Position { line: 3, column: 1 });
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write temp file");
        path
    }

    #[test]
    fn reads_a_file_and_drops_a_byte_order_mark() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&dir, "a.yaml", b"\xEF\xBB\xBFa: 1\n");
        let source = Source::read(&path).expect("readable");
        assert_eq!(&*source.text, "a: 1\n");
        assert_eq!(source.path(), path.as_path());
    }

    #[test]
    fn missing_file_and_directory_have_their_own_codes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nope.yaml");
        let err = Source::read(&missing).expect_err("missing");
        assert_eq!(err.code, "io::not-found");
        assert!(err.message.contains("nope.yaml"), "{}", err.message);
        let err = Source::read(dir.path()).expect_err("directory");
        assert_eq!(err.code, "io::is-a-directory");
    }

    #[test]
    fn non_utf8_names_offset_line_and_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&dir, "bin.yaml", b"a: 1\nb: \xC3\xA9\xFF\n");
        let err = Source::read(&path).expect_err("not utf-8");
        assert_eq!(err.code, "io::not-utf8");
        assert!(err.message.contains("byte offset 10"), "{}", err.message);
        assert!(err.message.contains("line 2, column 5"), "{}", err.message);
        assert!(err.message.contains("0xFF"), "{}", err.message);
        assert!(err.message.contains("bin.yaml"), "{}", err.message);
    }

    #[test]
    fn utf16_gets_a_hint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&dir, "u16.yaml", b"\xFF\xFEa\x00:\x00");
        let err = Source::read(&path).expect_err("utf-16");
        assert_eq!(err.code, "io::not-utf8");
        assert!(err.help.as_deref().unwrap_or_default().contains("UTF-16"));
    }

    #[test]
    fn empty_blank_and_comment_only_files_are_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (bytes, reason) in [
            (&b""[..], "is empty"),
            (b"  \n\t\r\n", "contains only whitespace"),
            (b"# a comment\n   # another\n\n", "contains only comments"),
        ] {
            let path = write(&dir, "e.yaml", bytes);
            let err = Source::read(&path).expect_err("blank");
            assert_eq!(err.code, "yaml::empty");
            assert!(err.message.ends_with(reason), "{}", err.message);
        }
        assert_eq!(blank_reason("# c\nkey: 1"), None);
        assert_eq!(blank_reason("\u{a0}"), None);
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_file_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&dir, "secret.yaml", b"a: 1\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        if std::fs::read(&path).is_ok() {
            println!("note: running with privileges that ignore file modes; skipping");
            return;
        }
        let err = Source::read(&path).expect_err("unreadable");
        assert_eq!(err.code, "io::permission-denied");
        assert!(err.message.contains("secret.yaml"));
    }
}
