//! Finding sub-workflows on disk: `run: workflow` names a child by namespace, name and version;
//! the catalog looks for it among the `*.yaml`, `*.yml` and `*.json` files of, in order, the
//! calling document's directory, each `--workflows DIR`, and `./workflows`. The first directory
//! holding a match wins. The child is checked and compiled through the same front end as
//! `workflow run`; the engine keeps what it found for the rest of the run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::host::ChildWorkflow;
use crate::problem::{ErrorKind, WorkflowError};
use crate::source::Source;

/// Files larger than this are not workflow documents worth reading while searching.
const MAX_DOCUMENT_BYTES: u64 = 4 * 1024 * 1024;
/// The folder of the current directory searched last.
const DEFAULT_FOLDER: &str = "workflows";

/// One document found while searching a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    namespace: String,
    name: String,
    version: String,
    path: PathBuf,
}

/// The places sub-workflows are searched.
#[derive(Debug, Default)]
pub struct Catalog {
    /// `--workflows DIR`, in the order given.
    directories: Vec<PathBuf>,
}

impl Catalog {
    pub fn new(directories: Vec<PathBuf>) -> Self {
        Catalog { directories }
    }

    /// The child `namespace`/`name`/`version` (`latest`: the highest version found), searched
    /// from the directory of `caller` (the document running the task) first.
    pub async fn find(
        &self,
        caller: Option<&Path>,
        namespace: &str,
        name: &str,
        version: &str,
    ) -> Result<ChildWorkflow, WorkflowError> {
        let wanted = format!("{namespace}/{name}:{version}");
        let mut other_versions = Vec::new();
        let places = self.places(caller);
        for directory in &places {
            let entries = self.scan(directory).await;
            let same_name: Vec<&Entry> = entries
                .iter()
                .filter(|e| e.namespace == namespace && e.name == name)
                .collect();
            let matches: Vec<&Entry> = if version == "latest" {
                let highest = same_name
                    .iter()
                    .map(|e| e.version.as_str())
                    .max_by(|a, b| compare_versions(a, b));
                same_name
                    .iter()
                    .copied()
                    .filter(|e| Some(e.version.as_str()) == highest)
                    .collect()
            } else {
                same_name
                    .iter()
                    .copied()
                    .filter(|e| e.version == version)
                    .collect()
            };
            match matches.as_slice() {
                [] => other_versions.extend(same_name.iter().map(|e| e.version.clone())),
                [found] => return self.load(&found.path).await,
                [first, second, ..] => {
                    return Err(WorkflowError::new(
                        ErrorKind::Configuration,
                        "Ambiguous sub-workflow",
                    )
                    .with_detail(format!(
                        "both `{}` and `{}` define {wanted}",
                        first.path.display(),
                        second.path.display()
                    )));
                }
            }
        }
        let searched: Vec<String> = places
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect();
        let mut detail = format!(
            "no document defines {wanted} in {} (searched *.yaml, *.yml and *.json files)",
            if searched.is_empty() {
                "any directory".to_owned()
            } else {
                searched.join(", ")
            }
        );
        if !other_versions.is_empty() {
            other_versions.sort_by(|a, b| compare_versions(a, b));
            other_versions.dedup();
            detail.push_str(&format!("; versions found: {}", other_versions.join(", ")));
        }
        Err(
            WorkflowError::new(ErrorKind::Configuration, "Sub-workflow not found")
                .with_detail(detail),
        )
    }

    /// The directories to search, in order, each once, skipping those that do not exist.
    fn places(&self, caller: Option<&Path>) -> Vec<PathBuf> {
        let caller_dir = caller.map(|path| match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        });
        let mut places: Vec<PathBuf> = Vec::new();
        let mut seen = Vec::new();
        let candidates = caller_dir
            .into_iter()
            .chain(self.directories.iter().cloned())
            .chain(std::iter::once(PathBuf::from(DEFAULT_FOLDER)));
        for directory in candidates {
            let Ok(canonical) = std::fs::canonicalize(&directory) else {
                continue;
            };
            if canonical.is_dir() && !seen.contains(&canonical) {
                seen.push(canonical);
                places.push(directory);
            }
        }
        places
    }

    /// The documents of one directory.
    async fn scan(&self, directory: &Path) -> Vec<Entry> {
        let directory = directory.to_path_buf();
        tokio::task::spawn_blocking(move || scan_directory(&directory))
            .await
            .unwrap_or_default()
    }

    /// Checks and compiles the child at `path`.
    async fn load(&self, path: &Path) -> Result<ChildWorkflow, WorkflowError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || load_child(path))
            .await
            .map_err(|error| {
                WorkflowError::new(ErrorKind::Runtime, "Sub-workflow loading failed")
                    .with_detail(error.to_string())
            })?
    }
}

/// The identities of the workflow documents directly in `directory`, by file name. Files that
/// are not readable YAML or JSON documents with a `document` block are not workflows: skipped.
fn scan_directory(directory: &Path) -> Vec<Entry> {
    let Ok(listing) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = listing
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .filter(|path| {
            std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_DOCUMENT_BYTES)
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| identity(&path))
        .collect()
}

/// The `document` namespace, name and version of the file at `path`, if it has them.
fn identity(path: &Path) -> Option<Entry> {
    let source = Source::read(path).ok()?;
    let loaded = crate::yaml::load(&source).ok()?;
    let text = |field: &str| -> Option<String> {
        match loaded.value.pointer(&format!("/document/{field}"))? {
            Value::String(text) => Some(text.clone()),
            _ => None,
        }
    };
    Some(Entry {
        namespace: text("namespace")?,
        name: text("name")?,
        version: text("version")?,
        path: path.to_path_buf(),
    })
}

/// The child at `path` through the front end and the compiler; its first problem otherwise.
fn load_child(path: PathBuf) -> Result<ChildWorkflow, WorkflowError> {
    let invalid = |message: String| {
        WorkflowError::new(ErrorKind::Configuration, "Invalid sub-workflow").with_detail(message)
    };
    let (checked, machine) = crate::frontend::check_and_compile(&path);
    if let Some(machine) = machine {
        return Ok(ChildWorkflow {
            machine: Arc::new(machine),
            path,
        });
    }
    // The first error, with its place: front-end and compiler findings alike.
    let first = checked.diagnostics.iter().find(|d| d.is_error());
    let position = first.and_then(|diagnostic| {
        checked
            .source
            .as_ref()
            .zip(diagnostic.span)
            .map(|(source, span)| source.position(span.start))
    });
    let message = match (first, position) {
        (Some(diagnostic), Some(at)) => format!(
            "`{}` (line {}, column {}): {}",
            path.display(),
            at.line,
            at.column,
            diagnostic.message
        ),
        (Some(diagnostic), None) => format!("`{}`: {}", path.display(), diagnostic.message),
        (None, _) => format!("`{}` is not a valid workflow", path.display()),
    };
    Err(invalid(message))
}

/// Orders semantic versions (`1.2.3`, `1.2.3-rc.1` before `1.2.3`); text that is not one sorts
/// first, by its text.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(text: &str) -> Option<([u64; 3], Option<&str>)> {
        let core = text.split('+').next().unwrap_or(text);
        let (numbers, pre) = match core.split_once('-') {
            Some((numbers, pre)) => (numbers, Some(pre)),
            None => (core, None),
        };
        let mut parts = numbers.split('.').map(|n| n.parse::<u64>().ok());
        let triple = [parts.next()??, parts.next()??, parts.next()??];
        parts.next().is_none().then_some((triple, pre))
    }
    match (parse(a), parse(b)) {
        (Some((x, x_pre)), Some((y, y_pre))) => x.cmp(&y).then_with(|| match (x_pre, y_pre) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(p), Some(q)) => p.cmp(q),
        }),
        (Some(_), None) => std::cmp::Ordering::Greater,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn document(namespace: &str, name: &str, version: &str) -> String {
        format!(
            "document:\n  dsl: '1.0.3'\n  namespace: {namespace}\n  name: {name}\n  version: '{version}'\ndo:\n  - a:\n      set: {{ v: '{version}' }}\n"
        )
    }

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::write(dir.join(file), text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn versions_order_semantically() {
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.0.0+build", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("banana", "0.0.1"), Ordering::Less);
        assert_eq!(compare_versions("1.0", "1.0.0"), Ordering::Less);
    }

    #[tokio::test]
    async fn the_callers_directory_comes_before_the_given_ones() {
        let (near, far) = (tempdir(), tempdir());
        write(
            near.path(),
            "child.yaml",
            &document("acme", "child", "1.0.0"),
        );
        write(far.path(), "child.yml", &document("acme", "child", "1.0.0"));
        write(
            far.path(),
            "other.json",
            r#"{"document": {"namespace": "acme", "name": "other", "version": "2.0.0", "dsl": "1.0.3"}, "do": [{"a": {"set": {"v": 1}}}]}"#,
        );
        write(far.path(), "notes.yaml", "just: text\n");
        write(far.path(), "broken.yaml", "a: [\n");
        let catalog = Catalog::new(vec![far.path().to_path_buf()]);
        let caller = near.path().join("parent.yaml");
        let found = catalog
            .find(Some(&caller), "acme", "child", "1.0.0")
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(found.path, near.path().join("child.yaml"));
        let other = catalog
            .find(Some(&caller), "acme", "other", "2.0.0")
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(other.path, far.path().join("other.json"));
        assert_eq!(other.machine.name(), "other");
    }

    #[tokio::test]
    async fn latest_picks_the_highest_version() {
        let dir = tempdir();
        for version in ["1.2.0", "1.10.0", "1.9.9"] {
            write(
                dir.path(),
                &format!("v{version}.yaml"),
                &document("acme", "child", version),
            );
        }
        let catalog = Catalog::new(vec![dir.path().to_path_buf()]);
        let found = catalog
            .find(None, "acme", "child", "latest")
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(found.path, dir.path().join("v1.10.0.yaml"));
    }

    #[tokio::test]
    async fn a_missing_child_names_the_places_and_the_versions_seen() {
        let dir = tempdir();
        write(dir.path(), "a.yaml", &document("acme", "child", "0.1.0"));
        write(dir.path(), "b.yaml", &document("acme", "child", "0.2.0"));
        let catalog = Catalog::new(vec![dir.path().to_path_buf()]);
        let error = catalog
            .find(None, "acme", "child", "9.9.9")
            .await
            .err()
            .unwrap_or_else(|| panic!("found"));
        assert_eq!(error.title.as_deref(), Some("Sub-workflow not found"));
        assert_eq!(error.status, 400);
        let detail = error.detail.unwrap_or_default();
        assert!(
            detail.starts_with("no document defines acme/child:9.9.9 in `"),
            "{detail}"
        );
        assert!(
            detail.ends_with("; versions found: 0.1.0, 0.2.0"),
            "{detail}"
        );
    }

    #[tokio::test]
    async fn two_definitions_in_one_directory_are_ambiguous() {
        let dir = tempdir();
        write(dir.path(), "a.yaml", &document("acme", "child", "1.0.0"));
        write(dir.path(), "b.yaml", &document("acme", "child", "1.0.0"));
        let catalog = Catalog::new(vec![dir.path().to_path_buf()]);
        let error = catalog
            .find(None, "acme", "child", "1.0.0")
            .await
            .err()
            .unwrap_or_else(|| panic!("found"));
        assert_eq!(error.title.as_deref(), Some("Ambiguous sub-workflow"));
    }

    #[tokio::test]
    async fn an_invalid_child_reports_its_file_and_first_problem() {
        let dir = tempdir();
        let text = document("acme", "child", "1.0.0")
            .replace("set: { v: '1.0.0' }", "set: { v: '${ .x + }' }");
        write(dir.path(), "child.yaml", &text);
        let catalog = Catalog::new(vec![dir.path().to_path_buf()]);
        let error = catalog
            .find(None, "acme", "child", "1.0.0")
            .await
            .err()
            .unwrap_or_else(|| panic!("found"));
        assert_eq!(error.title.as_deref(), Some("Invalid sub-workflow"));
        let detail = error.detail.unwrap_or_default();
        let file = dir.path().join("child.yaml");
        assert!(
            detail.starts_with(&format!("`{}` (line 8, column", file.display())),
            "{detail}"
        );
    }
}
