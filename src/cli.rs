//! The command line, as clap sees it. Raw arguments only: each `command/` file turns its part into
//! checked settings and wires the stages together.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "workflow",
    version,
    about = "Validate, run and draw Serverless Workflow DSL 1.0 documents",
    propagate_version = true
)]
pub struct Cli {
    /// When to use colour: `auto` colours only a terminal and respects NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check documents (files, or directories searched for *.yaml, *.yml, *.json) and report every
    /// problem found, with its line and column.
    Validate(ValidateArgs),
    /// Print the embedded JSON Schema of the DSL (for editors and other tools).
    Schema,
    /// Print a shell completion script, e.g. `workflow completions bash > ~/.local/share/bash-completion/completions/workflow`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, e.g. `workflow man > workflow.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files or directories to check.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format: `human` diagnostics on stderr, one `json` document on stdout, or `github`
    /// Actions annotations on stdout.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    pub format: ValidateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Human,
    Json,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream, given whether it is a terminal. `NO_COLOR` (any non-empty value)
    /// turns colour off in `auto` mode.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        }
    }
}
