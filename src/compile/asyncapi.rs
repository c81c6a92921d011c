//! Lowering of `call: asyncapi`: the document as an external resource (loaded and resolved when
//! the task runs), which operation/channel/server, the message to publish as templates, or the
//! subscription's filter, consumption bounds and `foreach`.

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::listen::ForeachSpec;
use super::machine::{Body, Compiled, DurationSpec, Tmpl};
use super::openapi::ResourceSpec;
use super::scope::Scope;
use crate::document::{AsyncApiCall, ConsumeLimit};

/// `call: asyncapi`, ready to evaluate.
#[derive(Debug)]
pub(crate) struct AsyncApiSpec {
    pub document: ResourceSpec,
    pub operation: Option<String>,
    /// 2.6 documents: the channel's name (its address).
    pub channel: Option<String>,
    pub server: Option<String>,
    /// `server.variables`: an object of strings.
    pub variables: Option<Tmpl>,
    pub protocol: Option<String>,
    pub kind: AsyncApiKind,
    pub authentication: Option<AuthSpec>,
}

#[derive(Debug)]
pub(crate) enum AsyncApiKind {
    Publish {
        payload: Option<Tmpl>,
        headers: Option<Tmpl>,
    },
    Subscribe(Box<SubscriptionSpec>),
}

#[derive(Debug)]
pub(crate) struct SubscriptionSpec {
    /// Evaluated on each message `{payload, headers, correlationId}`; false: skipped.
    pub filter: Option<Compiled>,
    pub limit: LimitSpec,
    /// `consume.for`: how long the subscription lasts at most.
    pub for_: Option<DurationSpec>,
    pub foreach: Option<ForeachSpec>,
}

/// When consumption stops; `while`/`until` see the array of messages consumed so far.
#[derive(Debug)]
pub(crate) enum LimitSpec {
    Amount(u64),
    While(Compiled),
    Until(Compiled),
}

impl Compiler<'_> {
    pub(super) fn asyncapi(&mut self, call: &AsyncApiCall, scope: &Scope) -> Body {
        let document = self.resource(&call.document.endpoint, scope);
        let variables = call
            .server
            .as_ref()
            .and_then(|s| s.variables.as_ref())
            .map(|v| self.template(v, scope));
        let authentication = call
            .authentication
            .as_ref()
            .map(|reference| self.authentication(reference, scope));
        let kind = match (&call.message, &call.subscription) {
            (_, Some(subscription)) => {
                let filter = subscription.filter.as_ref().map(|f| self.expr(f, scope));
                let limit = match &subscription.consume.limit {
                    ConsumeLimit::Amount(amount) => Some(LimitSpec::Amount(*amount)),
                    ConsumeLimit::While(e) => self.expr(e, scope).map(LimitSpec::While),
                    ConsumeLimit::Until(e) => self.expr(e, scope).map(LimitSpec::Until),
                };
                let for_ = subscription
                    .consume
                    .for_
                    .as_ref()
                    .map(|d| self.duration(d, scope));
                let foreach = subscription
                    .foreach
                    .as_ref()
                    .map(|iterator| self.foreach(iterator, scope));
                match (
                    filter.map_or(Some(None), |f| f.map(Some)),
                    limit,
                    for_.map_or(Some(None), |d| d.map(Some)),
                    foreach.map_or(Some(None), |f| f.map(Some)),
                ) {
                    (Some(filter), Some(limit), Some(for_), Some(foreach)) => {
                        Some(AsyncApiKind::Subscribe(Box::new(SubscriptionSpec {
                            filter,
                            limit,
                            for_,
                            foreach,
                        })))
                    }
                    _ => None,
                }
            }
            (message, None) => {
                let payload = message
                    .as_ref()
                    .and_then(|m| m.payload.as_ref())
                    .map(|p| self.template(p, scope));
                let headers = message
                    .as_ref()
                    .and_then(|m| m.headers.as_ref())
                    .map(|h| self.template(h, scope));
                match (
                    payload.map_or(Some(None), |p| p.map(Some)),
                    headers.map_or(Some(None), |h| h.map(Some)),
                ) {
                    (Some(payload), Some(headers)) => {
                        Some(AsyncApiKind::Publish { payload, headers })
                    }
                    _ => None,
                }
            }
        };
        let (Some(document), Some(variables), Some(authentication), Some(kind)) = (
            document,
            variables.map_or(Some(None), |v| v.map(Some)),
            authentication.map_or(Some(None), |a| a.map(Some)),
            kind,
        ) else {
            return Body::Unsupported(String::from("this task did not compile"));
        };
        Body::AsyncApi(Box::new(AsyncApiSpec {
            document,
            operation: call.operation.clone(),
            channel: call.channel.clone(),
            server: call.server.as_ref().map(|s| s.name.clone()),
            variables,
            protocol: call.protocol.clone(),
            kind,
            authentication,
        }))
    }
}
