//! The compiler: `Document` → `Machine` (pure, synchronous). Task lists become blocks of task
//! ids, flow directives positions, expressions compiled jaq filters, `use` references inlined.

mod a2a;
mod asyncapi;
mod auth;
mod body;
mod compiler;
mod container;
mod function;
mod grpc;
mod http;
mod listen;
mod machine;
mod mcp;
mod openapi;
mod policy;
mod remote;
pub(crate) mod scope;
mod script;
mod subflow;
mod targets;
mod uri_template;

pub(crate) use a2a::{A2A_METHODS, A2aSpec, AgentSpec};
pub(crate) use asyncapi::{AsyncApiKind, AsyncApiSpec, LimitSpec};
#[cfg(test)]
pub(crate) use auth::compile_authentications;
pub(crate) use auth::{AuthSpec, AuthoritySpec, OAuth2Spec, SchemeKind, TokenSpec};
pub use compiler::compile;
pub(crate) use container::ContainerSpec;
pub(crate) use function::{
    FunctionBody, FunctionTarget, RemoteFunction, escape as escape_name, raw_url,
};
pub(crate) use grpc::GrpcSpec;
pub(crate) use http::{EndpointSpec, HttpSpec};
pub(crate) use listen::{
    FilterSpec, ForeachSpec, ListenSpec, Pattern, StrategySpec, UntilSpec, ValueMatch,
};
pub use machine::Machine;
pub(crate) use machine::*;
pub(crate) use mcp::{MCP_METHODS, McpSpec, McpTransportSpec};
pub(crate) use openapi::{OpenApiSpec, UriSpec};
pub(crate) use remote::{function_machine, invalid_function};
pub(crate) use scope::{
    AUTHORIZATION, BASE_VARS, CONTEXT, INPUT, OUTPUT, RUNTIME, SECRETS, TASK, WORKFLOW,
};
pub(crate) use script::SourceSpec;
pub(crate) use subflow::SubflowSpec;
pub use targets::Targets;

#[cfg(test)]
mod examples_tests;
