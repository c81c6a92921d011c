//! `call: a2a` at run time: where the agent is (its card's location, or the server) with the
//! endpoint's credentials, the parameters evaluated, and for `message/send` and
//! `message/stream` the message's `messageId` (a new UUID) and `role` (`user`) filled in.

use serde_json::{Map, Value};

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::mcp::{check_required, parameters, uri_text};
use crate::compile::{A2A_METHODS, A2aSpec, AgentSpec};
use crate::expr::{Val, from_json};
use crate::host::effects::a2a::{A2aAgent, A2aRequest};

impl Run<'_> {
    pub(crate) async fn call_a2a(
        &self,
        spec: &A2aSpec,
        input: Val,
        vars: &[Val],
    ) -> Result<Val, WorkflowError> {
        let agent = match &spec.agent {
            AgentSpec::Card(resource) => A2aAgent::Card {
                location: self.resource_location(&resource.uri, "", &input, vars)?,
                credentials: self.optional_credentials(
                    resource.authentication.as_ref(),
                    &input,
                    vars,
                )?,
            },
            AgentSpec::Server {
                uri,
                authentication,
            } => A2aAgent::Server {
                url: uri_text(uri, &input, vars)?,
                credentials: self.optional_credentials(authentication.as_ref(), &input, vars)?,
            },
        };
        let mut params = parameters(spec.parameters.as_ref(), &input, vars)?;
        check_required(&spec.method, params.as_ref(), A2A_METHODS, "A2A")?;
        if let Some(params) = params
            .as_mut()
            .filter(|_| matches!(spec.method.as_str(), "message/send" | "message/stream"))
        {
            default_message(params, self.executors.ids.unique())?;
        }
        let request = A2aRequest {
            agent,
            method: spec.method.clone(),
            params: Value::Object(params.unwrap_or_default()),
        };
        let result = self.executors.a2a.call(request).await?;
        Ok(from_json(&result))
    }
}

/// Fills `message.messageId` with `new_id` and `message.role` with `user` where absent.
fn default_message(
    params: &mut Map<String, Value>,
    new_id: uuid::Uuid,
) -> Result<(), WorkflowError> {
    let Some(Value::Object(message)) = params.get_mut("message") else {
        return Err(
            WorkflowError::new(ErrorKind::Validation, "Invalid A2A call")
                .with_detail("`parameters.message` must be an object (an A2A message)"),
        );
    };
    if !message.contains_key("messageId") {
        message.insert("messageId".to_owned(), Value::String(new_id.to_string()));
    }
    if !message.contains_key("role") {
        message.insert("role".to_owned(), Value::String("user".to_owned()));
    }
    if !message.contains_key("kind") {
        message.insert("kind".to_owned(), Value::String("message".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_gets_an_id_and_the_user_role() {
        let mut params = json!({"message": {"parts": []}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        default_message(&mut params, uuid::Uuid::new_v4()).unwrap_or_else(|e| panic!("{e:?}"));
        let message = &params["message"];
        assert_eq!(message["role"], "user");
        assert_eq!(message["kind"], "message");
        let id = message["messageId"].as_str().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        let mut given = json!({"message": {"messageId": "m1", "role": "agent"}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        default_message(&mut given, uuid::Uuid::new_v4()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(given["message"]["messageId"], "m1");
        assert_eq!(given["message"]["role"], "agent");
        let mut bad = json!({"message": "hi"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(default_message(&mut bad, uuid::Uuid::new_v4()).is_err());
    }
}
