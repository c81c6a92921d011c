//! The compiler: `Document` → `Machine` (pure, synchronous). Task lists become blocks of task
//! ids, flow directives positions, expressions compiled jaq filters, `use` references inlined.

mod auth;
mod body;
mod compiler;
mod http;
mod machine;
mod policy;
pub(crate) mod scope;
mod uri_template;

#[cfg(test)]
pub(crate) use auth::compile_authentications;
pub(crate) use auth::{AuthSpec, AuthoritySpec, OAuth2Spec, SchemeKind, TokenSpec};
pub use compiler::compile;
pub(crate) use http::{EndpointSpec, HttpSpec};
pub use machine::Machine;
pub(crate) use machine::*;
pub(crate) use scope::{
    AUTHORIZATION, BASE_VARS, CONTEXT, INPUT, OUTPUT, RUNTIME, SECRETS, TASK, WORKFLOW,
};

#[cfg(test)]
mod examples_tests;
