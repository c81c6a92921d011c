//! What a run reads besides its own document: sub-workflows by identity, custom function
//! definitions, script sources, OpenAPI documents and other external resources. The engine asks
//! the loader and caches the answers per run (`host::OnceMap`); the loader itself keeps nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::Url;
use serde_json::Value;

use crate::compile::Machine;
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::HttpClient;
use crate::problem::WorkflowError;

/// A child workflow, ready to run.
#[derive(Debug)]
pub struct ChildWorkflow {
    pub machine: Arc<Machine>,
    /// Where it was read from: its own children and script sources are found from there.
    pub path: PathBuf,
}

/// Reads documents and resources for a run.
pub trait Loader: Send + Sync {
    /// Where `written` (a path or URL from the document) points, as a URL: a relative path is
    /// resolved against `base_dir` (the running document's directory).
    fn locate(&self, written: &str, base_dir: Option<&Path>) -> Result<Url, WorkflowError>;

    /// The text at `location`; remote locations are read through `http` with `credentials`.
    fn fetch<'a>(
        &'a self,
        location: &'a Url,
        http: &'a dyn HttpClient,
        credentials: Option<Credentials>,
    ) -> BoxFuture<'a, Result<String, WorkflowError>>;

    /// The sub-workflow `namespace`/`name`/`version` (`latest`: the highest), searched from the
    /// document `caller` first; checked and compiled.
    fn workflow<'a>(
        &'a self,
        caller: Option<&'a Path>,
        namespace: &'a str,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<ChildWorkflow, WorkflowError>>;

    /// A custom function's definition `text` (read from `location`), checked and wrapped as a
    /// workflow document whose only task is `name` (see `compile::function_machine`).
    fn function(
        &self,
        text: &str,
        location: &str,
        name: &str,
        caller_use: Option<&Value>,
    ) -> Result<Value, WorkflowError>;

    /// Runs the sub-workflow `child` as run `id` somewhere else than inside the calling run
    /// (on Temporal: a child workflow), resolving to its output; `None` (the default): the
    /// engine runs it itself.
    fn run_elsewhere(
        &self,
        _child: &ChildWorkflow,
        _id: &str,
        _input: Value,
    ) -> Option<BoxFuture<'static, Result<Value, WorkflowError>>> {
        None
    }
}
