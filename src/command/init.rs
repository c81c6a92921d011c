//! `workflow init [FILE]`: writes a commented starter workflow that validates and runs offline,
//! for a first look at the DSL (`-` prints it on stdout instead).

use std::io::Write;
use std::path::Path;

use crate::cli::InitArgs;
use crate::exit_code::ExitCode;

/// The starter document: it must validate without a finding and run without a network.
pub(crate) const STARTER: &str = include_str!("init.yaml");

pub fn run(args: &InitArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let path = args.file.as_path();
    if path == Path::new("-") {
        let _ = stdout.write_all(STARTER.as_bytes());
        return ExitCode::Success;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    // Never replace a file by accident: `--force` says the user means it.
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let written = options
        .open(path)
        .and_then(|mut file| file.write_all(STARTER.as_bytes()));
    let shown = path.display();
    match written {
        Ok(()) => {
            let _ = writeln!(
                stderr,
                "wrote {shown}: a starter workflow. Next: `workflow validate {shown}`, then \
                 `workflow run {shown}`"
            );
            ExitCode::Success
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = writeln!(
                stderr,
                "error: {shown} already exists; choose another name or add --force to replace it"
            );
            ExitCode::Usage
        }
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot write {shown}: {error}");
            ExitCode::Usage
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    #[test]
    fn the_starter_validates_without_a_finding() {
        let mut checked = crate::frontend::check_source(Source::new("workflow.yaml", STARTER));
        let machine = checked.compile();
        assert!(machine.is_some(), "{:#?}", checked.diagnostics);
        assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("flow.yaml");
        std::fs::write(&file, "mine").unwrap_or_else(|e| panic!("{e}"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args = InitArgs {
            file: file.clone(),
            force: false,
        };
        assert_eq!(run(&args, &mut out, &mut err), ExitCode::Usage);
        assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("mine"));
        let forced = InitArgs {
            file: file.clone(),
            force: true,
        };
        assert_eq!(run(&forced, &mut out, &mut err), ExitCode::Success);
        assert_eq!(
            std::fs::read_to_string(&file).ok().as_deref(),
            Some(STARTER)
        );
    }
}
