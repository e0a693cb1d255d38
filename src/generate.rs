//! Greedy text generation, with or without the KV cache.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::model::{Gpt, GptConfig, KvCache};

/// How to continue a prompt.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    /// Stop after emitting this token (it is not returned).
    pub stop_token: Option<u32>,
    /// Reuse cached keys and values instead of recomputing every position at each step.
    pub use_cache: bool,
}

/// Continues `prompt` greedily and returns the new tokens only.
///
/// The context is cropped to the model's last `context_length` tokens, as the reference does.
/// With the cache, the prompt is fed once and then one token per step; once the cache is full
/// each step recomputes the cropped context, so both paths return the same tokens.
pub fn generate_greedy(
    model: &Gpt,
    config: &GptConfig,
    prompt: &[u32],
    options: GenerateOptions,
    device: &Device,
    on_token: &mut dyn FnMut(u32),
) -> Vec<u32> {
    assert!(!prompt.is_empty(), "generation needs at least one prompt token");
    let context_length = config.context_length;
    let mut tokens = prompt.to_vec();
    let mut generated = Vec::with_capacity(options.max_new_tokens);
    let mut cache = options.use_cache.then(|| KvCache::new(config, 1, device));

    let mut logits = match cache.as_mut() {
        Some(cache) => model.forward_last(to_tensor(crop(&tokens, context_length), device), Some(cache)),
        None => model.forward_last(to_tensor(crop(&tokens, context_length), device), None),
    };

    while generated.len() < options.max_new_tokens {
        let next = argmax(logits);
        if options.stop_token == Some(next) {
            break;
        }
        tokens.push(next);
        generated.push(next);
        on_token(next);
        if generated.len() == options.max_new_tokens {
            break;
        }

        logits = match cache.as_mut() {
            Some(cache) if cache.remaining() > 0 => model.forward_last(to_tensor(&[next], device), Some(cache)),
            _ => model.forward_last(to_tensor(crop(&tokens, context_length), device), None),
        };
    }
    generated
}

fn crop(tokens: &[u32], context_length: usize) -> &[u32] {
    &tokens[tokens.len().saturating_sub(context_length)..]
}

/// (T,) token ids -> (1, T) tensor.
fn to_tensor(tokens: &[u32], device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = tokens.iter().map(|&token| token as i64).collect();
    Tensor::from_data(TensorData::new(ids, [1, tokens.len()]), device)
}

/// (1, V) logits -> id of the most likely token.
fn argmax(logits: Tensor<2>) -> u32 {
    let index = logits.argmax(1).into_data().iter::<i64>().next().expect("argmax of a non-empty row");
    index as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(model: &Gpt, config: &GptConfig, prompt: &[u32], max_new_tokens: usize, use_cache: bool) -> Vec<u32> {
        let options = GenerateOptions { max_new_tokens, stop_token: None, use_cache };
        generate_greedy(model, config, prompt, options, &Device::flex(), &mut |_| {})
    }

    #[test]
    fn cached_and_uncached_tokens_match() {
        let device = Device::flex();
        device.seed(7);
        let config = GptConfig { context_length: 24, drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let model = config.init(&device);

        // 40 new tokens overflow the 24-position context, so the cropped path runs too.
        let prompt = [464, 3290, 318, 257];
        let uncached = generate(&model, &config, &prompt, 40, false);
        let cached = generate(&model, &config, &prompt, 40, true);
        assert_eq!(uncached.len(), 40);
        assert_eq!(cached, uncached);
    }

    #[test]
    fn stop_token_ends_generation() {
        let device = Device::flex();
        let config = GptConfig { drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let model = config.init(&device);
        let prompt = [464, 3290];
        let free = generate(&model, &config, &prompt, 5, true);

        let options = GenerateOptions { max_new_tokens: 5, stop_token: Some(free[2]), use_cache: true };
        let stopped = generate_greedy(&model, &config, &prompt, options, &device, &mut |_| {});
        let first_stop = free.iter().position(|&token| token == free[2]).unwrap();
        assert_eq!(stopped, free[..first_stop]);
    }
}
