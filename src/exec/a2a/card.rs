//! An agent card read for a call: the URL where the agent speaks JSON-RPC (`url` when
//! `preferredTransport` is JSON-RPC, else an `additionalInterfaces` entry that is), and how the
//! task's credentials must be sent for the card's `security` requirements to be met.

use reqwest::Url;
use serde_json::{Map, Value};

use crate::host::effects::credentials::Credentials;
use crate::problem::{ErrorKind, WorkflowError};

/// The transport name A2A gives JSON-RPC 2.0 over HTTP.
const JSONRPC: &str = "JSONRPC";

/// Where and how to call the agent.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Target {
    pub url: String,
    /// Sent as `Authorization` by the HTTP client (digest on the challenge).
    pub credentials: Option<Credentials>,
    /// API keys the card asks for in a header (cookies included as `Cookie`).
    pub headers: Vec<(String, String)>,
    /// API keys the card asks for in the query.
    pub query: Vec<(String, String)>,
}

/// How one security scheme of the card takes the task's credentials.
enum Carrier {
    Authorization,
    Header(String),
    Query(String),
    Cookie(String),
}

/// Reads the card fetched from `location` and decides where and how to call the agent.
pub(super) fn target(
    text: &str,
    location: &Url,
    credentials: Option<Credentials>,
) -> Result<Target, WorkflowError> {
    let card: Map<String, Value> = serde_json::from_str(text)
        .map_err(|why| invalid_card(location, format!("it is not a JSON object: {why}")))?;
    let url = jsonrpc_url(&card, location)?;
    let resolved = location
        .join(&url)
        .map_err(|why| invalid_card(location, format!("its URL `{url}` is not valid: {why}")))?;
    let mut target = Target {
        url: resolved.to_string(),
        credentials: None,
        headers: Vec::new(),
        query: Vec::new(),
    };
    let requirements: Vec<&Map<String, Value>> = card
        .get("security")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let optional = requirements.is_empty() || requirements.iter().any(|r| r.is_empty());
    let Some(credentials) = credentials else {
        if optional {
            return Ok(target);
        }
        return Err(WorkflowError::new(
            ErrorKind::Authentication,
            "The agent requires authentication",
        )
        .with_detail(format!(
            "the agent card at {location} requires {}; give the `agentCard` endpoint an `authentication` policy",
            describe(&requirements, &card)
        )));
    };
    if requirements.is_empty() {
        // Nothing declared: the credentials go as they would on any HTTP call.
        target.credentials = Some(credentials);
        return Ok(target);
    }
    let schemes = card.get("securitySchemes").and_then(Value::as_object);
    for requirement in requirements.iter().filter(|r| !r.is_empty()) {
        let carriers: Option<Vec<Carrier>> = requirement
            .keys()
            .map(|name| {
                schemes
                    .and_then(|s| s.get(name))
                    .and_then(|scheme| carrier(scheme, &credentials))
            })
            .collect();
        if let Some(carriers) = carriers {
            apply(&mut target, carriers, credentials);
            return Ok(target);
        }
    }
    if optional {
        target.credentials = Some(credentials);
        return Ok(target);
    }
    Err(WorkflowError::new(
        ErrorKind::Authentication,
        "The agent does not accept these credentials",
    )
    .with_detail(format!(
        "the agent card at {location} requires {}, which `{}` credentials cannot provide",
        describe(&requirements, &card),
        credentials.scheme_name()
    )))
}

/// The URL of the agent's JSON-RPC interface.
fn jsonrpc_url(card: &Map<String, Value>, location: &Url) -> Result<String, WorkflowError> {
    let preferred = card
        .get("preferredTransport")
        .and_then(Value::as_str)
        .unwrap_or(JSONRPC);
    if preferred.eq_ignore_ascii_case(JSONRPC) {
        return card
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid_card(location, "it has no `url`".to_owned()));
    }
    let interfaces = card.get("additionalInterfaces").and_then(Value::as_array);
    interfaces
        .into_iter()
        .flatten()
        .find(|interface| {
            interface
                .get("transport")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(JSONRPC))
        })
        .and_then(|interface| interface.get("url").and_then(Value::as_str))
        .map(str::to_owned)
        .ok_or_else(|| {
            WorkflowError::new(ErrorKind::Configuration, "The agent does not speak JSON-RPC")
                .with_detail(format!(
                    "the agent card at {location} prefers `{preferred}` and lists no JSONRPC interface; this runtime calls agents over JSON-RPC"
                ))
        })
}

/// How `scheme` (a `securitySchemes` entry) takes `credentials`, if it can.
fn carrier(scheme: &Value, credentials: &Credentials) -> Option<Carrier> {
    let kind = scheme.get("type").and_then(Value::as_str)?;
    let token_like = matches!(
        credentials,
        Credentials::Bearer { .. } | Credentials::OAuth2(_) | Credentials::Oidc(_)
    );
    match kind {
        "http" => {
            let name = scheme.get("scheme").and_then(Value::as_str)?;
            let fits = match name.to_ascii_lowercase().as_str() {
                "bearer" => token_like,
                "basic" => matches!(credentials, Credentials::Basic { .. }),
                "digest" => matches!(credentials, Credentials::Digest { .. }),
                _ => false,
            };
            fits.then_some(Carrier::Authorization)
        }
        "oauth2" | "openIdConnect" => token_like.then_some(Carrier::Authorization),
        "apiKey" => {
            if !matches!(credentials, Credentials::Bearer { .. }) {
                return None;
            }
            let name = scheme.get("name").and_then(Value::as_str)?.to_owned();
            match scheme.get("in").and_then(Value::as_str)? {
                "header" => Some(Carrier::Header(name)),
                "query" => Some(Carrier::Query(name)),
                "cookie" => Some(Carrier::Cookie(name)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Sends the credentials the way each carrier says: an API key is the bearer token's value.
fn apply(target: &mut Target, carriers: Vec<Carrier>, credentials: Credentials) {
    let key = match &credentials {
        Credentials::Bearer { token } => token.clone(),
        _ => String::new(),
    };
    let mut authorization = false;
    for carrier in carriers {
        match carrier {
            Carrier::Authorization => authorization = true,
            Carrier::Header(name) => target.headers.push((name, key.clone())),
            Carrier::Query(name) => target.query.push((name, key.clone())),
            Carrier::Cookie(name) => target
                .headers
                .push(("Cookie".to_owned(), format!("{name}={key}"))),
        }
    }
    if authorization {
        target.credentials = Some(credentials);
    }
}

/// `a or b and c`, naming each scheme with its type.
fn describe(requirements: &[&Map<String, Value>], card: &Map<String, Value>) -> String {
    let schemes = card.get("securitySchemes").and_then(Value::as_object);
    let name = |scheme: &String| {
        let kind = schemes
            .and_then(|s| s.get(scheme))
            .map(|s| {
                let base = s.get("type").and_then(Value::as_str).unwrap_or("unknown");
                match s.get("scheme").and_then(Value::as_str) {
                    Some(detail) => format!("{base} {detail}"),
                    None => base.to_owned(),
                }
            })
            .unwrap_or_else(|| String::from("undeclared"));
        format!("`{scheme}` ({kind})")
    };
    requirements
        .iter()
        .map(|r| r.keys().map(name).collect::<Vec<_>>().join(" and "))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn invalid_card(location: &Url, why: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Invalid agent card")
        .with_detail(format!("the agent card at {location}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn location() -> Url {
        Url::parse("http://127.0.0.1:9/.well-known/agent-card.json")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn bearer() -> Option<Credentials> {
        Some(Credentials::Bearer {
            token: "t0k".into(),
        })
    }

    fn read(card: Value, credentials: Option<Credentials>) -> Result<Target, WorkflowError> {
        target(&card.to_string(), &location(), credentials)
    }

    #[test]
    fn the_jsonrpc_url_is_chosen_and_resolved() {
        let plain = read(json!({"url": "/a2a"}), None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(plain.url, "http://127.0.0.1:9/a2a");
        let other = read(
            json!({"url": "http://x/grpc", "preferredTransport": "GRPC",
                   "additionalInterfaces": [{"url": "http://x/grpc", "transport": "GRPC"},
                                            {"url": "http://x/rpc", "transport": "JSONRPC"}]}),
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(other.url, "http://x/rpc");
        let none = read(
            json!({"url": "http://x/", "preferredTransport": "GRPC"}),
            None,
        );
        assert!(none.is_err_and(|e| e.type_.ends_with("/configuration")));
        assert!(target("[]", &location(), None).is_err());
    }

    #[test]
    fn security_requirements_decide_how_credentials_go() {
        let card = |schemes: Value, security: Value| json!({"url": "http://x/", "securitySchemes": schemes, "security": security});
        let bearer_card = card(
            json!({"b": {"type": "http", "scheme": "Bearer"}}),
            json!([{"b": []}]),
        );
        let missing = read(bearer_card.clone(), None)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(missing.type_.ends_with("/authentication"));
        assert!(
            missing
                .detail
                .unwrap_or_default()
                .contains("`b` (http Bearer)")
        );
        let sent = read(bearer_card.clone(), bearer()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(sent.credentials, bearer());
        let basic = Some(Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        });
        assert!(read(bearer_card, basic).is_err_and(|e| e.type_.ends_with("/authentication")));
        let key_card = card(
            json!({"k": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                   "q": {"type": "apiKey", "in": "query", "name": "key"}}),
            json!([{"k": []}, {"q": []}]),
        );
        let keyed = read(key_card, bearer()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            keyed.headers,
            vec![("X-API-Key".to_owned(), "t0k".to_owned())]
        );
        assert_eq!(keyed.credentials, None);
        let optional = card(json!({"b": {"type": "oauth2"}}), json!([{}, {"b": []}]));
        assert_eq!(read(optional, None).map(|t| t.credentials), Ok(None));
    }
}
