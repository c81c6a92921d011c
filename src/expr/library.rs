//! The builtin library every expression is compiled against: jaq's core, std and JSON definitions,
//! our prelude, and the native filters. Parsed once per process.
//!
//! jaq compiles every definition it is given, so compiling a one-line expression against the whole
//! library costs about half a millisecond. `defs_for` hands jaq only the definitions the code can
//! reach (the names it mentions, closed over what those definitions call), which makes typical
//! expressions an order of magnitude cheaper to compile.

use super::compile::Data;
use super::natives;
use super::prelude::PRELUDE;
use jaq_core::load::parse::Def;
use jaq_json::Val;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The parsed builtin definitions and the names they and the natives provide.
pub(crate) struct Library {
    defs: Vec<Def<&'static str>>,
    /// Names of the filters each definition's body calls (by index into `defs`).
    calls: Vec<Vec<&'static str>>,
    /// Indices of the definitions of each name, in library order.
    by_name: HashMap<&'static str, Vec<usize>>,
    /// `name/arity` of every user-visible builtin, sorted (for `builtins` and suggestions).
    pub(crate) names: Vec<String>,
    builtins: Val,
}

/// Every native filter: ours first, so that ours win over jaq's of the same name. jaq-json's
/// natives are written for `Val`; `natives` has their `Jv` versions.
pub(crate) fn all_natives() -> impl Iterator<Item = jaq_core::native::Fun<Data>> {
    natives::natives()
        .chain(jaq_core::funs())
        .chain(jaq_std::funs())
}

/// Builds the library now, if no one has yet (it is otherwise built by the first compile).
pub fn prepare() {
    library();
}

pub(crate) fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(build)
}

fn build() -> Library {
    let ours = jaq_core::load::parse(PRELUDE, |p| p.defs()).unwrap_or_default();
    let defs: Vec<_> = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs())
        .chain(ours)
        .collect();
    let mut by_name: HashMap<&'static str, Vec<usize>> = HashMap::new();
    for (i, def) in defs.iter().enumerate() {
        by_name.entry(def.name).or_default().push(i);
    }
    // A body's calls are read from its `Debug` form (`Call("name", ...)`, `Str(Some("@fmt"), ...)`)
    // because jaq offers no visitor; a name missed here only costs the fallback in `Expr::compile`.
    let calls = defs
        .iter()
        .map(|def| {
            let text = format!("{:?}", def.body);
            let mut names: Vec<&'static str> = Vec::new();
            for marker in ["Call(\"", "Str(Some(\""] {
                for (at, _) in text.match_indices(marker) {
                    let rest = &text[at + marker.len()..];
                    let name = rest.split('"').next().unwrap_or("");
                    if let Some((key, _)) = by_name.get_key_value(name) {
                        names.push(key);
                    }
                }
            }
            names.sort_unstable();
            names.dedup();
            names
        })
        .collect();
    let mut names: Vec<String> = defs
        .iter()
        .map(|d| format!("{}/{}", d.name, d.args.len()))
        .chain(all_natives().map(|(name, args, _)| format!("{name}/{}", args.len())))
        .filter(|n| !n.starts_with(['_', '!']) && !n.contains("_empty/"))
        .collect();
    names.sort();
    names.dedup();
    let builtins = names.iter().cloned().map(Val::from).collect();
    Library {
        defs,
        calls,
        by_name,
        names,
        builtins,
    }
}

impl Library {
    /// Every definition, in library order.
    pub(crate) fn all_defs(&self) -> impl Iterator<Item = Def<&'static str>> + '_ {
        self.defs.iter().cloned()
    }

    /// The definitions `code` can reach, in library order (so shadowing is unchanged). Any word
    /// in the code counts as a mention, strings and field names included: over-approximating
    /// only costs compile time.
    pub(crate) fn defs_for(&self, code: &str) -> impl Iterator<Item = Def<&'static str>> + '_ {
        let mut wanted: HashSet<usize> = HashSet::new();
        let mut queue: Vec<&str> = words(code).collect();
        let mut seen: HashSet<&str> = HashSet::new();
        while let Some(name) = queue.pop() {
            if !seen.insert(name) {
                continue;
            }
            for &i in self.by_name.get(name).into_iter().flatten() {
                if wanted.insert(i) {
                    queue.extend(self.calls.get(i).into_iter().flatten().copied());
                }
            }
        }
        self.defs
            .iter()
            .enumerate()
            .filter(move |(i, _)| wanted.contains(i))
            .map(|(_, d)| d.clone())
    }
}

/// Identifier-like words of jq code, with a leading `@` kept (formats are filters named `@csv`).
fn words(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@'))
        .flat_map(|w| {
            // `a@b` is two words; a format keeps its `@`.
            let (head, fmt) = match w.find('@') {
                Some(at) => (&w[..at], Some(&w[at..])),
                None => (w, None),
            };
            [Some(head), fmt].into_iter().flatten()
        })
        .filter(|w| !w.is_empty())
}

/// The value of jq's `builtins`.
pub(crate) fn builtins_val() -> Val {
    library().builtins.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reachable(code: &str) -> Vec<String> {
        let mut names: Vec<String> = library()
            .defs_for(code)
            .map(|d| format!("{}/{}", d.name, d.args.len()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn prelude_is_valid_jq() {
        assert!(jaq_core::load::parse(PRELUDE, |p| p.defs()).is_some());
    }

    #[test]
    fn plain_paths_need_no_definitions() {
        assert_eq!(reachable(".total + $item"), Vec::<String>::new());
    }

    #[test]
    fn reachable_definitions_are_closed_over_calls() {
        // with_entries is defined with to_entries, map and from_entries.
        let names = reachable("with_entries(.value += 1)");
        for needed in ["with_entries/1", "to_entries/0", "map/1", "from_entries/0"] {
            assert!(
                names.contains(&needed.to_owned()),
                "{needed} missing from {names:?}"
            );
        }
        assert!(!names.contains(&"tostream/0".to_owned()));
        // Formats used through string interpolation are found too.
        assert!(reachable("@sh \"x \\(.)\"").contains(&"@sh/0".to_owned()));
    }

    #[test]
    fn words_split_identifiers_and_formats() {
        let w: Vec<&str> = words("map(.a_b) | @csv + \"x@y\" | $v").collect();
        assert_eq!(w, ["map", "a_b", "@csv", "x", "@y", "v"]);
    }
}
