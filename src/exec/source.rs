//! Where a script's `source` is, and reading it: a file path (relative
//! paths are resolved against the directory of the document that names them), a `file://` URI,
//! or an `http(s)://` URL (fetched by the run's HTTP client). The size is capped; every failure
//! names the location.

use std::path::{Path, PathBuf};

use crate::runtime::error::{ErrorKind, WorkflowError};

/// The most bytes a resource may have.
pub const MAX_RESOURCE_BYTES: usize = 8 * 1024 * 1024;

/// Where a resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Http(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Http(url) => f.write_str(url),
        }
    }
}

/// Resolves `uri` against `base`, the directory of the document naming it (the current
/// directory when `None`).
pub fn locate(uri: &str, base: Option<&Path>) -> Result<Location, WorkflowError> {
    let uri = uri.trim();
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Location::Http(uri.to_owned()));
    }
    let path = if lower.starts_with("file://") {
        let rest = uri.get("file://".len()..).unwrap_or_default();
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        percent_decode(rest)
    } else if has_scheme(uri) {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Unsupported resource location")
                .with_detail(format!(
                    "`{uri}`: only file paths, file:// URIs and http(s):// URLs can be loaded"
                )),
        );
    } else {
        uri.to_owned()
    };
    if path.is_empty() {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Empty resource location")
                .with_detail("the resource's `endpoint` names no file or URL"),
        );
    }
    let path = PathBuf::from(path);
    Ok(Location::File(match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    }))
}

/// `scheme:` per RFC 3986 (a letter, then letters, digits, `+`, `-`, `.`), longer than one
/// character so that a Windows drive letter is not taken for one.
fn has_scheme(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    scheme.len() > 1
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `%XX` escapes decoded; malformed escapes are kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                index += 3;
            }
            None => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text of the file at `path`, at most [`MAX_RESOURCE_BYTES`] of UTF-8.
pub async fn read_file(path: &Path) -> Result<String, WorkflowError> {
    let fail = |title: &str, why: String| {
        WorkflowError::new(ErrorKind::Configuration, title)
            .with_detail(format!("`{}`: {why}", path.display()))
    };
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => fail("Resource not found", "no such file".to_owned()),
            _ => fail("Resource not readable", error.to_string()),
        })?;
    if !metadata.is_file() {
        return Err(fail("Resource not readable", "not a file".to_owned()));
    }
    if metadata.len() > MAX_RESOURCE_BYTES as u64 {
        return Err(fail("Resource too large", too_large(metadata.len())));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|error| fail("Resource not readable", error.to_string()))?;
    String::from_utf8(bytes).map_err(|_| fail("Resource not readable", "not UTF-8 text".to_owned()))
}

/// A fetched body as text: at most [`MAX_RESOURCE_BYTES`] of UTF-8.
pub fn fetched_text(url: &str, body: Vec<u8>) -> Result<String, WorkflowError> {
    if body.len() > MAX_RESOURCE_BYTES {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Resource too large")
                .with_detail(format!("GET {url}: {}", too_large(body.len() as u64))),
        );
    }
    String::from_utf8(body).map_err(|_| {
        WorkflowError::new(ErrorKind::Configuration, "Resource not readable")
            .with_detail(format!("GET {url}: the body is not UTF-8 text"))
    })
}

fn too_large(size: u64) -> String {
    format!("{size} bytes, over the limit of {MAX_RESOURCE_BYTES} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_document_directory() {
        let base = Path::new("/flows");
        assert_eq!(
            locate("scripts/a.py", Some(base)),
            Ok(Location::File("/flows/scripts/a.py".into()))
        );
        assert_eq!(locate("./a.py", None), Ok(Location::File("./a.py".into())));
        assert_eq!(
            locate("/abs/a.py", Some(base)),
            Ok(Location::File("/abs/a.py".into()))
        );
        assert_eq!(
            locate("file:///abs/my%20script.js", Some(base)),
            Ok(Location::File("/abs/my script.js".into()))
        );
        assert_eq!(
            locate("file://localhost/abs/a.js", Some(base)),
            Ok(Location::File("/abs/a.js".into()))
        );
        assert_eq!(
            locate("file://rel/a.js", Some(base)),
            Ok(Location::File("/flows/rel/a.js".into()))
        );
        assert_eq!(
            locate(" HTTPS://example.com/a.py ", Some(base)),
            Ok(Location::Http("HTTPS://example.com/a.py".into()))
        );
        assert_eq!(
            locate("C:/x.py", None),
            Ok(Location::File("C:/x.py".into()))
        );
    }

    #[test]
    fn other_schemes_and_empty_locations_are_refused() {
        let error = locate("ftp://host/a.py", None)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(
            error.title.as_deref(),
            Some("Unsupported resource location")
        );
        let error = locate("file://", None)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(error.title.as_deref(), Some("Empty resource location"));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
    }

    #[tokio::test]
    async fn files_are_read_and_problems_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.py");
        std::fs::write(&path, "print('hi')\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_file(&path).await, Ok("print('hi')\n".to_owned()));
        let missing = read_file(&dir.path().join("nope.py"))
            .await
            .err()
            .unwrap_or_else(|| panic!("read"));
        assert_eq!(missing.title.as_deref(), Some("Resource not found"));
        assert_eq!(missing.status, 400);
        assert!(
            missing
                .detail
                .unwrap_or_default()
                .ends_with("nope.py`: no such file")
        );
        let directory = read_file(dir.path())
            .await
            .err()
            .unwrap_or_else(|| panic!("read"));
        assert_eq!(
            directory.detail.unwrap_or_default(),
            format!("`{}`: not a file", dir.path().display())
        );
        std::fs::write(&path, [0xff, 0xfe]).unwrap_or_else(|e| panic!("{e}"));
        let binary = read_file(&path)
            .await
            .err()
            .unwrap_or_else(|| panic!("read"));
        assert!(
            binary
                .detail
                .unwrap_or_default()
                .ends_with("not UTF-8 text")
        );
    }
}
