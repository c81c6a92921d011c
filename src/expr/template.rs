//! `Template`: a JSON value whose strings may be runtime expressions (`set`, `with`, `body`, event
//! `data`, `input.from` objects, ...), compiled once; constant parts are pre-built `Val`s.

use super::compile::{EvalError, Expr};
use super::diagnose::CompileError;
use super::value::from_json;
use crate::pointer;
use jaq_json::Val;
use serde_json::Value;
use std::sync::Arc;

/// Which strings of a template are expressions (the DSL's `evaluate.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExprMode {
    /// Only strings written `${ ... }` are expressions; every other string is literal.
    #[default]
    Strict,
    /// Every string is tried as jq; one that fails to compile or to evaluate stays literal (so
    /// `"hello world"` stays a string, while `"42"` becomes a number and `".a"` a lookup).
    /// Strings written `${ ... }` behave as in strict mode: their errors are reported.
    Loose,
}

/// The body of a `${ ... }` string (trimmed), or None when the string is not an expression.
/// Follows the schema pattern `^\s*\$\{.+\}\s*$`, except that the body may span several lines.
pub fn strip_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    if inner.is_empty() {
        None
    } else {
        Some(inner.trim())
    }
}

/// A compiled template. Cheap to clone (one `Arc`), `Send + Sync`.
#[derive(Clone)]
pub struct Template(Arc<Node>);

enum Node {
    /// A subtree without expressions, built once.
    Const(Val),
    /// An expression string; `fallback` is the literal kept when a loose-mode guess fails.
    Expr {
        expr: Expr,
        fallback: Option<Val>,
    },
    Array(Vec<Node>),
    Object(Vec<(Val, Node)>),
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("constant", &self.is_constant())
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Compiles every expression string in `value`. Errors carry the JSON pointer of the failing
    /// string relative to `value` (`""` when `value` itself is the string) and a byte range into
    /// that whole string (not just the `${ }` body), so callers can point inside it.
    pub fn compile(
        value: &Value,
        mode: ExprMode,
        vars: &[&str],
    ) -> Result<Template, Vec<(String, CompileError)>> {
        let mut errors = Vec::new();
        let node = build(value, mode, vars, "", &mut errors);
        if errors.is_empty() {
            Ok(Template(Arc::new(node)))
        } else {
            Err(errors)
        }
    }

    /// Evaluates every expression against `input` and `vars` (see `Expr::eval`) and assembles the
    /// result. Object keys are literal; key order is the template's.
    pub fn eval(&self, input: Val, vars: &[Val]) -> Result<Val, EvalError> {
        eval_node(&self.0, &input, vars)
    }

    /// True when the template holds no expression: `eval` then returns a pre-built value and
    /// evaluates nothing.
    pub fn is_constant(&self) -> bool {
        matches!(*self.0, Node::Const(_))
    }
}

fn build(
    value: &Value,
    mode: ExprMode,
    vars: &[&str],
    at: &str,
    errors: &mut Vec<(String, CompileError)>,
) -> Node {
    match value {
        Value::String(text) => string_node(text, mode, vars, at, errors),
        Value::Array(items) => {
            let nodes: Vec<Node> = items
                .iter()
                .enumerate()
                .map(|(i, item)| build(item, mode, vars, &pointer::join_index(at, i), errors))
                .collect();
            if nodes.iter().all(|n| matches!(n, Node::Const(_))) {
                Node::Const(from_json(value))
            } else {
                Node::Array(nodes)
            }
        }
        Value::Object(map) => {
            let entries: Vec<(Val, Node)> = map
                .iter()
                .map(|(k, v)| {
                    (
                        Val::from(k.clone()),
                        build(v, mode, vars, &pointer::join(at, k), errors),
                    )
                })
                .collect();
            if entries.iter().all(|(_, n)| matches!(n, Node::Const(_))) {
                Node::Const(from_json(value))
            } else {
                Node::Object(entries)
            }
        }
        other => Node::Const(from_json(other)),
    }
}

fn string_node(
    text: &str,
    mode: ExprMode,
    vars: &[&str],
    at: &str,
    errors: &mut Vec<(String, CompileError)>,
) -> Node {
    let literal = || Node::Const(Val::from(text.to_owned()));
    if let Some(body) = strip_expression(text) {
        return match Expr::compile(body, vars) {
            Ok(expr) => Node::Expr {
                expr,
                fallback: None,
            },
            Err(errs) => {
                // Shift ranges from the body to the whole string.
                let offset = body.as_ptr() as usize - text.as_ptr() as usize;
                errors.extend(errs.into_iter().map(|mut e| {
                    e.range = e.range.start + offset..e.range.end + offset;
                    (at.to_owned(), e)
                }));
                literal()
            }
        };
    }
    match mode {
        ExprMode::Strict => literal(),
        ExprMode::Loose => match Expr::compile(text, vars) {
            Ok(expr) => Node::Expr {
                expr,
                fallback: Some(Val::from(text.to_owned())),
            },
            Err(_) => literal(),
        },
    }
}

fn eval_node(node: &Node, input: &Val, vars: &[Val]) -> Result<Val, EvalError> {
    match node {
        Node::Const(v) => Ok(v.clone()),
        Node::Expr { expr, fallback } => match (expr.eval(input.clone(), vars), fallback) {
            (Ok(v), _) => Ok(v),
            // A stopped evaluation is not a failed one: it never falls back to the literal.
            (Err(e), Some(literal)) if e.stop.is_none() => Ok(literal.clone()),
            (Err(e), _) => Err(e),
        },
        Node::Array(items) => items
            .iter()
            .map(|n| eval_node(n, input, vars))
            .collect::<Result<Vec<_>, _>>()
            .map(Val::from_iter),
        Node::Object(entries) => {
            let mut map =
                jaq_json::Map::with_capacity_and_hasher(entries.len(), Default::default());
            for (k, n) in entries {
                map.insert(k.clone(), eval_node(n, input, vars)?);
            }
            Ok(Val::obj(map))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::to_json;
    use serde_json::json;

    fn eval(t: &Template, input: Value) -> Result<Value, EvalError> {
        t.eval(from_json(&input), &[]).map(|v| to_json(&v))
    }

    fn compile(v: Value, mode: ExprMode) -> Template {
        Template::compile(&v, mode, &["input"]).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn template_is_send_sync_and_cheap_to_clone() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<Template>();
        let t = compile(json!({"a": "${ . }"}), ExprMode::Strict);
        assert!(Arc::ptr_eq(&t.0, &t.clone().0));
    }

    #[test]
    fn strip_expression_follows_the_schema_pattern() {
        assert_eq!(strip_expression("${ .a }"), Some(".a"));
        assert_eq!(strip_expression("  ${.a + 1}\n"), Some(".a + 1"));
        assert_eq!(strip_expression("${\n  .a\n  | .b\n}"), Some(".a\n  | .b"));
        assert_eq!(strip_expression("${ }"), Some(""));
        assert_eq!(strip_expression("${}"), None);
        assert_eq!(strip_expression(".a"), None);
        assert_eq!(strip_expression("x ${ .a }"), None);
        assert_eq!(strip_expression("${ .a } x"), None);
    }

    #[test]
    fn strict_mode_evaluates_only_wrapped_strings_in_nested_values() {
        let t = compile(
            json!({"name": "${ .n }", "fixed": ".n", "list": [1, "${ .n + \"!\" }", {"deep": "${ $input.k }"}], "num": 2}),
            ExprMode::Strict,
        );
        assert!(!t.is_constant());
        let input = json!({"n": "pet"});
        let vars = [from_json(&json!({"k": true}))];
        let out = t.eval(from_json(&input), &vars).map(|v| to_json(&v));
        assert_eq!(
            out,
            Ok(
                json!({"name": "pet", "fixed": ".n", "list": [1, "pet!", {"deep": true}], "num": 2})
            )
        );
        // Key order is the template's.
        let keys: Vec<String> = out
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default();
        assert_eq!(keys, ["name", "fixed", "list", "num"]);
    }

    #[test]
    fn loose_mode_tries_every_string() {
        let t = compile(
            json!({"a": ".n", "b": "hello world", "c": ".n + 1", "d": "42", "e": "${ .n }"}),
            ExprMode::Loose,
        );
        // `.n + 1` fails on a string input at run time and stays literal; `hello world` does not compile.
        assert_eq!(
            eval(&t, json!({"n": "x"})),
            Ok(json!({"a": "x", "b": "hello world", "c": ".n + 1", "d": 42, "e": "x"}))
        );
        assert_eq!(
            eval(&t, json!({"n": 1})),
            Ok(json!({"a": 1, "b": "hello world", "c": 2, "d": 42, "e": 1}))
        );
    }

    #[test]
    fn wrapped_expressions_report_errors_in_both_modes() {
        for mode in [ExprMode::Strict, ExprMode::Loose] {
            let t = compile(json!({"x": "${ .a + 1 }"}), mode);
            assert!(eval(&t, json!({"a": "s"})).is_err());
        }
    }

    #[test]
    fn constant_templates_evaluate_nothing() {
        let v = json!({"a": [1, "two", {"b": null}], "c": ".not-an-expression"});
        let t = compile(v.clone(), ExprMode::Strict);
        assert!(t.is_constant());
        // The pre-built value is shared, not rebuilt: two evaluations return the same allocation.
        let (x, y) = (t.eval(Val::Null, &[]), t.eval(Val::Null, &[]));
        match (x, y) {
            (Ok(Val::Obj(x)), Ok(Val::Obj(y))) => assert!(jaq_json::Rc::ptr_eq(&x, &y)),
            other => panic!("{other:?}"),
        }
        assert_eq!(eval(&t, json!(null)), Ok(v));
        // A constant string at the root, and scalars.
        assert!(compile(json!("plain"), ExprMode::Strict).is_constant());
        assert!(compile(json!(3), ExprMode::Loose).is_constant());
    }

    #[test]
    fn partially_constant_subtrees_are_prebuilt() {
        let t = compile(
            json!({"k": {"big": [1, 2, 3]}, "v": "${ . }"}),
            ExprMode::Strict,
        );
        assert!(!t.is_constant());
        let root = &*t.0;
        let Node::Object(entries) = root else {
            panic!("root should be an object node")
        };
        assert!(matches!(entries.first(), Some((_, Node::Const(_)))));
        assert_eq!(
            eval(&t, json!(5)),
            Ok(json!({"k": {"big": [1, 2, 3]}, "v": 5}))
        );
    }

    #[test]
    fn compile_errors_carry_pointer_and_range_in_the_string() {
        let v = json!({"a": [0, {"b/c": "  ${ .x + $nope }"}], "ok": "${ . }", "bad": "${ (.a }"});
        let errs = match Template::compile(&v, ExprMode::Strict, &["input"]) {
            Ok(_) => panic!("should fail"),
            Err(errs) => errs,
        };
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].0, "/a/1/b~1c");
        assert_eq!(errs[0].1.message, "undefined variable `$nope`");
        assert_eq!(&"  ${ .x + $nope }"[errs[0].1.range.clone()], "$nope");
        assert_eq!(errs[1].0, "/bad");
        assert_eq!(&"${ (.a }"[errs[1].1.range.clone()], "(");
    }

    #[test]
    fn root_string_error_has_empty_pointer() {
        let errs = Template::compile(&json!("${ nope }"), ExprMode::Strict, &[])
            .err()
            .unwrap_or_default();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "");
    }

    #[test]
    fn runtime_errors_propagate() {
        let t = compile(json!({"x": ["${ error(\"bad\") }"]}), ExprMode::Strict);
        assert_eq!(
            eval(&t, json!(null)).map_err(|e| e.message),
            Err("bad".to_owned())
        );
    }
}

/// Micro-benchmarks of the `for` benchmark's hot path (one `set` per item). Timings are the best of
/// several rounds, since the machine is shared. Run with
/// `cargo test --release --lib expr::template::bench -- --ignored --nocapture`.
#[cfg(test)]
mod bench {
    use super::*;
    use std::time::{Duration, Instant};

    const VARS: [&str; 10] = [
        "context",
        "input",
        "secrets",
        "task",
        "workflow",
        "runtime",
        "authorization",
        "item",
        "index",
        "error",
    ];

    fn best_of(rounds: usize, mut f: impl FnMut() -> Duration) -> Duration {
        (0..rounds).map(|_| f()).min().unwrap_or_default()
    }

    #[test]
    #[ignore]
    fn set_template_per_item() {
        let n = 100_000u32;
        let compile = best_of(20, || {
            let started = Instant::now();
            let _ = Expr::compile(".total + $item", &VARS);
            started.elapsed()
        });
        let compile_map = best_of(20, || {
            let started = Instant::now();
            let _ = Expr::compile("[.items[] | select(.ok)] | map(.v) | add", &VARS);
            started.elapsed()
        });
        let Ok(expr) = Expr::compile(".total + $item", &VARS) else {
            panic!("compile failed")
        };
        let template = Template::compile(
            &serde_json::json!({"total": "${ .total + $item }"}),
            ExprMode::Strict,
            &VARS,
        );
        let Ok(template) = template else {
            panic!("compile failed")
        };
        let mut values: Vec<Val> = vec![Val::Null; VARS.len()];
        values[0] = from_json(&serde_json::json!({"big": (0..1000).collect::<Vec<_>>()}));
        let input = from_json(&serde_json::json!({"total": 0}));
        let expr_eval = best_of(5, || {
            let started = Instant::now();
            for i in 0..n {
                values[7] = Val::from(i as isize);
                let _ = expr.eval(input.clone(), &values);
            }
            started.elapsed() / n
        });
        let mut state = input.clone();
        let template_eval = best_of(5, || {
            state = input.clone();
            let started = Instant::now();
            for i in 0..n {
                values[7] = Val::from(i as isize);
                state = template.eval(state.clone(), &values).unwrap_or(Val::Null);
            }
            started.elapsed() / n
        });
        println!(
            "compile `.total + $item`: {compile:?}; compile a map/select/add pipeline: {compile_map:?}"
        );
        println!(
            "Expr::eval: {expr_eval:?} per item; Template::eval (object + expression): {template_eval:?} per item"
        );
        assert_eq!(
            super::super::to_json(&state),
            serde_json::json!({"total": 4_999_950_000_i64})
        );
    }
}
