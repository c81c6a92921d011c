//! `call: grpc` at run time: locate the proto (evaluating an expression endpoint) and read it
//! with its imports once per run, evaluate the arguments and the service's credentials, and hand
//! the executor a plain request whose deadline is the task's timeout. The executor compiles the
//! proto, converts the messages and makes the call; the output is the response message, or the
//! array of a server stream's messages.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::task::Step;
use super::values::{self, eval_tmpl, short_json};
use crate::compile::{GrpcSpec, TaskNode};
use crate::exec::grpc::load_remote;
use crate::expr::{Val, from_json, to_json};
use crate::host::effects::credentials::Credentials;
use crate::host::effects::grpc::{GrpcRequest, ProtoFiles};

impl Run<'_> {
    pub(crate) async fn call_grpc(
        &self,
        node: &TaskNode,
        spec: &GrpcSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Step, WorkflowError> {
        let location = self.resource_location(&spec.proto.uri, "", &input, vars)?;
        let proto_credentials =
            self.optional_credentials(spec.proto.authentication.as_ref(), &input, vars)?;
        let proto = self.proto_files(&location, proto_credentials).await?;
        let arguments = match &spec.arguments {
            None => serde_json::Value::Object(serde_json::Map::new()),
            Some(template) => match eval_tmpl(template, input.clone(), vars)? {
                Val::Null => serde_json::Value::Object(serde_json::Map::new()),
                Val::Obj(entries) => to_json(&Val::Obj(entries)),
                other => {
                    return Err(WorkflowError::new(
                        ErrorKind::Validation,
                        "Invalid gRPC arguments",
                    )
                    .with_detail(format!(
                        "`{}` must evaluate to an object (the request message), got {}",
                        template.at,
                        short_json(&other)
                    )));
                }
            },
        };
        let credentials = self.optional_credentials(spec.authentication.as_ref(), &input, vars)?;
        let request = GrpcRequest {
            proto,
            service: spec.service.clone(),
            method: spec.method.clone(),
            host: spec.host.clone(),
            port: spec.port,
            tls: spec.tls,
            arguments,
            credentials,
            deadline: deadline(node, &input, vars),
        };
        let reply = self.executors.grpc.call(request).await?;
        Ok(Step::Next(from_json(&reply.into_output()), None))
    }

    /// The proto at `location` and its imports, read at most once per run.
    async fn proto_files(
        &self,
        location: &Url,
        credentials: Option<Credentials>,
    ) -> Result<Arc<ProtoFiles>, WorkflowError> {
        let http = self.http_client();
        let loader = &*self.executors.loader;
        self.resources()
            .protos
            .get_or_init(location.as_str(), || async move {
                load_remote(location, loader, http, credentials)
                    .await
                    .map(Arc::new)
            })
            .await
    }
}

/// The task's timeout as the call's deadline (the engine enforces the timeout itself as well;
/// the deadline lets the server give up too). A timeout that does not evaluate is reported by
/// the engine, not here.
fn deadline(node: &TaskNode, input: &Val, vars: &[Val]) -> Option<Duration> {
    let timeout = node.timeout.as_ref()?;
    values::duration(&timeout.after, input, vars).ok()
}
