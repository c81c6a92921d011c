//! Converting saphyr's character indices into byte offsets, in O(1) amortised per lookup.

/// One checkpoint every this many characters: a lookup walks at most this many characters.
const STRIDE: usize = 64;

/// Maps a 0-based character index of a text to its byte offset.
///
/// saphyr's markers count characters while our spans are byte ranges. For ASCII text the two are
/// equal and nothing is stored. Otherwise the byte offset of every `STRIDE`-th character is
/// recorded once (an eighth of the text's size in memory at most), so a lookup is one table read
/// plus a short walk: no scan from the start per node, which would make big documents quadratic.
pub(crate) struct CharOffsets<'t> {
    text: &'t str,
    /// Empty when the text is ASCII.
    checkpoints: Vec<usize>,
}

impl<'t> CharOffsets<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let checkpoints = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(STRIDE)
                .map(|(byte, _)| byte)
                .collect()
        };
        CharOffsets { text, checkpoints }
    }

    /// The byte offset of character `index`; the text's length for indices at or past its end.
    pub(crate) fn byte(&self, index: usize) -> usize {
        if self.checkpoints.is_empty() {
            return index.min(self.text.len());
        }
        let Some(&start) = self.checkpoints.get(index / STRIDE) else {
            return self.text.len();
        };
        let rest = self.text.get(start..).unwrap_or_default();
        rest.char_indices()
            .nth(index % STRIDE)
            .map_or(self.text.len(), |(byte, _)| start + byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_indices_are_bytes() {
        let offsets = CharOffsets::new("abc");
        assert_eq!(offsets.byte(0), 0);
        assert_eq!(offsets.byte(2), 2);
        assert_eq!(offsets.byte(3), 3);
        assert_eq!(offsets.byte(99), 3);
    }

    #[test]
    fn matches_a_naive_scan_on_multibyte_text() {
        // Mixed 1-, 2-, 3- and 4-byte characters, longer than several strides.
        let text: String = "aé€😀".repeat(100);
        let offsets = CharOffsets::new(&text);
        let naive: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        for (index, &byte) in naive.iter().enumerate() {
            assert_eq!(offsets.byte(index), byte, "char {index}");
        }
        assert_eq!(offsets.byte(naive.len()), text.len());
        assert_eq!(offsets.byte(naive.len() + 1000), text.len());
    }
}
