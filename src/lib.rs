pub mod diagnostic;
pub mod exit_code;
pub mod pointer;
pub mod report;
pub mod source;
