//! Secret-based authentication: the fields of a secret (spelled as in the DSL) read into the
//! credentials the HTTP client applies. Messages name the secret and field, never a value.

use serde_json::{Map, Value};

use crate::compile::SchemeKind;
use crate::host::effects::credentials::{
    ClientAuthentication, Credentials, Grant, OAuth2Credentials, RequestEncoding, TokenCredential,
};
use crate::problem::{ErrorKind, WorkflowError};

/// A secret-based policy: the scheme's settings are the fields of the secret, spelled as in the
/// DSL. A secret held as text is read as JSON; a bearer secret may be the bare token.
pub(crate) fn from_secret(
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
    let bad = |why: FieldError| {
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
                    return Err(bad(FieldError::NotSettings));
                }
            }
        }
        _ => {
            return Err(bad(FieldError::NotSettings));
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

/// What is wrong with a secret's settings; it names the field, never its value.
#[derive(Debug, thiserror::Error)]
enum FieldError {
    #[error("expected an object of settings (or its JSON text)")]
    NotSettings,
    #[error("`{0}` must be a string")]
    NotString(String),
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{0}` must be a list of strings")]
    NotList(String),
    #[error("`{0}` must be an object")]
    NotObject(String),
    #[error("`{field}`: {inner}")]
    Within {
        field: String,
        inner: Box<FieldError>,
    },
    #[error(
        "`grant` must be one of authorization_code, client_credentials, password, refresh_token, {}",
        Grant::TOKEN_EXCHANGE
    )]
    Grant,
    #[error(
        "`client.authentication` must be one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none"
    )]
    ClientAuthentication,
    #[error(
        "`request.encoding` must be {} or {}",
        RequestEncoding::FORM,
        RequestEncoding::JSON
    )]
    Encoding,
}

impl FieldError {
    fn within(field: &str) -> impl Fn(FieldError) -> FieldError + '_ {
        move |inner| FieldError::Within {
            field: field.to_owned(),
            inner: Box::new(inner),
        }
    }
}

/// Typed reads of a secret's fields; messages name the field, never its value.
struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn optional(&self, name: &str) -> Result<Option<String>, FieldError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(FieldError::NotString(name.to_owned())),
        }
    }

    fn required(&self, name: &str) -> Result<String, FieldError> {
        self.optional(name)?
            .ok_or_else(|| FieldError::Missing(name.to_owned()))
    }

    /// A list of strings; a single string is split on whitespace (`"api read"`).
    fn list(&self, name: &str) -> Result<Vec<String>, FieldError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(text.split_whitespace().map(str::to_owned).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| FieldError::NotList(name.to_owned()))
                })
                .collect(),
            Some(_) => Err(FieldError::NotList(name.to_owned())),
        }
    }

    fn object(&self, name: &str) -> Result<Option<Fields<'a>>, FieldError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields { map })),
            Some(_) => Err(FieldError::NotObject(name.to_owned())),
        }
    }

    fn token(&self, name: &str) -> Result<Option<TokenCredential>, FieldError> {
        let Some(token) = self.object(name)? else {
            return Ok(None);
        };
        let within = FieldError::within(name);
        Ok(Some(TokenCredential {
            token: token.required("token").map_err(&within)?,
            type_: token.required("type").map_err(&within)?,
        }))
    }
}

fn oauth2_from(fields: &Fields, oidc: bool) -> Result<OAuth2Credentials, FieldError> {
    let grant_text = fields.required("grant")?;
    let grant = Grant::parse(&grant_text).ok_or(FieldError::Grant)?;
    let client = fields.object("client")?;
    let client_field = |name: &str| match &client {
        Some(client) => client.optional(name).map_err(FieldError::within("client")),
        None => Ok(None),
    };
    let client_authentication = match client_field("authentication")? {
        None => ClientAuthentication::default(),
        Some(text) => ClientAuthentication::parse(&text).ok_or(FieldError::ClientAuthentication)?,
    };
    let encoding = match fields.object("request")? {
        None => RequestEncoding::default(),
        Some(request) => match request.optional("encoding")? {
            None => RequestEncoding::default(),
            Some(text) => RequestEncoding::parse(&text).ok_or(FieldError::Encoding)?,
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
    use serde_json::json;

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
}
