//! Text generation: prompts continued one token at a time, with or without the KV cache.
//!
//! With the cache, the prompt is fed once and then one new token per step, so each step
//! computes the query, key and value of that token only and reads the other positions' keys and
//! values from the cache. Without it, every step recomputes the whole context. Both paths
//! condition each prediction on the same tokens and return the same tokens for greedy decoding
//! (the tests check this up to float rounding, which has not changed a token in them).
//!
//! The window `W` (at most the model's context_length, which is also the default) is the number
//! of most recent tokens each prediction conditions on, and the number of positions the cache
//! holds. Once the context is longer than `W`, the uncached path feeds the last `W` tokens at
//! positions 0..W. The cached path cannot reuse its keys and values then, because the
//! learned position embedding is baked into them: it clears the cache and refills it from the
//! last `W` tokens in one forward pass, every step. Past the window a cached step therefore
//! costs as much as an uncached one, and the window bounds memory, not time.

mod command;
mod error;
mod precision;
mod sample;
mod stream;

use burn::tensor::{Device, FloatDType, Int, Tensor, TensorData};

pub use command::{GenerateArgs, run_command};
pub use error::GenerateError;
pub use precision::Precision;
pub use sample::{Sampler, Sampling, argmax};
pub use stream::StreamDecoder;

use crate::model::{Gpt, GptConfig, KvCache};

/// How to continue a prompt greedily.
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
/// `on_token` receives each new token as soon as it is chosen.
///
/// # Panics
///
/// Panics if `prompt` is empty.
pub fn generate_greedy(
    model: &Gpt,
    config: &GptConfig,
    prompt: &[u32],
    options: GenerateOptions,
    device: &Device,
    on_token: &mut dyn FnMut(u32),
) -> Vec<u32> {
    assert!(!prompt.is_empty(), "generation needs at least one prompt token");
    if options.max_new_tokens == 0 {
        return Vec::new();
    }
    let settings = GenerationSettings {
        max_new_tokens: options.max_new_tokens,
        stop_token: options.stop_token,
        use_cache: options.use_cache,
        window: None,
        sampling: Sampling::greedy(),
    };
    let mut on_step = |tokens: &[Option<u32>]| {
        if let Some(token) = tokens[0] {
            on_token(token);
        }
    };
    Generator::new(model, config, device)
        .generate(&[prompt], &settings, &mut on_step)
        .expect("greedy settings with a non-empty prompt are valid")
        .remove(0)
}

/// Everything that decides how prompts are continued.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationSettings {
    /// Maximum number of new tokens per prompt, at least 1.
    pub max_new_tokens: usize,
    /// A prompt's generation ends when it chooses this token, which is not returned.
    pub stop_token: Option<u32>,
    /// Reuse cached keys and values instead of recomputing every position at each step.
    pub use_cache: bool,
    /// Number of most recent tokens each prediction conditions on, from 1 to the model's
    /// context_length; the context_length when `None`.
    pub window: Option<usize>,
    /// Rule that chooses each token from the logits.
    pub sampling: Sampling,
}

impl GenerationSettings {
    /// Checks every value against its range and the model's context_length.
    pub fn check(&self, config: &GptConfig) -> Result<(), GenerateError> {
        if self.max_new_tokens == 0 {
            return Err(GenerateError::invalid("max_new_tokens", "0 generates nothing; use at least 1"));
        }
        if let Some(window) = self.window
            && !(1..=config.context_length).contains(&window)
        {
            return Err(GenerateError::invalid(
                "window",
                format!("{window} is outside 1..={}, the model's context_length", config.context_length),
            ));
        }
        self.sampling.check()
    }
}

/// Generates from one model, keeping its KV cache between calls so that the buffers are
/// allocated once for many prompts.
pub struct Generator<'a> {
    model: &'a Gpt,
    config: GptConfig,
    device: Device,
    cache: Option<KvCache>,
}

impl<'a> Generator<'a> {
    /// Creates a generator for `model`, whose architecture `config` describes, on `device`.
    pub fn new(model: &'a Gpt, config: &GptConfig, device: &Device) -> Self {
        Generator { model, config: config.clone(), device: device.clone(), cache: None }
    }

    /// Continues every prompt and returns each prompt's new tokens.
    ///
    /// Prompts form one batch, so they must have the same number of tokens. A prompt longer
    /// than the window is cropped to its last tokens. The cache is cleared first, so an earlier
    /// call cannot change this call's tokens. After each step `on_step` receives one entry per
    /// prompt, the token it chose or `None` once that prompt has stopped. A prompt that has stopped
    /// still runs through the model with the others until every prompt stops or
    /// `max_new_tokens` is reached.
    pub fn generate(
        &mut self,
        prompts: &[&[u32]],
        settings: &GenerationSettings,
        on_step: &mut dyn FnMut(&[Option<u32>]),
    ) -> Result<Vec<Vec<u32>>, GenerateError> {
        settings.check(&self.config)?;
        check_prompts(prompts)?;
        let batch = prompts.len();
        let window = settings.window.unwrap_or(self.config.context_length);
        if settings.use_cache {
            self.prepare_cache(batch, window);
        }

        let mut sampler = Sampler::new(settings.sampling);
        let mut histories: Vec<Vec<u32>> = prompts.iter().map(|prompt| prompt.to_vec()).collect();
        let mut generated = vec![Vec::new(); batch];
        let mut stopped = vec![false; batch];
        let mut logits = self.refill(&histories, window, settings.use_cache);

        for step in 1..=settings.max_new_tokens {
            let rows = logits_rows(logits);
            let vocab = rows.len() / batch;
            let mut chosen = vec![None; batch];
            for row in 0..batch {
                // A stopped prompt is fed its stop token again; its logits are never read.
                let token = match stopped[row] {
                    true => *histories[row].last().expect("history starts with the prompt"),
                    false => sampler.sample(&rows[row * vocab..(row + 1) * vocab]),
                };
                histories[row].push(token);
                if stopped[row] {
                    continue;
                }
                if settings.stop_token == Some(token) {
                    stopped[row] = true;
                } else {
                    generated[row].push(token);
                    chosen[row] = Some(token);
                }
            }
            on_step(&chosen);
            if step == settings.max_new_tokens || stopped.iter().all(|&done| done) {
                break;
            }
            logits = self.next_logits(&histories, window, settings.use_cache);
        }
        Ok(generated)
    }

    /// Size of the KV cache's buffers in bytes; 0 before the first cached generation.
    pub fn cache_bytes(&self) -> usize {
        self.cache.as_ref().map_or(0, KvCache::size_bytes)
    }

    /// Reuses the cache when its shape and type fit the request, and reallocates it otherwise.
    fn prepare_cache(&mut self, batch: usize, window: usize) {
        let dtype = self.model.dtype();
        match &mut self.cache {
            Some(cache) if cache.batch_size() == batch && cache.capacity() == window && cache.dtype() == dtype => cache.reset(),
            _ => self.cache = Some(KvCache::with_capacity(&self.config, batch, window, dtype, &self.device)),
        }
    }

    /// Returns the logits (B, V) after the newest token of every history.
    fn next_logits(&mut self, histories: &[Vec<u32>], window: usize, use_cache: bool) -> Tensor<2> {
        match self.cache.as_mut() {
            Some(cache) if use_cache && cache.remaining() > 0 => {
                let newest: Vec<u32> = histories.iter().map(|history| *history.last().expect("non-empty history")).collect();
                self.model.forward_last(to_tensor(&newest, 1, &self.device), Some(cache))
            }
            _ => {
                tracing::trace!("KV cache full or unused: recomputing the last {window} positions");
                self.refill(histories, window, use_cache)
            }
        }
    }

    /// Runs the last `window` tokens of every history through the model from position 0,
    /// refilling the cache when it is used, and returns the logits (B, V) of the last position.
    fn refill(&mut self, histories: &[Vec<u32>], window: usize, use_cache: bool) -> Tensor<2> {
        let seq = histories[0].len().min(window);
        let context: Vec<u32> = histories.iter().flat_map(|history| history[history.len() - seq..].iter().copied()).collect();
        let tokens = to_tensor(&context, seq, &self.device);
        match self.cache.as_mut() {
            Some(cache) if use_cache => {
                cache.reset();
                self.model.forward_last(tokens, Some(cache))
            }
            _ => self.model.forward_last(tokens, None),
        }
    }
}

fn check_prompts(prompts: &[&[u32]]) -> Result<(), GenerateError> {
    if prompts.is_empty() || prompts.iter().any(|prompt| prompt.is_empty()) {
        return Err(GenerateError::EmptyPrompt);
    }
    if prompts.iter().any(|prompt| prompt.len() != prompts[0].len()) {
        return Err(GenerateError::UnequalPrompts { lengths: prompts.iter().map(|prompt| prompt.len()).collect() });
    }
    Ok(())
}

/// (B*T,) token ids, row after row -> (B, T) tensor.
fn to_tensor(tokens: &[u32], seq: usize, device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = tokens.iter().map(|&token| token as i64).collect();
    Tensor::from_data(TensorData::new(ids, [tokens.len() / seq, seq]), device)
}

/// (B, V) logits of any float type -> B*V f32 values on the host, row after row.
fn logits_rows(logits: Tensor<2>) -> Vec<f32> {
    logits.cast(FloatDType::F32).into_data().try_into_vec::<f32>().expect("f32 logits after the cast")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: [u32; 4] = [464, 3290, 318, 257];

    fn micro(context_length: usize) -> (GptConfig, Gpt) {
        let device = Device::flex();
        device.seed(7);
        let config = GptConfig { context_length, drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let model = config.init(&device);
        (config, model)
    }

    fn settings(max_new_tokens: usize, use_cache: bool, window: Option<usize>) -> GenerationSettings {
        GenerationSettings { max_new_tokens, stop_token: None, use_cache, window, sampling: Sampling::greedy() }
    }

    fn run(model: &Gpt, config: &GptConfig, prompts: &[&[u32]], settings: GenerationSettings) -> Vec<Vec<u32>> {
        Generator::new(model, config, &Device::flex()).generate(prompts, &settings, &mut |_| {}).unwrap()
    }

    fn generate(model: &Gpt, config: &GptConfig, prompt: &[u32], max_new_tokens: usize, use_cache: bool) -> Vec<u32> {
        let options = GenerateOptions { max_new_tokens, stop_token: None, use_cache };
        generate_greedy(model, config, prompt, options, &Device::flex(), &mut |_| {})
    }

    #[test]
    fn cached_and_uncached_tokens_match() {
        let (config, model) = micro(24);
        // 40 new tokens overflow the 24-position context, so the refill path runs too.
        let uncached = generate(&model, &config, &PROMPT, 40, false);
        let cached = generate(&model, &config, &PROMPT, 40, true);
        assert_eq!(uncached.len(), 40);
        assert_eq!(cached, uncached);
    }

    #[test]
    fn cached_matches_uncached_for_200_tokens() {
        let (config, model) = micro(256);
        let uncached = run(&model, &config, &[&PROMPT], settings(200, false, None));
        let cached = run(&model, &config, &[&PROMPT], settings(200, true, None));
        assert_eq!(uncached[0].len(), 200);
        assert_eq!(cached, uncached);
    }

    #[test]
    fn window_equal_to_context_matches_uncached() {
        // 4 + 200 tokens pass the 64-position context, so the cache refills from step 61 on.
        let (config, model) = micro(64);
        let uncached = run(&model, &config, &[&PROMPT], settings(200, false, Some(64)));
        let cached = run(&model, &config, &[&PROMPT], settings(200, true, Some(64)));
        assert_eq!(cached[0].len(), 200);
        assert_eq!(cached, uncached);
    }

    #[test]
    fn window_with_batch_matches_uncached() {
        let (config, model) = micro(64);
        let second: [u32; 4] = [15496, 11, 995, 13];
        let uncached = run(&model, &config, &[&PROMPT, &second], settings(200, false, Some(64)));
        let cached = run(&model, &config, &[&PROMPT, &second], settings(200, true, Some(64)));
        assert_eq!(cached[1].len(), 200);
        assert_eq!(cached, uncached);
    }

    #[test]
    fn small_window_matches_uncached_window() {
        let (config, model) = micro(64);
        let uncached = run(&model, &config, &[&PROMPT], settings(40, false, Some(10)));
        let cached = run(&model, &config, &[&PROMPT], settings(40, true, Some(10)));
        assert_eq!(cached, uncached);
        // Conditioning on 10 tokens instead of all of them changes the continuation.
        let full = run(&model, &config, &[&PROMPT], settings(40, false, None));
        assert_ne!(cached, full);
    }

    #[test]
    fn window_bounds_cache_size() {
        let (config, model) = micro(64);
        let mut generator = Generator::new(&model, &config, &Device::flex());
        generator.generate(&[&PROMPT], &settings(30, true, Some(16)), &mut |_| {}).unwrap();
        // 2 layers x (keys + values) x 16 positions x 64 wide x 4 bytes.
        assert_eq!(generator.cache_bytes(), 2 * 2 * 16 * 64 * 4);
    }

    #[test]
    fn batch_rows_match_single_prompts() {
        let (config, model) = micro(256);
        let second: [u32; 4] = [15496, 11, 995, 13];
        let batched = run(&model, &config, &[&PROMPT, &second], settings(200, true, None));
        let uncached = run(&model, &config, &[&PROMPT, &second], settings(200, false, None));
        assert_eq!(batched, uncached);
        assert_eq!(batched[0], run(&model, &config, &[&PROMPT], settings(200, true, None))[0]);
        assert_eq!(batched[1], run(&model, &config, &[&second], settings(200, true, None))[0]);
    }

    #[test]
    fn generator_resets_between_prompts() {
        let (config, model) = micro(64);
        let second: [u32; 3] = [15496, 11, 995];
        let mut generator = Generator::new(&model, &config, &Device::flex());
        let first = generator.generate(&[&PROMPT], &settings(20, true, None), &mut |_| {}).unwrap();
        let then = generator.generate(&[&second], &settings(20, true, None), &mut |_| {}).unwrap();
        assert_eq!(first, run(&model, &config, &[&PROMPT], settings(20, true, None)));
        assert_eq!(then, run(&model, &config, &[&second], settings(20, true, None)));
    }

    #[test]
    fn stop_token_ends_generation() {
        let (config, model) = micro(128);
        let prompt = [464, 3290];
        let free = generate(&model, &config, &prompt, 5, true);

        let options = GenerateOptions { max_new_tokens: 5, stop_token: Some(free[2]), use_cache: true };
        let stopped = generate_greedy(&model, &config, &prompt, options, &Device::flex(), &mut |_| {});
        let first_stop = free.iter().position(|&token| token == free[2]).unwrap();
        assert_eq!(stopped, free[..first_stop]);
    }

    #[test]
    fn stopped_row_reports_none() {
        let (config, model) = micro(128);
        let free = run(&model, &config, &[&PROMPT], settings(6, true, None)).remove(0);
        let stop = GenerationSettings { stop_token: Some(free[1]), ..settings(6, true, None) };
        let mut steps = Vec::new();
        let result = Generator::new(&model, &config, &Device::flex())
            .generate(&[&PROMPT], &stop, &mut |tokens| steps.push(tokens.to_vec()))
            .unwrap();
        let first_stop = free.iter().position(|&token| token == free[1]).unwrap();
        assert_eq!(result[0], free[..first_stop]);
        assert_eq!(steps.last().unwrap(), &vec![None]);
    }

    #[test]
    fn seeded_sampling_repeats() {
        let (config, model) = micro(64);
        let sampling = Sampling { temperature: 1.0, top_k: Some(50), top_p: Some(0.95), seed: 9 };
        let sampled = GenerationSettings { sampling, ..settings(20, true, None) };
        let first = run(&model, &config, &[&PROMPT], sampled);
        assert_eq!(first, run(&model, &config, &[&PROMPT], sampled));
        assert_eq!(first, run(&model, &config, &[&PROMPT], GenerationSettings { use_cache: false, ..sampled }));
    }

    #[test]
    fn unequal_prompts_rejected() {
        let (config, model) = micro(64);
        let error = Generator::new(&model, &config, &Device::flex())
            .generate(&[&PROMPT, &PROMPT[..2]], &settings(3, true, None), &mut |_| {})
            .unwrap_err();
        assert!(matches!(error, GenerateError::UnequalPrompts { .. }), "{error}");
    }

    #[test]
    fn invalid_settings_rejected() {
        let (config, model) = micro(64);
        let mut generator = Generator::new(&model, &config, &Device::flex());
        for (bad, option) in [(settings(0, true, None), "max_new_tokens"), (settings(5, true, Some(65)), "window"), (settings(5, true, Some(0)), "window")] {
            let error = generator.generate(&[&PROMPT], &bad, &mut |_| {}).unwrap_err();
            assert!(matches!(&error, GenerateError::InvalidOption { option: found, .. } if *found == option), "{error}");
        }
        let error = generator.generate(&[&[]], &settings(5, true, None), &mut |_| {}).unwrap_err();
        assert!(matches!(error, GenerateError::EmptyPrompt), "{error}");
    }
}
