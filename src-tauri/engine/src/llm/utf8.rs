//! Token pieces are bytes, and one character (an emoji, a CJK ideograph) can be split across
//! tokens. This holds back an incomplete character until its last byte arrives, so the stream
//! never shows garbage and never loses a character.

/// Incremental UTF-8 decoding of token pieces.
pub struct Utf8Stream {
    decoder: encoding_rs::Decoder,
}

impl std::fmt::Debug for Utf8Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Utf8Stream")
    }
}

impl Default for Utf8Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Utf8Stream {
    pub fn new() -> Self {
        Self { decoder: encoding_rs::UTF_8.new_decoder_without_bom_handling() }
    }

    /// Appends the complete characters that `bytes` finishes to `out`; keeps the rest.
    pub fn push(&mut self, bytes: &[u8], out: &mut String) {
        self.decode(bytes, out, false);
    }

    /// Flushes what is left at the end of the stream (an incomplete tail becomes U+FFFD).
    pub fn finish(&mut self, out: &mut String) {
        self.decode(&[], out, true);
    }

    fn decode(&mut self, bytes: &[u8], out: &mut String, last: bool) {
        if let Some(max) = self.decoder.max_utf8_buffer_length(bytes.len()) {
            out.reserve(max);
        }
        let (_result, _read, _replaced) = self.decoder.decode_to_string(bytes, out, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_emoji_and_cjk_are_held_back_until_complete() {
        let text = "ok 🙂 血糖";
        let bytes = text.as_bytes();
        let mut s = Utf8Stream::new();
        let mut all = String::new();
        for b in bytes {
            let mut piece = String::new();
            s.push(std::slice::from_ref(b), &mut piece);
            assert!(!piece.contains('\u{FFFD}'));
            all.push_str(&piece);
        }
        s.finish(&mut all);
        assert_eq!(all, text);
    }

    #[test]
    fn truncated_tail_is_replaced_not_lost_silently() {
        let mut s = Utf8Stream::new();
        let mut out = String::new();
        s.push(&"🙂".as_bytes()[..2], &mut out);
        assert_eq!(out, "");
        s.finish(&mut out);
        assert_eq!(out, "\u{FFFD}");
    }
}
