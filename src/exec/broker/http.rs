//! `--broker http(s)://...` (and `K_SINK`): every emitted event is POSTed there in structured
//! mode, as Knative sinks and other CloudEvents HTTP receivers expect; a 2xx answer is the
//! acknowledgement. An HTTP sink delivers nothing to `listen`: a listen on it alone is a
//! `configuration` error.

use std::time::Duration;

use futures::future::BoxFuture;

use super::cloudevent::{STRUCTURED_CONTENT_TYPE, encode_structured};
use crate::host::effects::events::{
    CloudEvent, EventBus, SubscribeRequest, Subscription, communication, nothing_delivers,
};
use crate::problem::WorkflowError;

pub struct HttpSink {
    url: String,
    client: reqwest::Client,
}

impl HttpSink {
    pub fn new(url: &str) -> HttpSink {
        HttpSink {
            url: url.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl EventBus for HttpSink {
    fn publish(&self, event: CloudEvent) -> BoxFuture<'static, Result<(), WorkflowError>> {
        let request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, STRUCTURED_CONTENT_TYPE)
            .body(encode_structured(&event));
        let url = self.url.clone();
        Box::pin(async move {
            let response = request.send().await.map_err(|error| {
                communication(
                    "Cannot deliver the event",
                    format!("POST {url}: {}", super::error_chain(&error)),
                )
            })?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(communication(
                    "The event sink refused the event",
                    format!("POST {url} answered {status}"),
                )
                .with_status(status.as_u16()))
            }
        })
    }

    fn subscribe(
        &self,
        _request: SubscribeRequest,
    ) -> BoxFuture<'static, Result<Subscription, WorkflowError>> {
        Box::pin(async { Err(nothing_delivers()) })
    }

    fn delivers(&self) -> bool {
        false
    }
}
