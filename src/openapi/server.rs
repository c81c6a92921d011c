//! Where an operation is sent: OpenAPI 3 `servers` (operation, then path item, then document;
//! the first entry, its variables at their defaults, a relative URL resolved against the
//! document's own URL) or Swagger 2 `schemes[0]://host/basePath` (the host and scheme defaulting
//! to those of the document's URL).

use super::problem::{Problem, problem};
use reqwest::Url;
use serde_json::Value;

/// The base URL of an OpenAPI 3 operation, without a trailing `/`.
pub(crate) fn openapi3(
    root: &Value,
    path_item: &Value,
    operation: &Value,
    location: &Url,
) -> Result<String, Problem> {
    // The most specific non-empty `servers` list wins.
    let servers = [operation, path_item, root]
        .into_iter()
        .filter_map(|owner| owner.get("servers").and_then(Value::as_array))
        .find(|list| !list.is_empty());
    let (written, server) = match servers.and_then(|list| list.first()) {
        // Without `servers`, the spec's default is a server at `/`.
        None => ("/".to_owned(), None),
        Some(server) => match server.get("url").and_then(Value::as_str) {
            Some(url) => (url.to_owned(), Some(server)),
            None => return Err(Problem::from("the first entry of `servers` has no `url`")),
        },
    };
    let expanded = match server {
        Some(server) => substitute_variables(&written, server)?,
        None => written,
    };
    absolute(&expanded, location)
}

/// `{name}` in a server URL replaced by `variables.name.default`.
fn substitute_variables(url: &str, server: &Value) -> Result<String, Problem> {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|at| open + at) else {
            return Err(problem!("the server URL `{url}` has an unclosed `{{`"));
        };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let value = server
            .get("variables")
            .and_then(|variables| variables.get(name))
            .and_then(|variable| variable.get("default"))
            .and_then(Value::as_str);
        match value {
            Some(value) => out.push_str(value),
            None => {
                return Err(problem!(
                    "the server URL `{url}` uses the variable `{name}`, which has no `default` \
                     under the server's `variables`"
                ));
            }
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The base URL of a Swagger 2 operation, without a trailing `/`.
pub(crate) fn swagger2(root: &Value, operation: &Value, location: &Url) -> Result<String, Problem> {
    let listed = |owner: &Value| {
        owner
            .get("schemes")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let scheme = listed(operation)
        .or_else(|| listed(root))
        .or_else(|| matches!(location.scheme(), "http" | "https").then(|| location.scheme().into()))
        // A document read from a file has no scheme to lend.
        .unwrap_or_else(|| "https".to_owned());
    let host = match root.get("host").and_then(Value::as_str) {
        Some(host) => host.to_owned(),
        None => match location.host_str() {
            Some(host) if !host.is_empty() => match location.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            },
            _ => {
                return Err(Problem::from(
                    "the document has no `host` and was not read over HTTP, so there is no host \
                     to send requests to",
                ));
            }
        },
    };
    let base_path = root.get("basePath").and_then(Value::as_str).unwrap_or("/");
    let separator = if base_path.starts_with('/') { "" } else { "/" };
    absolute(
        &format!("{scheme}://{host}{separator}{base_path}"),
        location,
    )
}

/// `url` resolved against the document's location; only HTTP(S) results are usable.
fn absolute(url: &str, location: &Url) -> Result<String, Problem> {
    let resolved = location
        .join(url)
        .map_err(|error| problem!("the server URL `{url}` is not a valid URL: {error}"))?;
    if !matches!(resolved.scheme(), "http" | "https") {
        return Err(problem!(
            "the server URL `{url}` resolves to `{resolved}`, which is not an HTTP(S) URL (a \
             document read from a file must name an absolute server URL)"
        ));
    }
    Ok(resolved.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn openapi3_servers_follow_precedence_variables_and_relative_urls() {
        let doc = url("http://127.0.0.1:8080/specs/openapi.json");
        let root = json!({"servers": [{"url": "https://{region}.api.test/{base}", "variables": {
            "region": {"default": "eu"}, "base": {"default": "v2"}}}]});
        assert_eq!(
            openapi3(&root, &json!({}), &json!({}), &doc),
            Ok("https://eu.api.test/v2".to_owned())
        );
        // An operation's own servers win; a relative URL is resolved against the document.
        let op = json!({"servers": [{"url": "/v3/"}]});
        assert_eq!(
            openapi3(&root, &json!({}), &op, &doc),
            Ok("http://127.0.0.1:8080/v3".to_owned())
        );
        let item = json!({"servers": [{"url": "api"}]});
        assert_eq!(
            openapi3(&root, &item, &json!({"servers": []}), &doc),
            Ok("http://127.0.0.1:8080/specs/api".to_owned())
        );
        // No servers at all: `/` on the document's host.
        assert_eq!(
            openapi3(&json!({}), &json!({}), &json!({}), &doc),
            Ok("http://127.0.0.1:8080".to_owned())
        );
    }

    #[test]
    fn openapi3_server_problems_are_explained() {
        let file = url("file:///tmp/api/openapi.yaml");
        let message = openapi3(
            &json!({"servers": [{"url": "/v1"}]}),
            &json!({}),
            &json!({}),
            &file,
        )
        .err()
        .unwrap_or_default();
        assert!(message.contains("not an HTTP(S) URL"), "{message}");
        let root = json!({"servers": [{"url": "https://{env}.test"}]});
        let message = openapi3(&root, &json!({}), &json!({}), &file)
            .err()
            .unwrap_or_default();
        assert!(message.contains("variable `env`"), "{message}");
        let message = openapi3(&json!({"servers": [{}]}), &json!({}), &json!({}), &file)
            .err()
            .unwrap_or_default();
        assert!(message.contains("no `url`"), "{message}");
        let root = json!({"servers": [{"url": "https://{oops.test"}]});
        assert!(openapi3(&root, &json!({}), &json!({}), &file).is_err());
    }

    #[test]
    fn swagger2_builds_scheme_host_and_base_path() {
        let doc = url("http://127.0.0.1:9000/v2/swagger.json");
        let root = json!({"host": "pets.test:81", "basePath": "/v2", "schemes": ["https", "http"]});
        assert_eq!(
            swagger2(&root, &json!({}), &doc),
            Ok("https://pets.test:81/v2".to_owned())
        );
        // Operation-level schemes win; the host defaults to the document's, port included.
        let op = json!({"schemes": ["http"]});
        assert_eq!(
            swagger2(&json!({"basePath": "api"}), &op, &doc),
            Ok("http://127.0.0.1:9000/api".to_owned())
        );
        // No scheme listed: the document's own scheme; no basePath: `/`.
        assert_eq!(
            swagger2(&json!({}), &json!({}), &doc),
            Ok("http://127.0.0.1:9000".to_owned())
        );
        let file = url("file:///tmp/swagger.json");
        assert_eq!(
            swagger2(&json!({"host": "pets.test"}), &json!({}), &file),
            Ok("https://pets.test".to_owned())
        );
        let message = swagger2(&json!({}), &json!({}), &file)
            .err()
            .unwrap_or_default();
        assert!(message.contains("no `host`"), "{message}");
    }
}
