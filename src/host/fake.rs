//! A scripted host for tests: a manual clock, counted ids, documents and resources from memory,
//! and scripted HTTP answers. Nothing it does touches a socket, a process, a file or the wall
//! clock, so a run on it is repeatable to the last timestamp and id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use reqwest::Url;
use serde_json::Value;
use tokio::time::Instant;
use uuid::Uuid;

use super::{ChildWorkflow, Clock, Ids, Loader};
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::{HttpClient, HttpRequest, HttpResponse};
use crate::problem::{ErrorKind, WorkflowError};
use crate::source::Source;

/// Time that starts at a fixed instant of the calendar and moves only when a run waits: its
/// timers are tokio's, so under a paused runtime (`start_paused = true`) a wait of an hour
/// completes at once, and the clock reads an hour later.
pub(crate) struct ManualClock {
    epoch: DateTime<Utc>,
    origin: Instant,
}

impl ManualClock {
    /// A clock reading 2026-01-01T00:00:00Z now.
    pub(crate) fn new() -> Self {
        ManualClock {
            epoch: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            origin: Instant::now(),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.origin);
        self.epoch + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(deadline))
    }
}

/// Ids counted from one: `run-1`, `run-2`, ...; UUIDs built from the count; jitter fractions
/// from a fixed sequence.
#[derive(Default)]
pub(crate) struct CountedIds {
    runs: AtomicU64,
    next: AtomicU64,
}

impl CountedIds {
    fn count(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl Ids for CountedIds {
    fn run_id(&self) -> String {
        format!("run-{}", self.runs.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn event_id(&self, time: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(time.timestamp_millis()).unwrap_or_default();
        let mut random = [0u8; 10];
        random[2..].copy_from_slice(&self.count().to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    fn unique(&self) -> Uuid {
        uuid::Builder::from_random_bytes(u128::from(self.count()).to_be_bytes()).into_uuid()
    }

    fn fraction(&self) -> f64 {
        // The golden ratio's fractional steps: spread over [0, 1), the same every run.
        (self.count() as f64 * 0.618_033_988_749_895).fract()
    }
}

/// Sub-workflows and resources held in memory.
#[derive(Default)]
pub(crate) struct MemoryLoader {
    /// `namespace/name:version` → the document's text.
    pub workflows: HashMap<String, String>,
    /// A resource's URL → its text.
    pub resources: HashMap<String, String>,
}

impl Loader for MemoryLoader {
    fn locate(&self, written: &str, base_dir: Option<&Path>) -> Result<Url, WorkflowError> {
        let base = base_dir.unwrap_or(Path::new("/memory"));
        let url = match Url::parse(written) {
            Ok(url) => Ok(url),
            Err(_) => Url::from_file_path(base.join(written)).map_err(|()| written.to_owned()),
        };
        url.map_err(|written| {
            WorkflowError::new(ErrorKind::Configuration, "Bad location").with_detail(written)
        })
    }

    fn fetch<'a>(
        &'a self,
        location: &'a Url,
        _http: &'a dyn HttpClient,
        _credentials: Option<Credentials>,
    ) -> BoxFuture<'a, Result<String, WorkflowError>> {
        let found = self.resources.get(location.as_str()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| {
                WorkflowError::new(ErrorKind::Configuration, "No such resource")
                    .with_detail(location.to_string())
            })
        })
    }

    fn workflow<'a>(
        &'a self,
        _caller: Option<&'a Path>,
        namespace: &'a str,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<ChildWorkflow, WorkflowError>> {
        let key = format!("{namespace}/{name}:{version}");
        let text = self.workflows.get(&key).cloned();
        Box::pin(async move {
            let text = text.ok_or_else(|| {
                WorkflowError::new(ErrorKind::Configuration, "Sub-workflow not found")
                    .with_detail(key.clone())
            })?;
            let path = PathBuf::from(format!("/memory/{name}.yaml"));
            let checked = crate::test_support::check_source(Source::new(&key, text));
            let machine = checked
                .valid_document()
                .and_then(|document| crate::compile::compile(document).ok())
                .ok_or_else(|| {
                    WorkflowError::new(ErrorKind::Configuration, "Invalid sub-workflow")
                        .with_detail(key.clone())
                })?;
            Ok(ChildWorkflow {
                machine: Arc::new(machine),
                path,
            })
        })
    }

    fn function(
        &self,
        text: &str,
        location: &str,
        name: &str,
        caller_use: Option<&Value>,
    ) -> Result<Value, WorkflowError> {
        crate::loader::check_function(text, location, name, caller_use)
    }
}

/// How a scripted HTTP client answers the `n`th request (from 1) of a run.
type HttpAnswer = dyn Fn(&HttpRequest, usize) -> Result<HttpResponse, WorkflowError> + Send + Sync;

/// An HTTP client answering from a script and counting requests.
pub(crate) struct ScriptedHttp {
    answer: Arc<HttpAnswer>,
    sent: std::sync::Mutex<Vec<HttpRequest>>,
}

impl ScriptedHttp {
    pub(crate) fn new(answer: Arc<HttpAnswer>) -> Self {
        ScriptedHttp {
            answer,
            sent: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The requests sent so far.
    pub(crate) fn sent(&self) -> Vec<HttpRequest> {
        self.sent
            .lock()
            .map(|sent| sent.clone())
            .unwrap_or_default()
    }
}

impl HttpClient for ScriptedHttp {
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'static, Result<HttpResponse, WorkflowError>> {
        let answer = match self.sent.lock() {
            Ok(mut sent) => {
                sent.push(request.clone());
                (self.answer)(&request, sent.len())
            }
            Err(_) => Err(WorkflowError::new(ErrorKind::Runtime, "poisoned")),
        };
        Box::pin(async move { answer })
    }
}

/// A JSON response with `status`, as sent for `request`.
pub(crate) fn json_response(request: &HttpRequest, status: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.to_string().into_bytes(),
        sent: crate::host::effects::http::SentRequest {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: Vec::new(),
        },
        authorization: None,
    }
}
