//! Evaluating a call's compiled authentication into the credentials the HTTP client applies:
//! inline fields evaluated against the task input, secret-based policies read from `$secrets`
//! (their fields are read into credentials by `auth_secret::from_secret`).

use serde_json::Value;

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::values::eval_text;
use crate::compile::{AuthSpec, AuthoritySpec, OAuth2Spec, SECRETS, Tmpl, TokenSpec};
use crate::expr::{Val, to_json};
use crate::host::effects::credentials::{Credentials, OAuth2Credentials, TokenCredential};

impl Run<'_> {
    /// The credentials of one call, evaluated against its transformed input and variables.
    pub(crate) fn credentials(
        &self,
        spec: &AuthSpec,
        input: &Val,
        vars: &[Val],
    ) -> Result<Credentials, WorkflowError> {
        credentials(spec, input, vars)
    }
}

pub(crate) fn credentials(
    spec: &AuthSpec,
    input: &Val,
    vars: &[Val],
) -> Result<Credentials, WorkflowError> {
    let text = |tmpl: &Tmpl| eval_text(tmpl, input.clone(), vars);
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
        AuthSpec::OAuth2(spec) => oauth2(spec, input, vars)?,
        AuthSpec::Secret { scheme, secret } => {
            let secrets = vars.get(SECRETS).map(to_json).unwrap_or(Value::Null);
            super::auth_secret::from_secret(*scheme, secret, &secrets)?
        }
    })
}

fn oauth2(spec: &OAuth2Spec, input: &Val, vars: &[Val]) -> Result<Credentials, WorkflowError> {
    let text = |tmpl: &Tmpl| eval_text(tmpl, input.clone(), vars);
    let optional = |tmpl: &Option<Tmpl>| tmpl.as_ref().map(text).transpose();
    let token = |token: &Option<TokenSpec>| {
        token
            .as_ref()
            .map(|t| {
                Ok::<_, WorkflowError>(TokenCredential {
                    token: text(&t.token)?,
                    type_: t.type_.clone(),
                })
            })
            .transpose()
    };
    let settings = OAuth2Credentials {
        authority: match &spec.authority {
            AuthoritySpec::Template(template) => expand(template, input)?,
            AuthoritySpec::Expr(tmpl) => text(tmpl)?,
        },
        grant: spec.grant,
        client_id: optional(&spec.client_id)?,
        client_secret: optional(&spec.client_secret)?,
        client_assertion: optional(&spec.client_assertion)?,
        client_authentication: spec.client_authentication,
        encoding: spec.encoding,
        issuers: spec.issuers.clone(),
        scopes: spec.scopes.clone(),
        audiences: spec.audiences.clone(),
        username: optional(&spec.username)?,
        password: optional(&spec.password)?,
        subject: token(&spec.subject)?,
        actor: token(&spec.actor)?,
        token_endpoint: spec.token_endpoint.clone(),
    };
    Ok(if spec.oidc {
        Credentials::Oidc(Box::new(settings))
    } else {
        Credentials::OAuth2(Box::new(settings))
    })
}

/// RFC 6570 simple expansion of `{name}` from the input's top-level keys: a missing key is
/// empty, a scalar is percent-encoded, anything else is an `expression` error.
fn expand(template: &str, input: &Val) -> Result<String, WorkflowError> {
    if !template.contains('{') {
        return Ok(template.to_owned());
    }
    let input = to_json(input);
    let mut expanded = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        expanded.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            expanded.push_str(&rest[open..]);
            return Ok(expanded);
        };
        let name = &after[..close];
        let value = match input.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(scalar @ (Value::Bool(_) | Value::Number(_))) => scalar.to_string(),
            Some(_) => {
                return Err(WorkflowError::new(
                    ErrorKind::Expression,
                    "Expression evaluation failed",
                )
                .with_detail(format!(
                    "the authority template `{template}` needs a scalar for `{{{name}}}`"
                )));
            }
        };
        expanded.push_str(&percent_encode(&value));
        rest = &after[close + 1..];
    }
    expanded.push_str(rest);
    Ok(expanded)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::BASE_VARS;
    use crate::expr::from_json;
    use crate::host::effects::credentials::Grant;
    use serde_json::json;

    fn vars(secrets: Value) -> Vec<Val> {
        let mut vars = vec![Val::Null; BASE_VARS.len()];
        vars[SECRETS] = from_json(&secrets);
        vars
    }

    #[test]
    fn authority_templates_expand_scalars_from_the_input() {
        let input = from_json(&json!({"realm": "a b/c", "port": 8080, "nested": {"x": 1}}));
        assert_eq!(
            expand("http://idp:{port}/realms/{realm}{missing}", &input).ok(),
            Some("http://idp:8080/realms/a%20b%2Fc".to_owned())
        );
        assert_eq!(
            expand("http://x/{open", &input).ok().as_deref(),
            Some("http://x/{open")
        );
        let error = expand("http://x/{nested}", &input).err();
        assert_eq!(error.as_ref().map(|e| e.status), Some(400));
        assert!(
            error
                .and_then(|e| e.detail)
                .is_some_and(|d| d.contains("`{nested}`"))
        );
    }

    #[test]
    fn compiled_policies_evaluate_against_input_and_secrets() {
        let yaml = "document: {dsl: '1.0.3', namespace: t, name: t, version: '1.0.0'}
use:
  secrets: [creds]
do:
  - a:
      call: http
      with:
        method: get
        endpoint:
          uri: http://h
          authentication:
            oidc:
              authority: http://idp/realms/{realm}
              grant: password
              client: { id: app, secret: '${ $secrets.creds.clientSecret }' }
              username: '${ .user }'
              password: '${ $secrets.creds.password }'
              scopes: [api]
              actor: { token: '${ .actor }', type: 'urn:ietf:params:oauth:token-type:jwt' }
  - b:
      call: http
      with:
        method: get
        endpoint:
          uri: http://h
          authentication:
            basic: { use: creds }
  - c:
      call: http
      with:
        method: get
        endpoint:
          uri: http://h
          authentication:
            bearer: { token: '${ .missing }' }
";
        let (specs, diagnostics) = crate::compile::compile_authentications(yaml);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let specs: Vec<AuthSpec> = specs.into_iter().flatten().collect();
        let vars = vars(json!({"creds": {"username": "u", "password": "p", "clientSecret": "cs"}}));
        let input = from_json(&json!({"realm": "r1", "user": "alice", "actor": "act"}));
        let Ok(Credentials::Oidc(oidc)) = credentials(&specs[0], &input, &vars) else {
            panic!("expected oidc credentials");
        };
        assert_eq!(oidc.authority, "http://idp/realms/r1");
        assert_eq!(oidc.grant, Grant::Password);
        assert_eq!(oidc.client_id.as_deref(), Some("app"));
        assert_eq!(oidc.client_secret.as_deref(), Some("cs"));
        assert_eq!(oidc.username.as_deref(), Some("alice"));
        assert_eq!(oidc.password.as_deref(), Some("p"));
        assert_eq!(oidc.scopes, ["api"]);
        assert_eq!(oidc.actor.map(|a| a.token).as_deref(), Some("act"));
        assert_eq!(
            credentials(&specs[1], &input, &vars),
            Ok(Credentials::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        // A credential that evaluates to null is an expression error, not an empty password.
        let error = credentials(&specs[2], &input, &vars).err();
        assert_eq!(error.as_ref().map(|e| e.status), Some(400));
        assert!(error.is_some_and(|e| e.type_.ends_with("/expression")));
    }
}
