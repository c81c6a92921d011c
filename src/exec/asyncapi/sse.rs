//! Incremental readers of the streamed bodies an HTTP subscription accepts: Server-Sent Events
//! (the WHATWG event-stream format: `data`, `id`, `event`, `retry` fields, a blank line ends an
//! event) and newline-delimited JSON (one message per non-empty line). Bytes arrive in chunks
//! cut anywhere; a line is read only once its end arrived.

/// One event of an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SseEvent {
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// This event's `id` field, if it had one.
    pub id: Option<String>,
    /// Its `event` field (the event type), if it had one.
    pub event: Option<String>,
}

/// Splits chunks into complete lines (without their `\n` or `\r\n`).
#[derive(Debug, Default)]
pub(super) struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(end) = memchr::memchr(b'\n', &self.pending) {
            let mut line: Vec<u8> = self.pending.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            lines.push(String::from_utf8_lossy(&line).into_owned());
        }
        lines
    }
}

/// The state of an event stream being read.
#[derive(Debug, Default)]
pub(super) struct SseReader {
    lines: Lines,
    data: Vec<String>,
    id: Option<String>,
    event: Option<String>,
    /// The last `id` the stream gave: sent back as `Last-Event-ID` when polling again.
    pub last_id: Option<String>,
    /// The server's `retry` (milliseconds before reconnecting).
    pub retry: Option<u64>,
}

impl SseReader {
    /// The events this chunk completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for line in self.lines.push(chunk) {
            if line.is_empty() {
                let id = self.id.take();
                let event = self.event.take();
                // An event without data is not dispatched (it may still have set the id).
                if !self.data.is_empty() {
                    events.push(SseEvent {
                        data: std::mem::take(&mut self.data).join("\n"),
                        id,
                        event,
                    });
                }
                continue;
            }
            if line.starts_with(':') {
                continue; // a comment (often a keep-alive)
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_str(), ""),
            };
            match field {
                "data" => self.data.push(value.to_owned()),
                "event" => self.event = Some(value.to_owned()),
                "id" if !value.contains('\0') => {
                    self.id = Some(value.to_owned());
                    self.last_id = Some(value.to_owned());
                }
                "retry" => {
                    if let Ok(millis) = value.parse() {
                        self.retry = Some(millis);
                    }
                }
                _ => {}
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_across_chunks() {
        let mut reader = SseReader::default();
        assert!(
            reader
                .push(b": keep-alive\n\nid: 7\nevent: reading\nda")
                .is_empty()
        );
        let events = reader.push(b"ta: {\"a\":1}\r\ndata:2\n\nretry: 500\ndata: x\n\n");
        assert_eq!(
            events,
            vec![
                SseEvent {
                    data: "{\"a\":1}\n2".into(),
                    id: Some("7".into()),
                    event: Some("reading".into())
                },
                SseEvent {
                    data: "x".into(),
                    id: None,
                    event: None
                }
            ]
        );
        assert_eq!(reader.last_id.as_deref(), Some("7"));
        assert_eq!(reader.retry, Some(500));
    }

    #[test]
    fn lines_wait_for_their_end() {
        let mut lines = Lines::default();
        assert!(lines.push(b"{\"a\":").is_empty());
        assert_eq!(lines.push(b"1}\n\n{}\n"), vec!["{\"a\":1}", "", "{}"]);
    }
}
