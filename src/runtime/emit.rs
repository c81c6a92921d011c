//! `emit`: builds the CloudEvent the task outputs and publishes it on the run's event bus,
//! completing only once the broker acknowledged it. Every attribute is evaluated against the
//! task's input; `id`, `source` and `time` are filled in when absent, `specversion` is "1.0"
//! and `datacontenttype` defaults to `application/json`.
//!
//! A generated `id` is derived from the run and the step, so an emit that runs again after a
//! crash (published, but not yet journaled) sends the same id and consumers can drop the copy.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::Digest;

use super::engine::Run;
use super::error::{ErrorKind, WorkflowError};
use super::values::{eval_text, eval_tmpl, string};
use crate::compile::{EmitSpec, Tmpl, WORKFLOW};
use crate::expr::{Val, to_json};

impl<'m> Run<'m> {
    /// Builds, publishes and returns the event.
    pub(crate) async fn emit_event(
        &self,
        spec: &EmitSpec,
        input: Val,
        vars: &[Val],
        step: Option<&Arc<str>>,
    ) -> Result<Val, WorkflowError> {
        let (run_id, source) = run_naming(&vars[WORKFLOW], self.machine);
        let defaults = Defaults {
            id: match step {
                Some(step) => stable_id(&run_id, step),
                None => self.executors.ids.unique().to_string(),
            },
            source,
            time: self.executors.clock.now(),
        };
        let event = event(spec, input, vars, defaults)?;
        self.executors.events.publish(to_json(&event)).await?;
        Ok(event)
    }
}

/// What an event gets when the document leaves it out.
pub(crate) struct Defaults {
    /// A UUID derived from the run and step, or the host's unique id.
    pub id: String,
    pub source: String,
    /// Now, by the host's clock.
    pub time: DateTime<Utc>,
}

/// The run's id (`$workflow.id`) and the default `source`: a URI reference naming the
/// workflow run, as the lifecycle events have it.
fn run_naming(workflow: &Val, machine: &crate::compile::Machine) -> (String, String) {
    let id = match workflow {
        Val::Obj(entries) => entries
            .get(&Val::from("id".to_owned()))
            .and_then(super::values::as_text)
            .unwrap_or_default(),
        _ => String::new(),
    };
    let source = format!(
        "/workflows/{}/{}/{}/runs/{id}",
        machine.namespace(),
        machine.name(),
        machine.version()
    );
    (id, source)
}

/// A version-4-shaped UUID from the SHA-256 of the run id and step name.
fn stable_id(run_id: &str, step: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{run_id}\u{0}{step}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The event, in CloudEvents structured form.
pub(crate) fn event(
    spec: &EmitSpec,
    input: Val,
    vars: &[Val],
    defaults: Defaults,
) -> Result<Val, WorkflowError> {
    let text = |field: &Option<Tmpl>| -> Result<Option<String>, WorkflowError> {
        field
            .as_ref()
            .map(|t| eval_text(t, input.clone(), vars))
            .transpose()
    };
    let id = match text(&spec.id)? {
        Some(id) => id,
        None => defaults.id,
    };
    let source = text(&spec.source)?.unwrap_or(defaults.source);
    let type_ = text(&spec.type_)?.ok_or_else(|| {
        WorkflowError::new(ErrorKind::Validation, "Invalid event")
            .with_detail("the event has no `type`")
    })?;
    let time = text(&spec.time)?
        .unwrap_or_else(|| defaults.time.to_rfc3339_opts(SecondsFormat::Millis, true));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_depend_on_run_and_step_only() {
        let a = stable_id("run-1", "/do/0/send");
        assert_eq!(a, stable_id("run-1", "/do/0/send"));
        assert_ne!(a, stable_id("run-2", "/do/0/send"));
        assert_ne!(a, stable_id("run-1", "/do/0/send#2"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
