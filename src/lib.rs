//! workflow: validate, run and draw Serverless Workflow DSL 1.0 documents.
//!
//! The crate is shaped like a compiler (see the README's architecture section): source → YAML with
//! spans → schema check → typed document → analysis → compiled machine → engine / graph, with
//! reporters consuming the engine's event stream.

pub mod analyze;
pub mod cli;
pub mod command;
pub mod compile;
pub mod diagnostic;
pub mod document;
pub mod exec;
pub mod exit_code;
pub mod expr;
pub mod frontend;
pub mod graph;
pub mod host;
pub mod journal;
pub mod loader;
pub(crate) mod openapi;
pub mod parse;
pub mod pointer;
pub mod problem;
pub mod report;
pub mod runner;
pub mod runtime;
pub mod schema;
pub mod secrets;
pub mod serve;
pub mod source;
#[cfg(feature = "temporal")]
pub mod temporal;
pub mod yaml;

#[cfg(test)]
mod test_support;

use crate::cli::{Cli, Command};
use crate::exit_code::ExitCode;
use clap::Parser;
use std::ffi::OsString;

/// Runs the `workflow` command line with the given arguments (including the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
        }
    };
    if matches!(
        cli.command,
        Command::Validate(_)
            | Command::Run(_)
            | Command::Graph(_)
            | Command::Resume(_)
            | Command::Retry(_)
            | Command::Serve(_)
    ) {
        frontend::prepare_in_background();
    }
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    match &cli.command {
        Command::Validate(args) => {
            command::validate::run(args, cli.color, &mut stdout, &mut stderr)
        }
        Command::Run(args) => {
            // Not the locked handle: the live view and the plain lines write to stderr from
            // their own threads while the run goes on, and would wait on this lock forever.
            drop(stderr);
            command::run::run(args, cli.color, &mut stdout, &mut std::io::stderr())
        }
        Command::Schema => command::schema::run(&mut stdout),
        Command::Graph(args) => command::graph::run(args, cli.color, &mut stdout, &mut stderr),
        Command::Completions(args) => command::completions::run(args.shell, &mut stdout),
        Command::Man => command::man::run(&mut stdout, &mut stderr),
        Command::Init(args) => command::init::run(args, &mut stdout, &mut stderr),
        Command::Runs(args) => command::runs::run(args, &mut stdout, &mut stderr),
        // Not the locked stderr, as for `run`.
        Command::Resume(args) => {
            drop(stderr);
            command::resume::run(args, cli.color, &mut stdout, &mut std::io::stderr())
        }
        Command::Retry(args) => {
            drop(stderr);
            command::retry::run(args, cli.color, &mut stdout, &mut std::io::stderr())
        }
        Command::Events(args) => command::events::run(args, &mut stdout, &mut stderr),
        Command::Serve(args) => {
            drop(stderr);
            command::serve::run(args, &mut std::io::stderr())
        }
        Command::Worker(args) => command::temporal::worker(args, &mut stderr),
        Command::Cancel(args) => command::cancel::run(args, &mut stdout, &mut stderr),
        Command::Schedule(args) => command::temporal::schedule(args, &mut stdout, &mut stderr),
    }
}
