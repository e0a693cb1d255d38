//! Training: batches, the loss, burn-train's steps, the loop and the stages built on it.

pub mod batch;
pub mod fit;
pub mod instruct;
pub mod loss;
pub mod pretrain;
mod step;

/// A stage that cannot run on the data it was given, or cannot write its outputs.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("not enough data: {0}")]
    TooLittleData(String),
    #[error("cannot write stage output: {0}")]
    Output(String),
}
