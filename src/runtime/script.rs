//! A script's external `source`: the URI is evaluated and resolved against the directory of the
//! document running the task and read by the host's loader like any external resource (a URL
//! with the endpoint's authentication); loaded once per run; then run as inline code.

use std::sync::Arc;

use super::engine::Run;
use super::error::WorkflowError;
use super::values::eval_text;
use crate::compile::SourceSpec;
use crate::exec::resource;
use crate::expr::Val;

impl Run<'_> {
    pub(crate) async fn script_code(
        &self,
        source: &SourceSpec,
        input: &Val,
        vars: &[Val],
    ) -> Result<String, WorkflowError> {
        let uri = eval_text(&source.uri, input.clone(), vars)?;
        let loader = &self.executors.loader;
        let location = loader.locate(&uri, self.document_dir())?;
        let credentials = match &source.authentication {
            Some(spec) if resource::is_remote(&location) => {
                Some(self.credentials(spec, input, vars)?)
            }
            _ => None,
        };
        let code = self
            .resources()
            .scripts
            .get_or_init(location.as_str(), || async {
                let text = loader
                    .fetch(&location, self.http_client(), credentials)
                    .await?;
                Ok(Arc::from(text))
            })
            .await
            .map_err(|error| at_source(error, &source.at))?;
        Ok(code.to_string())
    }
}

/// Says which field named the resource that failed.
fn at_source(mut error: WorkflowError, at: &str) -> WorkflowError {
    error.detail = Some(match error.detail.take() {
        Some(detail) => format!("{detail} (script source at `{at}`)"),
        None => format!("script source at `{at}`"),
    });
    error
}
