//! What crosses Temporal: a run's input (the document travels with it), its result, and the
//! requests and results of the process activity. Everything here is JSON in Temporal's history.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::host::effects::process::{ProcessOutput, ProcessRequest, Program, ScriptLanguage};
use crate::problem::WorkflowError;

/// The input of the one Temporal workflow type: the document itself (so that workers need no
/// shared file system and a run keeps the document it started with) and the run's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// The file name it was submitted from, for messages only.
    pub name: String,
    /// The document's text, exactly as submitted.
    pub document: String,
    /// SHA-256 of `document`, hex: which version of a document a run used.
    pub hash: String,
    /// The workflow input.
    pub input: Value,
    /// The secrets whose values are sealed in `input` (a child workflow's input computed by its
    /// parent): the worker running the child opens them from its own files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed: Vec<String>,
}

impl RunRequest {
    pub(crate) fn new(name: String, document: String, input: Value) -> RunRequest {
        let hash = document_hash(&document);
        RunRequest {
            name,
            document,
            hash,
            input,
            sealed: Vec::new(),
        }
    }
}

/// SHA-256 of a document's text, in hex.
pub(crate) fn document_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A `run` task's process, as the activity receives it. The live line observer stays on the
/// workflow side: the lines are told to it when the activity's result comes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessCall {
    pub program: ProgramCall,
    pub arguments: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub stdin: Option<String>,
    pub detach: bool,
    /// The secrets whose values are sealed in the call (`secrets.rs`): the worker running the
    /// activity opens them from its own files. Absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgramCall {
    Shell { command: String },
    Script { language: String, code: String },
    Exec { program: PathBuf },
}

impl From<&ProcessRequest> for ProcessCall {
    fn from(request: &ProcessRequest) -> ProcessCall {
        let program = match &request.program {
            Program::Shell { command } => ProgramCall::Shell {
                command: command.clone(),
            },
            Program::Script { language, code } => ProgramCall::Script {
                language: match language {
                    ScriptLanguage::JavaScript => "js",
                    ScriptLanguage::Python => "python",
                }
                .to_string(),
                code: code.clone(),
            },
            Program::Exec { program } => ProgramCall::Exec {
                program: program.clone(),
            },
        };
        ProcessCall {
            program,
            arguments: request.arguments.clone(),
            environment: request.environment.clone(),
            stdin: request.stdin.clone(),
            detach: request.detach,
            secrets: Vec::new(),
        }
    }
}

impl ProcessCall {
    /// The request the worker's process runner starts.
    pub(crate) fn into_request(self) -> ProcessRequest {
        let program = match self.program {
            ProgramCall::Shell { command } => Program::Shell { command },
            ProgramCall::Script { language, code } => Program::Script {
                language: if language == "js" {
                    ScriptLanguage::JavaScript
                } else {
                    ScriptLanguage::Python
                },
                code,
            },
            ProgramCall::Exec { program } => Program::Exec { program },
        };
        ProcessRequest {
            program,
            arguments: self.arguments,
            environment: self.environment,
            stdin: self.stdin,
            detach: self.detach,
            on_line: None,
        }
    }
}

/// What the process activity returns. A process that could not start is a result, not an
/// activity failure: Temporal never retries it, the engine's own retry policy decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessDone {
    Exited {
        code: i32,
        stdout: String,
        stderr: String,
    },
    Failed {
        error: WorkflowError,
    },
}

impl From<Result<ProcessOutput, WorkflowError>> for ProcessDone {
    fn from(result: Result<ProcessOutput, WorkflowError>) -> ProcessDone {
        match result {
            Ok(output) => ProcessDone::Exited {
                code: output.code,
                stdout: output.stdout,
                stderr: output.stderr,
            },
            Err(error) => ProcessDone::Failed { error },
        }
    }
}

impl From<ProcessDone> for Result<ProcessOutput, WorkflowError> {
    fn from(done: ProcessDone) -> Self {
        match done {
            ProcessDone::Exited {
                code,
                stdout,
                stderr,
            } => Ok(ProcessOutput {
                code,
                stdout,
                stderr,
            }),
            ProcessDone::Failed { error } => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ErrorKind;

    #[test]
    fn a_process_request_survives_the_trip_through_json() {
        let request = ProcessRequest {
            program: Program::Script {
                language: ScriptLanguage::JavaScript,
                code: "console.log(1)".into(),
            },
            arguments: vec!["a".into()],
            environment: vec![("K".into(), "V".into())],
            stdin: Some("in".into()),
            detach: false,
            on_line: None,
        };
        let call = ProcessCall::from(&request);
        let text = serde_json::to_string(&call).unwrap_or_default();
        let back: ProcessCall = serde_json::from_str(&text).unwrap_or(ProcessCall {
            program: ProgramCall::Shell {
                command: String::new(),
            },
            arguments: vec![],
            environment: vec![],
            stdin: None,
            detach: true,
            secrets: Vec::new(),
        });
        assert_eq!(back.into_request(), request);
    }

    #[test]
    fn a_process_that_could_not_start_is_a_result() {
        let error = WorkflowError::new(ErrorKind::Configuration, "no such interpreter");
        let done = ProcessDone::from(Err::<ProcessOutput, _>(error.clone()));
        let text = serde_json::to_string(&done).unwrap_or_default();
        let back: Option<ProcessDone> = serde_json::from_str(&text).ok();
        assert_eq!(back, Some(ProcessDone::Failed { error }));
        assert_eq!(document_hash("a").len(), 64);
        assert_ne!(document_hash("a"), document_hash("b"));
    }
}
