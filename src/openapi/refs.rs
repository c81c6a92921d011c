//! `$ref` inside an OpenAPI document: only references within the same document (`#/...`) are
//! followed. A reference to another file or URL is refused with a clear message rather than
//! fetched, so a run never reaches further than the one document the workflow names.

use super::problem::{Problem, problem};
use serde_json::Value;

/// How many `$ref` hops are followed before giving up (a cycle `a → b → a` ends here).
const MAX_HOPS: usize = 32;

/// `value`, or what its `$ref` chain points to within `root`.
pub(crate) fn resolve<'a>(root: &'a Value, value: &'a Value) -> Result<&'a Value, Problem> {
    let mut current = value;
    for _ in 0..MAX_HOPS {
        let Some(reference) = current.get("$ref") else {
            return Ok(current);
        };
        let Some(reference) = reference.as_str() else {
            return Err(Problem::from("a `$ref` must be a string"));
        };
        current = target(root, reference)?;
    }
    Err(problem!(
        "more than {MAX_HOPS} `$ref` hops starting at `{}` (a reference cycle?)",
        value
            .get("$ref")
            .and_then(Value::as_str)
            .unwrap_or_default()
    ))
}

/// The value a local reference (`#/components/parameters/limit`) names.
fn target<'a>(root: &'a Value, reference: &str) -> Result<&'a Value, Problem> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(problem!(
            "`$ref: {reference}` points outside the document; only references within the \
             document (`#/...`) are supported"
        ));
    };
    let pointer = percent_decode(fragment);
    if !(pointer.is_empty() || pointer.starts_with('/')) {
        return Err(problem!(
            "`$ref: {reference}` is not a JSON pointer (`#/components/...`)"
        ));
    }
    // `Value::pointer` undoes the `~0` / `~1` escapes itself.
    root.pointer(&pointer)
        .ok_or_else(|| problem!("`$ref: {reference}` points to nothing in the document"))
}

/// URI fragments may percent-encode characters (`%7B` for `{` in a path key).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| byte == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                index += 3;
            }
            None => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root() -> Value {
        json!({
            "components": {
                "parameters": {
                    "limit": {"name": "limit", "in": "query"},
                    "alias": {"$ref": "#/components/parameters/limit"},
                    "loop": {"$ref": "#/components/parameters/loop"}
                }
            },
            "paths": {"/pet/{id}": {"get": {"operationId": "x"}}}
        })
    }

    #[test]
    fn local_references_are_followed_through_chains() {
        let root = root();
        let direct = json!({"$ref": "#/components/parameters/alias"});
        assert_eq!(
            resolve(&root, &direct),
            Ok(&json!({"name": "limit", "in": "query"}))
        );
        let plain = json!({"name": "q"});
        assert_eq!(resolve(&root, &plain), Ok(&plain));
        // Escaped path keys: `~1` for `/`, percent-encoding for braces.
        let escaped = json!({"$ref": "#/paths/~1pet~1%7Bid%7D/get"});
        assert_eq!(resolve(&root, &escaped), Ok(&json!({"operationId": "x"})));
    }

    #[test]
    fn remote_missing_and_cyclic_references_are_refused() {
        let root = root();
        let remote = json!({"$ref": "common.yaml#/Pet"});
        let message = resolve(&root, &remote).err().unwrap_or_default();
        assert!(message.contains("outside the document"), "{message}");
        let missing = json!({"$ref": "#/components/parameters/nope"});
        let message = resolve(&root, &missing).err().unwrap_or_default();
        assert!(message.contains("points to nothing"), "{message}");
        let cycle = json!({"$ref": "#/components/parameters/loop"});
        let message = resolve(&root, &cycle).err().unwrap_or_default();
        assert!(message.contains("cycle"), "{message}");
        let not_string = json!({"$ref": 3});
        assert!(resolve(&root, &not_string).is_err());
    }
}
