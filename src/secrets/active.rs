//! The run's redactor for code far from the run's set-up (error messages shortened deep in the
//! engine), and the `WORKFLOW_SECRET_*` variables taken out of the process environment at
//! start-up so that no child process inherits them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::{Arc, OnceLock, RwLock};

use super::load::ENV_PREFIX;
use super::redact::Redactor;

/// The redactor of the run in progress, once `run` built it.
static ACTIVE: RwLock<Option<Arc<Redactor>>> = RwLock::new(None);

/// The `WORKFLOW_SECRET_*` variables the process started with, once taken out of its
/// environment.
static TAKEN: OnceLock<BTreeMap<String, OsString>> = OnceLock::new();

/// Makes `redactor` the one [`shorten`] masks with.
pub fn install(redactor: Arc<Redactor>) {
    if let Ok(mut active) = ACTIVE.write() {
        *active = Some(redactor);
    }
}

/// `text` with the run's secrets masked, then cut to `max_chars` characters (with `ellipsis`
/// appended when cut): what every message that quotes a shortened value must use, since
/// masking after the cut would miss a secret cut in half.
pub fn shorten(text: &str, max_chars: usize, ellipsis: &str) -> String {
    let active = ACTIVE.read().ok().and_then(|active| active.clone());
    match active {
        Some(redactor) => redactor.shorten(text, max_chars, ellipsis),
        None if text.chars().count() > max_chars => {
            let mut kept: String = text.chars().take(max_chars).collect();
            kept.push_str(ellipsis);
            kept
        }
        None => text.to_string(),
    }
}

/// Moves every `WORKFLOW_SECRET_*` variable out of the process environment into a private copy
/// that [`env_var`] reads. Called first thing in `main`, while the process has one thread (the
/// only time changing the environment is sound): children started later (shell, script,
/// container tasks, and anything those start) never see a secret they were not given through
/// `$secrets`. A later call does nothing.
pub fn take_from_environment() {
    TAKEN.get_or_init(|| {
        let taken: BTreeMap<String, OsString> = std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                name.starts_with(ENV_PREFIX).then_some((name, value))
            })
            .collect();
        for name in taken.keys() {
            // SAFETY: called at the start of `main`, before any other thread exists, so nothing
            // reads the environment concurrently.
            unsafe { std::env::remove_var(name) };
        }
        taken
    });
}

/// A secret variable's value: from the copy taken at start-up, or (in tests and library use,
/// where nothing was taken) from the environment.
pub(crate) fn env_var(name: &str) -> Option<OsString> {
    match TAKEN.get() {
        Some(taken) => taken.get(name).cloned(),
        None => std::env::var_os(name),
    }
}

/// The values of every `WORKFLOW_SECRET_*` variable given, declared by the workflow or not:
/// they are masked all the same, since whoever set them meant them to stay secret.
pub fn provided_values() -> Vec<serde_json::Value> {
    let from_env: Vec<(String, OsString)> = match TAKEN.get() {
        Some(taken) => taken.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        None => std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                name.starts_with(ENV_PREFIX).then_some((name, value))
            })
            .collect(),
    };
    from_env
        .into_iter()
        .filter_map(|(_, value)| value.into_string().ok())
        .map(super::load::text_value)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_without_a_run_only_cuts() {
        // (No redactor is installed by unit tests.)
        if ACTIVE.read().ok().is_some_and(|active| active.is_none()) {
            assert_eq!(shorten("abcdef", 3, "..."), "abc...");
            assert_eq!(shorten("abc", 3, "..."), "abc");
        }
    }
}
