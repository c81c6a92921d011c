//! `emit`: builds the CloudEvent the task outputs. Every attribute is evaluated against the
//! task's input; `id` (a UUID) and `time` (now) are filled in when absent, `specversion` is
//! "1.0" and `datacontenttype` defaults to `application/json`. Delivery to a broker comes later.

use chrono::{SecondsFormat, Utc};

use super::error::{ErrorKind, WorkflowError};
use super::values::{eval_text, eval_tmpl, string};
use crate::compile::{EmitSpec, Tmpl};
use crate::expr::Val;

/// The event, in CloudEvents structured form.
pub(crate) fn event(spec: &EmitSpec, input: Val, vars: &[Val]) -> Result<Val, WorkflowError> {
    let text = |field: &Option<Tmpl>| -> Result<Option<String>, WorkflowError> {
        field
            .as_ref()
            .map(|t| eval_text(t, input.clone(), vars))
            .transpose()
    };
    let required = |field: &Option<Tmpl>, name: &str| -> Result<String, WorkflowError> {
        text(field)?.ok_or_else(|| {
            WorkflowError::new(ErrorKind::Validation, "Invalid event")
                .with_detail(format!("the event has no `{name}`"))
        })
    };
    let id = text(&spec.id)?.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let source = required(&spec.source, "source")?;
    let type_ = required(&spec.type_, "type")?;
    let time = text(&spec.time)?
        .unwrap_or_else(|| Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
    let content_type =
        text(&spec.datacontenttype)?.unwrap_or_else(|| "application/json".to_owned());

    let mut map = jaq_json::Map::default();
    let mut put = |key: &str, value: Val| {
        map.insert(string(key), value);
    };
    put("specversion", string("1.0"));
    put("id", string(id));
    put("source", string(source));
    put("type", string(type_));
    put("time", string(time));
    if let Some(subject) = text(&spec.subject)? {
        put("subject", string(subject));
    }
    put("datacontenttype", string(content_type));
    if let Some(dataschema) = text(&spec.dataschema)? {
        put("dataschema", string(dataschema));
    }
    for (name, value) in &spec.extensions {
        put(name, eval_tmpl(value, input.clone(), vars)?);
    }
    if let Some(data) = &spec.data {
        put("data", eval_tmpl(data, input.clone(), vars)?);
    }
    Ok(Val::obj(map))
}
