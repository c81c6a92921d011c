//! Secrets (decision 9): loading the declared secrets' values from `--secrets` files and the
//! environment, the missing-secret check, and the redaction of their values from everything a
//! run shows or writes.

mod active;
mod dotenv;
mod load;
mod missing;
mod redact;
mod shown;
mod sink;

pub use active::{install, provided_values, shorten, take_from_environment};
pub use load::{ENV_PREFIX, Secrets, SecretsError, env_name, load};
pub use missing::require_declared;
pub use redact::{MASK, MIN_SECRET_CHARS, Redactor};
pub use sink::RedactingSink;
