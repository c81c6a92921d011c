//! Reading external resources the runtime needs (OpenAPI documents, custom function
//! definitions): a path relative to the workflow file's directory, a `file://` URI, or an
//! http(s) URL fetched through the run's HTTP client. Text only, capped in size.

use std::path::{Path, PathBuf};

use reqwest::Url;

use super::auth::Credentials;
use super::http::{HttpClient, HttpRequest};
use crate::runtime::error::{ErrorKind, WorkflowError};

/// The largest resource read; larger ones are refused rather than held in memory.
pub(crate) const MAX_RESOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Where `written` points: an absolute URL as is, anything else a file path relative to
/// `base_dir` (the workflow file's directory; the current directory when unknown). Like the
/// spec's own examples (`file://app/greet.proto`), a `file://` URL without a third slash names
/// a relative path; `file:///...` is absolute.
pub(crate) fn locate(written: &str, base_dir: Option<&Path>) -> Result<Url, WorkflowError> {
    let relative_file = written
        .strip_prefix("file://")
        .filter(|rest| !rest.starts_with('/') && !rest.starts_with("localhost/"));
    let written = match relative_file {
        Some(path) => path,
        // A one-letter scheme is a Windows drive (`C:\...`), not a URL.
        None => match Url::parse(written) {
            Ok(url) if url.scheme().len() > 1 => return Ok(url),
            _ => written,
        },
    };
    let relative = Path::new(written);
    let mut path: PathBuf = match base_dir {
        Some(base) => base.join(relative),
        None => relative.to_path_buf(),
    };
    if path.is_relative() {
        let here = std::env::current_dir().map_err(|error| {
            unreadable(
                written,
                format!("the current directory is unknown: {error}"),
            )
        })?;
        path = here.join(path);
    }
    Url::from_file_path(&path).map_err(|()| {
        unreadable(
            written,
            format!("`{}` cannot be turned into a file URL", path.display()),
        )
    })
}

/// The text at `location`. Files that cannot be read are `configuration` errors; HTTP failures
/// and non-2xx answers are `communication` errors carrying the status.
pub(crate) async fn fetch(
    location: &Url,
    http: &dyn HttpClient,
    credentials: Option<Credentials>,
) -> Result<String, WorkflowError> {
    let bytes = match location.scheme() {
        "file" => read_file(location).await?,
        "http" | "https" => {
            let request = HttpRequest {
                method: "GET".to_owned(),
                url: location.to_string(),
                query: Vec::new(),
                headers: vec![(
                    "Accept".to_owned(),
                    "application/json, application/yaml, text/yaml, */*;q=0.5".to_owned(),
                )],
                body: None,
                redirect: true,
                credentials,
            };
            let response = http.send(request).await?;
            if !(200..300).contains(&response.status) {
                return Err(WorkflowError::new(
                    ErrorKind::Communication,
                    "Cannot fetch an external resource",
                )
                .with_status(response.status)
                .with_detail(format!(
                    "GET {location} answered with status {}",
                    response.status
                )));
            }
            response.body
        }
        other => {
            return Err(unreadable(
                location.as_str(),
                format!(
                    "`{other}:` URLs are not supported (use a file path, file:// or http(s)://)"
                ),
            ));
        }
    };
    if bytes.len() as u64 > MAX_RESOURCE_BYTES {
        return Err(too_large(location.as_str()));
    }
    String::from_utf8(bytes)
        .map_err(|_| unreadable(location.as_str(), "it is not UTF-8 text".to_owned()))
}

async fn read_file(location: &Url) -> Result<Vec<u8>, WorkflowError> {
    let path = location
        .to_file_path()
        .map_err(|()| unreadable(location.as_str(), "it is not a local file path".to_owned()))?;
    let shown = path.display().to_string();
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|error| unreadable(&shown, error.to_string()))?;
    if meta.is_dir() {
        return Err(unreadable(&shown, "it is a directory".to_owned()));
    }
    if meta.len() > MAX_RESOURCE_BYTES {
        return Err(too_large(&shown));
    }
    tokio::fs::read(&path)
        .await
        .map_err(|error| unreadable(&shown, error.to_string()))
}

fn unreadable(what: &str, why: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Cannot read an external resource")
        .with_detail(format!("`{what}`: {why}"))
}

fn too_large(what: &str) -> WorkflowError {
    unreadable(
        what,
        format!(
            "it is larger than {} MiB",
            MAX_RESOURCE_BYTES / (1024 * 1024)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::http::HttpResponse;
    use futures::future::BoxFuture;
    use std::sync::Mutex;

    /// Answers every request with one status and body, remembering the requests.
    struct Canned {
        status: u16,
        body: &'static str,
        seen: Mutex<Vec<HttpRequest>>,
    }

    impl HttpClient for Canned {
        fn send(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'static, Result<HttpResponse, WorkflowError>> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(request);
            }
            let response = HttpResponse {
                status: self.status,
                body: self.body.as_bytes().to_vec(),
                ..HttpResponse::default()
            };
            Box::pin(async move { Ok(response) })
        }
    }

    fn canned(status: u16, body: &'static str) -> Canned {
        Canned {
            status,
            body,
            seen: Mutex::new(Vec::new()),
        }
    }

    #[test]
    fn locations_are_urls_or_paths_relative_to_the_workflow() {
        let base = Path::new("/srv/flows");
        let url = locate("https://x.test/a.json", Some(base)).map(|u| u.to_string());
        assert_eq!(url, Ok("https://x.test/a.json".to_owned()));
        let file = locate("specs/api.yaml", Some(base)).map(|u| u.to_string());
        assert_eq!(file, Ok("file:///srv/flows/specs/api.yaml".to_owned()));
        let absolute = locate("/etc/api.yaml", Some(base)).map(|u| u.to_string());
        assert_eq!(absolute, Ok("file:///etc/api.yaml".to_owned()));
        let spec_style = locate("file://specs/api.yaml", Some(base)).map(|u| u.to_string());
        assert_eq!(
            spec_style,
            Ok("file:///srv/flows/specs/api.yaml".to_owned())
        );
        let rooted = locate("file:///specs/api.yaml", Some(base)).map(|u| u.to_string());
        assert_eq!(rooted, Ok("file:///specs/api.yaml".to_owned()));
        let here = locate("api.yaml", None).map(|u| u.scheme().to_owned());
        assert_eq!(here, Ok("file".to_owned()));
    }

    #[tokio::test]
    async fn files_are_read_and_missing_ones_explained() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("doc.yaml");
        std::fs::write(&path, "openapi: 3.0.0\n").unwrap_or_else(|e| panic!("{e}"));
        let http = canned(200, "");
        let url = locate("doc.yaml", Some(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            fetch(&url, &http, None).await,
            Ok("openapi: 3.0.0\n".to_owned())
        );
        let missing = locate("nope.yaml", Some(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        let error = fetch(&missing, &http, None)
            .await
            .err()
            .unwrap_or_else(|| panic!("read"));
        assert!(error.type_.ends_with("/configuration"));
        assert!(error.detail.unwrap_or_default().contains("nope.yaml"));
        let folder = locate(".", Some(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        let error = fetch(&folder, &http, None).await.err();
        assert!(
            error
                .and_then(|e| e.detail)
                .unwrap_or_default()
                .contains("directory")
        );
        assert!(http.seen.lock().map(|s| s.is_empty()).unwrap_or(false));
    }

    #[tokio::test]
    async fn http_resources_go_through_the_client_and_statuses_are_errors() {
        let ok = canned(200, "{\"swagger\": \"2.0\"}");
        let url = Url::parse("http://127.0.0.1:9/swagger.json").unwrap_or_else(|e| panic!("{e}"));
        let credentials = Credentials::Bearer { token: "t".into() };
        assert_eq!(
            fetch(&url, &ok, Some(credentials.clone())).await,
            Ok("{\"swagger\": \"2.0\"}".to_owned())
        );
        let sent = ok.seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "GET");
        assert_eq!(sent[0].credentials, Some(credentials));
        let missing = canned(404, "no");
        let error = fetch(&url, &missing, None)
            .await
            .err()
            .unwrap_or_else(|| panic!("404"));
        assert_eq!(error.status, 404);
        assert!(error.type_.ends_with("/communication"));
        let ftp = Url::parse("ftp://x.test/a").unwrap_or_else(|e| panic!("{e}"));
        let error = fetch(&ftp, &ok, None).await.err();
        assert!(
            error
                .and_then(|e| e.detail)
                .unwrap_or_default()
                .contains("`ftp:`")
        );
    }
}
