//! Next-token cross-entropy with an ignore index.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

pub use crate::data::IGNORE_INDEX;

/// Returns the mean cross-entropy over every target that is not `IGNORE_INDEX`.
///
/// `logits` is (B, T, V) and `targets` (B, T). A batch whose targets are all ignored has no
/// defined mean, so its loss is 0 rather than NaN.
pub fn cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [batch, seq, vocab] = logits.dims();

    // (B, T, V) -> (B*T, V) and (B, T) -> (B*T, 1)
    let log_probs = log_softmax(logits.reshape([batch * seq, vocab]), 1);
    let targets = targets.reshape([batch * seq, 1]);

    let keep = targets.clone().not_equal_elem(IGNORE_INDEX);
    let safe_targets = targets.clamp_min(0);
    let picked = log_probs.gather(1, safe_targets);

    let keep = keep.float();
    let count = keep.clone().sum().clamp_min(1.0);
    (picked * keep).sum().neg() / count
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor};

    use super::*;

    #[test]
    fn ignored_targets_add_no_loss() {
        let device = Device::flex();
        let logits = Tensor::<3>::from_data([[[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]], &device);
        let targets = Tensor::<2, Int>::from_data([[2, IGNORE_INDEX]], &device);
        let loss = cross_entropy(logits, targets).into_data().iter::<f32>().next().unwrap();
        // -log softmax([1, 2, 3])[2] = ln(e + e^2 + e^3) - 3
        let expected = ((1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 3.0) as f32;
        assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
    }

    #[test]
    fn uniform_logits_give_log_vocab() {
        let device = Device::flex();
        let logits = Tensor::<3>::zeros([2, 3, 10], &device);
        let targets = Tensor::<2, Int>::from_data([[1, 2, 3], [4, IGNORE_INDEX, IGNORE_INDEX]], &device);
        let loss = cross_entropy(logits, targets).into_data().iter::<f32>().next().unwrap();
        assert!((loss - 10f32.ln()).abs() < 1e-6, "{loss}");
    }
}
