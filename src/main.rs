//! The `workflow` binary: everything lives in the library; this only maps the result to an exit code.

fn main() -> std::process::ExitCode {
    // First, while the process has one thread: no child may inherit a secret variable.
    workflow::secrets::take_from_environment();
    workflow::run(std::env::args_os()).into()
}
