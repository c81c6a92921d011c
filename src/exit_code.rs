//! The process exit codes every command shares; tests and CI scripts depend on these numbers.

/// Exit status of a `workflow` invocation. The numbers are part of the CLI contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Everything valid, or the run completed.
    Success = 0,
    /// The run started and faulted.
    Faulted = 1,
    /// The command line was wrong (unknown flag, missing file argument, bad `--input`).
    Usage = 2,
    /// At least one document is invalid (load, schema or semantic error): nothing ran.
    Invalid = 3,
    /// The run was cancelled (Ctrl-C / SIGTERM).
    Cancelled = 130,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
