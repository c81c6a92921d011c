//! A child's standard input: a pipe filled as far as it holds before the child starts, the rest
//! written from a task of its own.
//!
//! Why fill first: scripts commonly read stdin in one synchronous call (the spec's JavaScript
//! example does `readFileSync(process.stdin.fd)`), and node puts a pipe in non-blocking mode, so
//! a read that finds the pipe empty before we wrote fails with EAGAIN. Input that fits the pipe
//! buffer (64 KiB on Linux) is therefore complete, and the pipe closed, before the child runs.

use std::io::{ErrorKind, PipeWriter, Write};
use std::os::fd::{AsRawFd, OwnedFd};

/// What is left to write once the child has started.
pub(crate) struct StdinFeed {
    rest: Option<(PipeWriter, Vec<u8>)>,
}

/// The child's stdin for `input` (`/dev/null` without input) and the feed to start after spawn.
/// The returned descriptor is the pipe's read end: drop it right after spawning, or a writer
/// blocked on a child that exited would never see a broken pipe.
pub(crate) fn prepare(input: Option<&str>) -> std::io::Result<(OwnedFd, StdinFeed)> {
    let Some(input) = input else {
        let null = std::fs::File::open("/dev/null")?;
        return Ok((null.into(), StdinFeed { rest: None }));
    };
    let (reader, mut writer) = std::io::pipe()?;
    set_nonblocking(&writer, true)?;
    let bytes = input.as_bytes();
    let mut written = 0;
    while written < bytes.len() {
        match writer.write(bytes.get(written..).unwrap_or_default()) {
            Ok(count) => written += count,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) if error.kind() == ErrorKind::WouldBlock => break,
            Err(error) => return Err(error),
        }
    }
    if written == bytes.len() {
        // Closing now: the child reads the whole input and then end of file.
        drop(writer);
        return Ok((reader.into(), StdinFeed { rest: None }));
    }
    set_nonblocking(&writer, false)?;
    let rest = bytes.get(written..).unwrap_or_default().to_vec();
    Ok((
        reader.into(),
        StdinFeed {
            rest: Some((writer, rest)),
        },
    ))
}

impl StdinFeed {
    /// Writes what did not fit in the pipe, on a blocking thread, so a child that reads slowly or
    /// never cannot stall the run. Dropping the writer at the end closes the child's input.
    pub(crate) fn start(self) {
        let Some((mut writer, rest)) = self.rest else {
            return;
        };
        tokio::task::spawn_blocking(move || {
            // BrokenPipe means the child exited or closed stdin early: its choice, not our error.
            let _ = writer.write_all(&rest);
        });
    }
}

fn set_nonblocking(writer: &PipeWriter, on: bool) -> std::io::Result<()> {
    let fd = writer.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with flag arguments only; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_input_is_written_whole_before_the_child_starts() {
        let (_stdin, feed) = prepare(Some("hello")).unwrap();
        assert!(feed.rest.is_none());
    }

    #[test]
    fn input_larger_than_the_pipe_leaves_a_rest_for_the_feed() {
        let input = "x".repeat(8 * 1024 * 1024);
        let (_stdin, feed) = prepare(Some(&input)).unwrap();
        let (_, rest) = feed.rest.unwrap();
        assert!(
            !rest.is_empty() && rest.len() < input.len(),
            "rest of {} bytes",
            rest.len()
        );
    }

    #[test]
    fn no_input_needs_no_feed() {
        let (_stdin, feed) = prepare(None).unwrap();
        assert!(feed.rest.is_none());
    }
}
