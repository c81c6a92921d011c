//! The local host's loader: sub-workflows from the catalog directories, function definitions
//! through the front end, resources from files and URLs (`exec::resource`). The engine only
//! sees the `host::Loader` trait; compile never calls the front end.

mod catalog;
mod function;

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use reqwest::Url;
use serde_json::Value;

pub use catalog::Catalog;
pub(crate) use function::check_function;

use crate::exec::resource;
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::HttpClient;
use crate::host::{ChildWorkflow, Loader};
use crate::problem::WorkflowError;

/// Reads from this machine: files, URLs, and sub-workflows in the document's directory, the
/// `--workflows` directories and `./workflows`.
#[derive(Debug, Default)]
pub struct LocalLoader {
    catalog: Catalog,
}

impl LocalLoader {
    /// A loader searching sub-workflows in `directories` (after the calling document's own).
    pub fn new(directories: Vec<PathBuf>) -> Self {
        LocalLoader {
            catalog: Catalog::new(directories),
        }
    }
}

impl Loader for LocalLoader {
    fn locate(&self, written: &str, base_dir: Option<&Path>) -> Result<Url, WorkflowError> {
        resource::locate(written, base_dir)
    }

    fn fetch<'a>(
        &'a self,
        location: &'a Url,
        http: &'a dyn HttpClient,
        credentials: Option<Credentials>,
    ) -> BoxFuture<'a, Result<String, WorkflowError>> {
        Box::pin(resource::fetch(location, http, credentials))
    }

    fn workflow<'a>(
        &'a self,
        caller: Option<&'a Path>,
        namespace: &'a str,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<ChildWorkflow, WorkflowError>> {
        Box::pin(self.catalog.find(caller, namespace, name, version))
    }

    fn function(
        &self,
        text: &str,
        location: &str,
        name: &str,
        caller_use: Option<&Value>,
    ) -> Result<Value, WorkflowError> {
        check_function(text, location, name, caller_use)
    }
}
