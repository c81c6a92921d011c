//! The workflows `serve` offers: every document found in `--workflows DIR`, checked and compiled
//! as `run` would, keyed by namespace, name and version. Invalid documents are kept with their
//! diagnostics (shown by the API, never run). A fingerprint of the directory (paths, sizes,
//! modification times) tells the reload loop when to load it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::compile::Machine;
use crate::document::Document;
use crate::frontend;
use crate::report::diagnostics::{self, FileReport};

/// `namespace/name/version`, the API's address of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct WorkflowKey {
    pub namespace: String,
    pub name: String,
    pub version: String,
}

impl std::fmt::Display for WorkflowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.namespace, self.name, self.version)
    }
}

/// A valid workflow, ready to run.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub key: WorkflowKey,
    pub path: PathBuf,
    /// SHA-256 of the bytes that were compiled (recorded with each run).
    pub hash: String,
    pub document: Arc<Document>,
    pub machine: Arc<Machine>,
}

/// A document that did not pass the checks (or duplicates another's key).
#[derive(Debug, Clone)]
pub(crate) struct Invalid {
    pub path: PathBuf,
    pub diagnostics: Vec<Value>,
}

/// What one load of the directory found.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub workflows: BTreeMap<WorkflowKey, Arc<Loaded>>,
    pub invalid: Vec<Invalid>,
    pub fingerprint: Fingerprint,
}

/// Each candidate file's size and modification time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint(BTreeMap<PathBuf, (u64, Option<SystemTime>)>);

impl Fingerprint {
    /// The files of `dir` that `validate` would check, with their sizes and times.
    pub(crate) fn of(dir: &Path) -> Fingerprint {
        let mut files = Vec::new();
        // An unreadable directory is an empty one: the reload loop tries again later.
        let _ = crate::command::validate::collect_documents(dir, &mut files);
        Fingerprint(
            files
                .into_iter()
                .map(|path| {
                    let meta = std::fs::metadata(&path).ok();
                    let size = meta.as_ref().map_or(0, |m| m.len());
                    let time = meta.and_then(|m| m.modified().ok());
                    (path, (size, time))
                })
                .collect(),
        )
    }
}

impl Catalog {
    /// Loads every workflow of `dir`; `previous` keeps the compiled form of unchanged files.
    pub(crate) fn load(dir: &Path, previous: Option<&Catalog>) -> Catalog {
        let fingerprint = Fingerprint::of(dir);
        let mut catalog = Catalog {
            fingerprint: fingerprint.clone(),
            ..Catalog::default()
        };
        for (path, stamp) in &fingerprint.0 {
            let unchanged = previous.and_then(|previous| {
                (previous.fingerprint.0.get(path) == Some(stamp))
                    .then(|| previous.workflows.values().find(|w| &w.path == path))
                    .flatten()
            });
            if let Some(loaded) = unchanged {
                catalog.add(Arc::clone(loaded));
                continue;
            }
            if !crate::command::validate::is_workflow(path) {
                continue;
            }
            match load_one(path) {
                Ok(loaded) => catalog.add(Arc::new(loaded)),
                Err(invalid) => catalog.invalid.push(invalid),
            }
        }
        catalog
    }

    fn add(&mut self, loaded: Arc<Loaded>) {
        if let Some(first) = self.workflows.get(&loaded.key) {
            self.invalid.push(Invalid {
                path: loaded.path.clone(),
                diagnostics: vec![json!({
                    "severity": "error",
                    "code": "serve::duplicate",
                    "message": format!(
                        "workflow {} is already defined by {}; this copy is not served",
                        loaded.key,
                        first.path.display()
                    ),
                })],
            });
            return;
        }
        self.workflows.insert(loaded.key.clone(), loaded);
    }

    pub(crate) fn get(&self, key: &WorkflowKey) -> Option<&Arc<Loaded>> {
        self.workflows.get(key)
    }

    /// The workflow recorded runs name, found by the path of its document.
    pub(crate) fn by_path(&self, path: &Path) -> Option<&Arc<Loaded>> {
        self.workflows.values().find(|w| w.path == path)
    }
}

/// Checks and compiles one document.
pub(crate) fn load_one(path: &Path) -> Result<Loaded, Invalid> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let (checked, machine) = frontend::check_and_compile(&absolute);
    let report = |checked: &frontend::Checked| FileReport {
        path: absolute.display().to_string(),
        source: checked.source.clone(),
        diagnostics: checked.diagnostics.clone(),
    };
    let (Some(document), Some(machine)) = (checked.valid_document(), machine) else {
        return Err(Invalid {
            path: absolute.clone(),
            diagnostics: diagnostics::diagnostics_json(&report(&checked)),
        });
    };
    let hash = checked
        .source
        .as_ref()
        .map(|source| crate::journal::document_hash(source.text.as_bytes()))
        .unwrap_or_default();
    let meta = &document.meta;
    Ok(Loaded {
        key: WorkflowKey {
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            version: meta.version.clone(),
        },
        path: absolute.clone(),
        hash,
        document: Arc::new(document.clone()),
        machine: Arc::new(machine),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "document: {dsl: '1.0.0', namespace: t, name: a, version: '1.0.0'}\n\
                         do:\n  - one: {set: {x: 1}}\n";

    #[test]
    fn valid_invalid_and_duplicate_documents_are_told_apart() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"))
        };
        write("a.yaml", VALID);
        write(
            "b.yaml",
            "document: {dsl: '1.0.0', namespace: t, name: b, version: '1'}\ndo: 3\n",
        );
        write("c.yaml", VALID);
        write("compose.yaml", "services: {}\n");
        let catalog = Catalog::load(dir.path(), None);
        assert_eq!(catalog.workflows.len(), 1);
        assert_eq!(catalog.invalid.len(), 2, "{:?}", catalog.invalid);
        assert!(catalog.invalid.iter().any(|i| i.path.ends_with("b.yaml")));
        // Unchanged files keep their compiled form on a reload.
        let again = Catalog::load(dir.path(), Some(&catalog));
        let key = catalog.workflows.keys().next().cloned();
        let (Some(key), true) = (key, again.fingerprint == catalog.fingerprint) else {
            panic!("the reload changed the fingerprint");
        };
        assert!(Arc::ptr_eq(
            &catalog.workflows[&key],
            &again.workflows[&key]
        ));
    }
}
