//! The floating-point precision of inference weights and KV caches.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::model::Gpt;

/// Floating-point type of the weights, activations and KV cache during inference.
///
/// burn-flex 0.22.1 runs f16 matrix products through gemm's f16 kernels and bf16 products by
/// converting both operands to f32 on every call, and it computes attention in f32 for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit IEEE floats, the precision models train in.
    F32,
    /// 16-bit IEEE floats: half the memory, 3 significant digits.
    F16,
    /// bfloat16: half the memory, f32's exponent range, 2 significant digits.
    Bf16,
}

impl Precision {
    /// Returns the name used in recipes, the CLI and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }

    /// Returns burn's data type for this precision.
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F16 => DType::F16,
            Precision::Bf16 => DType::BF16,
        }
    }

    fn float_dtype(self) -> FloatDType {
        match self {
            Precision::F32 => FloatDType::F32,
            Precision::F16 => FloatDType::F16,
            Precision::Bf16 => FloatDType::BF16,
        }
    }

    /// Converts every floating-point weight of `model` to this precision.
    pub fn cast(self, model: Gpt) -> Gpt {
        if model.dtype() == self.dtype() {
            return model;
        }
        model.map(&mut CastWeights { dtype: self.float_dtype() })
    }
}

struct CastWeights {
    dtype: FloatDType,
}

impl ModuleMapper for CastWeights {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.dtype;
        param.map(|tensor| tensor.cast(dtype))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Int};

    use super::*;
    use crate::model::GptConfig;

    #[test]
    fn cast_changes_every_weight() {
        let device = Device::flex();
        let config = GptConfig { drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let model = Precision::F16.cast(config.init(&device));
        assert_eq!(model.dtype(), DType::F16);
        let logits = model.forward(Tensor::<2, Int>::from_data([[464, 3290, 318]], &device));
        assert_eq!(logits.dtype(), DType::F16);
    }

    #[test]
    fn half_precision_logits_close_to_f32() {
        let device = Device::flex();
        let config = GptConfig { drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let model = config.init(&device);
        let tokens = Tensor::<2, Int>::from_data([[464, 3290, 318, 257]], &device);
        let reference: Vec<f32> = model.forward(tokens.clone()).into_data().iter::<f32>().collect();

        for precision in [Precision::F16, Precision::Bf16] {
            let half = precision.cast(model.clone());
            let logits: Vec<f32> = half.forward(tokens.clone()).cast(FloatDType::F32).into_data().iter::<f32>().collect();
            let worst = reference.iter().zip(&logits).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            // Random-init logits are about 1 in size; bf16 keeps 8 significant bits.
            assert!(worst < 0.1, "{}: largest difference {worst}", precision.as_str());
        }
    }
}
