//! `call: mcp` at run time: the compiled `McpSpec` evaluated into an `McpRequest` (command,
//! arguments and environment, or endpoint, headers and credentials; the parameters), sent
//! within the call's own `timeout`, and the result judged: a tool result with `isError: true`
//! is a `runtime` error carrying the tool's text.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::process::{environment, pairs};
use super::values::{self, as_text, eval_expr, eval_text, eval_tmpl, short_json, text_of};
use crate::compile::{MCP_METHODS, McpSpec, McpTransportSpec, Tmpl, UriSpec};
use crate::expr::{Val, from_json, to_json};
use crate::host::effects::mcp::{McpRequest, McpServer};

impl Run<'_> {
    pub(crate) async fn call_mcp(
        &self,
        pointer: &Arc<str>,
        step: Option<&Arc<str>>,
        spec: &McpSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Val, WorkflowError> {
        let server = match &spec.transport {
            McpTransportSpec::Stdio {
                command,
                arguments,
                environment: env,
            } => McpServer::Stdio {
                command: eval_text(command, input.clone(), vars)?,
                arguments: arguments
                    .iter()
                    .map(|argument| eval_tmpl(argument, input.clone(), vars).map(|v| text_of(&v)))
                    .collect::<Result<_, _>>()?,
                environment: environment(env.as_ref(), &input, vars)?,
            },
            McpTransportSpec::Http {
                endpoint,
                authentication,
                headers,
            } => McpServer::Http {
                url: uri_text(endpoint, &input, vars)?,
                headers: pairs(headers.as_ref(), &input, vars, "headers")?,
                credentials: self.optional_credentials(authentication.as_ref(), &input, vars)?,
            },
        };
        let parameters = parameters(spec.parameters.as_ref(), &input, vars)?;
        check_required(&spec.method, parameters.as_ref(), MCP_METHODS, "MCP")?;
        let request = McpRequest {
            server,
            protocol_version: spec.protocol_version.clone(),
            client_name: spec.client_name.clone(),
            client_version: spec.client_version.clone(),
            method: spec.method.clone(),
            parameters: parameters.map(Value::Object),
            on_line: self.line_observer(pointer, step),
        };
        let call = self.executors.mcp.call(request);
        let result = match &spec.timeout {
            None => call.await?,
            Some(timeout) => {
                let after = values::duration(timeout, &input, vars)?;
                let clock = &self.executors.clock;
                clock
                    .within(clock.deadline(after), call)
                    .await
                    .ok_or_else(|| {
                        WorkflowError::new(ErrorKind::Timeout, "MCP call timed out").with_detail(
                            format!("`{}` did not answer within {after:?}", spec.method),
                        )
                    })??
            }
        };
        if spec.method == "tools/call" {
            tool_failure(&result)?;
        }
        Ok(from_json(&result))
    }
}

/// A URI as written, or the string an expression yields.
pub(super) fn uri_text(uri: &UriSpec, input: &Val, vars: &[Val]) -> Result<String, WorkflowError> {
    match uri {
        UriSpec::Literal(text) => Ok(text.to_string()),
        UriSpec::Expr(compiled) => {
            let value = eval_expr(compiled, input.clone(), vars)?;
            as_text(&value).ok_or_else(|| {
                WorkflowError::new(ErrorKind::Expression, "Invalid endpoint").with_detail(format!(
                    "`{}`: expected a URI string, got {}",
                    compiled.at,
                    short_json(&value)
                ))
            })
        }
    }
}

/// The evaluated `parameters`: an object, or nothing for null or absent.
pub(super) fn parameters(
    template: Option<&Tmpl>,
    input: &Val,
    vars: &[Val],
) -> Result<Option<Map<String, Value>>, WorkflowError> {
    let Some(template) = template else {
        return Ok(None);
    };
    match to_json(&eval_tmpl(template, input.clone(), vars)?) {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        other => Err(
            WorkflowError::new(ErrorKind::Validation, "Invalid call parameters").with_detail(
                format!(
                    "`{}` must evaluate to an object, got {}",
                    template.at,
                    short_json(&from_json(&other))
                ),
            ),
        ),
    }
}

/// The keys `method` requires in its parameters (checked again here: one expression may build
/// them, which compilation cannot see).
pub(super) fn check_required(
    method: &str,
    parameters: Option<&Map<String, Value>>,
    methods: &[(&str, &[&str])],
    protocol: &str,
) -> Result<(), WorkflowError> {
    let required = methods
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, keys)| *keys)
        .unwrap_or_default();
    let missing: Vec<String> = required
        .iter()
        .filter(|key| !parameters.is_some_and(|p| p.contains_key(**key)))
        .map(|key| format!("`{key}`"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(
        WorkflowError::new(ErrorKind::Validation, format!("Invalid {protocol} call")).with_detail(
            format!("`{method}` needs `parameters` with {}", missing.join(", ")),
        ),
    )
}

/// A tool result with `isError: true`: the tool ran and failed. Its text content is the message.
fn tool_failure(result: &Value) -> Result<(), WorkflowError> {
    if result.get("isError").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let texts: Vec<&str> = result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect();
    let detail = if texts.is_empty() {
        format!("the tool reported an error without text: {result}")
    } else {
        texts.join("\n")
    };
    Err(WorkflowError::new(ErrorKind::Runtime, "MCP tool failed").with_detail(detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tool_error_carries_its_text() {
        assert_eq!(
            tool_failure(&json!({"content": [], "isError": false})),
            Ok(())
        );
        let error = tool_failure(&json!({"content": [{"type": "text", "text": "boom"},
            {"type": "text", "text": "again"}], "isError": true}))
        .err()
        .unwrap_or_else(|| panic!("accepted"));
        assert!(error.type_.ends_with("/runtime"));
        assert_eq!(error.detail.as_deref(), Some("boom\nagain"));
    }

    #[test]
    fn required_parameters_are_checked() {
        let map = |v: Value| v.as_object().cloned();
        assert!(
            check_required(
                "tools/call",
                map(json!({"name": "x"})).as_ref(),
                MCP_METHODS,
                "MCP"
            )
            .is_ok()
        );
        let error = check_required("tools/call", None, MCP_METHODS, "MCP")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(
            error.detail.as_deref(),
            Some("`tools/call` needs `parameters` with `name`")
        );
        assert!(check_required("tools/list", None, MCP_METHODS, "MCP").is_ok());
    }
}
