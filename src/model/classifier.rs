//! A GPT whose output head predicts one of a few classes from one pooled position.

use burn::module::{Module, Param};
use burn::nn::{Initializer, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

use super::gpt::Gpt;
use crate::recipe::{Pooling, Trainable};

/// The GPT body with a `num_classes`-way head; `pooling` picks the hidden state it reads.
#[derive(Module, Debug)]
pub struct GptClassifier {
    pub gpt: Gpt,
    #[module(skip)]
    pub pooling: Pooling,
}

impl GptClassifier {
    /// Replaces the language-model head of `gpt` by a freshly initialised class head.
    pub fn new(mut gpt: Gpt, num_classes: usize, emb_dim: usize, pooling: Pooling, device: &Device) -> Self {
        let mut head = LinearConfig::new(emb_dim, num_classes)
            .with_initializer(Initializer::Normal { mean: 0.0, std: 0.02 })
            .init(device);
        head.bias = Some(Param::from_tensor(Tensor::zeros([num_classes], device)));
        gpt.out_head = Some(head);
        GptClassifier { gpt, pooling }
    }

    /// Returns class logits (B, K) for `tokens` (B, T).
    ///
    /// `mask` (B, T) is 1 on real tokens and 0 on padding. `last_index` (B, 1) is the position
    /// of each row's last real token. Only the `mean` and `last_non_padding` poolings read them.
    pub fn forward(&self, tokens: Tensor<2, Int>, mask: Tensor<2>, last_index: Tensor<2, Int>) -> Tensor<2> {
        let hidden = self.gpt.hidden(tokens, None);
        let [batch, seq, emb] = hidden.dims();

        // (B, T, C) -> (B, C)
        let pooled = match self.pooling {
            Pooling::Last => hidden.slice([0..batch, seq - 1..seq, 0..emb]).reshape([batch, emb]),
            Pooling::First => hidden.slice([0..batch, 0..1, 0..emb]).reshape([batch, emb]),
            Pooling::LastNonPadding => {
                let index = last_index.reshape([batch, 1, 1]).expand([batch, 1, emb]);
                hidden.gather(1, index).reshape([batch, emb])
            }
            Pooling::Mean => {
                let weights = mask.unsqueeze_dim::<3>(2);
                let count = weights.clone().sum_dim(1).clamp_min(1.0);
                (hidden * weights).sum_dim(1).div(count).reshape([batch, emb])
            }
        };
        self.gpt.out_head.as_ref().expect("a classifier always has a head").forward(pooled)
    }

    /// Freezes every parameter outside `trainable`, so the optimiser leaves it unchanged.
    pub fn freeze_except(mut self, trainable: Trainable) -> Self {
        let n_layers = self.gpt.blocks.len();
        let trained_blocks = match trainable {
            Trainable::LastLayer => 0,
            Trainable::LastBlock => 1,
            Trainable::LastTwoBlocks => 2,
            Trainable::All => return self,
        };

        let gpt = &mut self.gpt;
        gpt.tok_emb = gpt.tok_emb.clone().freeze();
        gpt.pos_emb = gpt.pos_emb.clone().freeze();
        gpt.blocks = std::mem::take(&mut gpt.blocks)
            .into_iter()
            .enumerate()
            .map(|(index, block)| if index + trained_blocks < n_layers { block.freeze() } else { block })
            .collect();
        if trainable == Trainable::LastLayer {
            gpt.final_norm = gpt.final_norm.clone().freeze();
        }
        self
    }
}
