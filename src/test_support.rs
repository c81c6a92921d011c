//! Helpers shared by unit tests: the spec's reference material, which lives beside the repository
//! (`../shared/spec`, or where `WORKFLOW_SPEC_DIR` points) and is never part of it; a scripted
//! process runner; the front end, for tests of the stages after it (compile and the engine never
//! call it themselves).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

pub(crate) use crate::frontend::{Checked, check_path, check_source};
use crate::host::effects::process::{ProcessOutput, ProcessRequest, ProcessRunner};
use crate::problem::WorkflowError;

/// `<spec>/<sub>` when it exists; otherwise prints a note (so a skipped test says why) and
/// returns `None`.
pub(crate) fn spec_dir(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("WORKFLOW_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec")));
    let dir = root.join(sub);
    if dir.exists() {
        Some(dir)
    } else {
        println!("note: {} is absent; skipping", dir.display());
        None
    }
}

/// The `.yaml`, `.yml` and `.json` files directly in `<spec>/<sub>`, sorted; empty when absent.
pub(crate) fn spec_documents(sub: &str) -> Vec<PathBuf> {
    let Some(dir) = spec_dir(sub) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|path| {
        path.extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| matches!(ext, "yaml" | "yml" | "json"))
    });
    paths.sort();
    paths
}

/// The workflow definitions embedded as `"""yaml` doc strings in the CTK features.
pub(crate) fn ctk_definitions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        match (&mut current, line.trim()) {
            (None, opening) if opening.starts_with("\"\"\"") => {
                current = Some((indent, String::new()))
            }
            (Some(_), "\"\"\"") => {
                let (_, body) = current.take().unwrap_or_default();
                if body.starts_with("document:") {
                    out.push(body);
                }
            }
            (Some((strip, body)), _) => {
                body.push_str(line.get(*strip..).unwrap_or(""));
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

/// How a fake runner answers a request.
type Answer = Box<dyn Fn(&ProcessRequest) -> Result<ProcessOutput, WorkflowError> + Send + Sync>;

/// A process runner answering from a script and remembering every request.
pub(crate) struct FakeProcesses {
    pub requests: Mutex<Vec<ProcessRequest>>,
    answer: Answer,
}

impl FakeProcesses {
    pub(crate) fn new(
        answer: impl Fn(&ProcessRequest) -> Result<ProcessOutput, WorkflowError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(FakeProcesses {
            requests: Mutex::new(Vec::new()),
            answer: Box::new(answer),
        })
    }

    pub(crate) fn requests(&self) -> Vec<ProcessRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl ProcessRunner for FakeProcesses {
    fn run(
        &self,
        request: ProcessRequest,
    ) -> BoxFuture<'static, Result<ProcessOutput, WorkflowError>> {
        let answer = (self.answer)(&request);
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(request);
        }
        Box::pin(async move { answer })
    }
}
