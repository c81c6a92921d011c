//! `workflow man`: the man page, generated from the CLI definition (roff on stdout): the
//! top-level page, then every subcommand with its arguments and options, then the exit codes.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit_code::ExitCode;

/// The exit codes, as the EXIT STATUS section lists them (the numbers are the CLI contract).
const EXIT_CODES: [(ExitCode, &str); 5] = [
    (
        ExitCode::Success,
        "every document is valid, or the run completed",
    ),
    (ExitCode::Faulted, "the run started and faulted"),
    (
        ExitCode::Usage,
        "the command line was wrong (unknown flag, missing file, bad --input)",
    ),
    (
        ExitCode::Invalid,
        "a document is invalid (with --strict: has a warning); nothing ran",
    ),
    (
        ExitCode::Cancelled,
        "the run was cancelled (Ctrl-C, SIGTERM)",
    ),
];

pub fn run(stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    match render() {
        Ok(roff) => {
            // A closed pipe (`workflow man | head`) is not worth an error message.
            let _ = stdout.write_all(&roff);
            ExitCode::Success
        }
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot render the man page: {error}");
            ExitCode::Faulted
        }
    }
}

fn render() -> std::io::Result<Vec<u8>> {
    let mut command = Cli::command();
    command.build();
    let mut roff = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut roff)?;
    roff.extend_from_slice(b".SH \"COMMANDS IN DETAIL\"\n");
    for sub in command.get_subcommands() {
        subcommand(&mut roff, &format!("workflow {}", sub.get_name()), sub)?;
    }
    roff.extend_from_slice(b".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_CODES {
        roff.extend_from_slice(format!(".TP\n\\fB{}\\fR\n{meaning}\n", code.code()).as_bytes());
    }
    Ok(roff)
}

/// One subcommand as a subsection: its usage, its description, its arguments and options (the
/// options section clap_mangen renders, under the subsection's heading), then its own
/// subcommands.
fn subcommand(roff: &mut Vec<u8>, path: &str, command: &clap::Command) -> std::io::Result<()> {
    if command.is_hide_set() || command.get_name() == "help" {
        return Ok(());
    }
    roff.extend_from_slice(format!(".SS \"{path}\"\n").as_bytes());
    let about = command
        .get_long_about()
        .or(command.get_about())
        .map(ToString::to_string)
        .unwrap_or_default();
    if !about.is_empty() {
        roff.extend_from_slice(format!("{}\n.PP\n", escape(&about)).as_bytes());
    }
    let man = clap_mangen::Man::new(command.clone());
    let mut options = Vec::new();
    man.render_options_section(&mut options)?;
    let text = String::from_utf8_lossy(&options);
    // Drop the `.SH OPTIONS` heading (the subsection above names the command) and the quote
    // string definition clap_mangen opens each rendering with (the page defined it already).
    for line in text.lines().filter(|line| {
        !(line.starts_with(".SH") || line.starts_with(".ie ") || line.starts_with(".el "))
    }) {
        roff.extend_from_slice(line.as_bytes());
        roff.push(b'\n');
    }
    for sub in command.get_subcommands() {
        subcommand(roff, &format!("{path} {}", sub.get_name()), sub)?;
    }
    Ok(())
}

/// Text made safe for roff: a backslash doubled, a leading `.` or `'` protected.
fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\\\");
            if line.starts_with(['.', '\'']) {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
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
        for subcommand in ["validate", "schema", "completions", "man", "init"] {
            assert!(
                page.contains(&format!(".SS \"workflow {subcommand}\"")),
                "{subcommand} missing from {page}"
            );
        }
        assert!(page.contains(".SS \"workflow runs show\""), "{page}");
        // One OPTIONS section (the top level's): the commands' options are under their names.
        assert_eq!(page.matches(".SH OPTIONS").count(), 1, "{page}");
        assert!(err.is_empty());
    }

    #[test]
    fn options_of_subcommands_and_exit_codes_are_listed() {
        let page = String::from_utf8(render().expect("renders")).expect("utf-8");
        for option in [
            "strict",
            "dry\\-run",
            "input",
            "junit",
            "older\\-than",
            "all",
        ] {
            assert!(
                page.contains(&format!("\\-\\-{option}")),
                "--{option} missing"
            );
        }
        let exit = page.split(".SH \"EXIT STATUS\"").nth(1).unwrap_or_default();
        for code in ["0", "1", "2", "3", "130"] {
            assert!(exit.contains(&format!("\\fB{code}\\fR")), "{code}: {exit}");
        }
    }
}
