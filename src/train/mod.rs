//! Training: batches, the loss, burn-train's steps, the loop and the stages built on it.

pub mod batch;
pub mod classify;
pub mod fit;
pub mod instruct;
pub mod loss;
pub mod pretrain;
pub mod step;

/// A stage that cannot run on the data it was given, or cannot write its outputs.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("not enough data: {0}")]
    TooLittleData(String),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error("cannot write stage output: {0}")]
    Output(String),
}
