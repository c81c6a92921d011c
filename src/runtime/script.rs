//! A script's external `source`: the URI is evaluated, resolved against the directory of the
//! document running the task, loaded once per run (`exec/resource.rs`), then run as inline code.

use super::engine::Run;
use super::error::WorkflowError;
use super::values::eval_text;
use crate::compile::SourceSpec;
use crate::exec::auth::Authenticator;
use crate::exec::resource::{self, Location};
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
        let authorization = match (&source.authentication, &location) {
            (Some(spec), Location::Http(_)) => {
                let credentials = self.credentials(spec, input, vars)?;
                Authenticator::default().authorize(&credentials).await?
            }
            _ => None,
        };
        let key = location.to_string();
        let code = self
            .place
            .family
            .script(key, || async {
                resource::load_text(&location, authorization.as_ref())
                    .await
                    .map(std::sync::Arc::from)
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
