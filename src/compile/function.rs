//! Lowering of custom function calls (`call: <name>`). A `use.functions` entry is compiled
//! again for each call site, its tasks reporting under `<caller>/call/<name>` so events nest
//! under the calling task; recursion between functions is refused at compile time. A catalog
//! reference (`name:version@catalog`) or a URL becomes a remote function, loaded, checked and
//! compiled at run time (see `compile/remote.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use super::auth::AuthSpec;
use super::compiler::Compiler;
use super::machine::{Body, TaskId, TaskNode, Tmpl};
use super::openapi::UriSpec;
use super::scope::Scope;
use crate::diagnostic::Diagnostic;
use crate::document::{FunctionCall, Task, TaskList};

/// The runtime's own catalog, used for `@default` when the workflow does not declare one.
pub(crate) const DEFAULT_CATALOG_ENDPOINT: &str = "https://github.com/serverlessworkflow/catalog";

/// What the compiler remembers about functions while it walks the document.
#[derive(Debug, Default)]
pub(crate) struct FunctionState {
    /// Functions being compiled, outermost first (a name met again is recursion).
    stack: Vec<String>,
    /// Functions compiled once already: their diagnostics are not repeated per call site.
    compiled: HashSet<String>,
}

/// `call: <function>` with its evaluated-at-run-time arguments.
#[derive(Debug)]
pub(crate) struct FunctionBody {
    /// `with`: the function's input; absent, the calling task's input.
    pub with: Option<Tmpl>,
    pub target: FunctionTarget,
}

#[derive(Debug)]
pub(crate) enum FunctionTarget {
    /// A `use.functions` entry compiled for this call site.
    Inline(TaskId),
    Remote(RemoteFunction),
}

/// A function whose definition (`function.yaml`) is loaded at run time.
#[derive(Debug)]
pub(crate) struct RemoteFunction {
    /// `call` as written, for messages.
    pub reference: String,
    /// The catalog's root or the function's own URL.
    pub endpoint: UriSpec,
    /// Appended to the evaluated endpoint (`/functions/log/1.0.0/function.yaml`, or
    /// `/function.yaml` for a URL naming the function's directory).
    pub suffix: String,
    pub authentication: Option<AuthSpec>,
    /// The function task's name.
    pub name: String,
    /// Pointer of the calling task: the function's tasks report under `<caller>/call/<name>`.
    pub caller: Arc<str>,
}

impl Compiler<'_> {
    pub(super) fn function_call(
        &mut self,
        call: &FunctionCall,
        caller: &Task,
        scope: &Scope,
    ) -> Body {
        let with = match &call.with {
            None => None,
            Some(template) => match self.template(template, scope) {
                Some(with) => Some(with),
                None => return Body::Unsupported(String::from("this task did not compile")),
            },
        };
        let name = call.function.name.as_str();
        let target = if let Some((function, version, catalog)) = call.catalog_parts() {
            self.catalog_function(call, caller, (function, version, catalog), scope)
        } else if name.contains("://") {
            let (endpoint, suffix) = direct_location(name);
            Some(FunctionTarget::Remote(RemoteFunction {
                reference: name.to_owned(),
                endpoint: UriSpec::Literal(Arc::from(endpoint)),
                suffix,
                authentication: None,
                name: caller.name.clone(),
                caller: Arc::from(caller.pointer.as_str()),
            }))
        } else {
            self.inline_function(call, caller)
        };
        match target {
            Some(target) => Body::Function(Box::new(FunctionBody { with, target })),
            None => Body::Unsupported(String::from("this task did not compile")),
        }
    }

    fn catalog_function(
        &mut self,
        call: &FunctionCall,
        caller: &Task,
        (function, version, catalog): (&str, &str, &str),
        scope: &Scope,
    ) -> Option<FunctionTarget> {
        let (endpoint, authentication) = match self.document.use_.catalog(catalog) {
            Some(declared) => {
                let resource = self.resource(&declared.value.endpoint, scope)?;
                (resource.uri, resource.authentication)
            }
            None if catalog == "default" => {
                (UriSpec::Literal(Arc::from(DEFAULT_CATALOG_ENDPOINT)), None)
            }
            None => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "ref::undefined-catalog",
                        format!("no catalog named `{catalog}` in `use.catalogs`"),
                    )
                    .at_pointer(&call.function.pointer),
                );
                return None;
            }
        };
        Some(FunctionTarget::Remote(RemoteFunction {
            reference: call.function.name.clone(),
            endpoint,
            suffix: format!("/functions/{function}/{version}/function.yaml"),
            authentication,
            name: function.to_owned(),
            caller: Arc::from(caller.pointer.as_str()),
        }))
    }

    fn inline_function(&mut self, call: &FunctionCall, caller: &Task) -> Option<FunctionTarget> {
        let name = call.function.name.as_str();
        let document = self.document;
        let Some(function) = document.use_.function(name) else {
            self.diagnostics.push(
                Diagnostic::error(
                    "ref::undefined-function",
                    format!("no function named `{name}` in `use.functions`"),
                )
                .at_pointer(&call.function.pointer),
            );
            return None;
        };
        if self.functions.stack.iter().any(|open| open == name) {
            let chain = self.functions.stack.join("` → `");
            self.diagnostics.push(
                Diagnostic::error(
                    "flow::recursive-function",
                    format!("function `{name}` calls itself (`{chain}` → `{name}`)"),
                )
                .at_pointer(&call.function.pointer)
                .with_help(
                    "custom functions cannot be recursive: each call site is compiled in full",
                ),
            );
            return None;
        }
        let first_time = self.functions.compiled.insert(name.to_owned());
        let mark = self.diagnostics.len();
        let start = self.tasks.len();
        self.functions.stack.push(name.to_owned());
        // A list of its own: a `then` inside the function can only name the function itself.
        let list = TaskList::new(vec![function.clone()], "/use/functions");
        let id = self.task(function, &list, &Scope::base());
        self.functions.stack.pop();
        if !first_time {
            self.diagnostics.truncate(mark);
        }
        let to = format!("{}/call/{}", caller.pointer, escape(name));
        relocate(
            self.tasks.get_mut(start..).unwrap_or_default(),
            &function.pointer,
            &to,
        );
        Some(FunctionTarget::Inline(id))
    }
}

/// Gives the tasks under `from` pointers under `to` instead.
pub(super) fn relocate(tasks: &mut [TaskNode], from: &str, to: &str) {
    for task in tasks {
        if let Some(rest) = task.pointer.strip_prefix(from)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            task.pointer = Arc::from(format!("{to}{rest}"));
        }
    }
}

/// A name as one JSON pointer token.
pub(crate) fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// A URL naming a function: the definition file itself, or the directory holding its
/// `function.yaml`.
fn direct_location(url: &str) -> (String, String) {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let is_file = [".yaml", ".yml", ".json"]
        .iter()
        .any(|extension| path.to_ascii_lowercase().ends_with(extension));
    if is_file {
        (url.to_owned(), String::new())
    } else {
        (url.to_owned(), String::from("/function.yaml"))
    }
}

/// The URL of the raw file behind a GitHub or GitLab page URL (the spec asks runtimes to read
/// catalogs hosted there through their raw-content URLs); any other URL as is. A repository
/// URL without `tree`/`blob` reads its `main` branch.
pub(crate) fn raw_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match host {
        "github.com" | "www.github.com" if segments.len() >= 2 => {
            let (owner, repo) = (segments[0], segments[1]);
            let (reference, tail) = match segments.get(2) {
                Some(&"tree") | Some(&"blob") if segments.len() >= 4 => {
                    (segments[3], &segments[4..])
                }
                _ => ("main", &segments[2..]),
            };
            format!(
                "{scheme}://raw.githubusercontent.com/{owner}/{repo}/refs/heads/{reference}{}",
                joined(tail)
            )
        }
        "gitlab.com" | "www.gitlab.com" if segments.len() >= 2 => {
            if let Some(dash) = segments.iter().position(|s| *s == "-") {
                let project = &segments[..dash];
                match &segments[dash + 1..] {
                    [kind, reference, tail @ ..] if *kind == "tree" || *kind == "blob" => format!(
                        "{scheme}://{host}/{}/-/raw/{reference}{}",
                        project.join("/"),
                        joined(tail)
                    ),
                    _ => url.to_owned(),
                }
            } else {
                format!(
                    "{scheme}://{host}/{}/{}/-/raw/main{}",
                    segments[0],
                    segments[1],
                    joined(&segments[2..])
                )
            }
        }
        _ => url.to_owned(),
    }
}

fn joined(segments: &[&str]) -> String {
    segments.iter().map(|s| format!("/{s}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_and_gitlab_pages_become_raw_urls() {
        assert_eq!(
            raw_url(
                "https://github.com/serverlessworkflow/catalog/tree/main/functions/log/1.0.0/function.yaml"
            ),
            "https://raw.githubusercontent.com/serverlessworkflow/catalog/refs/heads/main/functions/log/1.0.0/function.yaml"
        );
        assert_eq!(
            raw_url("https://github.com/org/cat/functions/f/1.0.0/function.yaml"),
            "https://raw.githubusercontent.com/org/cat/refs/heads/main/functions/f/1.0.0/function.yaml"
        );
        assert_eq!(
            raw_url("https://github.com/org/cat/blob/dev/f.yaml"),
            "https://raw.githubusercontent.com/org/cat/refs/heads/dev/f.yaml"
        );
        assert_eq!(
            raw_url("https://gitlab.com/group/sub/cat/-/tree/v2/functions/f/function.yaml"),
            "https://gitlab.com/group/sub/cat/-/raw/v2/functions/f/function.yaml"
        );
        assert_eq!(
            raw_url("https://gitlab.com/group/cat/functions/f/function.yaml"),
            "https://gitlab.com/group/cat/-/raw/main/functions/f/function.yaml"
        );
        for unchanged in [
            "https://raw.githubusercontent.com/o/r/main/f.yaml",
            "http://127.0.0.1:8080/functions/f/1.0.0/function.yaml",
            "https://github.com/only-owner",
            "file:///srv/catalog/functions/f/1/function.yaml",
            "not a url",
        ] {
            assert_eq!(raw_url(unchanged), unchanged);
        }
    }

    #[test]
    fn direct_urls_name_a_file_or_its_directory() {
        assert_eq!(
            direct_location("https://x.test/f/function.yaml"),
            ("https://x.test/f/function.yaml".to_owned(), String::new())
        );
        assert_eq!(
            direct_location("https://x.test/f/1.0.0"),
            (
                "https://x.test/f/1.0.0".to_owned(),
                "/function.yaml".to_owned()
            )
        );
        assert_eq!(direct_location("file:///f/def.JSON?x=1").1, String::new());
    }

    fn compiled(body: &str) -> Result<super::super::Machine, Vec<Diagnostic>> {
        let text = format!(
            "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: t\n  version: '1.0.0'\n{body}"
        );
        // Straight from the parser: the analyzer is not what is under test.
        let loaded = crate::yaml::load(&crate::source::Source::new("t.yaml", text))
            .unwrap_or_else(|d| panic!("{d:#?}"));
        let document = crate::parse::parse(&loaded.value).unwrap_or_else(|d| panic!("{d:#?}"));
        super::super::compile(&document)
    }

    #[test]
    fn each_call_site_gets_its_own_copy_of_an_inline_function() {
        let machine = compiled(
            "use:\n  functions:\n    f:\n      do:\n        - inner:\n            set: { a: 1 }\ndo:\n  - one:\n      call: f\n  - two:\n      call: f\n      with: { x: 1 }\n",
        )
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let root = machine.block(machine.workflow.root);
        let targets: Vec<(TaskId, bool)> = root
            .tasks
            .iter()
            .map(|&t| match &machine.task(t).body {
                Body::Function(call) => match call.target {
                    FunctionTarget::Inline(id) => (id, call.with.is_some()),
                    FunctionTarget::Remote(_) => panic!("remote"),
                },
                other => panic!("not a function call: {other:?}"),
            })
            .collect();
        assert_ne!(targets[0].0, targets[1].0);
        assert_eq!((targets[0].1, targets[1].1), (false, true));
        let pointers: Vec<&str> = machine.tasks.iter().map(|t| &*t.pointer).collect();
        assert!(
            pointers.contains(&"/do/0/one/call/f/do/0/inner"),
            "{pointers:?}"
        );
        assert!(pointers.contains(&"/do/1/two/call/f"), "{pointers:?}");
    }

    #[test]
    fn recursion_and_unknown_references_are_compile_errors() {
        let found = compiled(
            "use:\n  functions:\n    a:\n      call: b\n    b:\n      call: a\ndo:\n  - start:\n      call: a\n  - other:\n      call: ghost\n  - cat:\n      call: f:1.0.0@nowhere\n",
        )
        .err()
        .unwrap_or_default();
        let found: Vec<(&str, Option<&str>, &str)> = found
            .iter()
            .map(|d| (d.code, d.pointer.as_deref(), d.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "flow::recursive-function",
                    Some("/use/functions/b/call"),
                    "function `a` calls itself (`a` → `b` → `a`)"
                ),
                (
                    "ref::undefined-function",
                    Some("/do/1/other/call"),
                    "no function named `ghost` in `use.functions`"
                ),
                (
                    "ref::undefined-catalog",
                    Some("/do/2/cat/call"),
                    "no catalog named `nowhere` in `use.catalogs`"
                ),
            ]
        );
    }

    #[test]
    fn catalog_references_become_remote_functions() {
        let machine = compiled(
            "use:\n  catalogs:\n    shared:\n      endpoint:\n        uri: https://github.com/acme/catalog\n        authentication:\n          bearer: { token: t }\ndo:\n  - log:\n      call: log:1.0.0@shared\n  - std:\n      call: log:2.0.0@default\n",
        )
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let root = machine.block(machine.workflow.root);
        let remotes: Vec<(String, String, bool, String)> = root
            .tasks
            .iter()
            .map(|&t| match &machine.task(t).body {
                Body::Function(call) => match &call.target {
                    FunctionTarget::Remote(remote) => (
                        match &remote.endpoint {
                            UriSpec::Literal(uri) => uri.to_string(),
                            UriSpec::Expr(_) => String::from("expr"),
                        },
                        remote.suffix.clone(),
                        remote.authentication.is_some(),
                        format!("{}@{}", remote.name, remote.caller),
                    ),
                    FunctionTarget::Inline(_) => panic!("inline"),
                },
                other => panic!("not a function call: {other:?}"),
            })
            .collect();
        assert_eq!(
            remotes,
            [
                (
                    "https://github.com/acme/catalog".to_owned(),
                    "/functions/log/1.0.0/function.yaml".to_owned(),
                    true,
                    "log@/do/0/log".to_owned()
                ),
                (
                    DEFAULT_CATALOG_ENDPOINT.to_owned(),
                    "/functions/log/2.0.0/function.yaml".to_owned(),
                    false,
                    "log@/do/1/std".to_owned()
                ),
            ]
        );
    }
}
