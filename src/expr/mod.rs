//! Runtime expressions: jq compiled once with jaq, run many times on `Val` data.
//!
//! - `Expr`: one compiled filter plus the names of the global variables it may see.
//! - `Template`: a JSON value whose strings may be `${ }` expressions (strict or loose mode).
//! - `to_json` / `from_json`: the conversions at the engine's edges.
//! - The builtin library is jaq's plus the jq 1.7 builtins jaq lacks (`prelude`, `natives`).
//!
//! jq programs run on `Jv`, a zero-cost wrapper of `jaq_json::Val` that restores jq 1.7 behaviour
//! where jaq differs (updates through `null`, array padding, number printing). Remaining
//! differences: object keys keep insertion order (`keys` still sorts, like jq); `$__prog_args`,
//! `input_line_number`, `getpath/2` (not a jq builtin either) and `?//` do not exist;
//! `$__loc__` gives the line of its first mention; `ltrimstr`/`rtrimstr` with a non-string
//! argument are errors (jq returns the input).

mod compile;
mod diagnose;
mod formats;
mod jv;
mod library;
mod natives;
mod prelude;
#[cfg(test)]
mod spec_tests;
mod template;
mod update;
mod value;

pub use compile::{EvalError, Expr};
pub use diagnose::CompileError;
pub use jaq_json::Val;
pub use template::{ExprMode, Template, strip_expression};
pub use value::{from_json, to_json};
