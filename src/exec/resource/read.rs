//! Reading an external resource's text: a file from disk, a URL with a GET through the run's HTTP
//! client (its authentication applied, its answer judged as for `call: http`), at most
//! [`MAX_RESOURCE_BYTES`] of UTF-8.

use std::path::Path;

use reqwest::Url;

use super::locate::unsupported;
use crate::exec::http::display_url;
use crate::exec::http::response::check_status;
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::{HttpClient, HttpRequest};
use crate::problem::{ErrorKind, WorkflowError};

/// The largest resource read; larger ones are refused rather than held in memory.
pub(crate) const MAX_RESOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// What a resource request accepts: documents first, anything else (a script) too.
const ACCEPT: &str = "application/json, application/yaml, text/yaml, */*;q=0.5";

/// The text at `location`, at most [`MAX_RESOURCE_BYTES`] of UTF-8. A file that cannot be read
/// is a `configuration` error. A URL is fetched with a GET (redirects followed, `credentials`
/// applied); a non-2xx answer is an error as for `call: http`: 401 `authentication`, 403
/// `authorization`, any other `communication` with the real status.
pub(crate) async fn fetch(
    location: &Url,
    http: &dyn HttpClient,
    credentials: Option<Credentials>,
) -> Result<String, WorkflowError> {
    match location.scheme() {
        "file" => {
            let path = location.to_file_path().map_err(|()| {
                WorkflowError::new(ErrorKind::Configuration, "Unsupported resource location")
                    .with_detail(format!("`{location}`: it is not a local file path"))
            })?;
            read_file(&path).await
        }
        "http" | "https" => {
            let request = HttpRequest {
                method: "GET".to_owned(),
                url: location.to_string(),
                query: Vec::new(),
                headers: vec![("Accept".to_owned(), ACCEPT.to_owned())],
                body: None,
                redirect: true,
                credentials,
            };
            let response = http.send(request).await?;
            check_status(&response, false)?;
            fetched_text(location, response.body)
        }
        _ => Err(unsupported(location.as_str())),
    }
}

/// The text of the file at `path`. Only regular files are read (a FIFO would block).
async fn read_file(path: &Path) -> Result<String, WorkflowError> {
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => {
                WorkflowError::new(ErrorKind::Configuration, "Resource not found")
                    .with_detail(format!("`{}`: no such file", path.display()))
            }
            _ => not_readable(path, error.to_string()),
        })?;
    if metadata.is_dir() {
        return Err(not_readable(path, "a directory, not a file".to_owned()));
    }
    if !metadata.is_file() {
        return Err(not_readable(path, "not a regular file".to_owned()));
    }
    if metadata.len() > MAX_RESOURCE_BYTES {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Resource too large").with_detail(
                format!("`{}`: {}", path.display(), over_the_limit(metadata.len())),
            ),
        );
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|error| not_readable(path, error.to_string()))?;
    String::from_utf8(bytes).map_err(|_| not_readable(path, "not UTF-8 text".to_owned()))
}

/// A fetched body as text. The client's own response cap is usually larger than ours.
fn fetched_text(url: &Url, body: Vec<u8>) -> Result<String, WorkflowError> {
    let shown = display_url(url.as_str());
    if body.len() as u64 > MAX_RESOURCE_BYTES {
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Resource too large").with_detail(
                format!("GET {shown}: {}", over_the_limit(body.len() as u64)),
            ),
        );
    }
    String::from_utf8(body).map_err(|_| {
        WorkflowError::new(ErrorKind::Configuration, "Resource not readable")
            .with_detail(format!("GET {shown}: the body is not UTF-8 text"))
    })
}

pub(super) fn not_readable(path: &Path, why: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Resource not readable")
        .with_detail(format!("`{}`: {why}", path.display()))
}

fn over_the_limit(size: u64) -> String {
    format!("{size} bytes, over the limit of {MAX_RESOURCE_BYTES} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::effects::http::{HttpResponse, SentRequest};

    use crate::exec::resource::locate;
    use futures::future::BoxFuture;
    use std::sync::Mutex;

    /// Answers every request with one status and body, remembering the requests.
    struct Canned {
        status: u16,
        body: Vec<u8>,
        seen: Mutex<Vec<HttpRequest>>,
    }

    impl HttpClient for Canned {
        fn send(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'static, Result<HttpResponse, WorkflowError>> {
            let sent = SentRequest {
                method: request.method.clone(),
                url: request.url.clone(),
                headers: request.headers.clone(),
            };
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(request);
            }
            let response = HttpResponse {
                status: self.status,
                body: self.body.clone(),
                sent,
                ..HttpResponse::default()
            };
            Box::pin(async move { Ok(response) })
        }
    }

    fn canned(status: u16, body: &[u8]) -> Canned {
        Canned {
            status,
            body: body.to_vec(),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    async fn failure(location: &Url, http: &Canned) -> WorkflowError {
        fetch(location, http, None)
            .await
            .err()
            .unwrap_or_else(|| panic!("{location} was read"))
    }

    #[tokio::test]
    async fn files_are_read_and_problems_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let http = canned(200, b"");
        std::fs::write(dir.path().join("a.py"), "print('hi')\n").unwrap_or_else(|e| panic!("{e}"));
        let found = locate("a.py", Some(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            fetch(&found, &http, None).await,
            Ok("print('hi')\n".to_owned())
        );

        let missing = locate("nope.py", Some(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        let error = failure(&missing, &http).await;
        assert_eq!(error.title.as_deref(), Some("Resource not found"));
        assert_eq!(error.status, 400);
        assert!(error.type_.ends_with("/configuration"));
        assert_eq!(
            error.detail,
            Some(format!(
                "`{}`: no such file",
                dir.path().join("nope.py").display()
            ))
        );

        let folder = locate(".", Some(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        let error = failure(&folder, &http).await;
        assert_eq!(error.title.as_deref(), Some("Resource not readable"));
        assert!(
            error
                .detail
                .unwrap_or_default()
                .ends_with("`: a directory, not a file"),
        );

        std::fs::write(dir.path().join("a.py"), [0xff, 0xfe]).unwrap_or_else(|e| panic!("{e}"));
        let error = failure(&found, &http).await;
        assert!(
            error
                .detail
                .unwrap_or_default()
                .ends_with("a.py`: not UTF-8 text")
        );
        // Files never reach the HTTP client.
        assert!(http.seen.lock().map(|s| s.is_empty()).unwrap_or(false));
    }

    #[tokio::test]
    async fn files_over_the_cap_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("big.yaml");
        let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        // Sparse: the size is what is checked, nothing is written.
        file.set_len(MAX_RESOURCE_BYTES + 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let location = locate("big.yaml", Some(dir.path())).unwrap_or_else(|e| panic!("{e:?}"));
        let error = failure(&location, &canned(200, b"")).await;
        assert_eq!(error.title.as_deref(), Some("Resource too large"));
        assert_eq!(
            error.detail,
            Some(format!(
                "`{}`: 16777217 bytes, over the limit of 16777216 bytes",
                path.display()
            ))
        );
    }

    #[tokio::test]
    async fn urls_are_fetched_through_the_client_with_credentials() {
        let ok = canned(200, b"{\"swagger\": \"2.0\"}");
        let location = url("http://127.0.0.1:9/swagger.json");
        let credentials = Credentials::Bearer { token: "t".into() };
        assert_eq!(
            fetch(&location, &ok, Some(credentials.clone())).await,
            Ok("{\"swagger\": \"2.0\"}".to_owned())
        );
        let sent = ok.seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "GET");
        assert_eq!(sent[0].url, "http://127.0.0.1:9/swagger.json");
        assert!(sent[0].redirect);
        assert_eq!(sent[0].credentials, Some(credentials));
    }

    #[tokio::test]
    async fn statuses_and_bodies_that_are_not_text_are_errors() {
        let location = url("http://127.0.0.1:9/a.py");
        let error = failure(&location, &canned(404, b"")).await;
        assert_eq!(error.status, 404);
        assert!(error.type_.ends_with("/communication"));
        assert_eq!(
            error.detail.as_deref(),
            Some("GET http://127.0.0.1:9/a.py answered 404 Not Found")
        );
        let error = failure(&location, &canned(401, b"")).await;
        assert!(error.type_.ends_with("/authentication"));
        let error = failure(&location, &canned(403, b"")).await;
        assert!(error.type_.ends_with("/authorization"));

        let error = failure(&location, &canned(200, &[0xff])).await;
        assert_eq!(error.title.as_deref(), Some("Resource not readable"));
        assert_eq!(
            error.detail.as_deref(),
            Some("GET http://127.0.0.1:9/a.py: the body is not UTF-8 text")
        );
        let huge = vec![b' '; MAX_RESOURCE_BYTES as usize + 1];
        let error = failure(&location, &canned(200, &huge)).await;
        assert_eq!(error.title.as_deref(), Some("Resource too large"));
        // A password in the URL is not repeated in the error.
        let secret = url("http://me:pw@127.0.0.1:9/a.py");
        let error = failure(&secret, &canned(200, &[0xff])).await;
        assert!(!error.detail.unwrap_or_default().contains("pw"));
    }

    #[tokio::test]
    async fn other_schemes_are_not_fetched() {
        let http = canned(200, b"");
        let error = failure(&url("ftp://x.test/a"), &http).await;
        assert_eq!(
            error.title.as_deref(),
            Some("Unsupported resource location")
        );
        let error = failure(&url("file://server/share/a"), &http).await;
        assert!(
            error
                .detail
                .unwrap_or_default()
                .contains("not a local file path")
        );
    }
}
