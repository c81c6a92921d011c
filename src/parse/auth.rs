//! Reading authentication policies: inline schemes, secret-based schemes, `{ use: name }`.

use serde_json::{Map, Value};

use super::reader::Parser;
use crate::document::{
    AuthScheme, AuthenticationPolicy, AuthenticationRef, Authority, BearerAuth, OAuth2Auth,
    OAuth2Client, OAuth2Endpoints, OAuth2Token, SchemeConfig, StringOrExpr, UriTemplate,
    UserPassword,
};
use crate::pointer;

const SCHEMES: [&str; 5] = ["basic", "bearer", "digest", "oauth2", "oidc"];

impl Parser {
    /// An authentication inside a call or endpoint: `{ use: name }` or an inline policy.
    pub(crate) fn authentication_ref(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<AuthenticationRef> {
        let map = self.object(value, pointer)?;
        if map.contains_key("use") {
            return self
                .opt(map, pointer, "use", Parser::reference)
                .map(AuthenticationRef::Named);
        }
        self.authentication_policy(value, pointer)
            .map(AuthenticationRef::Inline)
    }

    pub(crate) fn authentication_policy(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<AuthenticationPolicy> {
        let map = self.object(value, pointer)?;
        let present: Vec<&str> = SCHEMES
            .into_iter()
            .filter(|scheme| map.contains_key(*scheme))
            .collect();
        let [scheme] = present.as_slice() else {
            self.unexpected(
                pointer,
                format!(
                    "an authentication policy needs exactly one of `basic`, `bearer`, `digest`, `oauth2`, `oidc`; found {}",
                    present.len()
                ),
            );
            return None;
        };
        let scheme_pointer = pointer::join(pointer, scheme);
        let settings = self.object(map.get(*scheme)?, &scheme_pointer)?;
        let scheme = match *scheme {
            "basic" => AuthScheme::Basic(self.scheme_config(
                settings,
                &scheme_pointer,
                Parser::user_password,
            )?),
            "bearer" => {
                AuthScheme::Bearer(self.scheme_config(settings, &scheme_pointer, Parser::bearer)?)
            }
            "digest" => AuthScheme::Digest(self.scheme_config(
                settings,
                &scheme_pointer,
                Parser::user_password,
            )?),
            "oauth2" => {
                AuthScheme::OAuth2(self.scheme_config(settings, &scheme_pointer, Parser::oauth2)?)
            }
            _ => AuthScheme::Oidc(self.scheme_config(settings, &scheme_pointer, Parser::oauth2)?),
        };
        Some(AuthenticationPolicy {
            scheme,
            pointer: pointer.to_string(),
        })
    }

    /// `{ use: secret }` or the scheme's inline settings.
    fn scheme_config<T>(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        inline: impl FnOnce(&mut Self, &Map<String, Value>, &str) -> Option<T>,
    ) -> Option<SchemeConfig<T>> {
        if map.contains_key("use") {
            return self
                .opt(map, pointer, "use", Parser::reference)
                .map(SchemeConfig::Secret);
        }
        inline(self, map, pointer).map(SchemeConfig::Inline)
    }

    fn user_password(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<UserPassword> {
        let username = self.req(map, pointer, "username", Parser::string_or_expr);
        let password = self.req(map, pointer, "password", Parser::string_or_expr);
        Some(UserPassword {
            username: username?,
            password: password?,
        })
    }

    fn bearer(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<BearerAuth> {
        Some(BearerAuth {
            token: self.req(map, pointer, "token", Parser::string_or_expr)?,
        })
    }

    fn oauth2(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<OAuth2Auth> {
        let request_pointer = pointer::join(pointer, "request");
        let request_encoding = self
            .opt(map, pointer, "request", |p, v, ptr| p.object(v, ptr))
            .and_then(|request| self.opt(request, &request_pointer, "encoding", Parser::string));
        Some(OAuth2Auth {
            authority: self.opt(map, pointer, "authority", Parser::authority),
            grant: self.opt(map, pointer, "grant", Parser::string),
            client: self.opt(map, pointer, "client", Parser::oauth2_client),
            request_encoding,
            issuers: self
                .opt(map, pointer, "issuers", Parser::strings)
                .unwrap_or_default(),
            scopes: self
                .opt(map, pointer, "scopes", Parser::strings)
                .unwrap_or_default(),
            audiences: self
                .opt(map, pointer, "audiences", Parser::strings)
                .unwrap_or_default(),
            username: self.opt(map, pointer, "username", Parser::string_or_expr),
            password: self.opt(map, pointer, "password", Parser::string_or_expr),
            subject: self.opt(map, pointer, "subject", Parser::oauth2_token),
            actor: self.opt(map, pointer, "actor", Parser::oauth2_token),
            endpoints: self.opt(map, pointer, "endpoints", Parser::oauth2_endpoints),
        })
    }

    fn authority(&mut self, value: &Value, pointer: &str) -> Option<Authority> {
        Some(match self.string_or_expr(value, pointer)? {
            StringOrExpr::Expression(expression) => Authority::Expression(expression),
            StringOrExpr::Literal { value, pointer } => Authority::Template(UriTemplate {
                text: value,
                pointer,
            }),
        })
    }

    fn oauth2_client(&mut self, value: &Value, pointer: &str) -> Option<OAuth2Client> {
        let map = self.object(value, pointer)?;
        Some(OAuth2Client {
            id: self.opt(map, pointer, "id", Parser::string_or_expr),
            secret: self.opt(map, pointer, "secret", Parser::string_or_expr),
            assertion: self.opt(map, pointer, "assertion", Parser::string_or_expr),
            authentication: self.opt(map, pointer, "authentication", Parser::string),
        })
    }

    fn oauth2_token(&mut self, value: &Value, pointer: &str) -> Option<OAuth2Token> {
        let map = self.object(value, pointer)?;
        let token = self.req(map, pointer, "token", Parser::string_or_expr);
        let type_ = self.req(map, pointer, "type", Parser::string);
        Some(OAuth2Token {
            token: token?,
            type_: type_?,
        })
    }

    fn oauth2_endpoints(&mut self, value: &Value, pointer: &str) -> Option<OAuth2Endpoints> {
        let map = self.object(value, pointer)?;
        Some(OAuth2Endpoints {
            token: self.opt(map, pointer, "token", Parser::string),
            revocation: self.opt(map, pointer, "revocation", Parser::string),
            introspection: self.opt(map, pointer, "introspection", Parser::string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_inline_secret_and_named_policies() {
        let mut parser = Parser::default();
        let basic = parser.authentication_ref(
            &json!({"basic": {"username": "${ .u }", "password": "p"}}),
            "/a",
        );
        let Some(AuthenticationRef::Inline(AuthenticationPolicy {
            scheme: AuthScheme::Basic(SchemeConfig::Inline(creds)),
            ..
        })) = basic
        else {
            panic!("expected inline basic, got {basic:?}");
        };
        assert!(creds.username.as_expression().is_some());
        assert_eq!(creds.password.as_literal(), Some("p"));

        let secret = parser.authentication_policy(&json!({"bearer": {"use": "token"}}), "/b");
        assert!(
            matches!(secret.map(|p| p.scheme), Some(AuthScheme::Bearer(SchemeConfig::Secret(r))) if r.name == "token" && r.pointer == "/b/bearer/use")
        );

        let named = parser.authentication_ref(&json!({"use": "petstore"}), "/c");
        assert!(
            matches!(named, Some(AuthenticationRef::Named(r)) if r.name == "petstore" && r.pointer == "/c/use")
        );

        let oauth = parser.authentication_policy(
            &json!({"oauth2": {"authority": "http://k/realms/x", "grant": "client_credentials",
                "client": {"id": "i", "secret": "s"}, "endpoints": {"token": "/auth/token"}, "scopes": ["a"]}}),
            "/d",
        );
        let Some(AuthScheme::OAuth2(SchemeConfig::Inline(oauth))) = oauth.map(|p| p.scheme) else {
            panic!("expected inline oauth2");
        };
        assert_eq!(
            oauth.endpoints.map(|e| e.token_path().to_string()),
            Some("/auth/token".into())
        );
        assert_eq!(oauth.scopes, vec!["a"]);
        assert!(parser.diagnostics.is_empty());

        assert!(
            parser
                .authentication_policy(&json!({"basic": {}, "bearer": {}}), "/e")
                .is_none()
        );
        assert_eq!(parser.diagnostics.len(), 1);
    }
}
