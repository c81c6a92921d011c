//! Reading a child's output stream with a size cap, and decoding what was kept into text. A
//! reader may also tap the stream for live views: the latest complete line goes to a
//! [`LineObserver`], throttled so a chatty child cannot flood the engine.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use crate::exec::LineObserver;

/// Size of one read from a pipe: large enough that megabytes of output take few system calls.
const CHUNK: usize = 64 * 1024;
/// Least time between two observer calls for one stream: with stdout and stderr, at most
/// twenty calls a second per process.
const LINE_INTERVAL: Duration = Duration::from_millis(100);
/// Bytes of one line kept for the observer; a view shows far less, and a child printing without
/// newlines must not grow the buffer without bound.
const LINE_CAP: usize = 1024;

/// The bytes kept from one stream and how many were dropped past the cap.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    pub(crate) kept: Vec<u8>,
    pub(crate) omitted: u64,
}

/// Reads `reader` to its end, keeping at most `cap` bytes. Bytes past the cap are still read and
/// thrown away, so a chatty child never blocks on a full pipe while we wait for it to exit.
/// With `observer`, the latest complete line is reported as it arrives (see [`LineTap`]).
pub(crate) async fn read_capped<R>(
    reader: Option<R>,
    cap: usize,
    observer: Option<LineObserver>,
) -> std::io::Result<Captured>
where
    R: AsyncRead + Unpin,
{
    let mut captured = Captured::default();
    let Some(mut reader) = reader else {
        return Ok(captured);
    };
    let mut tap = observer.map(LineTap::new);
    // Filled through `read_buf`, which writes into spare capacity: a zeroed buffer would cost a
    // 64 KiB memset per stream, per process, for the few bytes most commands print.
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        // A line held back by the throttle is delivered when its turn comes, even if the child
        // prints nothing more: reading is cancel-safe, so the read may be cut short for it.
        let due = tap.as_ref().and_then(LineTap::due);
        let result = match due {
            Some(due) => match tokio::time::timeout_at(due, reader.read_buf(&mut chunk)).await {
                Ok(result) => result,
                Err(_) => {
                    if let Some(tap) = tap.as_mut() {
                        tap.deliver(Instant::now());
                    }
                    continue;
                }
            },
            None => reader.read_buf(&mut chunk).await,
        };
        let read = match result {
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
            tap.feed(data, Instant::now());
        }
        let room = cap.saturating_sub(captured.kept.len());
        let (keep, drop) = data.split_at(room.min(data.len()));
        captured.kept.extend_from_slice(keep);
        captured.omitted += drop.len() as u64;
    }
}

/// Follows one stream's lines for an observer: only the latest complete, non-blank line matters,
/// and it is passed on at most once per [`LINE_INTERVAL`]; a newer line replaces one waiting.
struct LineTap {
    observer: LineObserver,
    /// The line being written (bytes after the last newline), up to [`LINE_CAP`].
    partial: Vec<u8>,
    /// The latest complete line not yet delivered.
    pending: Option<String>,
    last_call: Option<Instant>,
}

impl LineTap {
    fn new(observer: LineObserver) -> LineTap {
        LineTap {
            observer,
            partial: Vec::new(),
            pending: None,
            last_call: None,
        }
    }

    fn feed(&mut self, data: &[u8], now: Instant) {
        let Some(end) = data.iter().rposition(|&byte| byte == b'\n') else {
            append_capped(&mut self.partial, data);
            return;
        };
        let complete = data.get(..end).unwrap_or_default();
        // The last non-blank line: wholly in this chunk if one follows a newline here, else the
        // continuation of the line begun in earlier chunks.
        let within = complete
            .iter()
            .position(|&byte| byte == b'\n')
            .and_then(|first| complete.get(first + 1..))
            .and_then(|rest| rest.rsplit(|&byte| byte == b'\n').find(|l| !is_blank(l)));
        match within {
            Some(line) => {
                self.partial.clear();
                append_capped(&mut self.partial, line);
            }
            None => {
                let first = complete.split(|&byte| byte == b'\n').next();
                append_capped(&mut self.partial, first.unwrap_or_default());
            }
        }
        self.take_partial();
        append_capped(&mut self.partial, data.get(end + 1..).unwrap_or_default());
        let ready = self
            .last_call
            .is_none_or(|last| now >= last + LINE_INTERVAL);
        if ready {
            self.deliver(now);
        }
    }

    /// Moves the line in `partial` to `pending`, unless it is blank.
    fn take_partial(&mut self) {
        if !is_blank(&self.partial) {
            let text = String::from_utf8_lossy(&self.partial);
            self.pending = Some(text.trim_end_matches('\r').to_string());
        }
        self.partial.clear();
    }

    /// When the waiting line may be delivered; `None` when no line waits.
    fn due(&self) -> Option<Instant> {
        self.pending.as_ref()?;
        Some(match self.last_call {
            Some(last) => last + LINE_INTERVAL,
            None => Instant::now(),
        })
    }

    fn deliver(&mut self, now: Instant) {
        if let Some(line) = self.pending.take() {
            self.observer.call(&line);
            self.last_call = Some(now);
        }
    }

    /// The stream ended: its last line, even unterminated, is delivered now.
    fn finish(&mut self) {
        if !self.partial.is_empty() {
            self.take_partial();
        }
        self.deliver(Instant::now());
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn append_capped(buffer: &mut Vec<u8>, data: &[u8]) {
    let room = LINE_CAP.saturating_sub(buffer.len());
    buffer.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
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
        let observer = LineObserver::new(move |line| {
            if let Ok(mut seen) = sink.lock() {
                seen.push(line.to_string());
            }
        });
        (observer, seen)
    }

    fn seen(lines: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
        lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    #[tokio::test(start_paused = true)]
    async fn the_tap_reports_the_latest_line_throttled() {
        let (observer, lines) = collecting();
        let mut tap = LineTap::new(observer);
        let start = Instant::now();
        // Split across chunks, with a blank line and a carriage return.
        tap.feed(b"first pa", start);
        tap.feed(b"rt\r\nsecond\n\nthi", start);
        assert_eq!(seen(&lines), ["second"], "the latest complete line at once");
        tap.feed(b"rd\nfourth\n", start + Duration::from_millis(10));
        assert_eq!(seen(&lines), ["second"], "held back by the throttle");
        assert_eq!(tap.due(), Some(start + LINE_INTERVAL));
        tap.feed(b"fifth\n", start + LINE_INTERVAL);
        assert_eq!(
            seen(&lines),
            ["second", "fifth"],
            "the newest replaced the waiting"
        );
        tap.feed(b"a\nb\nunterminated", start + Duration::from_millis(150));
        tap.finish();
        assert_eq!(seen(&lines), ["second", "fifth", "unterminated"]);
    }

    #[tokio::test]
    async fn the_tap_does_not_change_what_is_captured() {
        let (observer, lines) = collecting();
        let data = b"one\ntwo\nthree";
        let captured = read_capped(Some(&data[..]), 8, Some(observer))
            .await
            .unwrap();
        assert_eq!(captured.kept, b"one\ntwo\n".to_vec());
        assert_eq!(captured.omitted, 5);
        // One chunk: the last complete line at once, the unterminated one at the end.
        assert_eq!(seen(&lines), ["two", "three"]);
    }

    #[test]
    fn a_line_without_newlines_is_capped() {
        let (observer, lines) = collecting();
        let mut tap = LineTap::new(observer);
        let now = Instant::now();
        tap.feed(&vec![b'x'; 3 * LINE_CAP], now);
        tap.feed(b"\n", now);
        assert_eq!(seen(&lines), ["x".repeat(LINE_CAP)]);
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
