//! The loader of a run on Temporal. Whatever a run reads becomes part of its history, so that
//! every replay reads the same: `file:` resources are read by an activity (remote ones through
//! the HTTP activity), a sub-workflow's document is found by an activity and runs as a child
//! workflow carrying it (`children.rs`); function definitions are checked as on the local host.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use futures::channel::oneshot;
use futures::future::BoxFuture;
use reqwest::Url;
use serde_json::Value;

use super::host::{Request, Requests};
use super::host_calls::ActivityCalls;
use super::payload::RunRequest;
use super::payload_calls::{CallDone, CallRequest};
use super::secrets::Sealer;
use super::workflow::compile;
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::HttpClient;
use crate::host::{ChildWorkflow, Loader};
use crate::loader::LocalLoader;
use crate::problem::{ErrorKind, WorkflowError};

pub(crate) struct TemporalLoader {
    /// Where locations are resolved and functions checked, as locally.
    pub(crate) local: LocalLoader,
    pub(crate) calls: ActivityCalls,
    pub(crate) requests: Requests,
    /// The text of every sub-workflow document found, by path: what a child's input carries.
    pub(crate) documents: Mutex<HashMap<PathBuf, String>>,
    /// Seals the run's secret values out of a child's input.
    pub(crate) sealer: Arc<Sealer>,
}

impl Loader for TemporalLoader {
    fn locate(&self, written: &str, base_dir: Option<&Path>) -> Result<Url, WorkflowError> {
        self.local.locate(written, base_dir)
    }

    fn fetch<'a>(
        &'a self,
        location: &'a Url,
        http: &'a dyn HttpClient,
        credentials: Option<Credentials>,
    ) -> BoxFuture<'a, Result<String, WorkflowError>> {
        if location.scheme() != "file" {
            return self.local.fetch(location, http, credentials);
        }
        let read = self.calls.send(CallRequest::Fetch {
            location: location.to_string(),
        });
        Box::pin(async move {
            match read.await? {
                CallDone::Text { text } => Ok(text),
                _ => Err(CallDone::unexpected("resource")),
            }
        })
    }

    fn workflow<'a>(
        &'a self,
        caller: Option<&'a Path>,
        namespace: &'a str,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<ChildWorkflow, WorkflowError>> {
        // Found by an activity: its result (the document's text) is in the history, so every
        // replay compiles the same document, on any worker, whatever its disk holds now.
        let found = self.calls.send(CallRequest::FindWorkflow {
            caller: caller.map(|path| path.display().to_string()),
            namespace: namespace.to_string(),
            name: name.to_string(),
            version: version.to_string(),
        });
        Box::pin(async move {
            let (path, text) = match found.await? {
                CallDone::Document { path, text } => (path, text),
                _ => return Err(CallDone::unexpected("sub-workflow lookup")),
            };
            let file = Path::new(&path)
                .file_name()
                .map_or_else(|| path.clone(), |name| name.to_string_lossy().into_owned());
            let machine = compile(&RunRequest::new(file, text.clone(), Value::Null))?;
            self.documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(PathBuf::from(&path), text);
            Ok(ChildWorkflow {
                machine: Arc::new(machine),
                path: PathBuf::from(path),
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
        self.local.function(text, location, name, caller_use)
    }

    fn run_elsewhere(
        &self,
        child: &ChildWorkflow,
        id: &str,
        input: Value,
    ) -> Option<BoxFuture<'static, Result<Value, WorkflowError>>> {
        let document = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&child.path)
            .cloned()
            .ok_or("its document was not found by the lookup activity");
        let name = child.path.file_name().map_or_else(
            || "workflow.yaml".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let input = match self.sealer.seal_payload(input) {
            Ok(input) => input,
            Err(error) => return Some(Box::pin(std::future::ready(Err(error)))),
        };
        let (done, finished) = oneshot::channel();
        let mut request = RunRequest::new(name, document.clone().unwrap_or_default(), input);
        request.sealed = self.sealer.names().to_vec();
        let sent = document.as_ref().is_ok()
            && self
                .requests
                .unbounded_send(Request::Child {
                    id: id.to_string(),
                    request,
                    done,
                })
                .is_ok();
        let path = child.path.display().to_string();
        Some(Box::pin(async move {
            if let Err(error) = document {
                return Err(WorkflowError::new(
                    ErrorKind::Configuration,
                    "Sub-workflow unreadable",
                )
                .with_detail(format!("cannot read {path}: {error}")));
            }
            if !sent {
                return Err(lost());
            }
            finished.await.map_err(|_| lost())?
        }))
    }
}

fn lost() -> WorkflowError {
    WorkflowError::new(ErrorKind::Runtime, "Child workflow lost")
        .with_detail("the workflow ended before its child workflow did")
}
