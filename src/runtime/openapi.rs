//! `call: openapi` at run time: locate the document (evaluating an expression endpoint), load it
//! once per run, find the operation, evaluate and place the parameters, then send the request
//! through the HTTP runtime like any `call: http` (status handling, output shaping, redirect).

use std::sync::Arc;

use reqwest::Url;
use serde_json::{Map, Value};

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::task::Step;
use super::values::{as_text, eval_expr, eval_tmpl, short_json};
use crate::compile::{AuthSpec, OpenApiSpec, UriSpec};
use crate::expr::{Val, to_json};
use crate::host::effects::credentials::Credentials;
use crate::host::effects::http::HttpClient;
use crate::openapi::{self, ApiDocument};

impl Run<'_> {
    pub(crate) async fn call_openapi(
        &self,
        spec: &OpenApiSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Step, WorkflowError> {
        let location = self.resource_location(&spec.document.uri, "", &input, vars)?;
        let credentials =
            self.optional_credentials(spec.document.authentication.as_ref(), &input, vars)?;
        let document = self.openapi_document(&location, credentials).await?;
        let operation = document.operation(&spec.operation_id)?;
        let parameters = match &spec.parameters {
            None => Map::new(),
            Some(template) => match to_json(&eval_tmpl(template, input.clone(), vars)?) {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                other => {
                    return Err(WorkflowError::new(
                        ErrorKind::Validation,
                        "Invalid OpenAPI parameters",
                    )
                    .with_detail(format!(
                        "`{}` must evaluate to an object of parameter values, got {}",
                        template.at,
                        short_json(&crate::expr::from_json(&other))
                    )));
                }
            },
        };
        let mut request = openapi::build(operation, &parameters)?;
        request.redirect = spec.redirect;
        request.credentials =
            self.optional_credentials(spec.authentication.as_ref(), &input, vars)?;
        self.send_http(request, spec.output).await
    }

    /// The document at `location`, loaded at most once per run.
    async fn openapi_document(
        &self,
        location: &Url,
        credentials: Option<Credentials>,
    ) -> Result<Arc<ApiDocument>, WorkflowError> {
        let http = self.http_client();
        let loader = &self.executors.loader;
        self.resources()
            .openapi
            .get_or_init(location.as_str(), || async move {
                let text = loader.fetch(location, http, credentials).await?;
                ApiDocument::parse(&text, location.clone()).map(Arc::new)
            })
            .await
    }

    /// The URL of an external resource: the endpoint (evaluated when it is an expression) with
    /// `suffix` appended, GitHub/GitLab pages turned into raw URLs, a relative path resolved
    /// against the workflow file's directory.
    pub(crate) fn resource_location(
        &self,
        uri: &UriSpec,
        suffix: &str,
        input: &Val,
        vars: &[Val],
    ) -> Result<Url, WorkflowError> {
        let written = match uri {
            UriSpec::Literal(text) => text.to_string(),
            UriSpec::Expr(compiled) => {
                let value = eval_expr(compiled, input.clone(), vars)?;
                as_text(&value).ok_or_else(|| {
                    WorkflowError::new(ErrorKind::Expression, "Expression evaluation failed")
                        .with_detail(format!(
                            "`{}`: expected a URI string, got {}",
                            compiled.at,
                            short_json(&value)
                        ))
                })?
            }
        };
        let full = if suffix.is_empty() {
            written
        } else {
            format!("{}{suffix}", written.trim_end_matches('/'))
        };
        self.executors
            .loader
            .locate(&crate::compile::raw_url(&full), self.document_dir())
    }

    pub(crate) fn optional_credentials(
        &self,
        spec: Option<&AuthSpec>,
        input: &Val,
        vars: &[Val],
    ) -> Result<Option<Credentials>, WorkflowError> {
        spec.map(|spec| self.credentials(spec, input, vars))
            .transpose()
    }

    /// The run's HTTP client.
    pub(crate) fn http_client(&self) -> &dyn HttpClient {
        &*self.executors.http
    }
}
