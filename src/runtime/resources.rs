//! What one run loads at most once and shares between all its tasks, fork branches, custom
//! function runs and sub-workflows: OpenAPI documents and gRPC protos by URL, custom function
//! definitions by URL, remote functions compiled by call site, script sources by location and
//! sub-workflows by where they were asked from. One mechanism (`host::OnceMap`), one policy:
//! concurrent callers wait for one load, a failure is not kept.

use std::sync::Arc;

use serde_json::Value;

use crate::compile::Machine;
use crate::host::{ChildWorkflow, OnceMap};
use crate::openapi::ApiDocument;

/// The caches of one run.
#[derive(Default)]
pub(crate) struct Resources {
    pub openapi: OnceMap<Arc<ApiDocument>>,
    /// AsyncAPI documents by URL.
    pub asyncapi: OnceMap<Arc<crate::exec::asyncapi::document::AsyncApiDocument>>,
    /// A gRPC call's proto and its imports, by URL (the executor compiles each once).
    pub protos: OnceMap<Arc<crate::host::effects::grpc::ProtoFiles>>,
    /// A function definition checked and wrapped as a one-task workflow document, by URL.
    pub function_documents: OnceMap<Arc<Value>>,
    /// A remote function compiled for one call site, by URL and calling task.
    pub functions: OnceMap<Arc<Machine>>,
    /// Script sources by resolved location.
    pub scripts: OnceMap<Arc<str>>,
    /// Sub-workflows by the calling document and the child's identity.
    pub workflows: OnceMap<Arc<ChildWorkflow>>,
}
