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
    let message = |error: crate::problem::WorkflowError| {
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
    let found = match proto::find_method(&pool, &proto_path.display().to_string(), service, method)
    {
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

/// The findings of every `call: grpc` of `machine` whose proto is a local file (a literal path,
/// relative to `document_dir`, or a `file://` URI), located at the part of the task they are
/// about. Protos behind URLs or expressions are only read when the task runs.
pub(crate) fn check_protos(
    machine: &crate::compile::Machine,
    document_dir: Option<&Path>,
) -> Vec<crate::diagnostic::Diagnostic> {
    use crate::compile::Body;
    use crate::pointer::join;
    let mut found = Vec::new();
    for task in &machine.tasks {
        let Body::Grpc(spec) = &task.body else {
            continue;
        };
        let Some(written) = spec.literal_proto() else {
            continue;
        };
        let Ok(location) = crate::exec::resource::locate(written, document_dir) else {
            continue;
        };
        let Ok(path) = location.to_file_path() else {
            continue;
        };
        let with = join(&task.pointer, "with");
        if !path.exists() {
            // The proto may be put in place before the run (a build step, another checkout):
            // validation says what it could not check instead of refusing the document.
            found.push(
                crate::diagnostic::Diagnostic::warning(
                    "grpc::proto-not-found",
                    format!(
                        "the proto `{}` does not exist here, so the call was not checked; the task faults unless it exists when it runs",
                        path.display()
                    ),
                )
                .at_pointer(join(&join(&with, "proto"), "endpoint")),
            );
            continue;
        }
        for (part, message) in check_call(
            &path,
            &spec.service,
            &spec.method,
            spec.written_arguments.as_ref(),
        ) {
            let pointer = match part {
                CallPart::Proto => join(&join(&with, "proto"), "endpoint"),
                CallPart::Service => join(&join(&with, "service"), "name"),
                CallPart::Method => join(&with, "method"),
                CallPart::Argument(segments) => segments
                    .iter()
                    .fold(join(&with, "arguments"), |at, segment| join(&at, segment)),
            };
            found.push(
                crate::diagnostic::Diagnostic::error("grpc::call", message).at_pointer(pointer),
            );
        }
    }
    found
}
