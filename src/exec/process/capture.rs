//! Reading a child's output stream with a size cap, and decoding what was kept into text.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Size of one read from a pipe: large enough that megabytes of output take few system calls.
const CHUNK: usize = 64 * 1024;

/// The bytes kept from one stream and how many were dropped past the cap.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    pub(crate) kept: Vec<u8>,
    pub(crate) omitted: u64,
}

/// Reads `reader` to its end, keeping at most `cap` bytes. Bytes past the cap are still read and
/// thrown away, so a chatty child never blocks on a full pipe while we wait for it to exit.
pub(crate) async fn read_capped<R>(reader: Option<R>, cap: usize) -> std::io::Result<Captured>
where
    R: AsyncRead + Unpin,
{
    let mut captured = Captured::default();
    let Some(mut reader) = reader else {
        return Ok(captured);
    };
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let read = match reader.read(&mut chunk).await {
            Ok(0) => return Ok(captured),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let data = chunk.get(..read).unwrap_or_default();
        let room = cap.saturating_sub(captured.kept.len());
        let (keep, drop) = data.split_at(room.min(data.len()));
        captured.kept.extend_from_slice(keep);
        captured.omitted += drop.len() as u64;
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

    #[tokio::test]
    async fn keeps_everything_under_the_cap() {
        let captured = read_capped(Some(&b"hello"[..]), 10).await.unwrap();
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
        let captured = read_capped(Some(&data[..]), 100).await.unwrap();
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
        let captured = read_capped::<&[u8]>(None, 10).await.unwrap();
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

    #[test]
    fn invalid_utf8_from_the_child_is_replaced() {
        let captured = Captured {
            kept: vec![b'a', 0xff, b'b'],
            omitted: 0,
        };
        assert_eq!(captured.into_text(10), "a\u{FFFD}b");
    }
}
