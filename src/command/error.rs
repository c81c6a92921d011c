//! What a subcommand reports when it cannot do its work, worded for the terminal (`error: …`).

use std::path::PathBuf;

use crate::graph::InjectError;
use crate::journal::JournalError;
use crate::runner::{ConfigError, InputError};
use crate::runtime::retry_point::RetryPointError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    RetryPoint(#[from] RetryPointError),
    #[error(transparent)]
    Age(#[from] AgeError),
    #[error("cannot read the document of run {run} at {path}: {source}")]
    RunDocument {
        run: String,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Inject { path: PathBuf, source: InjectError },
    #[error("cannot read directory {}: {source}", path.display())]
    ReadDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `validate DIR` found YAML/JSON files, none of them a workflow.
    #[error(
        "no workflow documents under {}: its {skipped} YAML/JSON file(s) have no top-level \
         `document` key (`--all` checks them anyway)",
        path.display()
    )]
    NoWorkflowsIn { path: PathBuf, skipped: usize },
    #[error("no workflow documents (*.yaml, *.yml, *.json) under {}", path.display())]
    NoDocumentsIn { path: PathBuf },
    /// The recorded run cannot be used that way (resumed, drawn); the text says why and what to
    /// do instead.
    #[error("{0}")]
    Refused(String),
}

/// `--older-than` that is not an age.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`--older-than {0}` is not an age: write a whole number and a unit, s, m, h or d (e.g. 30d)"
)]
pub(crate) struct AgeError(pub(crate) String);
