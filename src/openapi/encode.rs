//! Writing parameter values the way an operation declares them: RFC 3986 percent-encoding for
//! path segments, and the OpenAPI `style`/`explode` rules (Swagger 2 collection formats mapped
//! onto them) for arrays and objects in paths, queries, headers, cookies and forms.

use serde_json::Value;

use super::operation::{Parameter, Style};

/// The text of a scalar: strings as they are, anything else as JSON.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a value can never add
/// a path segment, a query separator or a fragment.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` text of `pairs`.
pub(crate) fn form_urlencode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The items of an array, or the flattened `key, value` entries of an object, as text.
enum Shape {
    Scalar(String),
    Items(Vec<String>),
    Entries(Vec<(String, String)>),
}

fn shape(value: &Value) -> Shape {
    match value {
        Value::Array(items) => Shape::Items(items.iter().map(text).collect()),
        Value::Object(map) => {
            Shape::Entries(map.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        }
        other => Shape::Scalar(text(other)),
    }
}

fn flat(entries: &[(String, String)], pair: &str, between: &str) -> String {
    entries
        .iter()
        .map(|(k, v)| format!("{k}{pair}{v}"))
        .collect::<Vec<_>>()
        .join(between)
}

/// The text replacing `{name}` in the path template, already percent-encoded.
pub(crate) fn path_value(parameter: &Parameter, value: &Value) -> String {
    let name = percent_encode(&parameter.name);
    let encoded = |items: &[String]| items.iter().map(|i| percent_encode(i)).collect::<Vec<_>>();
    let encoded_entries = |entries: &[(String, String)]| {
        entries
            .iter()
            .map(|(k, v)| (percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
    };
    let explode = parameter.explode;
    match (parameter.style, shape(value)) {
        (Style::Json, _) => percent_encode(&value.to_string()),
        (Style::Label, Shape::Scalar(v)) => format!(".{}", percent_encode(&v)),
        (Style::Label, Shape::Items(items)) => {
            format!(".{}", encoded(&items).join(if explode { "." } else { "," }))
        }
        (Style::Label, Shape::Entries(entries)) => {
            let entries = encoded_entries(&entries);
            if explode {
                format!(".{}", flat(&entries, "=", "."))
            } else {
                format!(".{}", flat(&entries, ",", ","))
            }
        }
        (Style::Matrix, Shape::Scalar(v)) => format!(";{name}={}", percent_encode(&v)),
        (Style::Matrix, Shape::Items(items)) => {
            let items = encoded(&items);
            if explode {
                items.iter().map(|i| format!(";{name}={i}")).collect()
            } else {
                format!(";{name}={}", items.join(","))
            }
        }
        (Style::Matrix, Shape::Entries(entries)) => {
            let entries = encoded_entries(&entries);
            if explode {
                format!(";{}", flat(&entries, "=", ";"))
            } else {
                format!(";{name}={}", flat(&entries, ",", ","))
            }
        }
        // `simple`, and any query-only style written on a path parameter.
        (_, Shape::Scalar(v)) => percent_encode(&v),
        (_, Shape::Items(items)) => encoded(&items).join(","),
        (_, Shape::Entries(entries)) => {
            let entries = encoded_entries(&entries);
            flat(&entries, if explode { "=" } else { "," }, ",")
        }
    }
}

/// Query (or form) pairs, not yet encoded: the HTTP client encodes them.
pub(crate) fn query_pairs(parameter: &Parameter, value: &Value) -> Vec<(String, String)> {
    let name = parameter.name.clone();
    let joined = |separator: &str, shape: Shape| match shape {
        Shape::Scalar(v) => v,
        Shape::Items(items) => items.join(separator),
        Shape::Entries(entries) => flat(&entries, separator, separator),
    };
    match parameter.style {
        Style::Json => vec![(name, value.to_string())],
        Style::SpaceDelimited => vec![(name, joined(" ", shape(value)))],
        Style::PipeDelimited => vec![(name, joined("|", shape(value)))],
        Style::TabDelimited => vec![(name, joined("\t", shape(value)))],
        Style::DeepObject => match shape(value) {
            Shape::Entries(entries) => entries
                .into_iter()
                .map(|(key, v)| (format!("{name}[{key}]"), v))
                .collect(),
            Shape::Items(items) => items.into_iter().map(|v| (name.clone(), v)).collect(),
            Shape::Scalar(v) => vec![(name, v)],
        },
        // `form` (the default), and path-only styles written on a query parameter.
        _ => match shape(value) {
            Shape::Scalar(v) => vec![(name, v)],
            Shape::Items(items) if parameter.explode => {
                items.into_iter().map(|v| (name.clone(), v)).collect()
            }
            Shape::Items(items) => vec![(name, items.join(","))],
            Shape::Entries(entries) if parameter.explode => entries,
            Shape::Entries(entries) => vec![(name, flat(&entries, ",", ","))],
        },
    }
}

/// A header's value (`simple` style).
pub(crate) fn header_value(parameter: &Parameter, value: &Value) -> String {
    match (parameter.style, shape(value)) {
        (Style::Json, _) => value.to_string(),
        (_, Shape::Scalar(v)) => v,
        (_, Shape::Items(items)) => items.join(","),
        (_, Shape::Entries(entries)) if parameter.explode => flat(&entries, "=", ","),
        (_, Shape::Entries(entries)) => flat(&entries, ",", ","),
    }
}

/// One `name=value` of the `Cookie` header (`form` style, never exploded).
pub(crate) fn cookie_pair(parameter: &Parameter, value: &Value) -> String {
    let written = match (parameter.style, shape(value)) {
        (Style::Json, _) => value.to_string(),
        (_, Shape::Scalar(v)) => v,
        (_, Shape::Items(items)) => items.join(","),
        (_, Shape::Entries(entries)) => flat(&entries, ",", ","),
    };
    format!("{}={}", parameter.name, percent_encode(&written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::operation::Location;
    use serde_json::json;

    fn param(location: Location, style: Style, explode: bool) -> Parameter {
        Parameter {
            name: "id".into(),
            location,
            required: false,
            style,
            explode,
        }
    }

    #[test]
    fn path_values_are_encoded_and_styled() {
        let simple = param(Location::Path, Style::Simple, false);
        assert_eq!(path_value(&simple, &json!("a b/c?d")), "a%20b%2Fc%3Fd");
        assert_eq!(path_value(&simple, &json!(42)), "42");
        assert_eq!(path_value(&simple, &json!([3, "x,y"])), "3,x%2Cy");
        assert_eq!(path_value(&simple, &json!({"r": 1, "g": 2})), "r,1,g,2");
        let exploded = param(Location::Path, Style::Simple, true);
        assert_eq!(path_value(&exploded, &json!({"r": 1, "g": 2})), "r=1,g=2");
        let label = param(Location::Path, Style::Label, false);
        assert_eq!(path_value(&label, &json!([1, 2])), ".1,2");
        let label = param(Location::Path, Style::Label, true);
        assert_eq!(path_value(&label, &json!([1, 2])), ".1.2");
        let matrix = param(Location::Path, Style::Matrix, false);
        assert_eq!(path_value(&matrix, &json!([1, 2])), ";id=1,2");
        assert_eq!(path_value(&matrix, &json!("é")), ";id=%C3%A9");
        let matrix = param(Location::Path, Style::Matrix, true);
        assert_eq!(path_value(&matrix, &json!([1, 2])), ";id=1;id=2");
        assert_eq!(path_value(&matrix, &json!({"a": "b"})), ";a=b");
        let json_style = param(Location::Path, Style::Json, false);
        assert_eq!(
            path_value(&json_style, &json!({"a": 1})),
            "%7B%22a%22%3A1%7D"
        );
    }

    #[test]
    fn query_arrays_follow_style_and_explode() {
        let pairs = |style, explode, value| {
            query_pairs(&param(Location::Query, style, explode), &value)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pairs(Style::Form, true, json!(["a", "b"])),
            ["id=a", "id=b"]
        );
        assert_eq!(pairs(Style::Form, false, json!(["a", "b"])), ["id=a,b"]);
        assert_eq!(
            pairs(Style::Form, true, json!({"x": 1, "y": true})),
            ["x=1", "y=true"]
        );
        assert_eq!(pairs(Style::Form, false, json!({"x": 1})), ["id=x,1"]);
        assert_eq!(
            pairs(Style::SpaceDelimited, false, json!([1, 2])),
            ["id=1 2"]
        );
        assert_eq!(
            pairs(Style::PipeDelimited, false, json!([1, 2])),
            ["id=1|2"]
        );
        assert_eq!(
            pairs(Style::TabDelimited, false, json!([1, 2])),
            ["id=1\t2"]
        );
        assert_eq!(
            pairs(Style::DeepObject, true, json!({"color": "red", "n": 2})),
            ["id[color]=red", "id[n]=2"]
        );
        assert_eq!(pairs(Style::Json, false, json!([1])), ["id=[1]"]);
        assert_eq!(pairs(Style::Form, true, json!("plain")), ["id=plain"]);
    }

    #[test]
    fn headers_cookies_and_forms() {
        let header = param(Location::Header, Style::Simple, false);
        assert_eq!(header_value(&header, &json!([1, "two"])), "1,two");
        assert_eq!(header_value(&header, &json!({"a": 1})), "a,1");
        let exploded = param(Location::Header, Style::Simple, true);
        assert_eq!(header_value(&exploded, &json!({"a": 1})), "a=1");
        let cookie = param(Location::Cookie, Style::Form, true);
        assert_eq!(cookie_pair(&cookie, &json!("x y")), "id=x%20y");
        assert_eq!(cookie_pair(&cookie, &json!([1, 2])), "id=1%2C2");
        let pairs = vec![
            ("a b".to_owned(), "c&d".to_owned()),
            ("e".to_owned(), "=".to_owned()),
        ];
        assert_eq!(form_urlencode(&pairs), "a%20b=c%26d&e=%3D");
    }
}
