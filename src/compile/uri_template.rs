//! URI templates of endpoints, as the DSL uses them: RFC 6570 simple expansion `{name}` only,
//! of the top-level keys of the task's transformed input (`{pet.id}` is the key literally named
//! `pet.id`). Parsed once at compile time; expanded at run time with percent-encoding.

use crate::expr::{Val, to_json};

/// Why a template does not parse, or a value cannot be substituted into it. The message is the
/// body of a compile diagnostic, or of the run's "Invalid endpoint" problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UriTemplateError {
    #[error("`{after}`: `{{` is never closed")]
    Unclosed { after: String },
    #[error("`{{}}` names no variable")]
    NoName,
    #[error(
        "`{{{name}}}`: only simple `{{name}}` expansion is supported, not the `{operator}` \
         operator; use an expression endpoint (`${{ ... }}`) to build this URI"
    )]
    Operator { name: String, operator: char },
    #[error(
        "`{{{name}}}`: only simple `{{name}}` expansion of one variable is supported; use an \
         expression endpoint (`${{ ... }}`) to build this URI"
    )]
    NotSimple { name: String },
    #[error(
        "`{{{name}}}` holds {kind}; only strings, numbers and booleans can be substituted (use \
         an expression endpoint such as `${{ \"https://host/\\(.{name} | tostring)\" }}` instead)"
    )]
    Composite { name: String, kind: &'static str },
}

/// A parsed template: literal text and variables, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

impl UriTemplate {
    /// Parses `text`; the error says what is wrong (for a compile diagnostic).
    pub(crate) fn parse(text: &str) -> Result<UriTemplate, UriTemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let (literal, after) = rest.split_at(open);
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_owned()));
            }
            let body = after.get(1..).unwrap_or_default();
            let close = body.find('}').ok_or_else(|| UriTemplateError::Unclosed {
                after: after.to_owned(),
            })?;
            let name = body.get(..close).unwrap_or_default();
            check_name(name)?;
            parts.push(Part::Var(name.to_owned()));
            rest = body.get(close + 1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(UriTemplate { parts })
    }

    /// The variables `input` does not define (no such key, or null): each expands to nothing
    /// (RFC 6570), which the run reports as a warning, or a fault under `--strict`.
    pub(crate) fn undefined<'a>(&'a self, input: &Val) -> Vec<&'a str> {
        let defined = |name: &str| match input {
            Val::Obj(map) => map
                .get(&Val::from(name.to_owned()))
                .is_some_and(|value| !matches!(value, Val::Null)),
            _ => false,
        };
        self.parts
            .iter()
            .filter_map(|part| match part {
                Part::Var(name) if !defined(name) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Expands every `{name}` from `input`'s top-level keys: strings are percent-encoded,
    /// numbers and booleans written as JSON, a missing key or null expands to nothing. Arrays
    /// and objects cannot be substituted: the error says which variable held one.
    pub(crate) fn expand(&self, input: &Val) -> Result<String, UriTemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(name) => {
                    let value = match input {
                        Val::Obj(map) => map.get(&Val::from(name.clone())),
                        _ => None,
                    };
                    match value {
                        None | Some(Val::Null) => {}
                        Some(Val::TStr(bytes) | Val::BStr(bytes)) => {
                            percent_encode(bytes, &mut out);
                        }
                        Some(scalar @ (Val::Num(_) | Val::Bool(_))) => {
                            percent_encode(to_json(scalar).to_string().as_bytes(), &mut out);
                        }
                        Some(other) => {
                            let kind = if matches!(other, Val::Arr(_)) {
                                "an array"
                            } else {
                                "an object"
                            };
                            return Err(UriTemplateError::Composite {
                                name: name.clone(),
                                kind,
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Refuses the RFC 6570 forms this runtime does not expand (the CHECKLIST's §14 rule).
fn check_name(name: &str) -> Result<(), UriTemplateError> {
    let Some(first) = name.chars().next() else {
        return Err(UriTemplateError::NoName);
    };
    if "+#./;?&=,!@|".contains(first) {
        return Err(UriTemplateError::Operator {
            name: name.to_owned(),
            operator: first,
        });
    }
    if name.contains(['{', ',', '*']) || name.contains(':') {
        return Err(UriTemplateError::NotSimple {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(bytes: &[u8], out: &mut String) {
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::from_json;
    use serde_json::json;

    fn expand(template: &str, input: serde_json::Value) -> Result<String, UriTemplateError> {
        UriTemplate::parse(template)?.expand(&from_json(&input))
    }

    #[test]
    fn simple_expansion_of_top_level_keys() {
        assert_eq!(
            expand(
                "http://h/v2/pet/{petId}?status={status}",
                json!({"petId": 1, "status": "sold out"})
            ),
            Ok("http://h/v2/pet/1?status=sold%20out".to_owned())
        );
        // Reserved characters and non-ASCII text are encoded; a dotted name is one key.
        assert_eq!(
            expand(
                "http://h/{a}/{pet.id}",
                json!({"a": "x/y?z=é", "pet.id": true})
            ),
            Ok("http://h/x%2Fy%3Fz%3D%C3%A9/true".to_owned())
        );
        assert_eq!(
            expand("http://h/{n}", json!({"n": -1.5})),
            Ok("http://h/-1.5".to_owned())
        );
    }

    #[test]
    fn missing_and_null_values_expand_to_nothing() {
        assert_eq!(
            expand("http://h/{a}/{b}", json!({"b": null})),
            Ok("http://h//".to_owned())
        );
        let template = UriTemplate::parse("http://h/{a}/{b}/{c}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            template.undefined(&from_json(&json!({"b": null, "c": 0}))),
            ["a", "b"]
        );
        assert_eq!(expand("http://h/{a}", json!(7)), Ok("http://h/".to_owned()));
    }

    #[test]
    fn composite_values_are_refused_by_name() {
        let error = expand("http://h/{pets}", json!({"pets": [1, 2]}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("`{pets}` holds an array"), "{error}");
        let error = expand("http://h/{pet}", json!({"pet": {"id": 1}}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("an object"), "{error}");
    }

    #[test]
    fn only_simple_expansion_parses() {
        assert!(UriTemplate::parse("http://h/{+path}").is_err());
        assert!(UriTemplate::parse("http://h/{?q}").is_err());
        assert!(UriTemplate::parse("http://h/{a,b}").is_err());
        assert!(UriTemplate::parse("http://h/{a*}").is_err());
        assert!(UriTemplate::parse("http://h/{a:3}").is_err());
        assert!(UriTemplate::parse("http://h/{}").is_err());
        let unclosed = UriTemplate::parse("http://h/{a")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(unclosed.contains("never closed"), "{unclosed}");
        let constant = UriTemplate::parse("http://h/x}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(constant.expand(&Val::Null), Ok("http://h/x}".to_owned()));
    }
}
