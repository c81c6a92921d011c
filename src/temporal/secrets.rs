//! Secrets on Temporal workers (`workflow worker --secrets FILE`): the values stay on workers.
//! The workflow code reads them from the worker's files (as `run --secrets` does) and gives them
//! to the engine; what crosses Temporal carries *seals* instead of values: a process activity's
//! command line, environment and stdin have every secret value replaced by a token naming the
//! secret, which the worker running the activity opens from its own files; the process's output
//! is sealed again before it is returned. The run's events are masked (`***`) before the query
//! keeps them, and its result before it is returned. Every worker needs the same files.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::payload::{ProcessCall, ProcessDone};
use crate::problem::{ErrorKind, WorkflowError};
use crate::secrets::{Secrets, SecretsError};

/// The `--secrets` files of this worker process.
static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Marks both ends of a seal: a control character no command line or secret file holds.
const MARK: char = '\u{1}';
const PREFIX: &str = "secret:";

/// Sets this worker's files, after checking they can be read.
pub fn use_files(files: Vec<PathBuf>) -> Result<(), SecretsError> {
    crate::secrets::load(&[], &files)?;
    let _ = FILES.set(files);
    Ok(())
}

/// The declared secrets' values on this worker (files, then `WORKFLOW_SECRET_*`). A file that
/// became unreadable leaves them out: the engine then faults the run as a local run would.
pub(crate) fn for_run(declared: &[String]) -> Secrets {
    if declared.is_empty() {
        return Secrets::new();
    }
    let files = FILES.get().map(Vec::as_slice).unwrap_or_default();
    crate::secrets::load(declared, files).unwrap_or_default()
}

/// Replaces secret values by seals and back.
#[derive(Debug, Default)]
pub(crate) struct Sealer {
    /// The declared names (what an activity needs to open the seals).
    names: Vec<String>,
    /// (key, value) of every non-empty string leaf, longest value first so that a secret
    /// containing another is sealed whole.
    leaves: Vec<(String, String)>,
}

impl Sealer {
    pub(crate) fn new(secrets: &Secrets) -> Sealer {
        let mut leaves = Vec::new();
        for (name, value) in secrets {
            collect(name.clone(), value, &mut leaves);
        }
        leaves.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        Sealer {
            names: secrets.keys().cloned().collect(),
            leaves,
        }
    }

    fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// `text` with every secret value replaced by its seal.
    pub(crate) fn seal(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while let Some(c) = rest.chars().next() {
            for (key, value) in &self.leaves {
                if let Some(after) = rest.strip_prefix(value.as_str()) {
                    out.push(MARK);
                    out.push_str(PREFIX);
                    out.push_str(key);
                    out.push(MARK);
                    rest = after;
                    continue 'scan;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// `text` with every seal opened; `Err(key)` for a seal this worker has no value for.
    pub(crate) fn unseal(&self, text: &str) -> Result<String, String> {
        if !text.contains(MARK) {
            return Ok(text.to_string());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(MARK) {
            out.push_str(&rest[..start]);
            let after = &rest[start + MARK.len_utf8()..];
            let sealed = after
                .strip_prefix(PREFIX)
                .and_then(|tail| tail.find(MARK).map(|end| (&tail[..end], &tail[end + 1..])));
            match sealed {
                Some((key, tail)) => {
                    let value = self
                        .leaves
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, value)| value)
                        .ok_or_else(|| key.to_string())?;
                    out.push_str(value);
                    rest = tail;
                }
                None => {
                    out.push(MARK);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The call as it goes into the history: sealed, naming the secrets to open.
    pub(crate) fn seal_call(&self, call: &mut ProcessCall) -> Result<(), WorkflowError> {
        if self.is_empty() {
            return Ok(());
        }
        *call = self.seal_payload(call.clone())?;
        call.secrets = self.names.clone();
        Ok(())
    }

    /// The call as the activity runs it (the sealer built from the call's `secrets`).
    pub(crate) fn unseal_call(&self, call: ProcessCall) -> Result<ProcessCall, WorkflowError> {
        self.unseal_payload(call)
    }

    /// The activity's result as it goes into the history: its output sealed.
    pub(crate) fn seal_done(&self, done: ProcessDone) -> ProcessDone {
        self.seal_payload(done)
            .unwrap_or_else(|error| ProcessDone::Failed { error })
    }

    /// The result as the engine sees it: the values back, as a local run has them (a seal
    /// this worker cannot open stays as it is).
    pub(crate) fn unseal_done(&self, done: ProcessDone) -> ProcessDone {
        self.unseal_payload(done.clone()).unwrap_or(done)
    }

    /// The names of the secrets this sealer seals (what an activity needs to open them).
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// `payload` with every secret value sealed in its text: its strings, and its byte arrays
    /// that hold text (a message's payload, a response's body). The same type, so it crosses
    /// Temporal as it would unsealed.
    pub(crate) fn seal_payload<T: Serialize + DeserializeOwned>(
        &self,
        payload: T,
    ) -> Result<T, WorkflowError> {
        if self.is_empty() {
            return Ok(payload);
        }
        let value = serde_json::to_value(payload).map_err(unsealable)?;
        let sealed = self
            .map_text(value, &mut |text| Ok(self.seal(text)))
            .map_err(missing_on_worker)?;
        serde_json::from_value(sealed).map_err(unsealable)
    }

    /// `payload` with its seals opened; an error names a secret this worker has no value for.
    pub(crate) fn unseal_payload<T: Serialize + DeserializeOwned>(
        &self,
        payload: T,
    ) -> Result<T, WorkflowError> {
        let value = serde_json::to_value(payload).map_err(unsealable)?;
        let opened = self
            .map_text(value, &mut |text| self.unseal(text))
            .map_err(missing_on_worker)?;
        serde_json::from_value(opened).map_err(unsealable)
    }

    /// Applies `change` to every string of `value` and to every array of bytes that is UTF-8
    /// text; a byte array whose text `change` leaves alone is kept as it is.
    fn map_text(
        &self,
        value: Value,
        change: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) => Value::String(change(&text)?),
            Value::Array(items) => match as_text(&items) {
                Some(text) => {
                    let changed = change(&text)?;
                    if changed == text {
                        Value::Array(items)
                    } else {
                        Value::Array(changed.bytes().map(Value::from).collect())
                    }
                }
                None => Value::Array(
                    items
                        .into_iter()
                        .map(|item| self.map_text(item, change))
                        .collect::<Result<_, _>>()?,
                ),
            },
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, item)| Ok((key, self.map_text(item, change)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other,
        })
    }
}

/// The text a JSON array of bytes holds, when it is one (every item an integer 0 to 255, valid
/// UTF-8 together).
fn as_text(items: &[Value]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let bytes: Option<Vec<u8>> = items
        .iter()
        .map(|item| item.as_u64().and_then(|n| u8::try_from(n).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

fn unsealable(error: serde_json::Error) -> WorkflowError {
    WorkflowError::new(ErrorKind::Runtime, "Cannot seal an activity's payload")
        .with_detail(error.to_string())
}

fn missing_on_worker(key: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Configuration, "Secret missing on worker").with_detail(format!(
        "the worker that ran this activity has no value for the secret `{key}`: start every \
         worker with the same `--secrets` files"
    ))
}

/// The string leaves of a secret, keyed `name`, `name.field`, `name.list.0`.
fn collect(key: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) if !text.is_empty() => out.push((key, text.clone())),
        Value::Number(number) => out.push((key, number.to_string())),
        Value::Object(map) => {
            for (field, value) in map {
                collect(format!("{key}.{field}"), value, out);
            }
        }
        Value::Array(items) => {
            for (index, value) in items.iter().enumerate() {
                collect(format!("{key}.{index}"), value, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::payload::ProgramCall;
    use super::*;
    use serde_json::json;

    fn sealer() -> Sealer {
        let mut secrets = Secrets::new();
        secrets.insert("token".into(), json!("abc123"));
        secrets.insert("db".into(), json!({"password": "abc123-long", "user": "u"}));
        Sealer::new(&secrets)
    }

    #[test]
    fn values_are_sealed_and_opened_again() {
        let sealer = sealer();
        let text = "x=abc123-long y=abc123 z=u \u{1}odd";
        let sealed = sealer.seal(text);
        assert!(!sealed.contains("abc123"), "{sealed}");
        assert!(sealed.contains("\u{1}secret:db.password\u{1}"));
        assert_eq!(sealer.unseal(&sealed), Ok(text.to_string()));
        // A worker without the values cannot open them, and says which.
        let empty = Sealer::default();
        assert_eq!(empty.unseal(&sealed), Err("db.password".to_string()));
    }

    #[test]
    fn a_call_is_sealed_whole() {
        let sealer = sealer();
        let mut call = ProcessCall {
            program: ProgramCall::Shell {
                command: "echo abc123".into(),
            },
            arguments: vec!["abc123".into()],
            environment: vec![("T".into(), "abc123".into())],
            stdin: Some("abc123".into()),
            detach: false,
            secrets: Vec::new(),
        };
        let original = call.clone();
        sealer
            .seal_call(&mut call)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let text = serde_json::to_string(&call).unwrap_or_default();
        assert!(!text.contains("abc123"), "{text}");
        assert_eq!(call.secrets, vec!["db".to_string(), "token".to_string()]);
        let mut opened = sealer.unseal_call(call).unwrap_or_else(|e| panic!("{e:?}"));
        opened.secrets.clear();
        assert_eq!(opened, original);
    }
}
