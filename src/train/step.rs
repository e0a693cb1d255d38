//! The train and inference steps burn-train's `Learner` calls on the GPT model.

use burn::tensor::Tensor;
use burn::train::{InferenceStep, ItemLazy, TrainOutput, TrainStep};
use burn_std::ExecutionError;

use super::batch::LmBatch;
use super::loss::cross_entropy;
use crate::model::Gpt;

/// The loss of one batch.
pub struct LmOutput {
    pub loss: Tensor<1>,
}

impl ItemLazy for LmOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        Ok(self)
    }
}

impl Gpt {
    /// Returns the mean next-token loss of a batch.
    pub fn loss(&self, batch: LmBatch) -> Tensor<1> {
        cross_entropy(self.forward(batch.inputs), batch.targets)
    }
}

impl TrainStep for Gpt {
    type Input = LmBatch;
    type Output = LmOutput;

    fn step(&self, batch: LmBatch) -> TrainOutput<LmOutput> {
        let loss = self.loss(batch);
        let grads = loss.backward();
        TrainOutput::new(self, grads, LmOutput { loss })
    }
}

impl InferenceStep for Gpt {
    type Input = LmBatch;
    type Output = LmOutput;

    fn step(&self, batch: LmBatch) -> LmOutput {
        LmOutput { loss: self.loss(batch) }
    }
}
