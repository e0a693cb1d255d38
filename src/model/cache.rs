//! The key/value cache used by incremental generation.

use burn::tensor::{Device, Tensor};

use super::config::GptConfig;

/// Pre-allocated key and value buffers of one attention layer, each (B, nh, capacity, hs).
#[derive(Debug)]
pub struct LayerCache {
    key: Option<Tensor<4>>,
    value: Option<Tensor<4>>,
    len: usize,
}

/// Keys and values of every layer for the tokens seen so far.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<LayerCache>,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// Allocates buffers for `batch` sequences of up to the model's context length.
    pub fn new(config: &GptConfig, batch: usize, device: &Device) -> Self {
        let shape = [batch, config.n_heads, config.context_length, config.head_dim()];
        let layers = (0..config.n_layers)
            .map(|_| LayerCache {
                key: Some(Tensor::zeros(shape, device)),
                value: Some(Tensor::zeros(shape, device)),
                len: 0,
            })
            .collect();
        KvCache { layers, len: 0, capacity: config.context_length }
    }

    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns true before the first token is fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions left before the buffers are full.
    pub fn remaining(&self) -> usize {
        self.capacity - self.len
    }

    /// Forgets every cached position, keeping the buffers.
    pub fn reset(&mut self) {
        self.len = 0;
        for layer in &mut self.layers {
            layer.len = 0;
        }
    }

    /// Size of the key and value buffers in bytes.
    pub fn size_bytes(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|layer| [&layer.key, &layer.value])
            .flatten()
            .map(|tensor| tensor.shape().num_elements() * tensor.dtype().size())
            .sum()
    }

    pub(crate) fn layer(&mut self, index: usize) -> &mut LayerCache {
        &mut self.layers[index]
    }

    pub(crate) fn advance(&mut self, seq: usize) {
        self.len += seq;
    }
}

impl LayerCache {
    /// Writes the new keys and values (B, nh, T, hs) after the cached ones and returns all of
    /// them, (B, nh, len + T, hs).
    pub(crate) fn append(&mut self, key: Tensor<4>, value: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let [batch, heads, seq, head_dim] = key.dims();
        let (start, end) = (self.len, self.len + seq);

        // Taking the buffer out leaves it uniquely owned, so slice_assign can write in place.
        let key_buffer = self.key.take().expect("key buffer present").slice_assign([0..batch, 0..heads, start..end, 0..head_dim], key);
        let value_buffer = self.value.take().expect("value buffer present").slice_assign([0..batch, 0..heads, start..end, 0..head_dim], value);

        let keys = key_buffer.clone().slice([0..batch, 0..heads, 0..end, 0..head_dim]);
        let values = value_buffer.clone().slice([0..batch, 0..heads, 0..end, 0..head_dim]);
        self.key = Some(key_buffer);
        self.value = Some(value_buffer);
        self.len = end;
        (keys, values)
    }
}
