//! Batches of token ids as tensors, and the sources that produce them.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// Inputs and next-token targets (B, T); target positions equal to the ignore index add no loss.
#[derive(Debug, Clone)]
pub struct LmBatch {
    pub inputs: Tensor<2, Int>,
    pub targets: Tensor<2, Int>,
}

/// Rows of equal length, as the collate functions of the data module produce them.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRows {
    pub inputs: Vec<Vec<i64>>,
    pub targets: Vec<Vec<i64>>,
}

impl TokenRows {
    /// Number of input tokens, padding included, as the reference counts `tokens_seen`.
    pub fn num_tokens(&self) -> usize {
        self.inputs.iter().map(Vec::len).sum()
    }

    /// Copies the rows into tensors on `device`.
    pub fn to_batch(&self, device: &Device) -> LmBatch {
        LmBatch { inputs: to_tensor(&self.inputs, device), targets: to_tensor(&self.targets, device) }
    }
}

fn to_tensor(rows: &[Vec<i64>], device: &Device) -> Tensor<2, Int> {
    let batch = rows.len();
    let seq = rows.first().map_or(0, Vec::len);
    let flat: Vec<i64> = rows.iter().flatten().copied().collect();
    assert_eq!(flat.len(), batch * seq, "every row of a batch must have the same length");
    Tensor::from_data(TensorData::new(flat, [batch, seq]), device)
}

/// A split of examples that can be cut into batches.
pub trait BatchSource {
    /// Number of examples.
    fn len(&self) -> usize;

    /// Returns true when the split has no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Collates the examples at `indices` into one batch.
    fn collate(&self, indices: &[usize]) -> TokenRows;
}
