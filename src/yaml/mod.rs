//! The YAML/JSON loader: text → `serde_json::Value` plus a JSON pointer → source span index.

mod errors;
mod loader;
mod offsets;
mod scalar;
mod spans;

pub use loader::{Loaded, load};
pub use spans::{SpanIndex, locate_all};
