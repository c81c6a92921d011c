//! `call: http` at run time: the compiled `HttpSpec` evaluated into an `HttpRequest` (URI
//! template or expression, header and query maps, body, credentials), and `Run::send_http`,
//! the one path every HTTP-based call (http, openapi, custom functions) takes to the network:
//! send, map the status to an error, shape the output, expose `$authorization`.

use std::sync::Arc;

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::event::EventKind;
use super::task::Step;
use super::values::{as_text, eval_expr, eval_tmpl, obj, short_json, string, text_of};
use crate::compile::{EndpointSpec, HttpSpec, Tmpl};
use crate::document::HttpOutput;
use crate::exec::http::response::{check_status, shape};
use crate::expr::{Val, to_json};
use crate::host::effects::http::{HttpBody, HttpRequest};

impl Run<'_> {
    /// Runs a `call: http` task body (the task at `pointer`, execution `step`) on its
    /// transformed input.
    pub(crate) async fn call_http(
        &self,
        pointer: &Arc<str>,
        step: Option<&Arc<str>>,
        spec: &HttpSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Step, WorkflowError> {
        if let EndpointSpec::Template { template, at } = &spec.endpoint {
            self.undefined_variables(pointer, step, at, &template.undefined(&input))?;
        }
        let request = self.http_request(spec, &input, vars)?;
        self.send_http(request, spec.output).await
    }

    /// Sends `request` and turns the response into the task's raw output in `output` mode.
    /// A status outside 2xx (3xx too unless `request.redirect`) is an error: 401
    /// `authentication`, 403 `authorization`, any other `communication`, each with the real
    /// status. The step carries the authorization used, for `$authorization`.
    pub(crate) async fn send_http(
        &self,
        request: HttpRequest,
        output: HttpOutput,
    ) -> Result<Step, WorkflowError> {
        let redirect = request.redirect;
        let response = self.executors.http.send(request).await?;
        check_status(&response, redirect)?;
        let shaped = shape(output, &response)?;
        Ok(match response.authorization {
            Some(authorization) => Step::Authorized(
                shaped,
                obj([
                    ("scheme", string(authorization.scheme)),
                    ("parameter", string(authorization.parameter)),
                ]),
            ),
            None => Step::Next(shaped, None),
        })
    }

    /// URI template variables the input does not define expand to nothing (RFC 6570): the
    /// task's log says so, a line per variable; under `--strict` the task faults instead.
    fn undefined_variables(
        &self,
        pointer: &Arc<str>,
        step: Option<&Arc<str>>,
        at: &str,
        names: &[&str],
    ) -> Result<(), WorkflowError> {
        if names.is_empty() {
            return Ok(());
        }
        let listed: Vec<String> = names.iter().map(|name| format!("`{{{name}}}`")).collect();
        let message = format!(
            "the endpoint's {} {} not defined by the task input and {} to nothing (`{at}`)",
            listed.join(", "),
            if names.len() == 1 { "is" } else { "are" },
            if names.len() == 1 {
                "expands"
            } else {
                "expand"
            },
        );
        if self.place.family.strict {
            return Err(WorkflowError::new(
                ErrorKind::Validation,
                "Undefined URI template variable",
            )
            .with_detail(format!("{message}; `--strict` refuses it")));
        }
        self.step_event(pointer, step, || EventKind::TaskOutput {
            stream: crate::host::effects::process::OutputStream::Warning,
            line: message,
        });
        Ok(())
    }

    /// Evaluates every part of the call against the task's transformed input.
    pub(crate) fn http_request(
        &self,
        spec: &HttpSpec,
        input: &Val,
        vars: &[Val],
    ) -> Result<HttpRequest, WorkflowError> {
        let url = match &spec.endpoint {
            EndpointSpec::Template { template, at } => template
                .expand(input)
                .map_err(|why| invalid(at, "Invalid endpoint", why.to_string()))?,
            EndpointSpec::Expr(compiled) => {
                let value = eval_expr(compiled, input.clone(), vars)?;
                as_text(&value).ok_or_else(|| {
                    invalid(
                        &compiled.at,
                        "Invalid endpoint",
                        format!("expected a URI string, got {}", short_json(&value)),
                    )
                })?
            }
        };
        let headers = match &spec.headers {
            Some(template) => pairs(template, input, vars, Repeated::Joined)?,
            None => Vec::new(),
        };
        let query = match &spec.query {
            Some(template) => pairs(template, input, vars, Repeated::Separate)?,
            None => Vec::new(),
        };
        let body = match &spec.body {
            None => None,
            Some(template) => match eval_tmpl(template, input.clone(), vars)? {
                Val::Null => None,
                Val::TStr(bytes) | Val::BStr(bytes) => {
                    Some(HttpBody::Text(String::from_utf8_lossy(&bytes).into_owned()))
                }
                other => Some(HttpBody::Json(to_json(&other))),
            },
        };
        let credentials = match &spec.authentication {
            Some(auth) => Some(self.credentials(auth, input, vars)?),
            None => None,
        };
        Ok(HttpRequest {
            method: spec.method.clone(),
            url,
            query,
            headers,
            body,
            redirect: spec.redirect,
            credentials,
        })
    }
}

/// What an array value means in a name/value map.
#[derive(Clone, Copy)]
enum Repeated {
    /// Headers: one header, values joined with `, `.
    Joined,
    /// Query: one parameter per item (`?tag=a&tag=b`).
    Separate,
}

/// A header or query map (written as a map, or one expression yielding one) as name/value
/// pairs: strings as they are, numbers and booleans as JSON text, nulls left out.
fn pairs(
    template: &Tmpl,
    input: &Val,
    vars: &[Val],
    repeated: Repeated,
) -> Result<Vec<(String, String)>, WorkflowError> {
    let entries = match eval_tmpl(template, input.clone(), vars)? {
        Val::Null => return Ok(Vec::new()),
        Val::Obj(entries) => entries,
        other => {
            return Err(invalid(
                &template.at,
                "Invalid HTTP call",
                format!(
                    "expected an object of names and values, got {}",
                    short_json(&other)
                ),
            ));
        }
    };
    let mut out = Vec::with_capacity(entries.len());
    for (name, value) in entries.iter() {
        let name = text_of(name);
        let scalar = |value: &Val| -> Result<Option<String>, WorkflowError> {
            match value {
                Val::Null => Ok(None),
                Val::Arr(_) | Val::Obj(_) => Err(invalid(
                    &template.at,
                    "Invalid HTTP call",
                    format!(
                        "`{name}` must be a string, number or boolean, got {}",
                        short_json(value)
                    ),
                )),
                other => Ok(Some(text_of(other))),
            }
        };
        match (value, repeated) {
            (Val::Arr(items), Repeated::Separate) => {
                for item in items.iter() {
                    if let Some(text) = scalar(item)? {
                        out.push((name.clone(), text));
                    }
                }
            }
            (Val::Arr(items), Repeated::Joined) => {
                let texts: Vec<String> = items
                    .iter()
                    .map(scalar)
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                    .collect();
                if !texts.is_empty() {
                    out.push((name, texts.join(", ")));
                }
            }
            (value, _) => {
                if let Some(text) = scalar(value)? {
                    out.push((name, text));
                }
            }
        }
    }
    Ok(out)
}

/// An `expression` error about the value of the field at `at`.
fn invalid(at: &str, title: &str, why: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Expression, title).with_detail(format!("`{at}`: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(value: serde_json::Value) -> Tmpl {
        let compiled = crate::expr::Template::compile(
            &value,
            crate::expr::ExprMode::Strict,
            &crate::compile::BASE_VARS,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        Tmpl {
            template: compiled,
            at: "/do/0/x/with/query".into(),
        }
    }

    fn evaluated(
        value: serde_json::Value,
        input: serde_json::Value,
        repeated: Repeated,
    ) -> Result<Vec<(String, String)>, WorkflowError> {
        let vars = vec![Val::Null; crate::compile::BASE_VARS.len()];
        pairs(
            &template(value),
            &crate::expr::from_json(&input),
            &vars,
            repeated,
        )
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn maps_become_pairs() {
        let found = evaluated(
            json!({"q": "${ .q }", "n": 2, "flag": true, "gone": null, "tag": ["a", "b"]}),
            json!({"q": "x y"}),
            Repeated::Separate,
        );
        assert_eq!(
            found,
            Ok(owned(&[
                ("q", "x y"),
                ("n", "2"),
                ("flag", "true"),
                ("tag", "a"),
                ("tag", "b")
            ]))
        );
        let joined = evaluated(json!({"accept": ["a", "b"]}), json!({}), Repeated::Joined);
        assert_eq!(joined, Ok(owned(&[("accept", "a, b")])));
    }

    #[test]
    fn one_expression_may_build_the_whole_map() {
        let found = evaluated(json!("${ {k: .v} }"), json!({"v": "w"}), Repeated::Separate);
        assert_eq!(found, Ok(owned(&[("k", "w")])));
        assert_eq!(
            evaluated(json!("${ null }"), json!({}), Repeated::Joined),
            Ok(vec![])
        );
    }

    #[test]
    fn non_maps_and_nested_values_are_expression_errors() {
        let error = evaluated(json!("${ [1] }"), json!({}), Repeated::Joined)
            .err()
            .unwrap_or_else(|| panic!("accepted an array"));
        assert!(error.type_.ends_with("/expression"));
        assert_eq!(error.status, 400);
        assert!(
            error
                .detail
                .unwrap_or_default()
                .starts_with("`/do/0/x/with/query`: expected an object")
        );
        let nested = evaluated(json!({"a": {"b": 1}}), json!({}), Repeated::Separate)
            .err()
            .unwrap_or_else(|| panic!("accepted an object"));
        assert!(nested.detail.unwrap_or_default().contains("`a` must be"));
    }
}
