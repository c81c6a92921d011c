//! Making a line a task printed safe to draw: terminal escape sequences (colours, cursor moves,
//! `ESC[2J` screen clears, OSC titles and links), carriage returns and every other non-printing
//! character are removed or escaped, so task output can neither garble a live view nor hide
//! text in a log. Only what the child produced goes through here; our own styling does not.

/// Replaces a control character that is not part of an escape sequence.
const REPLACEMENT: char = '\u{FFFD}';

/// The line as a terminal would leave it, without any control: a `\r` (a progress bar drawing
/// over itself) keeps only the text after the last one that is followed by something, escape
/// sequences are dropped whole, a tab becomes a space, and any other control character (C0,
/// DEL, C1, bidirectional overrides) becomes U+FFFD.
pub(crate) fn printable(line: &str) -> String {
    let visible = line
        .rsplit('\r')
        .find(|segment| !segment.trim().is_empty())
        .unwrap_or("");
    let mut out = String::with_capacity(visible.len());
    let mut chars = visible.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // A C1 control introducing a sequence: CSI, OSC, DCS, SOS, PM, APC.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => out.push(' '),
            c if is_unsafe(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    out
}

/// [`printable`] line by line, keeping the newlines: for multi-line text a task produced (the
/// stderr tail in a failed process's error).
pub(crate) fn printable_lines(text: &str) -> String {
    if is_printable(text.replace('\n', " ").as_str()) {
        return text.to_string();
    }
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `text` needs [`printable`] at all (most lines do not: the common case is a copy).
pub(crate) fn is_printable(text: &str) -> bool {
    !text.chars().any(|c| c == '\t' || c == '\r' || is_unsafe(c))
}

/// A character a terminal would not draw as itself: controls, and the bidirectional formatting
/// characters that can make text read differently from what it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After an ESC: the rest of the sequence it starts (ECMA-48).
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // nF sequences (`ESC ( B`, charset selection): intermediates, then one final byte.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next();
        }
        // Two-character sequences (`ESC c` resets the terminal, `ESC 7` saves the cursor).
        _ => {}
    }
}

/// A control sequence: parameter and intermediate bytes, then one final byte.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            // Not a valid sequence: stop at the stray character (it is dropped with it).
            return;
        }
    }
}

/// A control string (OSC, DCS, ...): up to BEL or the string terminator `ESC \`.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(printable("hello, wörld → ok"), "hello, wörld → ok");
        assert!(is_printable("hello, wörld → ok"));
    }

    #[test]
    fn colours_and_screen_clears_are_dropped() {
        assert_eq!(printable("\u{1b}[2J\u{1b}[H\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(printable("\u{1b}[?25l\u{1b}[38;5;208mx\u{1b}[m"), "x");
        assert_eq!(printable("\u{9b}31mc1\u{9b}0m"), "c1");
        assert!(!is_printable("\u{1b}[2J"));
    }

    #[test]
    fn osc_titles_and_links_are_dropped_keeping_the_link_text() {
        assert_eq!(printable("\u{1b}]0;pwned\u{7}title"), "title");
        assert_eq!(
            printable("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
            "link"
        );
        assert_eq!(printable("\u{1b}(Bcharset\u{1b}c"), "charset");
    }

    #[test]
    fn a_progress_bar_keeps_its_last_state() {
        assert_eq!(printable("10%\r50%\r100%"), "100%");
        assert_eq!(printable("done\r"), "done");
        assert_eq!(printable("\r"), "");
    }

    #[test]
    fn other_controls_are_replaced_and_tabs_are_spaces() {
        assert_eq!(printable("a\tb\u{7}c\u{8}d"), "a b\u{FFFD}c\u{FFFD}d");
        assert_eq!(printable("x\u{202e}y"), "x\u{FFFD}y");
        assert_eq!(printable("cut\u{1b}["), "cut");
    }
}
