//! The stored form of events: each commit appends one `event_batches` row whose `events` column
//! is a JSON array of the batch's events, each itself an array:
//!
//! `[seq, id, scope, kind, task, step, time, data, blob, parent]` — the sequence number, the
//! CloudEvent id as 32 hex digits, `"workflow"` or `"task"`, the kind (`"started"`...), the task's
//! number in `tasks` (or null), the step name (or null), the time in microseconds since the Unix
//! epoch, the payload object (or null), the hash of a payload stored in `blobs` (or null) and the
//! number in `tasks` of the task it runs inside (the engine's `LifecycleEvent::parent`). The last
//! is left out when there is none (and in journals written before it existed).
//!
//! One row per batch rather than per event: a long loop records hundreds of thousands of
//! events, and SQLite's work per row was most of the journal's cost. The `events` view turns
//! the arrays back into one row per event for people using the `sqlite3` tool.

use serde::Deserialize;
use serde_json::Value;

use super::row::EventRow;

/// Appends `row`, as event `seq` of task number `task` inside task number `parent`, to the batch
/// text `out`, which starts with `[` (the caller closes it with `]`).
pub(crate) fn encode(
    out: &mut String,
    seq: i64,
    row: &EventRow,
    task: Option<i64>,
    parent: Option<i64>,
) {
    // Written by hand: the formatting machinery was a good part of the writer's time.
    if !out.ends_with('[') {
        out.push(',');
    }
    out.push('[');
    push_int(out, seq);
    out.push_str(",\"");
    out.push_str(
        row.id
            .simple()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    out.push_str("\",\"");
    out.push_str(row.scope);
    out.push_str("\",\"");
    out.push_str(row.kind);
    out.push_str("\",");
    match task {
        Some(number) => push_int(out, number),
        None => out.push_str("null"),
    }
    out.push(',');
    match &row.step {
        Some(step) => out.push_str(&Value::from(step.as_ref()).to_string()),
        None => out.push_str("null"),
    }
    out.push(',');
    push_int(out, row.time);
    out.push(',');
    out.push_str(row.data.as_deref().unwrap_or("null"));
    match &row.blob {
        Some((hash, _)) => {
            out.push_str(",\"");
            out.push_str(hash);
            out.push('"');
        }
        None => out.push_str(",null"),
    }
    if let Some(parent) = parent {
        out.push(',');
        push_int(out, parent);
    }
    out.push(']');
}

/// Appends the decimal digits of `value`.
fn push_int(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    let mut rest = value.unsigned_abs();
    // 20 digits hold any u64.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        start -= 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or("0"));
}

/// One event as read back from a batch.
#[derive(Debug, Deserialize, PartialEq)]
pub(crate) struct Encoded(
    pub i64,
    pub String,
    pub String,
    pub String,
    pub Option<i64>,
    pub Option<String>,
    pub i64,
    pub Option<Value>,
    pub Option<String>,
    /// The parent task's number; absent from events without one.
    #[serde(default)]
    pub Option<i64>,
);

impl Encoded {
    /// The CloudEvent id in its usual form (lowercase, hyphenated).
    pub fn id(&self) -> String {
        match uuid::Uuid::try_parse(&self.1) {
            Ok(uuid) => uuid.hyphenated().to_string(),
            Err(_) => self.1.clone(),
        }
    }
}

/// The events of one batch's text.
pub(crate) fn decode(text: &str) -> Result<Vec<Encoded>, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn row(step: Option<&str>, data: Option<&str>, blob: Option<&str>) -> EventRow {
        EventRow {
            id: uuid::Uuid::from_u128(0x0195_d1c2_a4de_7662_a0af_0b46_18e3_5628),
            scope: "task",
            kind: "completed",
            task: Some(Arc::from("/do/0/a")),
            step: step.map(Arc::from),
            parent: None,
            time: 1_790_000_000_123_456,
            data: data.map(str::to_string),
            blob: blob.map(|hash| (hash.to_string(), "{}".to_string())),
            end: None,
        }
    }

    #[test]
    fn integers_are_written_in_decimal() {
        for value in [0, 7, 10, -3, 1_790_000_000_123_456, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_int(&mut out, value);
            assert_eq!(out, value.to_string());
        }
    }

    #[test]
    fn events_round_trip_through_the_batch_text() {
        let mut text = String::from("[");
        encode(
            &mut text,
            7,
            &row(None, Some(r#"{"output":{"n":1}}"#), None),
            Some(3),
            None,
        );
        encode(
            &mut text,
            8,
            &row(Some("/do/0/a[\"x\"]"), None, Some("ab12")),
            Some(4),
            Some(2),
        );
        text.push(']');
        assert_eq!(
            text.split("],[").next(),
            Some(
                r#"[[7,"0195d1c2a4de7662a0af0b4618e35628","task","completed",3,null,1790000000123456,{"output":{"n":1}},null"#
            )
        );
        let events = decode(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id(), "0195d1c2-a4de-7662-a0af-0b4618e35628");
        assert_eq!(events[0].7, Some(serde_json::json!({"output": {"n": 1}})));
        assert_eq!(events[1].5.as_deref(), Some("/do/0/a[\"x\"]"));
        assert_eq!(
            (events[1].4, events[1].8.as_deref()),
            (Some(4), Some("ab12"))
        );
        // The parent is written only when there is one.
        assert_eq!((events[0].9, events[1].9), (None, Some(2)));
        assert!(text.ends_with(r#""ab12",2]]"#), "{text}");
    }
}
