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

/// A split of examples that the training loop cuts into batches of type `B`.
pub trait BatchSource<B> {
    /// Number of examples.
    fn len(&self) -> usize;

    /// Returns true when the split has no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds the batch of the examples at `indices` on `device`, with its input token count.
    fn batch(&self, indices: &[usize], device: &Device) -> (B, usize);
}

/// A split of token sequences for next-token prediction.
pub trait RowSource {
    /// Number of examples.
    fn len(&self) -> usize;

    /// Collates the examples at `indices` into rows of equal length.
    fn collate(&self, indices: &[usize]) -> TokenRows;
}

impl<S: RowSource> BatchSource<LmBatch> for S {
    fn len(&self) -> usize {
        RowSource::len(self)
    }

    fn batch(&self, indices: &[usize], device: &Device) -> (LmBatch, usize) {
        let rows = self.collate(indices);
        (rows.to_batch(device), rows.num_tokens())
    }
}
