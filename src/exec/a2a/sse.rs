//! Server-Sent Events, as far as an A2A stream needs them: the `data` of each event, in order
//! (multi-line data joined with `\n`; comments, `event`, `id` and `retry` fields ignored).

/// The data of every event in `text`, a complete event stream.
pub(super) fn events(text: &str) -> Vec<String> {
    let mut events = Vec::new();
    let mut data: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            events.extend(data.take());
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut data {
                Some(joined) => {
                    joined.push('\n');
                    joined.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
    }
    // A stream cut without its final blank line still delivered its last event.
    events.extend(data);
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_fields_make_events() {
        let text = ": ping\r\nevent: message\r\ndata: {\"a\":1}\r\n\r\ndata: x\ndata:y\nid: 3\n\ndata: last";
        assert_eq!(events(text), ["{\"a\":1}", "x\ny", "last"]);
        assert!(events("").is_empty());
        assert!(events(": only a comment\n\n").is_empty());
    }
}
