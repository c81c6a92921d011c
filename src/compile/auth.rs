//! Authentication policies compiled for the runtime: `use.authentications` references resolved,
//! credential fields compiled as templates, so the runtime only evaluates them.

use super::compiler::Compiler;
use super::machine::Tmpl;
use super::scope::Scope;
use crate::document::{AuthScheme, AuthenticationRef, SchemeConfig};

/// One call's authentication, ready to evaluate into `exec::auth::Credentials`.
// Wired into `call: http` and `call: openapi` by the HTTP work of this session.
#[allow(dead_code)]
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
    /// A policy this runtime cannot apply yet: a `configuration` error with this text.
    Unsupported(String),
}

#[allow(dead_code)] // wired into the HTTP calls during this session
impl Compiler<'_> {
    pub(super) fn authentication(
        &mut self,
        reference: &AuthenticationRef,
        scope: &Scope,
    ) -> Option<AuthSpec> {
        let policy = match reference {
            AuthenticationRef::Inline(policy) => policy,
            AuthenticationRef::Named(name) => {
                return Some(AuthSpec::Unsupported(format!(
                    "authentication by name (`use: {}`) is not supported yet by this runtime",
                    name.name
                )));
            }
        };
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
            other => Some(AuthSpec::Unsupported(format!(
                "`{}` authentication is not supported yet by this runtime",
                other.name()
            ))),
        }
    }
}
