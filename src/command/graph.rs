//! `workflow graph FILE`: checks and compiles the document as `validate` does, then prints its
//! picture, or writes it into a Markdown file between the workflow-graph markers (`--inject`).

use super::error::CommandError;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{ColorChoice, GraphArgs, GraphDirection, GraphFormat};
use crate::exit_code::ExitCode;
use crate::frontend;
use crate::graph::{self, Direction, Format};
use crate::report::diagnostics::{self, FileReport, HumanStyle};

pub fn run(
    args: &GraphArgs,
    color: ColorChoice,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    if args.inject.is_some() && args.format == GraphFormat::Dot {
        let _ = writeln!(
            stderr,
            "error: --inject writes a mermaid block; drop --format dot"
        );
        return ExitCode::Usage;
    }
    // Compiled only to refuse what `validate` and `run` refuse: the picture is drawn from the
    // document, so a document `run` cannot run is not drawn as if it could.
    let (checked, machine) = frontend::check_and_compile(&args.file);
    let (Some(document), Some(machine)) = (checked.valid_document(), machine) else {
        let report = FileReport {
            path: args.file.display().to_string(),
            source: checked.source.clone(),
            diagnostics: checked.diagnostics.clone(),
        };
        let style = HumanStyle::for_stderr(color);
        // A closed stderr cannot be reported anywhere; the exit code still tells.
        let _ = diagnostics::write_human(std::slice::from_ref(&report), style, stderr);
        return ExitCode::Invalid;
    };
    let format = match args.format {
        GraphFormat::Mermaid => Format::Mermaid,
        GraphFormat::Dot => Format::Dot,
    };
    let direction = match args.direction {
        GraphDirection::Td => Direction::TopDown,
        GraphDirection::Lr => Direction::LeftRight,
    };
    let text = match &args.run {
        None => graph::render(document, machine.targets(), format, direction),
        Some(run) => match super::graph_run::states(args, run, document, stderr) {
            Ok(states) => {
                graph::render_run(document, machine.targets(), format, direction, &states)
            }
            Err(message) => {
                let _ = writeln!(stderr, "error: {message}");
                return ExitCode::Usage;
            }
        },
    };
    match &args.inject {
        None => {
            let _ = stdout.write_all(text.as_bytes());
            ExitCode::Success
        }
        Some(target) => match inject_into(target, &text) {
            Ok(()) => ExitCode::Success,
            Err(message) => {
                let _ = writeln!(stderr, "error: {message}");
                ExitCode::Usage
            }
        },
    }
}

/// Rewrites the marked region of `target`. The new text goes to a temporary file beside it
/// that is then renamed over it, so a reader never sees half a file; an unchanged file is not
/// touched at all.
fn inject_into(target: &Path, mermaid: &str) -> Result<(), CommandError> {
    let old = std::fs::read_to_string(target).map_err(|source| CommandError::Read {
        path: target.to_path_buf(),
        source,
    })?;
    let new = graph::inject(&old, mermaid).map_err(|source| CommandError::Inject {
        path: target.to_path_buf(),
        source,
    })?;
    if new == old {
        return Ok(());
    }
    let temporary = temporary_path(target);
    let written = std::fs::write(&temporary, new.as_bytes())
        .and_then(|()| {
            let permissions = std::fs::metadata(target)?.permissions();
            std::fs::set_permissions(&temporary, permissions)
        })
        .and_then(|()| std::fs::rename(&temporary, target));
    written.map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        CommandError::Write {
            path: target.to_path_buf(),
            source,
        }
    })
}

/// `dir/.README.md.workflow-graph-<pid>.tmp`: same directory, so the rename stays atomic.
fn temporary_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "target".into());
    let file = format!(".{name}.workflow-graph-{}.tmp", std::process::id());
    match target.parent() {
        Some(dir) => dir.join(file),
        None => PathBuf::from(file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(file: &Path, format: GraphFormat, inject: Option<PathBuf>) -> GraphArgs {
        GraphArgs {
            file: file.to_path_buf(),
            format,
            direction: GraphDirection::Lr,
            inject,
            run: None,
            state: Default::default(),
        }
    }

    fn run_to_strings(args: &GraphArgs) -> (ExitCode, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(args, ColorChoice::Never, &mut out, &mut err);
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        (code, text(out), text(err))
    }

    const HELLO: &str = "document: {dsl: '1.0.3', namespace: t, name: hello, version: '1.0.0'}\n\
                         do:\n  - greet:\n      set: {message: hi}\n";

    #[test]
    fn prints_the_graph_of_a_valid_document() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("hello.yaml");
        std::fs::write(&file, HELLO).expect("write");
        let (code, out, err) = run_to_strings(&args(&file, GraphFormat::Mermaid, None));
        assert_eq!(code, ExitCode::Success, "{err}");
        assert!(out.contains("flowchart LR\n"), "{out}");
        assert!(out.contains("t_do_0_greet(\"greet<br/>set\")"), "{out}");
        assert_eq!(err, "");
        let (code, out, _) = run_to_strings(&args(&file, GraphFormat::Dot, None));
        assert_eq!(code, ExitCode::Success);
        assert!(out.starts_with("digraph workflow {"), "{out}");
    }

    #[test]
    fn an_invalid_document_is_reported_like_validate_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("bad.yaml");
        std::fs::write(&file, "document: {dsl: '1.0.3'}\n").expect("write");
        let (code, out, err) = run_to_strings(&args(&file, GraphFormat::Mermaid, None));
        assert_eq!(code, ExitCode::Invalid);
        assert_eq!(out, "");
        assert!(err.contains("missing the required property `do`"), "{err}");
        assert!(err.contains("1 invalid"), "{err}");
    }

    #[test]
    fn inject_writes_the_file_and_prints_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("hello.yaml");
        std::fs::write(&file, HELLO).expect("write");
        let readme = dir.path().join("README.md");
        let markers = format!("{}\n{}\n", graph::START_MARKER, graph::END_MARKER);
        std::fs::write(&readme, &markers).expect("write");
        let (code, out, err) =
            run_to_strings(&args(&file, GraphFormat::Mermaid, Some(readme.clone())));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (ExitCode::Success, "", "")
        );
        let written = std::fs::read_to_string(&readme).expect("read");
        assert!(written.contains("```mermaid\n---\n"), "{written}");
        assert!(written.contains("greet<br/>set"), "{written}");

        let (code, _, err) = run_to_strings(&args(&file, GraphFormat::Dot, Some(readme)));
        assert_eq!(code, ExitCode::Usage);
        assert!(err.contains("--inject"), "{err}");
    }

    #[test]
    fn temporary_files_sit_beside_the_target() {
        let path = temporary_path(Path::new("docs/README.md"));
        assert_eq!(path.parent(), Some(Path::new("docs")));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(
            name.as_deref()
                .is_some_and(|n| n.starts_with(".README.md.workflow-graph-") && n.ends_with(".tmp")),
            "{path:?}"
        );
    }

    #[test]
    fn inject_into_rewrites_only_the_region() {
        let dir = tempfile::tempdir().expect("temp dir");
        let readme = dir.path().join("README.md");
        let before = format!(
            "# Doc\n{}\nold\n{}\ntail\n",
            graph::START_MARKER,
            graph::END_MARKER
        );
        std::fs::write(&readme, &before).expect("write");
        inject_into(&readme, "flowchart TD\n    a --> b\n").expect("inject");
        let after = std::fs::read_to_string(&readme).expect("read");
        assert_eq!(
            after,
            format!(
                "# Doc\n{}\n```mermaid\nflowchart TD\n    a --> b\n```\n{}\ntail\n",
                graph::START_MARKER,
                graph::END_MARKER
            )
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn inject_into_reports_missing_markers_and_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let readme = dir.path().join("README.md");
        std::fs::write(&readme, "no markers\n").expect("write");
        let error = inject_into(&readme, "x")
            .expect_err("no markers")
            .to_string();
        assert!(error.contains("workflow-graph:start"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&readme).ok().as_deref(),
            Some("no markers\n")
        );
        let missing = inject_into(&dir.path().join("absent.md"), "x")
            .expect_err("absent")
            .to_string();
        assert!(missing.starts_with("cannot read"), "{missing}");
    }
}
