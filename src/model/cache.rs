//! The key/value cache used by incremental generation.
//!
//! Each attention layer owns two buffers, keys and values, of shape (B, nh, capacity, hs),
//! allocated once and written in place. `capacity` is the cache's window: at most that many
//! positions are kept. GPT-2 adds a learned absolute position embedding to the input, so every
//! cached key and value depends on the position it was computed at, and a cache cannot slide
//! by one position without recomputing all of them. When the cache is full, the generation
//! loop therefore clears it and refills it from the last `capacity` tokens (see
//! `crate::generate`).

use burn::tensor::{DType, Device, Tensor};

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
    batch: usize,
    dtype: DType,
}

impl KvCache {
    /// Allocates f32 buffers for `batch` sequences of up to the model's context length.
    pub fn new(config: &GptConfig, batch: usize, device: &Device) -> Self {
        Self::with_capacity(config, batch, config.context_length, DType::F32, device)
    }

    /// Allocates buffers of `dtype` for `batch` sequences of up to `capacity` positions.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is 0 or above the model's context length, because the position
    /// embedding has no row for a later position.
    pub fn with_capacity(config: &GptConfig, batch: usize, capacity: usize, dtype: DType, device: &Device) -> Self {
        assert!(
            (1..=config.context_length).contains(&capacity),
            "cache capacity {capacity} is outside 1..={}",
            config.context_length
        );
        let shape = [batch, config.n_heads, capacity, config.head_dim()];
        let layers = (0..config.n_layers)
            .map(|_| LayerCache {
                key: Some(Tensor::zeros(shape, (device, dtype))),
                value: Some(Tensor::zeros(shape, (device, dtype))),
                len: 0,
            })
            .collect();
        KvCache { layers, len: 0, capacity, batch, dtype }
    }

    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns true before the first token is fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of positions the buffers hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of sequences the buffers hold.
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Data type of the buffers, which is the model's.
    pub fn dtype(&self) -> DType {
        self.dtype
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
    ///
    /// # Panics
    ///
    /// Panics if the T new positions do not fit in the buffers; `Gpt::forward_last` checks
    /// this before any layer runs.
    pub(crate) fn append(&mut self, key: Tensor<4>, value: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let [batch, heads, seq, head_dim] = key.dims();
        let (start, end) = (self.len, self.len + seq);

        // Taking the buffer out leaves it uniquely owned, so slice_assign can write in place.
        // burn-flex 0.22.1 copies the whole buffer instead when another handle to it is alive,
        // which is why the views returned below must be dropped before the next append.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn micro() -> GptConfig {
        GptConfig::preset("gpt-micro").unwrap()
    }

    #[test]
    fn size_counts_both_buffers_of_every_layer() {
        let device = Device::flex();
        let config = micro();
        let cache = KvCache::with_capacity(&config, 3, 16, DType::F32, &device);
        // 2 layers x (keys + values) x batch 3 x 16 positions x 64 wide x 4 bytes.
        assert_eq!(cache.size_bytes(), 2 * 2 * 3 * 16 * 64 * 4);
        assert_eq!(cache.batch_size(), 3);
    }

    #[test]
    fn half_precision_halves_size() {
        let device = Device::flex();
        let config = micro();
        let full = KvCache::with_capacity(&config, 1, 32, DType::F32, &device);
        let half = KvCache::with_capacity(&config, 1, 32, DType::F16, &device);
        assert_eq!(half.size_bytes() * 2, full.size_bytes());
    }

    #[test]
    fn reset_empties_cache() {
        let device = Device::flex();
        let config = micro();
        let mut cache = KvCache::with_capacity(&config, 1, 8, DType::F32, &device);
        cache.advance(5);
        assert_eq!(cache.remaining(), 3);
        cache.reset();
        assert!(cache.is_empty());
        assert_eq!(cache.remaining(), 8);
    }

    #[test]
    #[should_panic(expected = "cache capacity 129 is outside 1..=128")]
    fn capacity_above_context_panics() {
        KvCache::with_capacity(&micro(), 1, 129, DType::F32, &Device::flex());
    }
}
