//! `workflow run FILE`: the arguments turned into a checked run configuration (the
//! `--workflows` directories exist, the input is read), handed to the runner.

use std::io::Write;

use crate::cli::{ColorChoice, RunArgs};
use crate::exit_code::ExitCode;
use crate::runner::{self, Journaling, RunConfig};

pub fn run(
    args: &RunArgs,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    if let Some(code) = super::temporal::run(args, color, stdout, stderr) {
        return code;
    }
    let journal = if args.no_journal {
        Journaling::Off
    } else {
        Journaling::On
    };
    let config = match RunConfig::new(args.file.clone(), args.exec.clone(), journal) {
        Ok(config) => config,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    let input = match runner::read_input(args.input.as_deref()) {
        Ok(input) => input,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    let config = config
        .with_input(input, args.input.is_some())
        .dry_run(args.dry_run);
    runner::run(config, color, stdout, stderr)
}
