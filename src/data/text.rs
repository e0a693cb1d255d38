//! Pretraining data: a text file split by characters, tokenized, cut into sliding windows.
//!
//! This follows chapters 2 and 5 of "Build a Large Language Model (From Scratch)"
//! (S. Raschka, 2024), whose `GPTDatasetV1` and train/validation split these reproduce.

use std::path::Path;

use super::error::DataError;

/// One training example: `context_length` input ids and the same ids shifted left by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenWindow {
    /// Token ids fed to the model.
    pub input: Vec<u32>,
    /// The next token after each input position.
    pub target: Vec<u32>,
}

/// Reads a UTF-8 text file. Invalid UTF-8 and an empty file are errors.
pub fn read_text(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|err| DataError::io("read", path, err))?;
    if bytes.is_empty() {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }

    String::from_utf8(bytes).map_err(|err| DataError::NotUtf8 {
        path: path.to_path_buf(),
        offset: err.utf8_error().valid_up_to(),
    })
}

/// Splits `text` into a training and a validation part at character
/// `floor(train_fraction * character count)`, as Python's `text[:int(ratio * len(text))]` does.
///
/// # Panics
///
/// Panics if `train_fraction` is not within `0.0..=1.0`.
pub fn split_text(text: &str, train_fraction: f64) -> (&str, &str) {
    assert!(
        (0.0..=1.0).contains(&train_fraction),
        "train_fraction must be within 0.0..=1.0, found {train_fraction}"
    );

    // Python counts code points, so the split index is in chars, then mapped to a byte offset.
    let split_chars = (train_fraction * text.chars().count() as f64).floor() as usize;
    let split_byte = text
        .char_indices()
        .nth(split_chars)
        .map_or(text.len(), |(offset, _)| offset);
    text.split_at(split_byte)
}

/// Cuts `tokens` into windows of `context_length` starting every `stride` tokens.
///
/// Window starts are `0, stride, 2 * stride, …` while `start < tokens.len() - context_length`,
/// which is the reference's `range(0, len(token_ids) - max_length, stride)`. So a text of
/// exactly `context_length + 1` tokens yields one window, and the last tokens are dropped
/// when the stride does not divide evenly.
///
/// # Panics
///
/// Panics if `context_length` or `stride` is 0.
pub fn sliding_windows(tokens: &[u32], context_length: usize, stride: usize) -> Vec<TokenWindow> {
    assert!(context_length > 0, "context_length must be positive");
    assert!(stride > 0, "stride must be positive");

    let last_start = tokens.len().saturating_sub(context_length);
    (0..last_start)
        .step_by(stride)
        .map(|start| TokenWindow {
            input: tokens[start..start + context_length].to_vec(),
            target: tokens[start + 1..start + context_length + 1].to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_support::mirror_dir;
    use crate::data::tokenizer::Gpt2Tokenizer;

    #[test]
    fn windows_of_tiny_sequence() {
        let tokens: Vec<u32> = (0..10).collect();
        let windows = sliding_windows(&tokens, 4, 2);
        let expected = [
            (vec![0, 1, 2, 3], vec![1, 2, 3, 4]),
            (vec![2, 3, 4, 5], vec![3, 4, 5, 6]),
            (vec![4, 5, 6, 7], vec![5, 6, 7, 8]),
        ];
        assert_eq!(windows.len(), expected.len());
        for (window, (input, target)) in windows.iter().zip(expected) {
            assert_eq!(window.input, input);
            assert_eq!(window.target, target);
        }
    }

    #[test]
    fn windows_need_one_extra_token() {
        let tokens: Vec<u32> = (0..5).collect();
        assert_eq!(sliding_windows(&tokens, 4, 1).len(), 1);
        assert!(sliding_windows(&tokens[..4], 4, 1).is_empty());
        assert!(sliding_windows(&[], 4, 1).is_empty());
    }

    #[test]
    fn split_counts_characters() {
        // 'é' is two bytes, so a byte-based split would land inside it.
        let (train, validation) = split_text("ééééé", 0.5);
        assert_eq!(train, "éé");
        assert_eq!(validation, "ééé");
        assert_eq!(split_text("abc", 1.0), ("abc", ""));
        assert_eq!(split_text("abc", 0.0), ("", "abc"));
    }

    /// The reference pretraining setup: 90/10 split, context 256, stride 256.
    ///
    /// The split falls at floor(0.9 * 20479) = 18431 characters. Python tiktoken 0.14
    /// (`r50k_base`) encodes the two parts to 4612 and 534 tokens, and
    /// `len(range(0, n - 256, 256))` gives 18 and 2 windows.
    #[test]
    fn verdict_windows_match_reference() {
        let text = read_text(&mirror_dir().join("the-verdict.txt")).unwrap();
        let (train, validation) = split_text(&text, 0.9);
        assert_eq!(train.chars().count(), 18431);
        assert_eq!(validation.chars().count(), 2048);

        let tokenizer = Gpt2Tokenizer::new();
        let train_tokens = tokenizer.encode(train);
        let validation_tokens = tokenizer.encode(validation);
        assert_eq!(train_tokens.len(), 4612);
        assert_eq!(validation_tokens.len(), 534);
        assert_eq!(sliding_windows(&train_tokens, 256, 256).len(), 18);
        assert_eq!(sliding_windows(&validation_tokens, 256, 256).len(), 2);
    }

    #[test]
    fn read_text_rejects_invalid_utf8() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("latin1.txt");
        std::fs::write(&path, b"caf\xe9 au lait").unwrap();

        let error = read_text(&path).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DataError::NotUtf8 { offset: 3, .. }),
            "{message}"
        );
        assert!(message.contains("latin1.txt"), "{message}");
    }

    #[test]
    fn read_text_rejects_empty_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("empty.txt");
        std::fs::write(&path, b"").unwrap();
        assert!(matches!(read_text(&path), Err(DataError::EmptyFile { .. })));
    }
}
