//! Incremental decoding of generated tokens into text.
//!
//! A GPT-2 token is a byte sequence, and one character of UTF-8 text can span two tokens (many
//! emoji and CJK characters do). Decoding each token alone would print two U+FFFD for such a
//! character, so the decoder holds back the bytes of an unfinished character until the next
//! token completes it.

use tiktoken_rs::CoreBPE;

/// Turns a stream of GPT-2 token ids into text, one piece per token.
pub struct StreamDecoder {
    bpe: &'static CoreBPE,
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// Creates a decoder for GPT-2's vocabulary.
    pub fn new() -> Self {
        StreamDecoder { bpe: tiktoken_rs::r50k_base_singleton(), pending: Vec::new() }
    }

    /// Adds one token and returns the text that is now complete, possibly empty.
    ///
    /// An id outside GPT-2's vocabulary, which a model with `vocab_size` above 50257 can
    /// produce, becomes U+FFFD.
    pub fn push(&mut self, token: u32) -> String {
        match self.bpe.decode_bytes(&[token]) {
            Ok(bytes) => self.pending.extend_from_slice(&bytes),
            Err(_) => {
                tracing::warn!(token, "generated token is outside the GPT-2 vocabulary");
                self.pending.extend_from_slice(char::REPLACEMENT_CHARACTER.to_string().as_bytes());
            }
        }
        self.take_complete()
    }

    /// Returns the bytes still held back, decoded lossily, and empties the decoder.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }

    /// Removes and returns the longest prefix of `pending` that is complete text.
    fn take_complete(&mut self) -> String {
        let mut text = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(valid) => {
                    text.push_str(valid);
                    self.pending.clear();
                    return text;
                }
                Err(error) => {
                    let valid_up_to = error.valid_up_to();
                    text.push_str(std::str::from_utf8(&self.pending[..valid_up_to]).expect("prefix checked by from_utf8"));
                    match error.error_len() {
                        // The bytes end inside a character: keep them for the next token.
                        None => {
                            self.pending.drain(..valid_up_to);
                            return text;
                        }
                        // Bytes that no continuation can repair: replace them, as a lossy
                        // decode of the whole text would.
                        Some(invalid) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid_up_to + invalid);
                        }
                    }
                }
            }
        }
    }
}

impl Default for StreamDecoder {
    fn default() -> Self {
        StreamDecoder::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Gpt2Tokenizer;

    fn stream(tokens: &[u32]) -> Vec<String> {
        let mut decoder = StreamDecoder::new();
        let mut pieces: Vec<String> = tokens.iter().map(|&token| decoder.push(token)).collect();
        pieces.push(decoder.finish());
        pieces
    }

    #[test]
    fn pieces_join_to_full_decode() {
        let tokenizer = Gpt2Tokenizer::new();
        let text = "Hello, wörld! 日本語のテキスト 🦀🚀 done.";
        let tokens = tokenizer.encode(text);
        assert_eq!(stream(&tokens).concat(), text);
    }

    #[test]
    fn split_character_waits_for_next_token() {
        let tokenizer = Gpt2Tokenizer::new();
        let tokens = tokenizer.encode("🦀");
        // GPT-2 has no single token for the crab emoji, so its four bytes span several tokens.
        assert!(tokens.len() > 1, "{tokens:?}");
        let pieces = stream(&tokens);
        assert!(pieces.iter().all(|piece| !piece.contains(char::REPLACEMENT_CHARACTER)), "{pieces:?}");
        assert_eq!(pieces.concat(), "🦀");
        assert_eq!(pieces.iter().filter(|piece| !piece.is_empty()).count(), 1, "{pieces:?}");
    }

    #[test]
    fn unfinished_character_flushed_lossily() {
        let tokenizer = Gpt2Tokenizer::new();
        let tokens = tokenizer.encode("🦀");
        let pieces = stream(&tokens[..1]);
        assert_eq!(pieces.concat(), char::REPLACEMENT_CHARACTER.to_string());
    }

    #[test]
    fn unknown_token_becomes_replacement() {
        assert_eq!(stream(&[50300]).concat(), char::REPLACEMENT_CHARACTER.to_string());
    }
}
