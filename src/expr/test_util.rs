//! Test helpers for the builtin tests: compile a jq program and run it on a JSON value.

use serde_json::Value;

use super::{Expr, from_json, to_json};

/// The program's result on `input`; panics (failing the test) on a compile or runtime error.
pub(super) fn run(code: &str, input: Value) -> Value {
    let expr = Expr::compile(code, &[]).unwrap_or_else(|e| panic!("{code}: {e:?}"));
    let out = expr.eval(from_json(&input), &[]);
    to_json(&out.unwrap_or_else(|e| panic!("{code}: {}", e.message)))
}

/// The runtime error message of a program that must fail on `input`.
pub(super) fn fails(code: &str, input: Value) -> String {
    let expr = Expr::compile(code, &[]).unwrap_or_else(|e| panic!("{code}: {e:?}"));
    match expr.eval(from_json(&input), &[]) {
        Ok(v) => panic!("{code} should fail, gave {}", to_json(&v)),
        Err(e) => e.message,
    }
}
