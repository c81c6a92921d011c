//! The schema stage: our JSON Schema of DSL 1.0.3 and the check that explains its findings.

mod validator;

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod test_yaml;

pub use validator::SCHEMA_TEXT;

/// Placeholder until the translator lands.
pub fn check(_document: &serde_json::Value) -> Vec<crate::diagnostic::Diagnostic> {
    Vec::new()
}
