//! Gathering a proto and the files it imports, before compiling: `import "x.proto";` is read
//! relative to the root file's directory (as `protoc -I <that directory>` would), from disk for a
//! local proto and with the run's HTTP client for a remote one. Google's well-known types
//! (`google/protobuf/*.proto`) are built into the compiler and never read.

use std::collections::HashSet;
use std::path::Path;

use reqwest::Url;

use super::ProtoFiles;
use crate::host::Loader;
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::HttpClient;
use crate::problem::{ErrorKind, WorkflowError};

/// More files than any real service definition imports: a bound against import cycles through
/// different spellings and against runaway remote trees.
const MAX_FILES: usize = 256;

/// The files named by the `import` statements of a proto's text, in order (comments and string
/// contents elsewhere are not mistaken for imports; `public` and `weak` imports count).
pub(crate) fn imports(text: &str) -> Vec<String> {
    let code = without_comments(text);
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("import") {
        let before_ok = code.len() - rest.len() + at == 0
            || rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || c == ';' || c == '}');
        let after = &rest[at + "import".len()..];
        rest = after;
        if !before_ok || !after.starts_with(|c: char| c.is_whitespace() || c == '"') {
            continue;
        }
        let mut tail = after.trim_start();
        for modifier in ["public", "weak"] {
            if let Some(stripped) = tail.strip_prefix(modifier) {
                tail = stripped.trim_start();
            }
        }
        let quote = match tail.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => continue,
        };
        if let Some(end) = tail[1..].find(quote) {
            found.push(tail[1..=end].to_owned());
        }
    }
    found
}

/// The text with `//` and `/* */` comments blanked out (string literals kept as they are).
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '/' && chars.peek() == Some(&'/') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            None if c == '/' && chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for skipped in chars.by_ref() {
                    if last == '*' && skipped == '/' {
                        break;
                    }
                    last = skipped;
                }
                out.push(' ');
            }
            None => out.push(c),
        }
    }
    out
}

/// Whether the compiler provides this import itself.
fn is_builtin(name: &str) -> bool {
    name.starts_with("google/protobuf/")
}

/// The root file's name: the last segment of its location.
fn root_name(location: &Url) -> String {
    location
        .path_segments()
        .and_then(|mut segments| segments.next_back().map(str::to_owned))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "root.proto".to_owned())
}

fn import_location(base: &Url, name: &str, importer: &str) -> Result<Url, WorkflowError> {
    base.join(name).map_err(|error| {
        WorkflowError::new(ErrorKind::Configuration, "Invalid proto import")
            .with_detail(format!("`{importer}` imports `{name}`: {error}"))
    })
}

fn too_many(location: &Url) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Invalid proto")
        .with_detail(format!("`{location}` imports more than {MAX_FILES} files"))
}

/// Reads the proto at `location` and its imports through the host's loader (files, or URLs with
/// the run's HTTP client); the same credentials are used for every file.
pub(crate) async fn load_remote(
    location: &Url,
    loader: &dyn Loader,
    http: &dyn HttpClient,
    credentials: Option<Credentials>,
) -> Result<ProtoFiles, WorkflowError> {
    let root = root_name(location);
    let mut files = Vec::new();
    let mut seen = HashSet::from([root.clone()]);
    let mut pending = vec![(root.clone(), location.clone())];
    while let Some((name, url)) = pending.pop() {
        if files.len() >= MAX_FILES {
            return Err(too_many(location));
        }
        let text = loader.fetch(&url, http, credentials.clone()).await?;
        for import in imports(&text) {
            if !is_builtin(&import) && seen.insert(import.clone()) {
                let next = import_location(location, &import, &name)?;
                pending.push((import, next));
            }
        }
        files.push((name, text));
    }
    Ok(ProtoFiles {
        location: crate::exec::http::display_url(location.as_str()),
        root,
        files,
    })
}

/// Reads a local proto and its imports from disk (for `validate`, which fetches nothing).
#[cfg_attr(not(feature = "grpc"), allow(dead_code))]
pub(crate) fn load_local(path: &Path) -> Result<ProtoFiles, WorkflowError> {
    let location = Url::from_file_path(path).map_err(|()| {
        WorkflowError::new(ErrorKind::Configuration, "Unsupported resource location")
            .with_detail(format!("`{}` is not an absolute path", path.display()))
    })?;
    let root = root_name(&location);
    let mut files = Vec::new();
    let mut seen = HashSet::from([root.clone()]);
    let mut pending = vec![(root.clone(), location.clone())];
    while let Some((name, url)) = pending.pop() {
        if files.len() >= MAX_FILES {
            return Err(too_many(&location));
        }
        let file = url.to_file_path().unwrap_or_default();
        let text = std::fs::read_to_string(&file).map_err(|error| {
            WorkflowError::new(ErrorKind::Configuration, "Cannot read the proto")
                .with_detail(format!("`{}`: {error}", file.display()))
        })?;
        for import in imports(&text) {
            if !is_builtin(&import) && seen.insert(import.clone()) {
                let next = import_location(&location, &import, &name)?;
                pending.push((import, next));
            }
        }
        files.push((name, text));
    }
    Ok(ProtoFiles {
        location: path.display().to_string(),
        root,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_found_outside_comments() {
        let text = r#"
syntax = "proto3";
// import "commented.proto";
/* import "block.proto"; */
import "google/protobuf/timestamp.proto";
import public "common/types.proto";
import weak 'old.proto';
message Important { string import_note = 1; } // "import"
"#;
        assert_eq!(
            imports(text),
            vec![
                "google/protobuf/timestamp.proto",
                "common/types.proto",
                "old.proto"
            ]
        );
    }

    #[test]
    fn local_protos_bring_their_imports() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("common")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("api.proto"),
            "syntax = \"proto3\";\nimport \"common/types.proto\";\nimport \"google/protobuf/empty.proto\";\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("common/types.proto"),
            "syntax = \"proto3\";\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let files = load_local(&dir.path().join("api.proto")).unwrap_or_else(|e| panic!("{e:?}"));
        let names: Vec<&str> = files.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(files.root, "api.proto");
        assert_eq!(names, ["api.proto", "common/types.proto"]);
        let missing = load_local(&dir.path().join("nope.proto"))
            .err()
            .unwrap_or_else(|| panic!("read a missing file"));
        assert_eq!(missing.title.as_deref(), Some("Cannot read the proto"));
    }
}
