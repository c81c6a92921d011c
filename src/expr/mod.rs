//! Runtime expressions: jq compiled once with jaq, run many times on `Val` data.
//!
//! - `Expr`: one compiled filter plus the names of the global variables it may see.
//! - `Template`: a JSON value whose strings may be `${ }` expressions (strict or loose mode).
//! - `to_json` / `from_json`: the conversions at the engine's edges.
//! - The builtin library is jaq's plus the jq 1.7 builtins jaq lacks (`prelude`, `natives`).
//!
//! Known differences from jq 1.7 that come from jaq: a computed float with an integral value is
//! written `3.0` by `tostring`/`tojson`/string interpolation (jq writes `3`; `to_json` does write
//! `3`); object keys keep insertion order (`keys` still sorts, like jq); `getpath/2`, `$__prog_args`,
//! `input_line_number` and `?//` do not exist; `$__loc__` gives the line of its first mention.

mod compile;
mod diagnose;
mod natives;
mod prelude;
mod template;
mod value;

pub use compile::{EvalError, Expr};
pub use diagnose::CompileError;
pub use jaq_json::Val;
pub use template::{ExprMode, Template, strip_expression};
pub use value::{from_json, to_json};
