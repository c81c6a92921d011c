//! `validate`'s look at a local AsyncAPI document: read and parsed, and the call's operation,
//! channel and server looked up in it, an unknown one a located error with a did-you-mean. A
//! remote document or one given by an expression is read only when the task runs.

use std::path::Path;

use super::document::{AsyncApiDocument, ServerChoice, Version};
use crate::compile::{AsyncApiKind, Body, Machine, UriSpec};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::pointer::join;

/// The code of every finding here.
const CODE: &str = "asyncapi::call";

pub(crate) fn check_documents(machine: &Machine, document_dir: Option<&Path>) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for task in &machine.tasks {
        let Body::AsyncApi(spec) = &task.body else {
            continue;
        };
        let UriSpec::Literal(written) = &spec.document.uri else {
            continue;
        };
        let Ok(location) = crate::exec::resource::locate(written, document_dir) else {
            continue;
        };
        let Ok(path) = location.to_file_path() else {
            continue;
        };
        let with = join(&task.pointer, "with");
        let endpoint = join(&join(&with, "document"), "endpoint");
        let Ok(text) = std::fs::read_to_string(&path) else {
            // It may be put in place before the run: said, not refused.
            found.push(
                Diagnostic::warning(
                    "asyncapi::document-not-found",
                    format!(
                        "the AsyncAPI document `{}` cannot be read here, so the call was not \
                         checked; the task faults unless it exists when it runs",
                        path.display()
                    ),
                )
                .at_pointer(endpoint),
            );
            continue;
        };
        let document = match AsyncApiDocument::parse(&text, &location) {
            Ok(document) => document,
            Err(error) => {
                found.push(
                    Diagnostic::error(CODE, error.detail.or(error.title).unwrap_or_default())
                        .at_pointer(endpoint),
                );
                continue;
            }
        };
        let mut unknown = |what: &str, name: &str, known: Vec<String>, at: String| {
            if known.iter().any(|k| k == name) {
                return;
            }
            let mut diagnostic =
                Diagnostic::error(CODE, format!("`{}` has no {what} `{name}`", path.display()))
                    .at_pointer(at)
                    .with_label(format!("unknown {what}"));
            if let Some(near) = did_you_mean(name, known.iter().map(String::as_str)) {
                diagnostic = diagnostic.with_help(format!("did you mean `{near}`?"));
            } else if !known.is_empty() {
                diagnostic = diagnostic.with_help(format!("it has: {}", known.join(", ")));
            }
            found.push(diagnostic);
        };
        if let (Version::V2, Some(channel)) = (document.version, &spec.channel) {
            unknown(
                "channel",
                channel,
                document.channel_names(),
                join(&with, "channel"),
            );
        }
        if let Some(operation) = &spec.operation {
            unknown(
                "operation",
                operation,
                document.operation_names(),
                join(&with, "operation"),
            );
        }
        if let Some(server) = &spec.server {
            unknown(
                "server",
                server,
                document.server_names(),
                join(&join(&with, "server"), "name"),
            );
        }
        // The server the call would use speaks a protocol this runner does not: said now, as
        // every feature the runtime cannot execute (a server needing variables is skipped).
        let choice = ServerChoice {
            name: spec.server.clone(),
            variables: Default::default(),
            protocol: spec.protocol.clone(),
        };
        let subscribes = matches!(spec.kind, AsyncApiKind::Subscribe(_));
        if let Ok(resolved) =
            document.resolve(spec.operation.as_deref(), spec.channel.as_deref(), &choice)
            && !speaks(&resolved.protocol)
        {
            let what = if subscribes { "subscribe" } else { "publish" };
            let error = super::unsupported(&resolved.protocol, what);
            found.push(
                Diagnostic::warning(
                    "runtime::unsupported",
                    format!(
                        "task `{}`: {}; the run faults when it reaches this task",
                        task.name,
                        error.detail.unwrap_or_default()
                    ),
                )
                .at_pointer(with.clone()),
            );
        }
    }
    found
}

/// Whether this runner publishes and subscribes over `protocol`.
fn speaks(protocol: &str) -> bool {
    let web_socket = matches!(protocol, "ws" | "wss");
    (web_socket && cfg!(feature = "ws"))
        || matches!(
            protocol,
            "nats"
                | "mqtt"
                | "mqtt5"
                | "secure-mqtt"
                | "amqp"
                | "redis"
                | "rediss"
                | "http"
                | "https"
        )
}
