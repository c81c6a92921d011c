//! Where an external resource is: what the document wrote (a path, a `file://` URI, an http(s)
//! URL) resolved to one URL, relative paths against the document's directory.

use std::path::{Path, PathBuf};

use reqwest::Url;

use super::read::not_readable;
use crate::problem::{ErrorKind, WorkflowError};

/// Where `written` points, as a `file:` or `http(s):` URL. An http(s) URL is kept as is; a path
/// is resolved against `base_dir` (the document's directory), then the current directory.
/// Like the spec's own examples (`file://app/greet.proto`), a `file://` URI without a third
/// slash (or `localhost/`) names a path relative to the document; `file:///...` is absolute.
/// A one-letter "scheme" is a Windows drive (`C:\...`), so it is a path.
pub(crate) fn locate(written: &str, base_dir: Option<&Path>) -> Result<Url, WorkflowError> {
    let written = written.trim();
    let path = match file_uri_path(written) {
        Some(path) => path,
        None if has_scheme(written) => return remote_url(written),
        None => written.to_owned(),
    };
    if path.is_empty() {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Empty resource location")
                .with_detail("the resource's `endpoint` names no file or URL"),
        );
    }
    let mut path = PathBuf::from(path);
    if let Some(base) = base_dir.filter(|_| path.is_relative()) {
        path = base.join(path);
    }
    if path.is_relative() {
        let here = std::env::current_dir().map_err(|error| {
            not_readable(&path, format!("the current directory is unknown: {error}"))
        })?;
        path = here.join(path);
    }
    Url::from_file_path(&path)
        .map_err(|()| not_readable(&path, "it cannot be turned into a file URL".to_owned()))
}

/// Whether `location` is fetched over the network (and so may need credentials).
pub(crate) fn is_remote(location: &Url) -> bool {
    matches!(location.scheme(), "http" | "https")
}

/// The path a `file:` URI names, percent-decoded (absolute for `file:///` and
/// `file://localhost/`, relative otherwise); `None` when `written` is not a `file:` URI.
fn file_uri_path(written: &str) -> Option<String> {
    let scheme = written.get(..5)?;
    if !scheme.eq_ignore_ascii_case("file:") {
        return None;
    }
    let rest = written.get(5..).unwrap_or_default();
    let path = match rest.strip_prefix("//") {
        Some(after) => match after.strip_prefix("localhost") {
            Some(local) if local.is_empty() || local.starts_with('/') => local,
            _ => after,
        },
        // `file:/abs` and `file:rel`: no authority, the path as written.
        None => rest,
    };
    Some(
        percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// `scheme:` per RFC 3986 (a letter, then letters, digits, `+`, `-`, `.`), longer than one
/// character so that a Windows drive letter is not taken for one.
fn has_scheme(written: &str) -> bool {
    let Some((scheme, _)) = written.split_once(':') else {
        return false;
    };
    scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// An http(s) URL as written; any other scheme is refused.
fn remote_url(written: &str) -> Result<Url, WorkflowError> {
    match Url::parse(written) {
        Ok(url) if is_remote(&url) => Ok(url),
        Ok(_) => Err(unsupported(written)),
        Err(error) => Err(WorkflowError::new(
            ErrorKind::Configuration,
            "Invalid resource location",
        )
        .with_detail(format!("`{written}`: {error}"))),
    }
}

pub(super) fn unsupported(written: &str) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Unsupported resource location").with_detail(
        format!("`{written}`: only file paths, file:// URIs and http(s):// URLs can be loaded"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn located(written: &str, base: Option<&Path>) -> String {
        match locate(written, base) {
            Ok(url) => url.to_string(),
            Err(error) => format!("{:?}: {:?}", error.title, error.detail),
        }
    }

    #[test]
    fn paths_and_file_uris_resolve_against_the_document_directory() {
        let base = Some(Path::new("/srv/flows"));
        assert_eq!(
            located("specs/api.yaml", base),
            "file:///srv/flows/specs/api.yaml"
        );
        assert_eq!(located("/etc/api.yaml", base), "file:///etc/api.yaml");
        // The spec's convention: no third slash, relative to the document.
        assert_eq!(
            located("file://specs/api.yaml", base),
            "file:///srv/flows/specs/api.yaml"
        );
        assert_eq!(
            located("file:///specs/api.yaml", base),
            "file:///specs/api.yaml"
        );
        assert_eq!(
            located("file://localhost/abs/a.js", base),
            "file:///abs/a.js"
        );
        // Only a whole `localhost` host is the local machine; `localhostx` is a folder.
        assert_eq!(
            located("file://localhostx/a.js", base),
            "file:///srv/flows/localhostx/a.js"
        );
        // Escapes in a URI are decoded; a bare path is taken literally.
        let spaced = locate("file:///abs/my%20script.js", base)
            .map(|u| u.to_file_path().map_err(|()| "not a path".to_owned()));
        assert_eq!(spaced, Ok(Ok(PathBuf::from("/abs/my script.js"))));
        let relative = locate("file://my%20dir/a.py", base)
            .map(|u| u.to_file_path().map_err(|()| "not a path".to_owned()));
        assert_eq!(relative, Ok(Ok(PathBuf::from("/srv/flows/my dir/a.py"))));
        let literal = locate("a%20b.py", base)
            .map(|u| u.to_file_path().map_err(|()| "not a path".to_owned()));
        assert_eq!(literal, Ok(Ok(PathBuf::from("/srv/flows/a%20b.py"))));
        assert_eq!(
            located(" scripts/a.py\n", base),
            "file:///srv/flows/scripts/a.py"
        );
    }

    #[test]
    fn without_a_document_paths_are_the_current_directory_s() {
        let here = std::env::current_dir().unwrap_or_else(|e| panic!("{e}"));
        let expected = Url::from_file_path(here.join("api.yaml"));
        assert_eq!(locate("./api.yaml", None).map_err(|_| ()), expected);
        assert_eq!(locate("file://api.yaml", None).map_err(|_| ()), expected);
        // A drive letter is not a scheme.
        assert_eq!(
            locate("C:/x.py", None).map(|u| u.scheme().to_owned()),
            Ok("file".to_owned())
        );
    }

    #[test]
    fn http_urls_are_kept_and_other_schemes_refused() {
        let base = Some(Path::new("/srv/flows"));
        assert_eq!(
            located("https://x.test/a.json", base),
            "https://x.test/a.json"
        );
        assert_eq!(
            located(" HTTPS://x.test/a.py ", base),
            "https://x.test/a.py"
        );
        assert!(is_remote(&url("http://x.test/")));
        assert!(!is_remote(&url("file:///x")));
        let refused = locate("ftp://host/a.py", base)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(
            refused.title.as_deref(),
            Some("Unsupported resource location")
        );
        assert!(refused.type_.ends_with("/configuration"));
        assert_eq!(
            refused.detail.as_deref(),
            Some(
                "`ftp://host/a.py`: only file paths, file:// URIs and http(s):// URLs can be loaded"
            )
        );
        let broken = locate("http://", base).err().and_then(|e| e.title);
        assert_eq!(broken.as_deref(), Some("Invalid resource location"));
        for empty in ["", "  ", "file://", "file://localhost"] {
            let error = locate(empty, base).err().and_then(|e| e.title);
            assert_eq!(
                error.as_deref(),
                Some("Empty resource location"),
                "{empty:?}"
            );
        }
    }
}
