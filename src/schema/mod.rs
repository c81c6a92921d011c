//! The schema stage: our JSON Schema of DSL 1.0.3 and the check that explains its findings.

mod check;
mod dedupe;
mod introspect;
mod place;
mod problem;
mod render;
mod validator;

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod test_yaml;

pub use check::check;
pub(crate) use dedupe::likely;
pub use validator::{SCHEMA_TEXT, prepare};
