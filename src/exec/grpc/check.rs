//! What `validate` can tell about a `call: grpc` whose proto is a local file, without calling
//! anything: the proto compiles, the service and method exist and make a kind of call this
//! runtime supports, and every key written in `arguments` names a field of the request message.

use std::path::Path;

use serde_json::Value;

use super::{fields, load_local, proto};

/// Which part of the task a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallPart {
    Proto,
    Service,
    Method,
    /// The argument at these JSON pointer segments under `arguments`.
    Argument(Vec<String>),
}

/// The problems of one call, each with the part it is about.
pub fn check_call(
    proto_path: &Path,
    service: &str,
    method: &str,
    arguments: Option<&Value>,
) -> Vec<(CallPart, String)> {
    let message = |error: crate::runtime::error::WorkflowError| {
        let title = error.title.unwrap_or_default();
        match error.detail {
            Some(detail) => format!("{title}: {detail}"),
            None => title,
        }
    };
    let pool = match load_local(proto_path).and_then(|files| proto::compile(&files)) {
        Ok(pool) => pool,
        Err(error) => return vec![(CallPart::Proto, message(error))],
    };
    let found = match proto::find_method(
        &pool,
        &proto_path.display().to_string(),
        service,
        method,
    ) {
        Ok(found) => found,
        Err(error) => {
            let part = if pool.get_service_by_name(service).is_some() {
                CallPart::Method
            } else {
                CallPart::Service
            };
            return vec![(part, message(error))];
        }
    };
    if let Err(error) = proto::check_kind(&found) {
        return vec![(CallPart::Method, message(error))];
    }
    match arguments.and_then(|args| fields::unknown_field(args, &found.input())) {
        Some(unknown) => {
            let described = unknown.describe();
            vec![(CallPart::Argument(unknown.segments), described)]
        }
        None => Vec::new(),
    }
}
