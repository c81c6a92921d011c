//! Test-only YAML → JSON conversion (the real loader is `crate::yaml`; tests switch to it later).

use saphyr::{Scalar, Yaml, YamlLoader};
use serde_json::{Map, Number, Value};

/// Why a test fixture did not convert.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TestYamlError {
    #[error("{0}")]
    Syntax(String),
    #[error("no YAML document")]
    Empty,
    #[error("unsupported YAML {0}")]
    Unsupported(String),
}

/// Loads the first YAML document of `text` as JSON. Duplicate keys keep the last value, so the
/// spec's fixture with a repeated `do:` still reaches the schema.
pub(crate) fn yaml_to_json(text: &str) -> Result<Value, TestYamlError> {
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader: YamlLoader<Yaml> = YamlLoader::default();
    loader.allow_duplicate_keys(true);
    parser
        .load(&mut loader, true)
        .map_err(|e| TestYamlError::Syntax(e.to_string()))?;
    if let Some(e) = loader.error() {
        return Err(TestYamlError::Syntax(e.to_string()));
    }
    let docs = loader.into_documents();
    let first = docs.first().ok_or(TestYamlError::Empty)?;
    convert(first)
}

fn convert(node: &Yaml) -> Result<Value, TestYamlError> {
    Ok(match node {
        Yaml::Value(scalar) => match scalar {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::Number((*i).into()),
            Scalar::FloatingPoint(f) => {
                Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
            }
            Scalar::String(s) => Value::String(s.to_string()),
        },
        Yaml::Sequence(items) => Value::Array(items.iter().map(convert).collect::<Result<_, _>>()?),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match key {
                    Yaml::Value(Scalar::String(s)) => s.to_string(),
                    Yaml::Value(other) => match convert(&Yaml::Value(other.clone()))? {
                        Value::String(s) => s,
                        v => v.to_string(),
                    },
                    other => {
                        return Err(TestYamlError::Unsupported(format!("mapping key {other:?}")));
                    }
                };
                out.insert(key, convert(value)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(_, inner) => convert(inner)?,
        other => return Err(TestYamlError::Unsupported(format!("node {other:?}"))),
    })
}
