//! A script's external `source`: the URI is evaluated and resolved against the directory of the
//! document running the task; a file is read, a URL fetched with a GET through the run's HTTP
//! client (its authentication applied, redirects followed); loaded once per run; then run as
//! inline code.

use std::sync::Arc;

use super::engine::Run;
use super::error::WorkflowError;
use super::http_response::check_status;
use super::values::eval_text;
use crate::compile::SourceSpec;
use crate::exec::http::HttpRequest;
use crate::exec::source::{self as resource, Location};
use crate::expr::Val;

impl Run<'_> {
    pub(crate) async fn script_code(
        &self,
        source: &SourceSpec,
        input: &Val,
        vars: &[Val],
    ) -> Result<String, WorkflowError> {
        let uri = eval_text(&source.uri, input.clone(), vars)?;
        let base = self
            .place
            .document
            .as_deref()
            .and_then(|path| path.parent());
        let location = resource::locate(&uri, base)?;
        let credentials = match (&source.authentication, &location) {
            (Some(spec), Location::Http(_)) => Some(self.credentials(spec, input, vars)?),
            _ => None,
        };
        let key = location.to_string();
        let code = self
            .place
            .family
            .script(key, || async {
                let text = match &location {
                    Location::File(path) => resource::read_file(path).await?,
                    Location::Http(url) => {
                        let request = HttpRequest {
                            method: "GET".to_owned(),
                            url: url.clone(),
                            query: Vec::new(),
                            headers: Vec::new(),
                            body: None,
                            redirect: true,
                            credentials,
                        };
                        let response = self.executors.http.send(request).await?;
                        check_status(&response, false)?;
                        resource::fetched_text(url, response.body)?
                    }
                };
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
