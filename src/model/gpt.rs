//! The GPT model: token and position embeddings, pre-LayerNorm transformer blocks with causal
//! multi-head attention, and a linear output head.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu_approximate, softmax};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, DType, Device, Int, Tensor};

use super::cache::{KvCache, LayerCache};
use super::config::GptConfig;
use crate::recipe::WeightInit;

/// Standard deviation of GPT-2's weight initialisation.
const INIT_STD: f64 = 0.02;

/// Causal multi-head self-attention with one fused query/key/value projection.
#[derive(Module, Debug)]
pub struct MultiHeadAttention {
    qkv: Linear,
    out_proj: Linear,
    dropout: Dropout,
    n_heads: usize,
}

/// The position-wise MLP: expand to 4x width, GELU, project back.
#[derive(Module, Debug)]
pub struct FeedForward {
    expand: Linear,
    project: Linear,
}

/// One pre-LayerNorm transformer block: `x + attn(ln(x))`, then `x + mlp(ln(x))`.
#[derive(Module, Debug)]
pub struct TransformerBlock {
    norm1: LayerNorm,
    attention: MultiHeadAttention,
    norm2: LayerNorm,
    feed_forward: FeedForward,
    drop_shortcut: Dropout,
}

/// A GPT-2 style language model.
#[derive(Module, Debug)]
pub struct Gpt {
    pub tok_emb: Embedding,
    pub pos_emb: Embedding,
    drop_emb: Dropout,
    pub blocks: Vec<TransformerBlock>,
    pub final_norm: LayerNorm,
    /// `None` when the head is tied to `tok_emb`.
    pub out_head: Option<Linear>,
    context_length: usize,
}

/// Builds a linear layer: with `std`, GPT-2's normal weights and zero biases, and without it
/// burn's default, which is PyTorch's `nn.Linear` init (uniform in ±1/sqrt(d_input)).
fn linear(d_input: usize, d_output: usize, bias: bool, std: Option<f64>, device: &Device) -> Linear {
    let config = LinearConfig::new(d_input, d_output).with_bias(bias);
    let Some(std) = std else {
        return config.init(device);
    };
    let mut layer = config.with_initializer(Initializer::Normal { mean: 0.0, std }).init(device);
    // GPT-2 starts every bias at zero; LinearConfig would draw them from the same normal.
    if bias {
        layer.bias = Some(Param::from_tensor(Tensor::zeros([d_output], device)));
    }
    layer
}

impl GptConfig {
    /// Builds a model with GPT-2's initialisation on `device`.
    pub fn init(&self, device: &Device) -> Gpt {
        self.init_with(device, WeightInit::Gpt2)
    }

    /// Builds a model on `device` with the given weight initialisation.
    pub fn init_with(&self, device: &Device, scheme: WeightInit) -> Gpt {
        // Each block adds two residual projections to the stream, so GPT-2 scales their init by
        // 1/sqrt(2 * n_layers) to keep the residual variance from growing with depth.
        let (std, residual_std, embedding_std) = match scheme {
            WeightInit::Gpt2 => (Some(INIT_STD), Some(INIT_STD / (2.0 * self.n_layers as f64).sqrt()), INIT_STD),
            // PyTorch's `nn.Embedding` draws from N(0, 1).
            WeightInit::Pytorch => (None, None, 1.0),
        };
        let embedding = |rows: usize| {
            EmbeddingConfig::new(rows, self.emb_dim)
                .with_initializer(Initializer::Normal { mean: 0.0, std: embedding_std })
                .init(device)
        };
        let dropout = || DropoutConfig::new(self.drop_rate).init();
        let norm = || LayerNormConfig::new(self.emb_dim).with_epsilon(1e-5).init(device);

        let blocks = (0..self.n_layers)
            .map(|_| TransformerBlock {
                norm1: norm(),
                attention: MultiHeadAttention {
                    qkv: linear(self.emb_dim, 3 * self.emb_dim, self.qkv_bias, std, device),
                    out_proj: linear(self.emb_dim, self.emb_dim, true, residual_std, device),
                    dropout: dropout(),
                    n_heads: self.n_heads,
                },
                norm2: norm(),
                feed_forward: FeedForward {
                    expand: linear(self.emb_dim, 4 * self.emb_dim, true, std, device),
                    project: linear(4 * self.emb_dim, self.emb_dim, true, residual_std, device),
                },
                drop_shortcut: dropout(),
            })
            .collect();

        Gpt {
            tok_emb: embedding(self.vocab_size),
            pos_emb: embedding(self.context_length),
            drop_emb: dropout(),
            blocks,
            final_norm: norm(),
            out_head: (!self.tie_embeddings).then(|| linear(self.emb_dim, self.vocab_size, false, std, device)),
            context_length: self.context_length,
        }
    }
}

impl MultiHeadAttention {
    fn forward(&self, x: Tensor<3>, cache: Option<&mut LayerCache>) -> Tensor<3> {
        let [batch, seq, emb] = x.dims();
        let head_dim = emb / self.n_heads;

        // (B, T, 3C) -> three (B, nh, T, hs)
        let mut qkv = self.qkv.forward(x).chunk(3, 2).into_iter().map(|part| {
            part.reshape([batch, seq, self.n_heads, head_dim]).swap_dims(1, 2)
        });
        let (query, key, value) = (qkv.next().unwrap(), qkv.next().unwrap(), qkv.next().unwrap());

        // With a cache, the new keys and values are written in place and attention reads every
        // cached position. The causal mask then aligns to the last query.
        let (key, value) = match cache {
            Some(cache) => cache.append(key, value),
            None => (key, value),
        };

        let context = if self.attention_dropout_active() {
            self.attention_with_dropout(query, key, value)
        } else if seq == 1 {
            attention_one_query(query, key, value)
        } else {
            let options = AttentionModuleOptions { scale: None, softcap: None, is_causal: true };
            attention(query, key, value, None, None, options)
        };

        // (B, nh, T, hs) -> (B, T, C)
        let context = context.swap_dims(1, 2).reshape([batch, seq, emb]);
        self.out_proj.forward(context)
    }

    /// Dropout on attention weights needs them materialised, which the fused kernel never does.
    fn attention_dropout_active(&self) -> bool {
        self.dropout.prob > 0.0 && self.dropout.training.is_enabled() && self.out_proj.weight.val().device().is_autodiff()
    }

    fn attention_with_dropout(&self, query: Tensor<4>, key: Tensor<4>, value: Tensor<4>) -> Tensor<4> {
        let [_, _, seq_q, head_dim] = query.dims();
        let seq_k = key.dims()[2];
        let scores = query.matmul(key.swap_dims(2, 3)) / (head_dim as f64).sqrt();
        let mask = causal_mask(seq_q, seq_k, &scores.device());
        let scores = scores.mask_fill(mask.unsqueeze::<4>(), f32::NEG_INFINITY);
        let weights = self.dropout.forward(softmax(scores, 3));
        weights.matmul(value)
    }
}

/// Attention of one new query per sequence over all keys: (B, nh, 1, hs) and (B, nh, T, hs) to
/// (B, nh, 1, hs).
///
/// The newest position may see every key, so no mask is needed. With a KV cache, the keys and
/// values are strided views of the cache buffers. burn-flex 0.22.1's fused attention copies
/// such views into contiguous tensors first, which took about 7% of a GPT-2 small decoding
/// step in a perf profile, while its matmul reads them in place.
fn attention_one_query(query: Tensor<4>, key: Tensor<4>, value: Tensor<4>) -> Tensor<4> {
    let head_dim = query.dims()[3];
    // (B, nh, 1, hs) x (B, nh, hs, T) -> (B, nh, 1, T)
    let scores = query.matmul(key.swap_dims(2, 3)) / (head_dim as f64).sqrt();
    softmax(scores, 3).matmul(value)
}

/// Returns a (T_q, T_k) mask that is true where a query would see a later key.
fn causal_mask(seq_q: usize, seq_k: usize, device: &Device) -> Tensor<2, Bool> {
    let offset = (seq_k - seq_q) as i64;
    let rows = Tensor::<1, Int>::arange(0..seq_q as i64, device).reshape([seq_q, 1]);
    let cols = Tensor::<1, Int>::arange(0..seq_k as i64, device).reshape([1, seq_k]);
    cols.greater(rows + offset)
}

impl FeedForward {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.project.forward(gelu_approximate(self.expand.forward(x)))
    }
}

impl TransformerBlock {
    /// Returns the weight of the MLP's first layer, for tests that watch a block train.
    #[cfg(test)]
    pub(crate) fn mlp_weight(&self) -> Tensor<2> {
        self.feed_forward.expand.weight.val()
    }

    fn forward(&self, x: Tensor<3>, cache: Option<&mut LayerCache>) -> Tensor<3> {
        let shortcut = x.clone();
        let x = self.attention.forward(self.norm1.forward(x), cache);
        let x = shortcut + self.drop_shortcut.forward(x);

        let shortcut = x.clone();
        let x = self.feed_forward.forward(self.norm2.forward(x));
        shortcut + self.drop_shortcut.forward(x)
    }
}

impl Gpt {
    /// Returns the next-token logits (B, T, vocab) for every position of `tokens` (B, T).
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let hidden = self.hidden(tokens, None);
        self.logits(hidden)
    }

    /// Returns the logits (B, vocab) of the last position only, reading and extending `cache`.
    ///
    /// The position embedding starts at the cache's length, so feeding a prompt and then one
    /// token at a time gives the same logits as one uncached pass over the whole sequence.
    pub fn forward_last(&self, tokens: Tensor<2, Int>, cache: Option<&mut KvCache>) -> Tensor<2> {
        let hidden = self.hidden(tokens, cache);
        let [batch, seq, emb] = hidden.dims();
        let last = hidden.slice([0..batch, seq - 1..seq, 0..emb]);
        self.logits(last).reshape([batch as i32, -1])
    }

    /// Number of positions the position embedding covers.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Data type of the weights, which a KV cache for this model must share.
    pub fn dtype(&self) -> DType {
        self.tok_emb.weight.val().dtype()
    }

    /// Returns the final-norm hidden states (B, T, C), reading and extending `cache`.
    pub(crate) fn hidden(&self, tokens: Tensor<2, Int>, mut cache: Option<&mut KvCache>) -> Tensor<3> {
        let [_, seq] = tokens.dims();
        let device = tokens.device();
        let offset = cache.as_ref().map_or(0, |cache| cache.len());
        assert!(
            offset + seq <= self.context_length,
            "sequence of {} tokens exceeds the context length {}",
            offset + seq,
            self.context_length
        );
        if let Some(cache) = cache.as_ref() {
            assert!(seq <= cache.remaining(), "{seq} new tokens overflow a KV cache with {} free positions", cache.remaining());
        }

        let positions = Tensor::<1, Int>::arange(offset as i64..(offset + seq) as i64, &device).reshape([1, seq]);
        let x = self.tok_emb.forward(tokens) + self.pos_emb.forward(positions);
        let mut x = self.drop_emb.forward(x);

        for (index, block) in self.blocks.iter().enumerate() {
            let layer = cache.as_deref_mut().map(|cache| cache.layer(index));
            x = block.forward(x, layer);
        }
        if let Some(cache) = cache {
            cache.advance(seq);
        }
        self.final_norm.forward(x)
    }

    fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        let [batch, seq, emb] = hidden.dims();
        match &self.out_head {
            Some(head) => head.forward(hidden),
            None => {
                // (B*T, C) x (C, V): the tied head reuses the token embedding matrix (V, C).
                let weight = self.tok_emb.weight.val().transpose();
                let vocab = weight.dims()[1];
                hidden.reshape([batch * seq, emb]).matmul(weight).reshape([batch, seq, vocab])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;

    use super::*;

    #[test]
    fn gpt2_small_parameter_counts() {
        let device = Device::flex();
        let mut config = GptConfig::preset("gpt2-small").unwrap();
        assert_eq!(config.context_length, 1024);
        assert!(!config.qkv_bias);
        // The book's figures for GPT-2 small: separate head, then head tied to the embedding.
        assert_eq!(config.init(&device).num_params(), 163_009_536);
        config.tie_embeddings = true;
        assert_eq!(config.init(&device).num_params(), 124_412_160);
    }

    #[test]
    fn causal_mask_aligns_to_last_query() {
        let device = Device::flex();
        let mask = causal_mask(2, 4, &device).into_data().iter::<bool>().collect::<Vec<_>>();
        // Two new queries at positions 2 and 3 over four keys: the first may not see key 3.
        assert_eq!(mask, [false, false, false, true, false, false, false, false]);
    }

    #[test]
    fn future_tokens_do_not_change_logits() {
        let device = Device::flex();
        let config = GptConfig { drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let model = config.init(&device);
        let short = Tensor::<2, Int>::from_data([[5, 17, 300]], &device);
        let long = Tensor::<2, Int>::from_data([[5, 17, 300, 42, 9]], &device);

        let short_logits = model.forward(short).into_data().iter::<f32>().collect::<Vec<_>>();
        let long_logits = model.forward(long).slice([0..1, 0..3]).into_data().iter::<f32>().collect::<Vec<_>>();
        for (a, b) in short_logits.iter().zip(&long_logits) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
