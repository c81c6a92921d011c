//! `call: openapi`: an OpenAPI 3.x or Swagger 2.0 description loaded once per run, its
//! operations indexed by `operationId`, and the parameters of a call placed into the HTTP
//! request the operation describes. Only `$ref`s within the document are followed.

mod document;
mod encode;
mod operation;
mod problem;
mod refs;
mod request;
mod server;

pub(crate) use document::ApiDocument;
pub(crate) use request::build;
