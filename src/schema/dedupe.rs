//! De-duplication of schema problems: one real problem, one finding. Drops what only follows
//! from another problem reported at the same time, and recognises misspelt keys.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::problem::Problem;
use crate::diagnostic::did_you_mean;
use crate::pointer;

/// The problems worth reporting, in their original order.
pub(crate) fn prune(problems: Vec<Problem>, document: &Value) -> Vec<Problem> {
    let problems = merge_unknown_keys(drop_consequences(drop_shadowed_by_type(problems), document));
    let suggestions = unknown_key_suggestions(&problems);
    problems
        .into_iter()
        .filter(|p| !is_explained_by_a_typo(p, &suggestions))
        .collect()
}

/// A value of the wrong type makes every other complaint about that same value noise.
fn drop_shadowed_by_type(problems: Vec<Problem>) -> Vec<Problem> {
    let typed: BTreeSet<String> = problems
        .iter()
        .filter(|p| matches!(p, Problem::Type { .. }))
        .map(|p| p.at().to_string())
        .collect();
    problems
        .into_iter()
        .filter(|p| matches!(p, Problem::Type { .. }) || !typed.contains(p.at()))
        .collect()
}

/// Problems that only follow from another one reported at the same time:
/// - inside the extra entries of a list item holding several tasks (or cases, or extensions):
///   they are separate items the user forgot to start with `- `, reported once as such;
/// - `after` forbidden in a container lifetime whose `cleanup` is itself wrong;
/// - `until` without `any` where the strategy has no `all`/`any`/`one` at all;
/// - what a task with several kinds misses as one of them (a `for` beside a `call` lacks `do`);
/// - the `cleanup`-dependent rules of a container lifetime whose `cleanup` is missing.
fn drop_consequences(problems: Vec<Problem>, document: &Value) -> Vec<Problem> {
    let mut extra_entries = BTreeSet::new();
    let mut one_of_at = BTreeSet::new();
    let mut no_cleanup_at = BTreeSet::new();
    for problem in &problems {
        match problem {
            Problem::Size {
                at,
                keyword: "maxProperties",
                ..
            } => {
                let keys = document
                    .pointer(at)
                    .and_then(Value::as_object)
                    .map(|o| o.keys().skip(1).cloned().collect());
                let keys: Vec<String> = keys.unwrap_or_default();
                extra_entries.extend(keys.iter().map(|k| pointer::join(at, k)));
            }
            Problem::ExactlyOne { at, .. } => {
                one_of_at.insert(at.clone());
            }
            Problem::Missing { at, property, .. } if property == "cleanup" => {
                no_cleanup_at.insert(at.clone());
            }
            _ => {}
        }
    }
    let problem_at: BTreeSet<String> = problems.iter().map(|p| p.at().to_string()).collect();
    let task_kind_at: BTreeSet<String> = problems
        .iter()
        .filter_map(|p| match p {
            Problem::ExactlyOne { at, location, .. } if location == "/$defs/taskKind/oneOf" => {
                Some(at.clone())
            }
            _ => None,
        })
        .collect();
    // A string failing its pattern is not also reported for its format.
    let pattern_at: BTreeSet<String> = problems
        .iter()
        .filter_map(|p| match p {
            Problem::Text { at, location, .. } if location.ends_with("/pattern") => {
                Some(at.clone())
            }
            _ => None,
        })
        .collect();
    problems
        .into_iter()
        .filter(|p| !pointer::self_and_ancestors(p.at()).any(|at| extra_entries.contains(at)))
        .filter(|p| match p {
            Problem::Forbidden { at, location }
                if location.starts_with("/$defs/containerLifetime") =>
            {
                let lifetime = pointer::parent(at).unwrap_or_default();
                !problem_at.contains(&pointer::join(lifetime, "cleanup"))
                    && !no_cleanup_at.contains(lifetime)
            }
            Problem::Missing { at, location, .. }
                if location.starts_with("/$defs/containerLifetime/then") =>
            {
                !no_cleanup_at.contains(at)
            }
            Problem::Missing { at, location, .. } if location.contains("/dependentRequired") => {
                !one_of_at.contains(at)
            }
            Problem::Missing { at, .. } => !task_kind_at.contains(at),
            Problem::Text { at, location, .. } if !location.ends_with("/pattern") => {
                !pattern_at.contains(at)
            }
            _ => true,
        })
        .collect()
}

/// Several rules may reject keys of the same object (a task with two kind keys is checked as
/// both kinds). A key is unknown only if every one of them rejects it.
fn merge_unknown_keys(problems: Vec<Problem>) -> Vec<Problem> {
    let mut merged: BTreeMap<String, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut rest = Vec::new();
    for problem in problems {
        match problem {
            Problem::UnknownKeys { at, keys, allowed } => match merged.get_mut(&at) {
                Some((kept, all_allowed)) => {
                    kept.retain(|k| keys.contains(k));
                    all_allowed.extend(allowed);
                }
                None => {
                    merged.insert(at, (keys, allowed.into_iter().collect()));
                }
            },
            other => rest.push(other),
        }
    }
    let unknown = merged
        .into_iter()
        .map(|(at, (keys, allowed))| Problem::UnknownKeys {
            at,
            keys,
            allowed: allowed.into_iter().collect(),
        });
    unknown.chain(rest).collect()
}

/// For each object pointer, the properties its misspelt keys most likely meant.
fn unknown_key_suggestions(problems: &[Problem]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for problem in problems {
        if let Problem::UnknownKeys { at, keys, allowed } = problem {
            for key in keys {
                if let Some(s) = suggestion(key, allowed) {
                    out.entry(at.clone()).or_default().push(s.to_string());
                }
            }
        }
    }
    out
}

/// A missing property (or a missing one-of key) that a misspelt key beside it explains is
/// reported once, as the misspelling.
fn is_explained_by_a_typo(problem: &Problem, suggestions: &BTreeMap<String, Vec<String>>) -> bool {
    match problem {
        Problem::Missing { at, property, .. } => {
            suggestions.get(at).is_some_and(|s| s.contains(property))
        }
        Problem::ExactlyOne { at, keys, .. } => suggestions
            .get(at)
            .is_some_and(|s| s.iter().any(|k| keys.contains(k))),
        _ => false,
    }
}

pub(crate) fn suggestion<'a>(key: &str, allowed: &'a [String]) -> Option<&'a str> {
    likely(
        key,
        allowed.iter().map(String::as_str).filter(|a| *a != key),
    )
}

/// `did_you_mean`, plus one-letter slips that similarity scores miss on short names (`dp` for `do`).
pub(crate) fn likely<'a>(
    key: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    did_you_mean(key, candidates.clone()).or_else(|| {
        candidates
            .into_iter()
            .find(|c| key.len() > 1 && strsim::levenshtein(key, c) == 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unknown(at: &str, keys: &[&str], allowed: &[&str]) -> Problem {
        Problem::UnknownKeys {
            at: at.into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            allowed: allowed.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn a_key_is_unknown_only_if_every_rule_rejects_it() {
        let merged = merge_unknown_keys(vec![
            unknown("/t", &["set", "foo"], &["call", "with"]),
            unknown("/t", &["call", "with", "foo"], &["set"]),
        ]);
        assert_eq!(
            merged,
            vec![unknown("/t", &["foo"], &["call", "set", "with"])]
        );
    }

    #[test]
    fn wrong_type_shadows_other_problems_of_the_same_value() {
        let kept = drop_shadowed_by_type(vec![
            Problem::Type {
                at: "/run".into(),
                expected: vec!["object".into()],
            },
            Problem::ExactlyOne {
                at: "/run".into(),
                keys: vec!["shell".into()],
                location: String::new(),
            },
            Problem::Type {
                at: "/other".into(),
                expected: vec!["string".into()],
            },
        ]);
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().all(|p| matches!(p, Problem::Type { .. })));
    }

    #[test]
    fn a_typo_explains_the_missing_property() {
        let problems = vec![
            unknown("/w", &["endpont"], &["endpoint", "method"]),
            Problem::Missing {
                at: "/w".into(),
                property: "endpoint".into(),
                location: String::new(),
            },
            Problem::Missing {
                at: "/w".into(),
                property: "method".into(),
                location: String::new(),
            },
        ];
        let kept = prune(problems, &json!({"w": {"endpont": "x"}}));
        assert_eq!(kept.len(), 2);
        assert!(matches!(&kept[1], Problem::Missing { property, .. } if property == "method"));
        assert_eq!(likely("dp", ["do", "document"]), Some("do"));
        assert_eq!(likely("zzz", ["do"]), None);
    }
}
