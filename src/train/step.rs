//! The train and inference steps burn-train's `Learner` calls on the GPT model.

use burn::tensor::Tensor;
use burn::train::{InferenceStep, ItemLazy, TrainOutput, TrainStep};
use burn_std::ExecutionError;

use super::batch::LmBatch;
use super::loss::cross_entropy;
use super::classify::ClassBatch;
use crate::model::{Gpt, GptClassifier};

/// The loss of one batch, the output of every train and inference step.
pub struct LossOutput {
    pub loss: Tensor<1>,
}

impl ItemLazy for LossOutput {
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
    type Output = LossOutput;

    fn step(&self, batch: LmBatch) -> TrainOutput<LossOutput> {
        let loss = self.loss(batch);
        let grads = loss.backward();
        TrainOutput::new(self, grads, LossOutput { loss })
    }
}

impl InferenceStep for Gpt {
    type Input = LmBatch;
    type Output = LossOutput;

    fn step(&self, batch: LmBatch) -> LossOutput {
        LossOutput { loss: self.loss(batch) }
    }
}

impl GptClassifier {
    /// Returns the mean cross-entropy of the class logits against the labels.
    pub fn loss(&self, batch: ClassBatch) -> Tensor<1> {
        let logits = self.forward(batch.inputs, batch.mask, batch.last_index);
        let [rows, classes] = logits.dims();

        // (B, K) -> (B, 1, K): one "position" per row for the shared cross-entropy.
        cross_entropy(logits.reshape([rows, 1, classes]), batch.labels.reshape([rows, 1]))
    }
}

impl TrainStep for GptClassifier {
    type Input = ClassBatch;
    type Output = LossOutput;

    fn step(&self, batch: ClassBatch) -> TrainOutput<LossOutput> {
        let loss = self.loss(batch);
        let grads = loss.backward();
        TrainOutput::new(self, grads, LossOutput { loss })
    }
}

impl InferenceStep for GptClassifier {
    type Input = ClassBatch;
    type Output = LossOutput;

    fn step(&self, batch: ClassBatch) -> LossOutput {
        LossOutput { loss: self.loss(batch) }
    }
}
