//! Batching of encoded instruction examples into padded inputs and shifted targets.
//!
//! This reproduces `custom_collate_fn` of chapter 7 of "Build a Large Language Model (From
//! Scratch)" (S. Raschka, 2024), with the prompt masking of its exercise 7.2.

use super::EncodedExample;

/// Target value that the cross-entropy loss skips, PyTorch's default `ignore_index`.
pub const IGNORE_INDEX: i64 = -100;

/// A padded batch: every row of `inputs` and `targets` has `seq_len` ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collated {
    /// Input ids, `batch_size` rows of `seq_len`.
    pub inputs: Vec<Vec<i64>>,
    /// Next-token ids for each input position, or [`IGNORE_INDEX`] where no loss is taken.
    pub targets: Vec<Vec<i64>>,
    /// Number of rows.
    pub batch_size: usize,
    /// Length of every row.
    pub seq_len: usize,
}

/// Pads `examples` into one batch of inputs and targets.
///
/// Each sequence gets one `pad_token` appended, so the model learns to end its response, and
/// is padded with `pad_token` to the longest sequence plus one. Inputs drop the last position
/// and targets drop the first. In each target row every occurrence of `pad_token` after the
/// first becomes [`IGNORE_INDEX`]. Like the reference, this matches the id, not the position,
/// so if the text itself contains `pad_token`, that occurrence is the one kept and the
/// appended end marker is ignored. With `mask_prompt`, the first `prompt_len - 1` targets,
/// which predict prompt tokens, become [`IGNORE_INDEX`] too. Last, rows are cut to
/// `allowed_max_length`. An empty `examples` gives an empty batch.
pub fn collate(
    examples: &[EncodedExample],
    pad_token: u32,
    allowed_max_length: Option<usize>,
    mask_prompt: bool,
) -> Collated {
    let pad = i64::from(pad_token);
    let padded_len = examples
        .iter()
        .map(|example| example.tokens.len() + 1)
        .max()
        .unwrap_or(1);
    let seq_len = allowed_max_length.map_or(padded_len - 1, |max| max.min(padded_len - 1));

    let mut inputs = Vec::with_capacity(examples.len());
    let mut targets = Vec::with_capacity(examples.len());
    for example in examples {
        let mut padded: Vec<i64> = example.tokens.iter().map(|&id| i64::from(id)).collect();
        padded.resize(padded_len, pad);

        let mut input = padded[..padded_len - 1].to_vec();
        let mut target = padded[1..].to_vec();

        for id in target.iter_mut().filter(|id| **id == pad).skip(1) {
            *id = IGNORE_INDEX;
        }

        if mask_prompt {
            let masked = example.prompt_len.saturating_sub(1).min(target.len());
            target[..masked].fill(IGNORE_INDEX);
        }

        input.truncate(seq_len);
        target.truncate(seq_len);
        inputs.push(input);
        targets.push(target);
    }

    Collated {
        inputs,
        targets,
        batch_size: examples.len(),
        seq_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tokenizer::END_OF_TEXT;

    const PAD: i64 = END_OF_TEXT as i64;

    fn examples(sequences: &[&[u32]], prompt_len: usize) -> Vec<EncodedExample> {
        sequences
            .iter()
            .map(|tokens| EncodedExample {
                tokens: tokens.to_vec(),
                prompt_len,
            })
            .collect()
    }

    /// Builds the reference's example batch `[[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]]`.
    fn reference_batch() -> Vec<EncodedExample> {
        examples(&[&[0, 1, 2, 3, 4], &[5, 6], &[7, 8, 9]], 0)
    }

    #[test]
    fn collate_matches_reference_example() {
        let batch = collate(&reference_batch(), END_OF_TEXT, None, false);
        assert_eq!(batch.batch_size, 3);
        assert_eq!(batch.seq_len, 5);
        assert_eq!(
            batch.inputs,
            [
                vec![0, 1, 2, 3, 4],
                vec![5, 6, PAD, PAD, PAD],
                vec![7, 8, 9, PAD, PAD]
            ]
        );
        assert_eq!(
            batch.targets,
            [
                vec![1, 2, 3, 4, PAD],
                vec![6, PAD, -100, -100, -100],
                vec![8, 9, PAD, -100, -100]
            ]
        );
    }

    #[test]
    fn collate_truncates_rows() {
        let batch = collate(&reference_batch(), END_OF_TEXT, Some(3), false);
        assert_eq!(batch.seq_len, 3);
        assert_eq!(
            batch.inputs,
            [vec![0, 1, 2], vec![5, 6, PAD], vec![7, 8, 9]]
        );
        assert_eq!(
            batch.targets,
            [vec![1, 2, 3], vec![6, PAD, -100], vec![8, 9, PAD]]
        );
    }

    #[test]
    fn collate_limit_above_length_keeps_rows() {
        let batch = collate(&reference_batch(), END_OF_TEXT, Some(1024), false);
        assert_eq!(batch.seq_len, 5);
        assert!(batch.inputs.iter().all(|row| row.len() == 5));
        assert!(batch.targets.iter().all(|row| row.len() == 5));
    }

    #[test]
    fn collate_masks_prompt_targets() {
        // A prompt of 3 tokens: the targets at positions 0 and 1 predict prompt tokens 1 and 2.
        let batch = collate(
            &examples(&[&[0, 1, 2, 3, 4], &[5, 6, 7, 8]], 3),
            END_OF_TEXT,
            None,
            true,
        );
        assert_eq!(batch.inputs, [vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8, PAD]]);
        assert_eq!(
            batch.targets,
            [vec![-100, -100, 3, 4, PAD], vec![-100, -100, 8, PAD, -100]]
        );
    }

    #[test]
    fn collate_mask_longer_than_row() {
        let batch = collate(&examples(&[&[0, 1, 2]], 10), END_OF_TEXT, None, true);
        assert_eq!(batch.targets, [vec![-100, -100, -100]]);
    }

    #[test]
    fn collate_pad_in_text_kept_first() {
        // The reference matches the pad id, so the text's own 50256 is kept as the target
        // and the appended end marker after it is ignored.
        let batch = collate(
            &examples(&[&[0, END_OF_TEXT, 2], &[0, 1, 2, 3, 4]], 0),
            END_OF_TEXT,
            None,
            false,
        );
        assert_eq!(batch.inputs[0], [0, PAD, 2, PAD, PAD]);
        assert_eq!(batch.targets[0], [PAD, 2, -100, -100, -100]);
    }

    #[test]
    fn collate_empty_batch() {
        let batch = collate(&[], END_OF_TEXT, None, false);
        assert_eq!(batch.batch_size, 0);
        assert_eq!(batch.seq_len, 0);
        assert!(batch.inputs.is_empty());
    }
}
