//! Reading a child's output stream with a size cap, and decoding what was kept into text. A
//! reader may also tap the stream for logs and live views: every line goes to a
//! [`LineObserver`] as soon as it is complete.

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::exec::{LineObserver, OutputStream};

/// Size of one read from a pipe: large enough that megabytes of output take few system calls.
const CHUNK: usize = 64 * 1024;
/// Bytes of one line passed to the observer at most: a longer line (a child printing without
/// newlines) is passed on in pieces of this size, so the buffer never grows without bound.
pub(crate) const LINE_CAP: usize = 16 * 1024;

/// The bytes kept from one stream and how many were dropped past the cap.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    pub(crate) kept: Vec<u8>,
    pub(crate) omitted: u64,
}

/// Reads `reader` to its end, keeping at most `cap` bytes. Bytes past the cap are still read and
/// thrown away, so a chatty child never blocks on a full pipe while we wait for it to exit.
/// With `observer`, every line is reported as it arrives (see [`LineTap`]), past the cap too:
/// the cap bounds the task's result, not its log.
pub(crate) async fn read_capped<R>(
    reader: Option<R>,
    cap: usize,
    observer: Option<(LineObserver, OutputStream)>,
) -> std::io::Result<Captured>
where
    R: AsyncRead + Unpin,
{
    let mut captured = Captured::default();
    let Some(mut reader) = reader else {
        return Ok(captured);
    };
    let mut tap = observer.map(|(observer, stream)| LineTap::new(observer, stream));
    // Filled through `read_buf`, which writes into spare capacity: a zeroed buffer would cost a
    // 64 KiB memset per stream, per process, for the few bytes most commands print.
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        let read = match reader.read_buf(&mut chunk).await {
            Ok(0) => {
                if let Some(tap) = tap.as_mut() {
                    tap.finish();
                }
                return Ok(captured);
            }
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let data = chunk.get(..read).unwrap_or_default();
        if let Some(tap) = tap.as_mut() {
            tap.feed(data);
        }
        let room = cap.saturating_sub(captured.kept.len());
        let (keep, drop) = data.split_at(room.min(data.len()));
        captured.kept.extend_from_slice(keep);
        captured.omitted += drop.len() as u64;
    }
}

/// Cuts one stream into lines for an observer: each complete line (without its `\n`, and
/// without the `\r` of a `\r\n`) is passed on at once; a line is complete at its newline, when
/// it reaches [`LINE_CAP`] bytes, or when the stream ends.
struct LineTap {
    observer: LineObserver,
    stream: OutputStream,
    /// The line being written (bytes after the last newline), under [`LINE_CAP`].
    partial: Vec<u8>,
}

impl LineTap {
    fn new(observer: LineObserver, stream: OutputStream) -> LineTap {
        LineTap {
            observer,
            stream,
            partial: Vec::new(),
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = LINE_CAP - self.partial.len();
            let window = data.get(..room.min(data.len())).unwrap_or_default();
            match window.iter().position(|&byte| byte == b'\n') {
                Some(end) => {
                    let line = window.get(..end).unwrap_or_default();
                    if self.partial.is_empty() {
                        self.deliver(line);
                    } else {
                        self.partial.extend_from_slice(line);
                        let whole = std::mem::take(&mut self.partial);
                        self.deliver(&whole);
                        self.partial = whole;
                        self.partial.clear();
                    }
                    data = data.get(end + 1..).unwrap_or_default();
                }
                None => {
                    self.partial.extend_from_slice(window);
                    data = data.get(window.len()..).unwrap_or_default();
                    if self.partial.len() >= LINE_CAP {
                        let whole = std::mem::take(&mut self.partial);
                        self.deliver(&whole);
                        self.partial = whole;
                        self.partial.clear();
                    }
                }
            }
        }
    }

    fn deliver(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match std::str::from_utf8(line) {
            Ok(text) => self.observer.call(self.stream, text),
            Err(_) => self
                .observer
                .call(self.stream, &String::from_utf8_lossy(line)),
        }
    }

    /// The stream ended: its last line, even unterminated, is delivered now.
    fn finish(&mut self) {
        if !self.partial.is_empty() {
            let whole = std::mem::take(&mut self.partial);
            self.deliver(&whole);
        }
    }
}

impl Captured {
    /// The kept bytes as text (invalid UTF-8 replaced), with a trailing note when the cap (`cap`
    /// bytes) cut the stream. A multi-byte character split by the cap is dropped whole rather than
    /// shown as a replacement character, since the split is ours and not the child's.
    pub(crate) fn into_text(self, cap: usize) -> String {
        let Captured {
            mut kept,
            mut omitted,
        } = self;
        if omitted == 0 {
            return String::from_utf8_lossy(&kept).into_owned();
        }
        if let Err(error) = std::str::from_utf8(&kept) {
            // `error_len() == None` means the bytes end in the middle of a character.
            if error.error_len().is_none() {
                let valid = error.valid_up_to();
                omitted += (kept.len() - valid) as u64;
                kept.truncate(valid);
            }
        }
        let mut text = String::from_utf8_lossy(&kept).into_owned();
        text.push_str(&format!(
            "\n[output truncated at {cap} bytes: {omitted} more bytes not kept]"
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn keeps_everything_under_the_cap() {
        let captured = read_capped(Some(&b"hello"[..]), 10, None).await.unwrap();
        assert_eq!(
            captured,
            Captured {
                kept: b"hello".to_vec(),
                omitted: 0
            }
        );
        assert_eq!(captured.into_text(10), "hello");
    }

    #[tokio::test]
    async fn reads_past_the_cap_and_counts_what_it_drops() {
        let data = vec![b'x'; 3 * CHUNK + 17];
        let captured = read_capped(Some(&data[..]), 100, None).await.unwrap();
        assert_eq!(captured.kept.len(), 100);
        assert_eq!(captured.omitted, (3 * CHUNK + 17 - 100) as u64);
        let text = captured.into_text(100);
        let note = format!(
            "\n[output truncated at 100 bytes: {} more bytes not kept]",
            3 * CHUNK + 17 - 100
        );
        assert_eq!(text, format!("{}{note}", "x".repeat(100)));
    }

    #[tokio::test]
    async fn no_stream_is_empty_output() {
        let captured = read_capped::<&[u8]>(None, 10, None).await.unwrap();
        assert_eq!(captured.into_text(10), "");
    }

    #[test]
    fn a_character_split_by_the_cap_is_dropped_whole() {
        // "é" is two bytes; a cap of 3 keeps "é" and half of the next one.
        let captured = Captured {
            kept: "éé".as_bytes()[..3].to_vec(),
            omitted: 1,
        };
        let text = captured.into_text(3);
        assert_eq!(
            text,
            "é\n[output truncated at 3 bytes: 2 more bytes not kept]"
        );
        assert!(!text.contains('\u{FFFD}'));
    }

    fn collecting() -> (LineObserver, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let observer = LineObserver::new(move |stream, line| {
            if let Ok(mut seen) = sink.lock() {
                seen.push(match stream {
                    OutputStream::Stdout => line.to_string(),
                    OutputStream::Stderr => format!("err:{line}"),
                    OutputStream::Warning => format!("warning:{line}"),
                });
            }
        });
        (observer, seen)
    }

    fn seen(lines: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
        lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    #[test]
    fn the_tap_reports_every_line_in_order() {
        let (observer, lines) = collecting();
        let mut tap = LineTap::new(observer, OutputStream::Stdout);
        // Split across chunks, with a blank line and a carriage return.
        tap.feed(b"first pa");
        assert!(seen(&lines).is_empty(), "no line is complete yet");
        tap.feed(b"rt\r\nsecond\n\nthi");
        assert_eq!(seen(&lines), ["first part", "second", ""]);
        tap.feed(b"rd\nfourth\n");
        tap.feed(b"unterminated");
        tap.finish();
        assert_eq!(
            seen(&lines),
            [
                "first part",
                "second",
                "",
                "third",
                "fourth",
                "unterminated"
            ]
        );
    }

    #[tokio::test]
    async fn the_tap_does_not_change_what_is_captured() {
        let (observer, lines) = collecting();
        let data = b"one\ntwo\nthree";
        let captured = read_capped(Some(&data[..]), 8, Some((observer, OutputStream::Stderr)))
            .await
            .unwrap();
        assert_eq!(captured.kept, b"one\ntwo\n".to_vec());
        assert_eq!(captured.omitted, 5);
        // Lines past the capture's cap still reach the log.
        assert_eq!(seen(&lines), ["err:one", "err:two", "err:three"]);
    }

    #[test]
    fn a_line_without_newlines_comes_in_pieces() {
        let (observer, lines) = collecting();
        let mut tap = LineTap::new(observer, OutputStream::Stdout);
        tap.feed(&vec![b'x'; 2 * LINE_CAP + 5]);
        tap.feed(b"\n");
        assert_eq!(
            seen(&lines),
            ["x".repeat(LINE_CAP), "x".repeat(LINE_CAP), "x".repeat(5)]
        );
    }

    #[test]
    fn invalid_utf8_in_a_line_is_replaced() {
        let (observer, lines) = collecting();
        let mut tap = LineTap::new(observer, OutputStream::Stdout);
        tap.feed(b"a\xffb\n");
        assert_eq!(seen(&lines), ["a\u{FFFD}b"]);
    }

    #[test]
    fn invalid_utf8_from_the_child_is_replaced() {
        let captured = Captured {
            kept: vec![b'a', 0xff, b'b'],
            omitted: 0,
        };
        assert_eq!(captured.into_text(10), "a\u{FFFD}b");
    }
}
