//! Reading an external resource (an OpenAPI document, a custom function's `function.yaml`, a
//! script's `source`), one rule for every use: `locate` turns what the document wrote into a URL
//! (a path relative to the document's directory, a `file://` URI, or an http(s) URL), `fetch`
//! reads its text (a file from disk, a URL with a GET through the run's HTTP client and its
//! authentication). Text only, capped in size; every failure names the location.

mod locate;
mod read;

pub(crate) use locate::{is_remote, locate};
pub(crate) use read::fetch;
