//! `workflow completions SHELL`: a completion script generated from the CLI definition, so it
//! can never drift from the real flags.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::exit_code::ExitCode;

pub fn run(shell: Shell, stdout: &mut dyn Write) -> ExitCode {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    // clap_complete writes straight to the stream; a closed pipe only loses the script.
    clap_complete::generate(shell, &mut command, name, stdout);
    ExitCode::Success
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        assert_eq!(run(shell, &mut out), ExitCode::Success);
        String::from_utf8(out).expect("utf-8 script")
    }

    #[test]
    fn scripts_know_the_subcommands_and_flags() {
        let bash = script(Shell::Bash);
        assert!(bash.contains("_workflow()"), "{bash}");
        assert!(bash.contains("validate") && bash.contains("--format"));
        let zsh = script(Shell::Zsh);
        assert!(zsh.starts_with("#compdef workflow"), "{zsh}");
        assert!(zsh.contains("completions"));
        let fish = script(Shell::Fish);
        assert!(fish.contains("complete -c workflow"), "{fish}");
        assert!(fish.contains("-l color"));
    }
}
