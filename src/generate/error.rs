//! Errors of text generation and of the `runner generate` command.

use std::path::PathBuf;

use crate::model::checkpoint::CheckpointError;

/// Failure of text generation or of `runner generate`.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// An option is outside its range; `option` is its name as in the recipe or CLI.
    #[error("invalid {option}: {message}")]
    InvalidOption { option: &'static str, message: String },
    /// The prompt has no tokens.
    #[error("the prompt is empty; pass at least one character with --prompt")]
    EmptyPrompt,
    /// The prompt does not fit in the model's position embedding.
    #[error("the prompt has {tokens} tokens, more than the model's context_length of {context_length}; shorten the prompt")]
    PromptTooLong { tokens: usize, context_length: usize },
    /// Batched generation got prompts of different lengths.
    #[error("batched generation needs prompts of equal length, got {lengths:?} tokens; generate them one at a time")]
    UnequalPrompts { lengths: Vec<usize> },
    /// The run folder has no saved model.
    #[error("no checkpoint in `{}`: {} is missing; pass the folder of a completed run, such as results/pretrain/<run id>", .run_dir.display(), .missing.display())]
    MissingCheckpoint { run_dir: PathBuf, missing: PathBuf },
    /// The saved model could not be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Writing the generated text failed.
    #[error("cannot write the generated text: {0}")]
    Output(#[source] std::io::Error),
}

impl GenerateError {
    /// Creates an `InvalidOption` error.
    pub fn invalid(option: &'static str, message: impl Into<String>) -> Self {
        GenerateError::InvalidOption { option, message: message.into() }
    }

    /// Returns true when the request itself is invalid and no model ran, so the CLI exits
    /// with code 2 instead of 1.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            GenerateError::InvalidOption { .. }
                | GenerateError::EmptyPrompt
                | GenerateError::PromptTooLong { .. }
                | GenerateError::UnequalPrompts { .. }
                | GenerateError::MissingCheckpoint { .. }
        )
    }
}
