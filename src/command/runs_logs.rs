//! `workflow runs logs RUN_ID [TASK]`: what a recorded run's `run` tasks printed, from the
//! journal's `task_output` table, each line after its task's name path; `--follow` polls for new
//! lines until the run is over.

use super::error::CommandError;
use std::io::Write;
use std::time::Duration;

use crate::cli::RunsLogsArgs;
use crate::host::effects::process::OutputStream;
use crate::journal::{Journal, OutputLine, RunState};
use crate::report::{fmt, sanitize};

/// How often `--follow` looks for new lines.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

pub(crate) fn logs(
    journal: &Journal,
    args: &RunsLogsArgs,
    stdout: &mut dyn Write,
) -> Result<(), CommandError> {
    let run = journal.run(&args.run)?;
    let mut after = 0;
    let mut printed = 0usize;
    loop {
        // Whether the run was over before reading: then nothing can follow what is read.
        let over = !args.follow
            || journal
                .run(&run.id)
                .map(|run| run.state() != RunState::Running)
                .unwrap_or(true);
        let lines = journal.task_output(&run.id, after)?;
        let mut text = String::new();
        if let Some(last) = lines.last() {
            after = last.num;
        }
        printed += render(&lines, args, &mut text);
        if stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(()); // a closed stdout (`| head`) ends the listing
        }
        if over {
            break;
        }
        std::thread::sleep(FOLLOW_INTERVAL);
    }
    if printed == 0 && !args.follow {
        let _ = writeln!(stdout, "{}", nothing_printed(args, &run.id));
    }
    Ok(())
}

/// The lines `args` selects, written to `out`; how many.
pub(crate) fn render(lines: &[OutputLine], args: &RunsLogsArgs, out: &mut String) -> usize {
    let mut printed = 0;
    for line in lines {
        if args.task.as_deref().is_none_or(|task| selects(task, line)) {
            write_line(out, line, args.raw);
            printed += 1;
        }
    }
    printed
}

/// What is said when no line was selected.
pub(crate) fn nothing_printed(args: &RunsLogsArgs, run: &str) -> String {
    let what = match &args.task {
        Some(task) => format!("task `{task}` of run {run} printed nothing"),
        None => format!("no task of run {run} printed anything"),
    };
    format!("({what})")
}

/// The label a line is shown under: its execution's step name as a name path (`each[0]/say`),
/// after the sub-workflow's name when a sub-workflow printed it.
fn label(line: &OutputLine) -> String {
    let path = fmt::task_name_path(line.step.as_deref().unwrap_or(&line.task));
    match &line.workflow {
        Some(workflow) => format!("{workflow} {path}"),
        None => path,
    }
}

/// Whether `filter` names the line's task: its label, its step or pointer, or a parent of either
/// (`each` selects `each[0]/say`), a loop's iteration marks optional (`each/say`).
fn selects(filter: &str, line: &OutputLine) -> bool {
    let filter = filter.trim_end_matches('/');
    let label = label(line);
    let plain = fmt::task_name_path(&line.task);
    [label.as_str(), plain.as_str(), line.task.as_str()]
        .into_iter()
        .chain(line.step.as_deref())
        .any(|name| name == filter || name.starts_with(&format!("{filter}/")))
}

fn write_line(out: &mut String, line: &OutputLine, raw: bool) {
    out.push_str(&label(line));
    out.push_str(match line.stream {
        OutputStream::Stdout => " | ",
        OutputStream::Stderr => " stderr | ",
        OutputStream::Warning => " warning: ",
    });
    if raw || sanitize::is_printable(&line.line) {
        out.push_str(&line.line);
    } else {
        out.push_str(&sanitize::printable(&line.line));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(task: &str, step: Option<&str>) -> OutputLine {
        OutputLine {
            num: 1,
            workflow: None,
            task: task.into(),
            step: step.map(str::to_owned),
            stream: OutputStream::Stderr,
            time: chrono::DateTime::default(),
            line: "\u{1b}[31mred\u{1b}[0m".into(),
        }
    }

    #[test]
    fn lines_are_labelled_by_their_execution_and_sanitised_unless_raw() {
        let looped = line("/do/0/each/do/0/say", Some("/do/0/each[1]/do/0/say"));
        let mut text = String::new();
        write_line(&mut text, &looped, false);
        assert_eq!(text, "each[1]/say stderr | red\n");
        text.clear();
        write_line(&mut text, &looped, true);
        assert_eq!(text, "each[1]/say stderr | \u{1b}[31mred\u{1b}[0m\n");
    }

    #[test]
    fn a_task_is_selected_by_its_names_or_a_parent() {
        let looped = line("/do/0/each/do/0/say", Some("/do/0/each[1]/do/0/say"));
        for filter in [
            "each[1]/say",
            "each/say",
            "each",
            "each/",
            "/do/0/each/do/0/say",
        ] {
            assert!(selects(filter, &looped), "{filter}");
        }
        for filter in ["say", "each[0]/say", "eac"] {
            assert!(!selects(filter, &looped), "{filter}");
        }
    }
}
