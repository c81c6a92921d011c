//! Authentication policies compiled for the runtime: `use.authentications` references resolved,
//! credential fields compiled as templates, fixed settings (grant, client authentication,
//! request encoding) checked, so the runtime only evaluates them.

use super::compiler::Compiler;
use super::machine::Tmpl;
use super::scope::Scope;
use crate::document::{
    AuthScheme, AuthenticationPolicy, AuthenticationRef, Authority, OAuth2Auth, OAuth2Token,
    SchemeConfig, StringOrExpr,
};
use crate::host::effects::credentials::{ClientAuthentication, Grant, RequestEncoding};
use crate::pointer;

/// One call's authentication, ready to evaluate into `exec::auth::Credentials`.
#[derive(Debug)]
pub(crate) enum AuthSpec {
    Basic {
        username: Tmpl,
        password: Tmpl,
    },
    Bearer {
        token: Tmpl,
    },
    Digest {
        username: Tmpl,
        password: Tmpl,
    },
    /// `oauth2` and `oidc` (told apart by `OAuth2Spec::oidc`).
    OAuth2(Box<OAuth2Spec>),
    /// `<scheme>: { use: secret }`: the settings are the fields of `$secrets.<secret>`.
    Secret {
        scheme: SchemeKind,
        secret: String,
    },
}

/// Which scheme a secret-based policy configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemeKind {
    Basic,
    Bearer,
    Digest,
    OAuth2,
    Oidc,
}

/// `oauth2` / `oidc` settings: fixed ones checked, the others compiled.
#[derive(Debug)]
pub(crate) struct OAuth2Spec {
    pub oidc: bool,
    pub authority: AuthoritySpec,
    pub grant: Grant,
    pub client_id: Option<Tmpl>,
    pub client_secret: Option<Tmpl>,
    pub client_assertion: Option<Tmpl>,
    pub client_authentication: ClientAuthentication,
    pub encoding: RequestEncoding,
    pub issuers: Vec<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub username: Option<Tmpl>,
    pub password: Option<Tmpl>,
    pub subject: Option<TokenSpec>,
    pub actor: Option<TokenSpec>,
    /// `endpoints.token` as written (`oauth2` only).
    pub token_endpoint: Option<String>,
}

/// The authority: a URI template expanded from the task input's top-level keys, or an
/// expression.
#[derive(Debug)]
pub(crate) enum AuthoritySpec {
    Template(String),
    Expr(Tmpl),
}

#[derive(Debug)]
pub(crate) struct TokenSpec {
    pub token: Tmpl,
    pub type_: String,
}

impl Compiler<'_> {
    /// Compiles a call's `authentication`, resolving `{ use: name }` through
    /// `use.authentications`. `None` when something did not compile (diagnostics recorded).
    pub(super) fn authentication(
        &mut self,
        reference: &AuthenticationRef,
        scope: &Scope,
    ) -> Option<AuthSpec> {
        let document = self.document;
        let policy: &AuthenticationPolicy = match reference {
            AuthenticationRef::Inline(policy) => policy,
            AuthenticationRef::Named(name) => match document.use_.authentication(&name.name) {
                Some(named) => &named.value,
                None => {
                    // The analyzer reports this first; the compiler must still not go on.
                    self.error(
                        "ref::undefined-authentication",
                        &name.pointer,
                        format!("no authentication policy named `{}` in `use`", name.name),
                    );
                    return None;
                }
            },
        };
        let at = pointer::join(&policy.pointer, policy.scheme.name());
        match &policy.scheme {
            AuthScheme::Basic(SchemeConfig::Inline(user)) => Some(AuthSpec::Basic {
                username: self.string(&user.username, scope)?,
                password: self.string(&user.password, scope)?,
            }),
            AuthScheme::Digest(SchemeConfig::Inline(user)) => Some(AuthSpec::Digest {
                username: self.string(&user.username, scope)?,
                password: self.string(&user.password, scope)?,
            }),
            AuthScheme::Bearer(SchemeConfig::Inline(bearer)) => Some(AuthSpec::Bearer {
                token: self.string(&bearer.token, scope)?,
            }),
            AuthScheme::OAuth2(SchemeConfig::Inline(settings)) => self
                .oauth2(settings, false, &at, scope)
                .map(|spec| AuthSpec::OAuth2(Box::new(spec))),
            AuthScheme::Oidc(SchemeConfig::Inline(settings)) => self
                .oauth2(settings, true, &at, scope)
                .map(|spec| AuthSpec::OAuth2(Box::new(spec))),
            AuthScheme::Basic(SchemeConfig::Secret(secret)) => {
                Some(secret_based(SchemeKind::Basic, &secret.name))
            }
            AuthScheme::Bearer(SchemeConfig::Secret(secret)) => {
                Some(secret_based(SchemeKind::Bearer, &secret.name))
            }
            AuthScheme::Digest(SchemeConfig::Secret(secret)) => {
                Some(secret_based(SchemeKind::Digest, &secret.name))
            }
            AuthScheme::OAuth2(SchemeConfig::Secret(secret)) => {
                Some(secret_based(SchemeKind::OAuth2, &secret.name))
            }
            AuthScheme::Oidc(SchemeConfig::Secret(secret)) => {
                Some(secret_based(SchemeKind::Oidc, &secret.name))
            }
        }
    }

    fn oauth2(
        &mut self,
        settings: &OAuth2Auth,
        oidc: bool,
        at: &str,
        scope: &Scope,
    ) -> Option<OAuth2Spec> {
        let scheme = if oidc { "oidc" } else { "oauth2" };
        let authority = match &settings.authority {
            Some(Authority::Template(template)) => {
                Some(AuthoritySpec::Template(template.text.clone()))
            }
            Some(Authority::Expression(expression)) => self
                .string(&StringOrExpr::Expression(expression.clone()), scope)
                .map(AuthoritySpec::Expr),
            None => {
                self.error(
                    "auth::missing-authority",
                    at,
                    format!("`{scheme}` authentication needs an `authority`"),
                );
                None
            }
        };
        let grant = match settings.grant.as_deref() {
            None => {
                self.error(
                    "auth::missing-grant",
                    at,
                    format!("`{scheme}` authentication needs a `grant`"),
                );
                None
            }
            Some(text) => self.setting(Grant::parse(text), at, "grant", text),
        };
        let client = settings.client.as_ref();
        let client_authentication = match client.and_then(|c| c.authentication.as_deref()) {
            None => Some(ClientAuthentication::default()),
            Some(text) => self.setting(
                ClientAuthentication::parse(text),
                &pointer::join(at, "client"),
                "client.authentication",
                text,
            ),
        };
        let encoding = match settings.request_encoding.as_deref() {
            None => Some(RequestEncoding::default()),
            Some(text) => self.setting(
                RequestEncoding::parse(text),
                &pointer::join(at, "request"),
                "request.encoding",
                text,
            ),
        };
        let mut optional = |field: Option<&StringOrExpr>| match field {
            None => Some(None),
            Some(field) => self.string(field, scope).map(Some),
        };
        let client_id = optional(client.and_then(|c| c.id.as_ref()));
        let client_secret = optional(client.and_then(|c| c.secret.as_ref()));
        let client_assertion = optional(client.and_then(|c| c.assertion.as_ref()));
        let username = optional(settings.username.as_ref());
        let password = optional(settings.password.as_ref());
        let subject = self.token_spec(settings.subject.as_ref(), scope);
        let actor = self.token_spec(settings.actor.as_ref(), scope);
        Some(OAuth2Spec {
            oidc,
            authority: authority?,
            grant: grant?,
            client_id: client_id?,
            client_secret: client_secret?,
            client_assertion: client_assertion?,
            client_authentication: client_authentication?,
            encoding: encoding?,
            issuers: settings.issuers.clone(),
            scopes: settings.scopes.clone(),
            audiences: settings.audiences.clone(),
            username: username?,
            password: password?,
            subject: subject?,
            actor: actor?,
            token_endpoint: if oidc {
                None
            } else {
                settings.endpoints.as_ref().and_then(|e| e.token.clone())
            },
        })
    }

    /// A fixed setting the schema restricts to a list; reported here too for documents that
    /// reach the compiler without the schema check.
    fn setting<T>(&mut self, parsed: Option<T>, at: &str, name: &str, text: &str) -> Option<T> {
        if parsed.is_none() {
            self.error(
                "auth::invalid-setting",
                at,
                format!("`{text}` is not a supported `{name}`"),
            );
        }
        parsed
    }

    fn token_spec(
        &mut self,
        token: Option<&OAuth2Token>,
        scope: &Scope,
    ) -> Option<Option<TokenSpec>> {
        match token {
            None => Some(None),
            Some(token) => Some(Some(TokenSpec {
                token: self.string(&token.token, scope)?,
                type_: token.type_.clone(),
            })),
        }
    }
}

fn secret_based(scheme: SchemeKind, secret: &str) -> AuthSpec {
    AuthSpec::Secret {
        scheme,
        secret: secret.to_owned(),
    }
}

/// Compiles every `authentication` of a document's top-level `call: http` tasks, in document
/// order, with the diagnostics (for the compiler's and the runtime's unit tests).
#[cfg(test)]
pub(crate) fn compile_authentications(
    yaml: &str,
) -> (Vec<Option<AuthSpec>>, Vec<crate::diagnostic::Diagnostic>) {
    use crate::document::{CallTask, TaskKind};
    let loaded = crate::yaml::load(&crate::source::Source::new("t.yaml", yaml))
        .unwrap_or_else(|d| panic!("not YAML: {d:#?}"));
    let document =
        crate::parse::parse(&loaded.value).unwrap_or_else(|d| panic!("does not parse: {d:#?}"));
    let mut compiler = Compiler::for_tests(&document);
    let scope = Scope::base();
    let mut specs = Vec::new();
    for task in document.do_.iter() {
        if let TaskKind::Call(CallTask::Http(http)) = &task.kind
            && let Some(reference) = &http.endpoint.authentication
        {
            specs.push(compiler.authentication(reference, &scope));
        }
    }
    (specs, compiler.diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    fn compiled(yaml: &str) -> (Vec<Option<AuthSpec>>, Vec<Diagnostic>) {
        compile_authentications(yaml)
    }

    const HEAD: &str = "document: {dsl: '1.0.3', namespace: t, name: t, version: '1.0.0'}\n";

    #[test]
    fn named_inline_and_secret_based_policies() {
        let yaml = format!(
            "{HEAD}use:\n  secrets: [creds]\n  authentications:\n    shared:\n      bearer: {{ token: '${{ .token }}' }}\n    fromSecret:\n      oidc: {{ use: creds }}\ndo:\n  - a:\n      call: http\n      with: {{ method: get, endpoint: {{ uri: 'http://h', authentication: {{ use: shared }} }} }}\n  - b:\n      call: http\n      with: {{ method: get, endpoint: {{ uri: 'http://h', authentication: {{ use: fromSecret }} }} }}\n  - c:\n      call: http\n      with: {{ method: get, endpoint: {{ uri: 'http://h', authentication: {{ digest: {{ username: u, password: p }} }} }} }}\n  - d:\n      call: http\n      with: {{ method: get, endpoint: {{ uri: 'http://h', authentication: {{ basic: {{ use: creds }} }} }} }}\n"
        );
        let (specs, diagnostics) = compiled(&yaml);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert!(
            matches!(specs[0], Some(AuthSpec::Bearer { .. })),
            "{:?}",
            specs[0]
        );
        assert!(
            matches!(&specs[1], Some(AuthSpec::Secret { scheme: SchemeKind::Oidc, secret }) if secret == "creds")
        );
        assert!(matches!(specs[2], Some(AuthSpec::Digest { .. })));
        assert!(matches!(
            &specs[3],
            Some(AuthSpec::Secret {
                scheme: SchemeKind::Basic,
                ..
            })
        ));
    }

    #[test]
    fn oauth2_settings_are_checked_and_compiled() {
        let yaml = format!(
            "{HEAD}do:\n  - a:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: http://h\n          authentication:\n            oauth2:\n              authority: http://idp/{{realm}}\n              grant: urn:ietf:params:oauth:grant-type:token-exchange\n              client: {{ id: app, secret: '${{ .s }}', authentication: client_secret_basic }}\n              request: {{ encoding: application/json }}\n              endpoints: {{ token: /auth/token }}\n              scopes: [api]\n              subject: {{ token: '${{ .t }}', type: 'urn:ietf:params:oauth:token-type:access_token' }}\n"
        );
        let (specs, diagnostics) = compiled(&yaml);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let Some(Some(AuthSpec::OAuth2(spec))) = specs.into_iter().next() else {
            panic!("expected oauth2");
        };
        assert!(!spec.oidc);
        assert!(matches!(&spec.authority, AuthoritySpec::Template(t) if t == "http://idp/{realm}"));
        assert_eq!(spec.grant, Grant::TokenExchange);
        assert_eq!(
            spec.client_authentication,
            ClientAuthentication::ClientSecretBasic
        );
        assert_eq!(spec.encoding, RequestEncoding::Json);
        assert_eq!(spec.token_endpoint.as_deref(), Some("/auth/token"));
        assert_eq!(spec.scopes, ["api"]);
        assert!(spec.client_secret.is_some() && spec.client_assertion.is_none());
        assert_eq!(
            spec.subject.map(|s| s.type_).as_deref(),
            Some("urn:ietf:params:oauth:token-type:access_token")
        );
    }

    #[test]
    fn missing_or_unknown_settings_are_diagnostics() {
        let yaml = format!(
            "{HEAD}do:\n  - a:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: http://h\n          authentication:\n            oidc: {{ client: {{ id: x, authentication: magic }} }}\n  - b:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: http://h\n          authentication:\n            oauth2: {{ authority: http://a, grant: implicit, request: {{ encoding: text/xml }} }}\n  - c:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: http://h\n          authentication:\n            use: nowhere\n"
        );
        let (specs, diagnostics) = compiled(&yaml);
        assert!(specs.iter().all(Option::is_none));
        let found: Vec<(&str, &str)> = diagnostics
            .iter()
            .map(|d| (d.code, d.pointer.as_deref().unwrap_or_default()))
            .collect();
        let at = "/do/0/a/with/endpoint/authentication/oidc";
        let bt = "/do/1/b/with/endpoint/authentication/oauth2";
        assert_eq!(
            found,
            [
                ("auth::missing-authority", at),
                ("auth::missing-grant", at),
                ("auth::invalid-setting", &*format!("{at}/client")),
                ("auth::invalid-setting", bt),
                ("auth::invalid-setting", &*format!("{bt}/request")),
                (
                    "ref::undefined-authentication",
                    "/do/2/c/with/endpoint/authentication/use"
                ),
            ]
        );
        assert_eq!(
            diagnostics[3].message,
            "`implicit` is not a supported `grant`"
        );
    }
}
