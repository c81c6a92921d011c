//! Every `call` of a run on Temporal, and each step of an AsyncAPI subscription, as one
//! execution of the `workflow.call` activity: the engine's executor traits turned into a
//! [`Request::Call`] to the workflow code, whose answer is mapped back to what a local executor
//! returns. The run's secret values (credentials built from them included) are sealed out of
//! every request and opened in every answer (`secrets.rs`); the loader (`loader.rs`) reads
//! local resources and sub-workflow documents through the same activity.

use std::sync::Arc;

use futures::StreamExt;
use futures::channel::oneshot;
use futures::future::BoxFuture;
use serde_json::Value;

use super::host::{Request, Requests};
use super::payload_calls::{
    A2aCall, CallDone, CallInput, CallRequest, GrpcCall, HttpCall, McpCall, MessageCall,
    TargetCall, grpc_reply,
};
use super::secrets::Sealer;
use crate::host::effects::a2a::{A2aClient, A2aRequest};
use crate::host::effects::asyncapi::{AsyncApiClient, Consumption, Message, Target};
use crate::host::effects::grpc::{GrpcClient, GrpcReply, GrpcRequest};
use crate::host::effects::http::{HttpClient, HttpRequest, HttpResponse};
use crate::host::effects::mcp::{McpClient, McpRequest};
use crate::problem::{ErrorKind, WorkflowError};

/// The executors of calls on a Temporal host.
#[derive(Clone)]
pub(crate) struct ActivityCalls {
    pub(crate) requests: Requests,
    /// Seals the run's secret values out of every request and opens them in every answer.
    pub(crate) sealer: Arc<Sealer>,
}

impl ActivityCalls {
    /// Schedules the call's activity (or refuses it) and maps its result with `answer`.
    fn ask<T: Send + 'static>(
        &self,
        call: Result<CallRequest, WorkflowError>,
        answer: fn(CallDone) -> Result<T, WorkflowError>,
    ) -> BoxFuture<'static, Result<T, WorkflowError>> {
        let done = call.map(|call| self.send(call));
        Box::pin(async move { answer(done?.await?) })
    }

    /// Sends the request now (so commands keep the engine's order) and returns its answer.
    pub(crate) fn send(
        &self,
        call: CallRequest,
    ) -> impl Future<Output = Result<CallDone, WorkflowError>> + Send + use<> {
        let kind = call.kind();
        let sealer = Arc::clone(&self.sealer);
        let (done, finished) = oneshot::channel();
        let sealed = sealer.seal_payload(call).map(|call| {
            let input = CallInput {
                secrets: sealer.names().to_vec(),
                call,
            };
            self.requests
                .unbounded_send(Request::Call { call: input, done })
                .is_ok()
        });
        async move {
            let lost = || {
                WorkflowError::new(ErrorKind::Runtime, "Activity lost")
                    .with_detail(format!("the workflow ended before the {kind} activity did"))
            };
            if !sealed? {
                return Err(lost());
            }
            match sealer.unseal_payload(finished.await.map_err(|_| lost())?)? {
                CallDone::Failed { error } => Err(error),
                done => Ok(done),
            }
        }
    }
}

impl HttpClient for ActivityCalls {
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'static, Result<HttpResponse, WorkflowError>> {
        self.ask(
            HttpCall::from_request(request).map(CallRequest::Http),
            |done| match done {
                CallDone::Http(reply) => Ok(reply.into()),
                _ => Err(CallDone::unexpected("http")),
            },
        )
    }
}

impl GrpcClient for ActivityCalls {
    fn call(&self, request: GrpcRequest) -> BoxFuture<'static, Result<GrpcReply, WorkflowError>> {
        self.ask(
            GrpcCall::from_request(request).map(CallRequest::Grpc),
            |done| match done {
                CallDone::Grpc { stream, messages } => Ok(grpc_reply(stream, messages)),
                _ => Err(CallDone::unexpected("grpc")),
            },
        )
    }
}

fn value(done: CallDone) -> Result<Value, WorkflowError> {
    match done {
        CallDone::Value { value } => Ok(value),
        _ => Err(CallDone::unexpected("call")),
    }
}

fn completed(done: CallDone) -> Result<(), WorkflowError> {
    match done {
        CallDone::Done => Ok(()),
        _ => Err(CallDone::unexpected("call")),
    }
}

impl McpClient for ActivityCalls {
    fn call(&self, request: McpRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        // The server's stderr lines are not told live: the activity runs elsewhere.
        self.ask(McpCall::from_request(request).map(CallRequest::Mcp), value)
    }
}

impl A2aClient for ActivityCalls {
    fn call(&self, request: A2aRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        self.ask(A2aCall::from_request(request).map(CallRequest::A2a), value)
    }
}

impl AsyncApiClient for ActivityCalls {
    fn publish(
        &self,
        target: Target,
        message: Message,
    ) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let call = TargetCall::from_target(target).map(|target| CallRequest::Publish {
            target,
            message: MessageCall::from(message),
        });
        self.ask(call, completed)
    }

    /// The subscription is made by one activity; each message is then one activity (a
    /// consumption step) that re-attaches to the durable subscription, takes the next message
    /// and acknowledges it; `close` is one more.
    fn subscribe(
        &self,
        target: Target,
        name: String,
    ) -> BoxFuture<'static, Result<Consumption, WorkflowError>> {
        let target = match TargetCall::from_target(target) {
            Ok(target) => target,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let calls = self.clone();
        let opened = self.send(CallRequest::Subscribe {
            target: target.clone(),
            name: name.clone(),
        });
        Box::pin(async move {
            completed(opened.await?)?;
            let steps = calls.clone();
            let (step_target, step_name) = (target.clone(), name.clone());
            let messages = futures::stream::unfold((), move |()| {
                let step = steps.send(CallRequest::Receive {
                    target: step_target.clone(),
                    name: step_name.clone(),
                });
                async move {
                    let next = match step.await {
                        Ok(CallDone::Received(received)) => Ok(received.into_received()),
                        Ok(_) => Err(CallDone::unexpected("asyncapi receive")),
                        Err(error) => Err(error),
                    };
                    Some((next, ()))
                }
            })
            .boxed();
            // Scheduled only when the engine awaits it: after the last consumption step.
            let close: BoxFuture<'static, ()> = Box::pin(async move {
                let _ = calls.send(CallRequest::Close { target, name }).await;
            });
            Ok(Consumption {
                messages,
                close: Some(close),
            })
        })
    }
}
