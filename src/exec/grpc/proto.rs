//! Compiling gathered proto sources with protox (in-process, no `protoc`) into a descriptor pool,
//! and finding a service's method in it. Every failure is a `configuration` error naming the
//! file, line and column, or the service and method with the closest existing name.

use std::collections::HashMap;

use miette::Diagnostic as _;
use prost_reflect::{DescriptorPool, MethodDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use super::ProtoFiles;
use crate::diagnostic::did_you_mean;
use crate::problem::{ErrorKind, WorkflowError};

/// The gathered sources, served to the compiler by name.
struct InMemory(HashMap<String, String>);

impl FileResolver for InMemory {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.get(name) {
            Some(text) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles the root file (and, through it, its imports).
pub(crate) fn compile(proto: &ProtoFiles) -> Result<DescriptorPool, WorkflowError> {
    let mut resolver = ChainFileResolver::new();
    resolver.add(InMemory(proto.files.iter().cloned().collect()));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    match compiler.open_file(&proto.root) {
        Ok(_) => Ok(compiler.descriptor_pool()),
        Err(error) => Err(
            WorkflowError::new(ErrorKind::Configuration, "Invalid proto").with_detail(format!(
                "`{}` does not compile: {}",
                proto.location,
                describe(&error, proto)
            )),
        ),
    }
}

/// The compiler's message, placed at `file:line:column` when it points into a source.
fn describe(error: &protox::Error, proto: &ProtoFiles) -> String {
    let message = error.to_string();
    let Some(file) = error.file() else {
        return message;
    };
    let offset = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let text = proto
        .files
        .iter()
        .find(|(name, _)| name == file)
        .map(|(_, text)| text.as_str());
    match (offset, text) {
        (Some(offset), Some(text)) => {
            let before = text.get(..offset).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
            format!("{file}:{line}:{column}: {message}")
        }
        _ => format!("{file}: {message}"),
    }
}

/// The method `service`/`method` of the pool, or an error saying what exists instead.
pub(crate) fn find_method(
    pool: &DescriptorPool,
    location: &str,
    service: &str,
    method: &str,
) -> Result<MethodDescriptor, WorkflowError> {
    let Some(found) = pool.get_service_by_name(service) else {
        let names: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
        let hint = match did_you_mean(service, names.iter().map(String::as_str)) {
            Some(close) => format!(" (did you mean `{close}`?)"),
            None if names.is_empty() => " (it defines no service)".to_owned(),
            None => format!(" (it defines {})", quoted(&names)),
        };
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Unknown gRPC service").with_detail(
                format!(
                    "`{location}` has no service `{service}`{hint}; name it with its package, as in `package.Service`"
                ),
            ),
        );
    };
    found.methods().find(|m| m.name() == method).ok_or_else(|| {
        let names: Vec<String> = found.methods().map(|m| m.name().to_owned()).collect();
        let hint = match did_you_mean(method, names.iter().map(String::as_str)) {
            Some(close) => format!(" (did you mean `{close}`?)"),
            None => format!(" (it has {})", quoted(&names)),
        };
        WorkflowError::new(ErrorKind::Configuration, "Unknown gRPC method").with_detail(format!(
            "service `{service}` has no method `{method}`{hint}"
        ))
    })
}

/// Client- and bidi-streaming methods are refused: a task's `arguments` is one message.
pub(crate) fn check_kind(method: &MethodDescriptor) -> Result<(), WorkflowError> {
    if method.is_client_streaming() {
        let kind = if method.is_server_streaming() {
            "bidirectional-streaming"
        } else {
            "client-streaming"
        };
        return Err(
            WorkflowError::new(ErrorKind::Configuration, "Unsupported gRPC method").with_detail(
                format!(
                    "`{}` is a {kind} method; `call: grpc` makes unary and server-streaming calls only",
                    method.full_name()
                ),
            ),
        );
    }
    Ok(())
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn files(text: &str) -> ProtoFiles {
        ProtoFiles {
            location: "api.proto".to_owned(),
            root: "api.proto".to_owned(),
            files: vec![("api.proto".to_owned(), text.to_owned())],
        }
    }

    const API: &str = r#"
syntax = "proto3";
package demo.v1;
import "google/protobuf/timestamp.proto";
service Greeter {
  rpc SayHello (Hello) returns (Hello);
  rpc Upload (stream Hello) returns (Hello);
  rpc Chat (stream Hello) returns (stream Hello);
}
message Hello { string name = 1; google.protobuf.Timestamp at = 2; }
"#;

    #[test]
    fn a_proto_importing_well_known_types_compiles() {
        let pool = compile(&files(API)).unwrap_or_else(|e| panic!("{e:?}"));
        let method = find_method(&pool, "api.proto", "demo.v1.Greeter", "SayHello")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(method.input().full_name(), "demo.v1.Hello");
        assert!(check_kind(&method).is_ok());
    }

    #[test]
    fn missing_services_and_methods_suggest_a_name() {
        let pool = compile(&files(API)).unwrap_or_else(|e| panic!("{e:?}"));
        let service = find_method(&pool, "api.proto", "demo.v1.Greter", "SayHello")
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert!(
            service.contains("did you mean `demo.v1.Greeter`"),
            "{service}"
        );
        let bare = find_method(&pool, "api.proto", "Greeter", "SayHello")
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert!(bare.contains("package.Service"), "{bare}");
        let method = find_method(&pool, "api.proto", "demo.v1.Greeter", "SayHelo")
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert!(method.contains("did you mean `SayHello`"), "{method}");
    }

    #[test]
    fn streaming_uploads_are_refused() {
        let pool = compile(&files(API)).unwrap_or_else(|e| panic!("{e:?}"));
        for (name, kind) in [
            ("Upload", "client-streaming"),
            ("Chat", "bidirectional-streaming"),
        ] {
            let method = find_method(&pool, "api.proto", "demo.v1.Greeter", name)
                .unwrap_or_else(|e| panic!("{e:?}"));
            let detail = check_kind(&method)
                .err()
                .and_then(|e| e.detail)
                .unwrap_or_default();
            assert!(detail.contains(kind), "{detail}");
        }
    }

    #[test]
    fn compile_errors_name_the_place() {
        let error = compile(&files(
            "syntax = \"proto3\";\nmessage A {\n  Missing b = 1;\n}\n",
        ))
        .err()
        .unwrap_or_else(|| panic!("compiled a broken proto"));
        assert_eq!(error.type_, ErrorKind::Configuration.type_uri());
        let detail = error.detail.unwrap_or_default();
        assert!(detail.contains("api.proto:3:"), "{detail}");
        assert!(detail.contains("Missing"), "{detail}");
        let import = compile(&files("syntax = \"proto3\";\nimport \"gone.proto\";\n"))
            .err()
            .and_then(|e| e.detail)
            .unwrap_or_default();
        assert!(import.contains("gone.proto"), "{import}");
    }
}
