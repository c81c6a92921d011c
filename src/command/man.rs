//! `workflow man`: the man page, generated from the CLI definition (roff on stdout).

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit_code::ExitCode;

pub fn run(stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let page = clap_mangen::Man::new(Cli::command());
    let mut roff = Vec::new();
    if let Err(error) = page.render(&mut roff) {
        let _ = writeln!(stderr, "error: cannot render the man page: {error}");
        return ExitCode::Faulted;
    }
    // A closed pipe (`workflow man | head`) is not worth an error message.
    let _ = stdout.write_all(&roff);
    ExitCode::Success
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_is_roff_naming_every_subcommand() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&mut out, &mut err), ExitCode::Success);
        let page = String::from_utf8(out).expect("utf-8 roff");
        assert!(page.contains(".TH workflow 1"), "{page}");
        for subcommand in ["validate", "schema", "completions", "man"] {
            assert!(
                page.contains(subcommand),
                "{subcommand} missing from {page}"
            );
        }
        assert!(err.is_empty());
    }
}
