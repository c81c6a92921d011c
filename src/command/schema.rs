//! `workflow schema`: prints the embedded JSON Schema so editors and other tools can use it.

use std::io::Write;

use crate::exit_code::ExitCode;

pub fn run(stdout: &mut dyn Write) -> ExitCode {
    match writeln!(stdout, "{}", crate::schema::SCHEMA_TEXT.trim_end()) {
        Ok(()) => ExitCode::Success,
        // A closed pipe (`workflow schema | head`) is not worth an error message.
        Err(_) => ExitCode::Success,
    }
}
