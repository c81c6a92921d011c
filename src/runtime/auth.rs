//! Evaluating a call's compiled authentication into the credentials the HTTP client applies.

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::values::eval_text;
use crate::compile::AuthSpec;
use crate::exec::auth::Credentials;
use crate::expr::Val;

#[allow(dead_code)] // wired into the HTTP calls during this session
impl Run<'_> {
    pub(crate) fn credentials(
        &self,
        spec: &AuthSpec,
        input: &Val,
        vars: &[Val],
    ) -> Result<Credentials, WorkflowError> {
        let text = |tmpl| eval_text(tmpl, input.clone(), vars);
        Ok(match spec {
            AuthSpec::Basic { username, password } => Credentials::Basic {
                username: text(username)?,
                password: text(password)?,
            },
            AuthSpec::Digest { username, password } => Credentials::Digest {
                username: text(username)?,
                password: text(password)?,
            },
            AuthSpec::Bearer { token } => Credentials::Bearer {
                token: text(token)?,
            },
            AuthSpec::Unsupported(message) => {
                return Err(WorkflowError::new(
                    ErrorKind::Configuration,
                    message.clone(),
                ));
            }
        })
    }
}
