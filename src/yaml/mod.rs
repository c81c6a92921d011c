//! The YAML/JSON loader: text → `serde_json::Value` plus a JSON pointer → source span index.

// The stage contract returns `Diagnostic` by value; a failed load returns exactly one, once, so
// its size on the error path costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

mod anchors;
mod entries;
mod errors;
mod loader;
mod offsets;
mod scalar;
mod spans;

pub use loader::{Loaded, load};
pub use spans::{SpanIndex, locate_all};
