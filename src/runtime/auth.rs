//! Evaluating a call's compiled authentication into the credentials the HTTP client applies:
//! inline fields evaluated against the task input, secret-based policies read from `$secrets`.

use serde_json::{Map, Value};

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::values::eval_text;
use crate::compile::{AuthSpec, AuthoritySpec, OAuth2Spec, SECRETS, SchemeKind, Tmpl, TokenSpec};
use crate::exec::auth::{
    ClientAuthentication, Credentials, Grant, OAuth2Credentials, RequestEncoding, TokenCredential,
};
use crate::expr::{Val, to_json};

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
            from_secret(*scheme, secret, &secrets)?
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

/// A secret-based policy: the scheme's settings are the fields of the secret, spelled as in the
/// DSL. A secret held as text is read as JSON; a bearer secret may be the bare token.
fn from_secret(
    scheme: SchemeKind,
    name: &str,
    secrets: &Value,
) -> Result<Credentials, WorkflowError> {
    let Some(value) = secrets.get(name) else {
        return Err(
            WorkflowError::new(ErrorKind::Authorization, "Secret not available").with_detail(
                format!("the authentication policy reads secret `{name}`, which has no value"),
            ),
        );
    };
    let bad = |why: String| {
        WorkflowError::new(
            ErrorKind::Configuration,
            "Invalid secret-based authentication",
        )
        .with_detail(format!("secret `{name}`: {why}"))
    };
    let parsed;
    let settings = match value {
        Value::Object(settings) => settings,
        Value::String(text) => {
            if scheme == SchemeKind::Bearer && !text.trim_start().starts_with('{') {
                return Ok(Credentials::Bearer {
                    token: text.clone(),
                });
            }
            parsed = serde_json::from_str::<Value>(text).ok();
            match &parsed {
                Some(Value::Object(settings)) => settings,
                _ => {
                    return Err(bad(
                        "expected an object of settings (or its JSON text)".to_owned()
                    ));
                }
            }
        }
        _ => {
            return Err(bad(
                "expected an object of settings (or its JSON text)".to_owned()
            ));
        }
    };
    let fields = Fields { map: settings };
    Ok(match scheme {
        SchemeKind::Basic => Credentials::Basic {
            username: fields.required("username").map_err(&bad)?,
            password: fields.required("password").map_err(&bad)?,
        },
        SchemeKind::Digest => Credentials::Digest {
            username: fields.required("username").map_err(&bad)?,
            password: fields.required("password").map_err(&bad)?,
        },
        SchemeKind::Bearer => Credentials::Bearer {
            token: fields.required("token").map_err(&bad)?,
        },
        SchemeKind::OAuth2 => {
            Credentials::OAuth2(Box::new(oauth2_from(&fields, false).map_err(&bad)?))
        }
        SchemeKind::Oidc => Credentials::Oidc(Box::new(oauth2_from(&fields, true).map_err(&bad)?)),
    })
}

/// Typed reads of a secret's fields; messages name the field, never its value.
struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn optional(&self, name: &str) -> Result<Option<String>, String> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("`{name}` must be a string")),
        }
    }

    fn required(&self, name: &str) -> Result<String, String> {
        self.optional(name)?
            .ok_or_else(|| format!("`{name}` is missing"))
    }

    /// A list of strings; a single string is split on whitespace (`"api read"`).
    fn list(&self, name: &str) -> Result<Vec<String>, String> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(text.split_whitespace().map(str::to_owned).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("`{name}` must be a list of strings"))
                })
                .collect(),
            Some(_) => Err(format!("`{name}` must be a list of strings")),
        }
    }

    fn object(&self, name: &str) -> Result<Option<Fields<'a>>, String> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields { map })),
            Some(_) => Err(format!("`{name}` must be an object")),
        }
    }

    fn token(&self, name: &str) -> Result<Option<TokenCredential>, String> {
        let Some(token) = self.object(name)? else {
            return Ok(None);
        };
        let within = |why: String| format!("`{name}`: {why}");
        Ok(Some(TokenCredential {
            token: token.required("token").map_err(within)?,
            type_: token.required("type").map_err(within)?,
        }))
    }
}

fn oauth2_from(fields: &Fields, oidc: bool) -> Result<OAuth2Credentials, String> {
    let grant_text = fields.required("grant")?;
    let grant = Grant::parse(&grant_text).ok_or_else(|| {
        format!("`grant` must be one of authorization_code, client_credentials, password, refresh_token, {}", Grant::TOKEN_EXCHANGE)
    })?;
    let client = fields.object("client")?;
    let client_field = |name: &str| match &client {
        Some(client) => client
            .optional(name)
            .map_err(|why| format!("`client`: {why}")),
        None => Ok(None),
    };
    let client_authentication = match client_field("authentication")? {
        None => ClientAuthentication::default(),
        Some(text) => ClientAuthentication::parse(&text).ok_or_else(|| {
            "`client.authentication` must be one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none".to_owned()
        })?,
    };
    let encoding = match fields.object("request")? {
        None => RequestEncoding::default(),
        Some(request) => match request.optional("encoding")? {
            None => RequestEncoding::default(),
            Some(text) => RequestEncoding::parse(&text).ok_or_else(|| {
                format!(
                    "`request.encoding` must be {} or {}",
                    RequestEncoding::FORM,
                    RequestEncoding::JSON
                )
            })?,
        },
    };
    let token_endpoint = match fields.object("endpoints")? {
        Some(endpoints) if !oidc => endpoints.optional("token")?,
        _ => None,
    };
    Ok(OAuth2Credentials {
        authority: fields.required("authority")?,
        grant,
        client_id: client_field("id")?,
        client_secret: client_field("secret")?,
        client_assertion: client_field("assertion")?,
        client_authentication,
        encoding,
        issuers: fields.list("issuers")?,
        scopes: fields.list("scopes")?,
        audiences: fields.list("audiences")?,
        username: fields.optional("username")?,
        password: fields.optional("password")?,
        subject: fields.token("subject")?,
        actor: fields.token("actor")?,
        token_endpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::BASE_VARS;
    use crate::expr::from_json;
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
    fn basic_bearer_and_digest_secrets() {
        let secrets = json!({
            "user": {"username": "alice", "password": "pw"},
            "userText": "{\"username\": \"bob\", \"password\": \"pw2\"}",
            "token": "abc.def",
            "tokenObject": {"token": "xyz"},
        });
        let read = |scheme, name: &str| from_secret(scheme, name, &secrets);
        assert_eq!(
            read(SchemeKind::Basic, "user"),
            Ok(Credentials::Basic {
                username: "alice".into(),
                password: "pw".into()
            })
        );
        assert_eq!(
            read(SchemeKind::Digest, "userText"),
            Ok(Credentials::Digest {
                username: "bob".into(),
                password: "pw2".into()
            })
        );
        assert_eq!(
            read(SchemeKind::Bearer, "token"),
            Ok(Credentials::Bearer {
                token: "abc.def".into()
            })
        );
        assert_eq!(
            read(SchemeKind::Bearer, "tokenObject"),
            Ok(Credentials::Bearer {
                token: "xyz".into()
            })
        );
    }

    #[test]
    fn oauth2_and_oidc_secrets_use_the_dsl_field_names() {
        let secrets = json!({"idp": {
            "authority": "http://127.0.0.1:1/realms/x",
            "grant": "password",
            "client": {"id": "app", "secret": "s", "authentication": "client_secret_basic"},
            "request": {"encoding": "application/json"},
            "endpoints": {"token": "/auth/token"},
            "scopes": "api read",
            "audiences": ["svc"],
            "username": "alice",
            "password": "pw",
            "subject": {"token": "t", "type": "urn:x"}
        }});
        let Ok(Credentials::OAuth2(oauth)) = from_secret(SchemeKind::OAuth2, "idp", &secrets)
        else {
            panic!("expected oauth2 credentials");
        };
        assert_eq!(oauth.grant, Grant::Password);
        assert_eq!(
            oauth.client_authentication,
            ClientAuthentication::ClientSecretBasic
        );
        assert_eq!(oauth.encoding, RequestEncoding::Json);
        assert_eq!(oauth.token_endpoint.as_deref(), Some("/auth/token"));
        assert_eq!(oauth.scopes, ["api", "read"]);
        assert_eq!(oauth.audiences, ["svc"]);
        assert_eq!(oauth.subject.map(|s| s.type_).as_deref(), Some("urn:x"));
        let Ok(Credentials::Oidc(oidc)) = from_secret(SchemeKind::Oidc, "idp", &secrets) else {
            panic!("expected oidc credentials");
        };
        // OIDC endpoints come from discovery, never from `endpoints`.
        assert_eq!(oidc.token_endpoint, None);
    }

    #[test]
    fn bad_secrets_name_the_field_but_never_the_value() {
        let secrets = json!({
            "number": 42,
            "text": "not json",
            "noPassword": {"username": "alice"},
            "wrongType": {"username": "alice", "password": 7},
            "badGrant": {"authority": "http://a", "grant": "implicit"},
            "badClient": {"authority": "http://a", "grant": "password", "client": {"id": ["x"]}},
            "badSubject": {"authority": "http://a", "grant": "password", "subject": {"token": "hush"}},
        });
        let cases = [
            (
                SchemeKind::Basic,
                "number",
                "expected an object of settings",
            ),
            (SchemeKind::Basic, "text", "expected an object of settings"),
            (SchemeKind::Basic, "noPassword", "`password` is missing"),
            (
                SchemeKind::Digest,
                "wrongType",
                "`password` must be a string",
            ),
            (SchemeKind::OAuth2, "badGrant", "`grant` must be one of"),
            (
                SchemeKind::Oidc,
                "badClient",
                "`client`: `id` must be a string",
            ),
            (
                SchemeKind::OAuth2,
                "badSubject",
                "`subject`: `type` is missing",
            ),
        ];
        for (scheme, name, expected) in cases {
            let error = match from_secret(scheme, name, &secrets) {
                Err(error) => error,
                Ok(ok) => panic!("{name}: expected an error, got {ok:?}"),
            };
            assert_eq!(error.status, 400, "{name}");
            let detail = error.detail.unwrap_or_default();
            assert!(
                detail.starts_with(&format!("secret `{name}`: ")),
                "{detail}"
            );
            assert!(detail.contains(expected), "{name}: {detail}");
            assert!(
                !detail.contains("hush") && !detail.contains("alice"),
                "{detail}"
            );
        }
        let missing = from_secret(SchemeKind::Basic, "absent", &secrets).err();
        assert_eq!(missing.as_ref().map(|e| e.status), Some(403));
        assert!(missing.is_some_and(|e| e.type_.ends_with("/authorization")));
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
