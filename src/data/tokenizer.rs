//! The GPT-2 byte-pair encoding.
//!
//! tiktoken-rs 0.12.1 embeds OpenAI's `r50k_base` vocabulary, which is GPT-2's: 50256 byte
//! pair ranks plus `<|endoftext|>` as id 50256. The embedded file's sha256 (306cd27f…d930)
//! equals the one Python's tiktoken expects for `r50k_base`, so no download is needed.

use std::collections::HashSet;
use std::fmt;

use tiktoken_rs::CoreBPE;

use super::error::DataError;

/// The id of `<|endoftext|>`, which separates documents and pads instruction batches.
pub const END_OF_TEXT: u32 = 50256;

/// The number of token ids in GPT-2's vocabulary, `<|endoftext|>` included.
pub const VOCAB_SIZE: usize = 50257;

const END_OF_TEXT_TEXT: &str = "<|endoftext|>";

/// GPT-2's BPE tokenizer, cheap to copy because every instance shares one vocabulary.
#[derive(Clone, Copy)]
pub struct Gpt2Tokenizer {
    bpe: &'static CoreBPE,
}

impl Gpt2Tokenizer {
    /// Returns the tokenizer, building the shared vocabulary on first use.
    pub fn new() -> Self {
        Self {
            bpe: tiktoken_rs::r50k_base_singleton(),
        }
    }

    /// Encodes `text`, reading `<|endoftext|>` as the special token [`END_OF_TEXT`].
    ///
    /// # Panics
    ///
    /// Panics if tiktoken-rs reports a regex error, which only its backtracking limit can
    /// cause. tiktoken-rs's own `encode_with_special_tokens` panics in the same case.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let allowed_special = HashSet::from([END_OF_TEXT_TEXT]);
        let (ids, _) = self
            .bpe
            .encode(text, &allowed_special)
            .expect("GPT-2 pattern matched the text");
        ids
    }

    /// Decodes `ids` to text.
    ///
    /// Byte sequences that are not valid UTF-8, such as a character cut in half at the end of
    /// a generated sample, become U+FFFD, as in Python tiktoken's default `errors="replace"`.
    /// Only an id outside the vocabulary is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String, DataError> {
        let bytes = self
            .bpe
            .decode_bytes(ids)
            .map_err(|err| DataError::UnknownToken {
                id: err.token,
                position: ids
                    .iter()
                    .position(|&id| id == err.token)
                    .unwrap_or_default(),
                vocab_size: VOCAB_SIZE,
            })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Returns the number of token ids, 50257.
    pub fn vocab_size(&self) -> usize {
        VOCAB_SIZE
    }
}

impl Default for Gpt2Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Gpt2Tokenizer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Gpt2Tokenizer")
    }
}

/// Loads the tokenizer a recipe names. Only `gpt2` exists so far.
pub fn load_tokenizer(name: &str) -> Result<Gpt2Tokenizer, DataError> {
    if name == "gpt2" {
        return Ok(Gpt2Tokenizer::new());
    }

    let reason = if name.ends_with(".json") {
        format!("loading a tokenizer from a file such as `{name}` is not supported yet. Use `gpt2`")
    } else {
        format!("unknown tokenizer `{name}`; the supported tokenizer is `gpt2`")
    };
    Err(DataError::UnsupportedTokenizer { reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_support::mirror_dir;

    const SAMPLE: &str =
        "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.";

    /// The ids that GPT-2's tokenizer produces for `SAMPLE` with `<|endoftext|>` allowed.
    const SAMPLE_IDS: [u32; 20] = [
        15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 286,
        617, 34680, 27271, 13,
    ];

    #[test]
    fn encode_sample_matches_reference() {
        assert_eq!(Gpt2Tokenizer::new().encode(SAMPLE), SAMPLE_IDS);
    }

    #[test]
    fn decode_sample_round_trips() {
        assert_eq!(Gpt2Tokenizer::new().decode(&SAMPLE_IDS).unwrap(), SAMPLE);
    }

    #[test]
    fn end_of_text_id() {
        let tokenizer = Gpt2Tokenizer::new();
        assert_eq!(tokenizer.encode("<|endoftext|>"), [END_OF_TEXT]);
        assert_eq!(tokenizer.decode(&[END_OF_TEXT]).unwrap(), "<|endoftext|>");
    }

    #[test]
    fn every_id_decodes() {
        let tokenizer = Gpt2Tokenizer::new();
        assert_eq!(tokenizer.vocab_size(), 50257);
        for id in 0..tokenizer.vocab_size() as u32 {
            assert!(tokenizer.decode(&[id]).is_ok(), "id {id}");
        }
    }

    #[test]
    fn decode_rejects_id_past_vocab() {
        let error = Gpt2Tokenizer::new().decode(&[11, 50257]).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::UnknownToken {
                    id: 50257,
                    position: 1,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn decode_replaces_split_character() {
        // In GPT-2's byte alphabet, id 127 is the byte 0xC3 and id 102 is 0xA9: the two
        // UTF-8 bytes of "é", which a model may emit as separate tokens.
        let tokenizer = Gpt2Tokenizer::new();
        assert_eq!(tokenizer.decode(&[127, 102]).unwrap(), "\u{e9}");
        assert_eq!(tokenizer.decode(&[127]).unwrap(), "\u{fffd}");
    }

    #[test]
    fn verdict_token_count() {
        let text = std::fs::read_to_string(mirror_dir().join("the-verdict.txt")).unwrap();
        assert_eq!(text.chars().count(), 20479);
        assert_eq!(Gpt2Tokenizer::new().encode(&text).len(), 5145);
    }

    #[test]
    fn load_tokenizer_names() {
        assert!(load_tokenizer("gpt2").is_ok());

        let unknown = load_tokenizer("llama3").unwrap_err().to_string();
        assert!(
            unknown.contains("`llama3`") && unknown.contains("`gpt2`"),
            "{unknown}"
        );

        let file = load_tokenizer("models/tokenizer.json")
            .unwrap_err()
            .to_string();
        assert!(file.contains("not supported yet"), "{file}");
    }
}
