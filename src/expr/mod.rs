//! Runtime expressions: jq compiled once with jaq, run many times on `Val` data.
//!
//! - `Expr`: one compiled filter plus the names of the global variables it may see.
//! - `Template`: a JSON value whose strings may be `${ }` expressions (strict or loose mode).
//! - `to_json` / `from_json`: the conversions at the engine's edges.
//! - The builtin library is jaq's plus the jq 1.7 builtins jaq lacks (`prelude`, `natives`).
//!
//! jq programs run on `Jv`, a zero-cost wrapper of `jaq_json::Val` that restores jq 1.7 behaviour
//! where jaq differs: updates through `null` (`.a.b = 1` on `{}`), array padding (`.[3] = 1`),
//! number printing (`"\(6 / 2)"` is `"3"`), `del` of several paths, `walk`, `join`, `pick`,
//! `from_entries`, `ltrimstr`/`rtrimstr`, `todate` (whole seconds).
//!
//! Remaining differences: `$__prog_args`, `getpath/2` (not a jq builtin either), `?//` and the
//! module system do not exist; `input`/`inputs` see no input; `$__loc__` gives the line of its
//! first mention; `halt`/`halt_error` are evaluation errors; `fromdate` also accepts fractional
//! seconds. Object keys keep insertion order, as in jq (`keys` sorts).

mod compile;
mod depth;
mod diagnose;
mod formats;
mod guard;
mod jv;
mod library;
mod natives;
mod prelude;
#[cfg(test)]
mod spec_tests;
mod template;
#[cfg(test)]
mod test_util;
mod update;
mod value;

pub use compile::{EvalError, Expr};
pub use depth::MAX_DEPTH;
pub use diagnose::CompileError;
pub use guard::{DEFAULT_MEMORY_CAP, Stop, set_interrupt_check, set_memory_cap};
pub use jaq_json::Val;
pub use library::prepare;
pub use template::{ExprMode, Template, strip_expression};
pub use value::{from_json, to_json};
pub(crate) use value::{obj, string};
