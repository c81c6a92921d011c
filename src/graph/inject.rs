//! `--inject`: replaces what sits between the workflow-graph markers of a Markdown file with a
//! fenced Mermaid block, so a README's picture stays current. Pure text in, text out; the
//! command writes the file.

/// Opens the region `--inject` rewrites.
pub const START_MARKER: &str = "<!-- workflow-graph:start -->";
/// Closes the region `--inject` rewrites.
pub const END_MARKER: &str = "<!-- workflow-graph:end -->";

/// Why the markers of a file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    #[error("the file has no `{START_MARKER}` marker")]
    MissingStart,
    #[error("the file has no `{END_MARKER}` marker")]
    MissingEnd,
    #[error("`{END_MARKER}` comes before `{START_MARKER}`")]
    OutOfOrder,
    #[error("the marker `{marker}` appears {count} times; it must appear once")]
    Repeated { marker: &'static str, count: usize },
}

/// `text` with the content between the markers replaced by a ```` ```mermaid ```` block holding
/// `mermaid`. The markers and everything outside them are kept byte for byte, so running it
/// twice gives the same file. The file's line ending (`\n` or `\r\n`) is kept.
pub fn inject(text: &str, mermaid: &str) -> Result<String, InjectError> {
    let start = find_once(text, START_MARKER)?.ok_or(InjectError::MissingStart)?;
    let end = find_once(text, END_MARKER)?.ok_or(InjectError::MissingEnd)?;
    if end < start {
        return Err(InjectError::OutOfOrder);
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let head = &text[..start + START_MARKER.len()];
    let tail = &text[end..];
    let mut out = String::with_capacity(text.len() + mermaid.len() + 32);
    out.push_str(head);
    out.push_str(newline);
    out.push_str("```mermaid");
    out.push_str(newline);
    for line in mermaid.lines() {
        out.push_str(line);
        out.push_str(newline);
    }
    out.push_str("```");
    out.push_str(newline);
    out.push_str(tail);
    Ok(out)
}

/// Where `marker` starts, if it appears; an error if it appears more than once.
fn find_once(text: &str, marker: &'static str) -> Result<Option<usize>, InjectError> {
    let count = text.matches(marker).count();
    if count > 1 {
        return Err(InjectError::Repeated { marker, count });
    }
    Ok(text.find(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAPH: &str = "flowchart TD\n    a --> b\n";

    #[test]
    fn replaces_the_region_and_keeps_the_rest() {
        let readme = format!("# Title\n\n{START_MARKER}\nold picture\n{END_MARKER}\n\nMore.\n");
        let once = inject(&readme, GRAPH).expect("markers present");
        assert_eq!(
            once,
            format!(
                "# Title\n\n{START_MARKER}\n```mermaid\nflowchart TD\n    a --> b\n```\n\
                 {END_MARKER}\n\nMore.\n"
            )
        );
        assert_eq!(inject(&once, GRAPH), Ok(once.clone()), "idempotent");
    }

    #[test]
    fn markers_on_one_line_and_crlf_files_work() {
        let readme = format!("x\r\n{START_MARKER}{END_MARKER}\r\n");
        let out = inject(&readme, GRAPH).expect("markers present");
        assert_eq!(
            out,
            format!(
                "x\r\n{START_MARKER}\r\n```mermaid\r\nflowchart TD\r\n    a --> b\r\n```\r\n\
                 {END_MARKER}\r\n"
            )
        );
    }

    #[test]
    fn missing_misordered_and_repeated_markers_are_errors() {
        assert_eq!(inject(END_MARKER, GRAPH), Err(InjectError::MissingStart));
        assert_eq!(inject(START_MARKER, GRAPH), Err(InjectError::MissingEnd));
        assert_eq!(
            inject(&format!("{END_MARKER}\n{START_MARKER}"), GRAPH),
            Err(InjectError::OutOfOrder)
        );
        assert_eq!(
            inject(&format!("{START_MARKER}{START_MARKER}{END_MARKER}"), GRAPH),
            Err(InjectError::Repeated {
                marker: START_MARKER,
                count: 2
            })
        );
    }
}
