//! What is wrong with an OpenAPI document or one of its operations, worded for the person who
//! wrote the workflow (it becomes the detail of a `configuration` error when the call runs).

/// A problem found in the document.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Problem(pub(crate) String);

impl std::ops::Deref for Problem {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Problem {
    fn from(text: &str) -> Self {
        Problem(text.to_owned())
    }
}

/// A [`Problem`] from `format!` arguments.
macro_rules! problem {
    ($($argument:tt)*) => {
        $crate::openapi::problem::Problem(format!($($argument)*))
    };
}
pub(crate) use problem;
