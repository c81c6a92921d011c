//! The stdio transport's server process: started through the process executor (own process
//! group, killed on timeout and cancel), its stdout and stdin handed to the SDK as the
//! transport, its stderr read line by line: each line told to live views, the last ones kept
//! for the error detail when the call fails.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::unix::pipe;

use crate::exec::process::{ServerProcess, SystemProcesses};
use crate::host::effects::process::LineObserver;
use crate::problem::{ErrorKind, WorkflowError};

/// How many of the server's last stderr lines an error shows.
const STDERR_LINES: usize = 10;
/// Longest stderr line kept (a server dumping a blob must not fill our memory).
const STDERR_LINE_CAP: usize = 2000;

/// The last lines a server wrote to stderr.
#[derive(Clone, Default)]
pub(super) struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, mut line: String) {
        if line.len() > STDERR_LINE_CAP {
            let mut cut = STDERR_LINE_CAP;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        let mut lines = match self.0.lock() {
            Ok(lines) => lines,
            Err(poisoned) => poisoned.into_inner(),
        };
        if lines.len() == STDERR_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// `error` with the server's last stderr lines added to its detail.
    pub(super) fn explain(&self, mut error: WorkflowError) -> WorkflowError {
        let lines = match self.0.lock() {
            Ok(lines) => lines.iter().cloned().collect::<Vec<_>>(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        };
        if lines.is_empty() {
            return error;
        }
        let tail = format!("the server's stderr ends with:\n{}", lines.join("\n"));
        error.detail = Some(match error.detail.take() {
            Some(detail) => format!("{detail}\n{tail}"),
            None => tail,
        });
        error
    }
}

/// A started server: the transport halves for the SDK, the process and its stderr tail.
pub(super) struct Started {
    pub(super) transport: (Box<dyn tokio::io::AsyncRead + Send + Unpin>, pipe::Sender),
    pub(super) process: ServerProcess,
    pub(super) stderr: StderrTail,
    /// The task reading stderr: done once every process holding the pipe is gone.
    pub(super) reader: Option<tokio::task::JoinHandle<()>>,
}

pub(super) fn start(
    processes: &SystemProcesses,
    command: &str,
    arguments: &[String],
    environment: &[(String, String)],
    on_line: Option<LineObserver>,
) -> Result<Started, WorkflowError> {
    let mut process = processes.start_server(command, arguments, environment)?;
    let lost = || {
        WorkflowError::new(ErrorKind::Runtime, "Could not start the server")
            .with_detail(format!("`{command}`: its pipes were not opened"))
    };
    let stdin = process.stdin.take().ok_or_else(lost)?;
    let stdout = process.stdout.take().ok_or_else(lost)?;
    let stderr = StderrTail::default();
    let mut reader = None;
    if let Some(stream) = process.stderr.take() {
        let tail = stderr.clone();
        // Ends when the pipe closes, which the end of the process group guarantees.
        reader = Some(tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(observer) = &on_line {
                    observer.call(crate::host::effects::process::OutputStream::Stderr, &line);
                }
                tail.push(line);
            }
        }));
    }
    Ok(Started {
        transport: (stdout, stdin),
        process,
        stderr,
        reader,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_lines_and_cuts_long_ones() {
        let tail = StderrTail::default();
        for i in 0..15 {
            tail.push(format!("line {i}"));
        }
        tail.push("x".repeat(5000));
        let error = tail.explain(WorkflowError::new(ErrorKind::Runtime, "t").with_detail("d"));
        let detail = error.detail.unwrap_or_default();
        assert!(
            detail.starts_with("d\nthe server's stderr ends with:\nline 6\n"),
            "{detail}"
        );
        assert!(!detail.contains("line 5\n"));
        assert!(detail.ends_with('…') && detail.len() < 2200 + 100);
    }
}
