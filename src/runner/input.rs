//! A run's input as `--input` gives it: inline JSON, `@PATH` (JSON or YAML), `-` (stdin).

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use crate::diagnostic::Diagnostic;
use crate::source::Source;
use crate::yaml;

/// An input that cannot be read or is not data; the message says which and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(String);

/// `--input`: inline JSON, `@PATH` (JSON or YAML), `-` (stdin, JSON or YAML); `{}` by default.
pub fn read_input(input: Option<&str>) -> Result<Value, InputError> {
    let Some(input) = input else {
        return Ok(json!({}));
    };
    if input == "-" {
        let cap = crate::source::MAX_SOURCE_BYTES;
        let mut bytes = Vec::new();
        // One byte past the cap tells "at the cap" from "larger"; a producer that never stops
        // (`yes |`) is cut off there instead of filling the memory.
        std::io::stdin()
            .lock()
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| InputError(format!("cannot read the input from stdin: {e}")))?;
        if bytes.len() as u64 > cap {
            return Err(InputError(format!(
                "the input on stdin is larger than {} MiB; refusing to read more",
                cap / (1024 * 1024)
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| InputError("the input on stdin is not UTF-8 text".to_string()))?;
        return load_data(Source::new("<stdin>", text), "the input on stdin");
    }
    if let Some(path) = input.strip_prefix('@') {
        let source = Source::read(Path::new(path))
            .map_err(|d| InputError(format!("cannot read the input file {path}: {}", d.message)))?;
        return load_data(source, &format!("the input file {path}"));
    }
    serde_json::from_str(input).map_err(|e| {
        InputError(format!(
            "`--input` is not valid JSON ({e}); pass JSON, `@FILE` (JSON or YAML) or `-` for stdin"
        ))
    })
}

fn load_data(source: Source, what: &str) -> Result<Value, InputError> {
    let loaded = yaml::load(&source)
        .map_err(|diagnostic| describe(what, "is not JSON or YAML", &source, &diagnostic))?;
    // A repeated key would silently drop one of its values: refuse the input rather than guess.
    match loaded.diagnostics.first() {
        Some(diagnostic) => Err(describe(what, "is ambiguous", &source, diagnostic)),
        None => Ok(loaded.value),
    }
}

fn describe(what: &str, problem: &str, source: &Source, diagnostic: &Diagnostic) -> InputError {
    match diagnostic.span {
        Some(span) => {
            let at = source.position(span.start);
            InputError(format!(
                "{what} {problem} (line {}, column {}): {}",
                at.line, at.column, diagnostic.message
            ))
        }
        None => InputError(format!("{what} {problem}: {}", diagnostic.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_input_must_be_json() {
        assert_eq!(read_input(None), Ok(json!({})));
        assert_eq!(read_input(Some(r#"{"a": [1]}"#)), Ok(json!({"a": [1]})));
        assert_eq!(read_input(Some("3")), Ok(json!(3)));
        let error = read_input(Some("{a:"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("not valid JSON"), "{error}");
    }

    #[test]
    fn file_input_may_be_yaml() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("in.yaml");
        std::fs::write(&path, "name: Ada\nitems: [1, 2]\n").unwrap_or_else(|e| panic!("{e}"));
        let arg = format!("@{}", path.display());
        assert_eq!(
            read_input(Some(&arg)),
            Ok(json!({"name": "Ada", "items": [1, 2]}))
        );
        std::fs::write(&path, "a: [1\n").unwrap_or_else(|e| panic!("{e}"));
        let error = read_input(Some(&arg))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("not JSON or YAML"), "{error}");
        // A repeated key is refused, naming the key and where it repeats.
        std::fs::write(&path, "name: Ada\nitems: []\nname: Bob\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let error = read_input(Some(&arg))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.ends_with("is ambiguous (line 3, column 1): duplicate key `name` in a mapping"),
            "{error}"
        );
        let missing = read_input(Some("@/nonexistent/x.json"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(missing.contains("cannot read"), "{missing}");
    }
}
