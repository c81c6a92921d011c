//! `Expr`: one jq filter, compiled once by jaq against our builtin library and run many times.
//!
//! The library (jaq's core, std and JSON definitions plus our prelude, see `library`) is parsed
//! once per process; each `Expr::compile` parses the user's code and compiles it with the library
//! definitions it can reach.

use super::depth;
use super::diagnose::{self, CompileError};
use super::guard::{self, Scope, Stop, Watch};
use super::jv::Jv;
use super::library::{all_natives, library};
use super::natives;
use jaq_core::load::parse::Def;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use jaq_json::Val;
use std::sync::Arc;

/// How jaq sees our data: `Val`s wrapped in `Jv` (jq 1.7 update and printing rules), and a
/// global `Scope` through which every step is watched (see `guard`).
pub(crate) type Data = guard::Watched;

/// A runtime error raised while evaluating an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// jq's message, e.g. `cannot calculate 2 + "s"`, or the text given to `error(...)`.
    pub message: String,
    /// Set when the evaluation did not fail but was stopped from outside or by a limit.
    pub stop: Option<Stop>,
}

impl EvalError {
    fn new(message: impl Into<String>) -> Self {
        EvalError {
            message: message.into(),
            stop: None,
        }
    }

    fn stopped(stop: Stop) -> Self {
        EvalError {
            message: stop.message(),
            stop: Some(stop),
        }
    }

    /// True when the host interrupted the evaluation (its result does not matter any more):
    /// such an error must never be caught or replaced by a fallback.
    pub fn is_interruption(&self) -> bool {
        self.stop == Some(Stop::Interrupted)
    }
}

/// A compiled jq expression. Cheap to clone (one `Arc`), `Send + Sync`.
#[derive(Clone)]
pub struct Expr(Arc<Inner>);

struct Inner {
    source: String,
    filter: jaq_core::Filter<Data>,
    /// The global variables this filter was compiled with, in declaration order.
    slots: Box<[Slot]>,
    /// Value of `$__loc__` (only built when the code mentions it).
    loc: Val,
}

/// Where the value of one declared global variable comes from at run time.
#[derive(Clone, Copy)]
enum Slot {
    /// `vars[i]` given to `eval`.
    User(usize),
    /// `$ENV`: the process environment.
    Env,
    /// `$__loc__`: `{file, line}` of the first mention.
    Loc,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expr").field(&self.0.source).finish()
    }
}

impl Expr {
    /// Compiles jq `code`. `vars` names the global variables without `$` (e.g. `["context",
    /// "input", ...]`); their values are passed to `eval` in the same order. `$ENV` and
    /// `$__loc__` are always available. All problems are returned at once, each with a byte range
    /// into `code`.
    pub fn compile(code: &str, vars: &[&str]) -> Result<Expr, Vec<CompileError>> {
        // Declare only the variables the code can mention: every declared global costs an
        // allocation on each evaluation, and most expressions use one or two of them.
        let mut names: Vec<String> = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        for (i, var) in vars.iter().enumerate() {
            let name = format!("${}", var.trim_start_matches('$'));
            if mentions(code, &name) {
                names.push(name);
                slots.push(Slot::User(i));
            }
        }
        for (name, slot) in [("$ENV", Slot::Env), ("$__loc__", Slot::Loc)] {
            if mentions(code, name) {
                names.push(name.to_owned());
                slots.push(slot);
            }
        }

        let library = library();
        // Against the reachable definitions first; should that fail (a real error, or a call the
        // reachability scan missed), the whole library decides and gives the messages.
        let filter = match compile_with(code, vars, &names, library.defs_for(code)) {
            Ok(filter) => filter,
            Err(_) => compile_with(code, vars, &names, library.all_defs())?,
        };

        let loc = match code.find("$__loc__") {
            Some(at) => loc_value(code, at),
            None => Val::Null,
        };
        Ok(Expr(Arc::new(Inner {
            source: code.to_owned(),
            filter,
            slots: slots.into_boxed_slice(),
            loc,
        })))
    }

    /// The jq code this expression was compiled from.
    pub fn source(&self) -> &str {
        &self.0.source
    }

    /// Runs the filter on `input` with the global variables' values (same order as at compile
    /// time; missing ones are `null`). jq filters yield a stream: no output gives `null`, one
    /// output gives that value, several outputs give an array of all of them in order.
    pub fn eval(&self, input: Val, vars: &[Val]) -> Result<Val, EvalError> {
        let watch = Watch::new();
        match guard::watched(|| self.eval_watched(input, vars, &watch)) {
            // Whatever the value goes through next may walk it recursively, on any thread.
            Ok(Ok(value)) if depth::exceeds(&value, depth::MAX_DEPTH) => {
                depth::drop_flat(value);
                Err(EvalError::stopped(Stop::Nested))
            }
            Ok(result) => result,
            Err(stop) => Err(EvalError::stopped(stop)),
        }
    }

    fn eval_watched(&self, input: Val, vars: &[Val], watch: &Watch) -> Result<Val, EvalError> {
        let inner = &*self.0;
        let values = inner.slots.iter().map(|slot| {
            Jv(match slot {
                Slot::User(i) => vars.get(*i).cloned().unwrap_or(Val::Null),
                Slot::Env => natives::env_object(),
                Slot::Loc => inner.loc.clone(),
            })
        });
        let ctx = Ctx::<Data>::new(Scope::new(&inner.filter.lut, watch), Vars::new(values));
        let mut outputs = inner.filter.id.run((ctx, Jv(input)));
        let first = match outputs.next() {
            None => return Ok(Val::Null),
            Some(out) => out.map_err(exception)?.0,
        };
        let Some(second) = outputs.next() else {
            return Ok(first);
        };
        let mut all = vec![first, second.map_err(exception)?.0];
        for out in outputs {
            all.push(out.map_err(exception)?.0);
        }
        Ok(Val::from_iter(all))
    }

    /// Runs the filter as a condition (`if`, `when`, `while`, ...) with jq's truthiness
    /// (decision 13): `null` and `false` are false, every other value is true. No output counts
    /// as `null`; several outputs count as their array (true).
    pub fn eval_bool(&self, input: Val, vars: &[Val]) -> Result<bool, EvalError> {
        Ok(!matches!(
            self.eval(input, vars)?,
            Val::Null | Val::Bool(false)
        ))
    }
}

/// Parses and compiles `code` against the given builtin definitions and all natives.
fn compile_with(
    code: &str,
    vars: &[&str],
    globals: &[String],
    defs: impl Iterator<Item = Def<&'static str>>,
) -> Result<jaq_core::Filter<Data>, Vec<CompileError>> {
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(&arena, File { code, path: () })
        .map_err(|errs| diagnose::load_errors(code, errs))?;
    Compiler::default()
        .with_funs(all_natives())
        .with_global_vars(globals.iter().map(String::as_str))
        .compile(modules)
        .map_err(|errs| diagnose::undefined(code, errs, vars, &library().names))
}

/// Whether `code` compiles against its reachable definitions alone (no fallback).
#[cfg(test)]
pub(crate) fn compiles_pruned(code: &str) -> bool {
    compile_with(code, &[], &[], library().defs_for(code)).is_ok()
}

/// True when `code` contains `name` (e.g. `$input`) not followed by another identifier character,
/// so `$input` is not declared for code that only mentions `$inputs`. Over-approximates (a
/// mention inside a string literal counts), which is harmless.
fn mentions(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let next = code[at + name.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// `$__loc__` as jq 1.7 gives it: the program is `<top-level>`, lines count from 1.
fn loc_value(code: &str, at: usize) -> Val {
    let line = code[..at].matches('\n').count() + 1;
    let mut map = jaq_json::Map::default();
    map.insert(
        Val::from("file".to_owned()),
        Val::from("<top-level>".to_owned()),
    );
    map.insert(Val::from("line".to_owned()), Val::from(line));
    Val::obj(map)
}

/// Turns a jaq exception into our error. `halt` cannot end the process from inside a workflow,
/// so it becomes an error too.
fn exception(exn: jaq_core::Exn<'_, Jv>) -> EvalError {
    match exn.get_err() {
        Ok(err) => EvalError::new(error_text(err.into_val().0)),
        Err(other) => match other.get_halt() {
            Ok(code) => EvalError::new(format!("the expression called halt (exit code {code})")),
            Err(_) => EvalError::new("internal jq control flow escaped the expression"),
        },
    }
}

/// `error("text")` reads as `text`; other error values as their JSON. Very long messages (values
/// embedded by jaq can be whole documents) keep their start and end.
fn error_text(v: Val) -> String {
    let text = match &v {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => Jv(other.clone()).to_string(),
    };
    const HEAD: usize = 240;
    const TAIL: usize = 80;
    let count = text.chars().count();
    if count <= HEAD + TAIL + 10 {
        return text;
    }
    let head: String = text.chars().take(HEAD).collect();
    let tail: String = text.chars().skip(count - TAIL).collect();
    format!("{head} ... {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{from_json, to_json};
    use serde_json::{Value, json};

    fn eval(code: &str, input: Value, vars: &[&str], values: &[Value]) -> Result<Value, EvalError> {
        let expr = Expr::compile(code, vars).unwrap_or_else(|e| panic!("{code}: {e:?}"));
        let values: Vec<Val> = values.iter().map(from_json).collect();
        expr.eval(from_json(&input), &values).map(|v| to_json(&v))
    }

    fn ok(code: &str, input: Value) -> Value {
        eval(code, input, &[], &[]).unwrap_or_else(|e| panic!("{code}: {}", e.message))
    }

    #[test]
    fn expr_is_send_sync_and_cheap_to_clone() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<Expr>();
        let a = Expr::compile(".a", &[]).unwrap_or_else(|e| panic!("{e:?}"));
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(b.source(), ".a");
    }

    #[test]
    fn variables_are_bound_in_order_and_reused_across_runs() {
        let vars = ["context", "x", "item"];
        let expr = Expr::compile(".a + $x", &vars).unwrap_or_else(|e| panic!("{e:?}"));
        let run = |x: i64| {
            let values = [Val::Null, from_json(&json!(x)), Val::Null];
            expr.eval(from_json(&json!({"a": 2})), &values)
                .map(|v| to_json(&v))
        };
        assert_eq!(run(1), Ok(json!(3)));
        assert_eq!(run(10), Ok(json!(12)));
        let out = eval(
            "[$context.k, $item]",
            json!(null),
            &vars,
            &[json!({"k": "v"}), json!(0), json!(7)],
        );
        assert_eq!(out, Ok(json!(["v", 7])));
    }

    #[test]
    fn outputs_zero_one_many() {
        assert_eq!(ok("empty", json!(1)), json!(null));
        assert_eq!(ok(".[]", json!([5])), json!(5));
        assert_eq!(ok(".[]", json!([1, 2, 3])), json!([1, 2, 3]));
        assert_eq!(ok(".a, .b", json!({"a": 1, "b": [2]})), json!([1, [2]]));
    }

    #[test]
    fn ctk_style_expressions() {
        let input = json!({"a": 1, "name": "pet", "items": [3, 1, 2], "o": {"k": "v", "n": null}});
        assert_eq!(
            ok(r#""hello \(.name)!""#, input.clone()),
            json!("hello pet!")
        );
        assert_eq!(
            ok(".missing // \"default\"", input.clone()),
            json!("default")
        );
        assert_eq!(
            ok("[.items[] | select(. > 1)]", input.clone()),
            json!([3, 2])
        );
        assert_eq!(
            ok(".items | map(. * 10)", input.clone()),
            json!([30, 10, 20])
        );
        assert_eq!(
            ok(".o | to_entries", input.clone()),
            json!([{"key": "k", "value": "v"}, {"key": "n", "value": null}])
        );
        assert_eq!(
            ok(".o | with_entries(.value //= 0)", input.clone()),
            json!({"k": "v", "n": 0})
        );
        assert_eq!(
            ok("reduce .items[] as $i (0; . + $i)", input.clone()),
            json!(6)
        );
        assert_eq!(
            ok("try error(\"boom\") catch .", input.clone()),
            json!("boom")
        );
        assert_eq!(
            ok("try (1 + \"s\") catch \"caught\"", input.clone()),
            json!("caught")
        );
        assert_eq!(
            ok(".o | tojson", input.clone()),
            json!(r#"{"k":"v","n":null}"#)
        );
        assert_eq!(
            ok("\"a-1 b-22\" | [scan(\"[0-9]+\")]", input.clone()),
            json!(["1", "22"])
        );
        assert_eq!(
            ok("\"abc\" | test(\"B\"; \"i\")", input.clone()),
            json!(true)
        );
        assert_eq!(
            ok("\"x1y\" | sub(\"[0-9]\"; \"-\")", input.clone()),
            json!("x-y")
        );
        assert_eq!(ok(".items | sort | length", input.clone()), json!(3));
        assert_eq!(ok("null + 1", input.clone()), json!(1));
        assert_eq!(
            ok("\"pet\" | startswith(\"p\")", input.clone()),
            json!(true)
        );
        assert_eq!(ok("6 / 2", input), json!(3));
    }

    #[test]
    fn dates() {
        assert_eq!(
            ok("1425599621 | todate", json!(null)),
            json!("2015-03-05T23:53:41Z")
        );
        assert_eq!(
            ok("\"2015-03-05T23:53:41Z\" | fromdate", json!(null)),
            json!(1425599621)
        );
        assert_eq!(
            ok("1425599621 | strftime(\"%Y-%m-%d\")", json!(null)),
            json!("2015-03-05")
        );
        assert_eq!(ok("now | type", json!(null)), json!("number"));
    }

    #[test]
    fn runtime_errors_are_readable() {
        let err = eval(". + \"s\"", json!(2), &[], &[])
            .err()
            .map(|e| e.message);
        assert_eq!(err.as_deref(), Some("cannot calculate 2 + \"s\""));
        let err = eval("error(\"custom failure\")", json!(null), &[], &[])
            .err()
            .map(|e| e.message);
        assert_eq!(err.as_deref(), Some("custom failure"));
        let err = eval("error({code: 1})", json!(null), &[], &[])
            .err()
            .map(|e| e.message);
        assert_eq!(err.as_deref(), Some(r#"{"code":1}"#));
        let err = eval("halt_error", json!("bye"), &[], &[])
            .err()
            .map(|e| e.message);
        assert_eq!(
            err.as_deref(),
            Some("the expression called halt (exit code 5)")
        );
    }

    #[test]
    fn huge_values_in_messages_are_shortened() {
        let big: Vec<i64> = (0..2000).collect();
        let message = eval(". + 1", json!(big), &[], &[])
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(message.len() < 400, "{}", message.len());
        assert!(message.starts_with("cannot calculate [0,1,2"));
        assert!(message.ends_with("1999] + 1"), "{message}");
    }

    #[test]
    fn eval_bool_follows_jq_truthiness() {
        let holds = |code: &str, input: serde_json::Value| {
            Expr::compile(code, &[])
                .unwrap_or_else(|e| panic!("{e:?}"))
                .eval_bool(from_json(&input), &[])
                .unwrap_or_else(|e| panic!("{e:?}"))
        };
        assert!(holds(".color == \"red\"", json!({"color": "red"})));
        assert!(!holds(".color == \"red\"", json!({"color": "blue"})));
        // A missing field is null, so false; `false` is false; everything else is true.
        assert!(!holds(".colour", json!({"color": "red"})));
        assert!(!holds(".off", json!({"off": false})));
        assert!(!holds("empty", json!(null)));
        for truthy in [json!(0), json!(""), json!([]), json!({}), json!("no")] {
            assert!(holds(".", truthy.clone()), "{truthy}");
        }
        assert!(holds("1, false", json!(null)));
    }

    #[test]
    fn loc_reports_the_line() {
        assert_eq!(
            ok("$__loc__", json!(null)),
            json!({"file": "<top-level>", "line": 1})
        );
        assert_eq!(ok("1 |\n\n $__loc__.line", json!(null)), json!(3));
        // jq manual: try error("\($__loc__)") catch .
        assert_eq!(
            ok(r#"try error("\($__loc__)") catch ."#, json!(null)),
            json!(r#"{"file":"<top-level>","line":1}"#)
        );
    }

    #[test]
    fn mentions_needs_a_word_boundary() {
        assert!(mentions("$input.a", "$input"));
        assert!(!mentions("$inputs", "$input"));
        assert!(mentions("[$inputs, $input]", "$input"));
    }
}
