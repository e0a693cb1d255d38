//! Choosing the next token from logits: greedy, or temperature sampling with top-k and top-p.
//!
//! Sampling runs on the host on one row of logits at a time, with a seeded ChaCha8 generator,
//! so a seed reproduces the same tokens on every backend and every run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::error::GenerateError;

/// How the next token is chosen from the logits.
///
/// The steps run in the order of Hugging Face's `generate` and the book's `generate` function.
/// Top-k keeps the `top_k` largest logits, which are then divided by `temperature` and turned
/// into probabilities by softmax. Top-p keeps the smallest set of most likely tokens whose
/// probabilities sum to at least `top_p`, and one token is drawn from what remains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Divides the logits; 0 picks the most likely token (greedy) and ignores the other keys.
    pub temperature: f32,
    /// Keep only this many most likely tokens; all when `None`.
    pub top_k: Option<usize>,
    /// Keep the most likely tokens up to this cumulative probability, in (0, 1]; all when `None`.
    pub top_p: Option<f32>,
    /// Seed of the random generator that draws tokens.
    pub seed: u64,
}

impl Sampling {
    /// Returns greedy decoding, which always picks the most likely token.
    pub fn greedy() -> Self {
        Sampling { temperature: 0.0, top_k: None, top_p: None, seed: 0 }
    }

    /// Returns true when the most likely token is always picked.
    pub fn is_greedy(&self) -> bool {
        self.temperature == 0.0
    }

    /// Checks that every value is in its range.
    pub fn check(&self) -> Result<(), GenerateError> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(GenerateError::invalid("temperature", format!("{} is not a number >= 0; use 0 for greedy decoding", self.temperature)));
        }
        if self.top_k == Some(0) {
            return Err(GenerateError::invalid("top_k", "0 keeps no token; use at least 1, or leave it unset to keep all"));
        }
        if let Some(top_p) = self.top_p
            && !(top_p > 0.0 && top_p <= 1.0)
        {
            return Err(GenerateError::invalid("top_p", format!("{top_p} is outside (0, 1]")));
        }
        Ok(())
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling::greedy()
    }
}

/// Draws tokens as a `Sampling` describes, keeping the random generator's state between calls.
#[derive(Debug, Clone)]
pub struct Sampler {
    sampling: Sampling,
    rng: ChaCha8Rng,
}

impl Sampler {
    /// Creates a sampler whose generator starts from `sampling.seed`.
    pub fn new(sampling: Sampling) -> Self {
        Sampler { sampling, rng: ChaCha8Rng::seed_from_u64(sampling.seed) }
    }

    /// Chooses the next token id from one row of logits over the vocabulary.
    ///
    /// # Panics
    ///
    /// Panics if `logits` is empty.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        assert!(!logits.is_empty(), "sampling needs at least one logit");
        if self.sampling.is_greedy() || self.sampling.top_k == Some(1) {
            return argmax(logits);
        }

        let candidates = self.candidates(logits);
        let weights = self.probabilities(&candidates);
        let total: f32 = weights.iter().sum();
        let mut threshold = self.rng.random::<f32>() * total;
        for (&(token, _), &weight) in candidates.iter().zip(&weights) {
            if threshold < weight {
                return token;
            }
            threshold -= weight;
        }
        // Rounding can leave the threshold just above the last cumulative weight.
        candidates.last().expect("at least one candidate").0
    }

    /// Returns (token, logit) pairs sorted by logit, most likely first, cut to `top_k`.
    fn candidates(&self, logits: &[f32]) -> Vec<(u32, f32)> {
        let mut candidates: Vec<(u32, f32)> = logits.iter().enumerate().map(|(token, &logit)| (token as u32, logit)).collect();
        let descending = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1);

        // Partitioning first makes top-k sampling cost O(V + k log k) instead of a full sort.
        if let Some(top_k) = self.sampling.top_k
            && top_k < candidates.len()
        {
            candidates.select_nth_unstable_by(top_k - 1, descending);
            candidates.truncate(top_k);
        }
        candidates.sort_unstable_by(descending);
        candidates
    }

    /// Returns the unnormalised probabilities of the sorted candidates after temperature and
    /// top-p; tokens cut by top-p get 0.
    fn probabilities(&self, candidates: &[(u32, f32)]) -> Vec<f32> {
        let temperature = self.sampling.temperature;
        let max = candidates[0].1 / temperature;
        let mut weights: Vec<f32> = candidates.iter().map(|&(_, logit)| (logit / temperature - max).exp()).collect();

        if let Some(top_p) = self.sampling.top_p {
            let total: f32 = weights.iter().sum();
            let mut cumulative = 0.0;
            // Keep tokens while the probability before them is below top_p, so the most likely
            // token always stays and the kept set is the smallest that reaches top_p.
            for weight in weights.iter_mut() {
                if cumulative >= top_p * total {
                    *weight = 0.0;
                } else {
                    cumulative += *weight;
                }
            }
        }
        weights
    }
}

/// Returns the index of the largest logit, the first one on ties.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (index, &logit) in logits.iter().enumerate() {
        if logit > logits[best] {
            best = index;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling(temperature: f32, top_k: Option<usize>, top_p: Option<f32>) -> Sampling {
        Sampling { temperature, top_k, top_p, seed: 42 }
    }

    fn draw(sampling: Sampling, logits: &[f32], count: usize) -> Vec<u32> {
        let mut sampler = Sampler::new(sampling);
        (0..count).map(|_| sampler.sample(logits)).collect()
    }

    #[test]
    fn greedy_picks_first_maximum() {
        assert_eq!(argmax(&[0.1, 3.0, -1.0, 3.0]), 1);
        assert_eq!(draw(Sampling::greedy(), &[0.1, 3.0, -1.0, 3.0], 3), [1, 1, 1]);
    }

    #[test]
    fn top_k_one_is_greedy() {
        assert_eq!(draw(sampling(5.0, Some(1), None), &[0.0, 0.5, 0.4], 20), vec![1; 20]);
    }

    #[test]
    fn top_k_draws_only_largest() {
        let logits = [1.0, 5.0, 0.0, 4.9, -2.0];
        let tokens = draw(sampling(10.0, Some(2), None), &logits, 200);
        assert!(tokens.iter().all(|&token| token == 1 || token == 3), "{tokens:?}");
        assert!(tokens.contains(&1));
        assert!(tokens.contains(&3));
    }

    #[test]
    fn top_p_cuts_unlikely_tail() {
        // Probabilities are about 0.64, 0.24, 0.09, 0.03: top_p 0.8 keeps the first two.
        let logits = [3.0, 2.0, 1.0, 0.0];
        let tokens = draw(sampling(1.0, None, Some(0.8)), &logits, 300);
        assert!(tokens.iter().all(|&token| token <= 1), "{tokens:?}");
        assert!(tokens.contains(&1));
    }

    #[test]
    fn small_top_p_keeps_most_likely() {
        let tokens = draw(sampling(1.0, None, Some(1e-6)), &[0.0, 2.0, 1.0], 50);
        assert_eq!(tokens, vec![1; 50]);
    }

    #[test]
    fn high_temperature_flattens_distribution() {
        let logits = [2.0, 0.0];
        let count_first = |temperature| draw(sampling(temperature, None, None), &logits, 2000).iter().filter(|&&token| token == 0).count();
        // exp(2) / (exp(2) + 1) is 0.88 at temperature 1; at temperature 100 both are near 0.5.
        let sharp = count_first(1.0);
        let flat = count_first(100.0);
        assert!((1650..1850).contains(&sharp), "{sharp}");
        assert!((900..1100).contains(&flat), "{flat}");
    }

    #[test]
    fn same_seed_same_tokens() {
        let logits: Vec<f32> = (0..100).map(|index| (index as f32 * 0.37).sin()).collect();
        let settings = sampling(1.0, Some(50), Some(0.9));
        assert_eq!(draw(settings, &logits, 30), draw(settings, &logits, 30));
        let other = Sampling { seed: 43, ..settings };
        assert_ne!(draw(settings, &logits, 30), draw(other, &logits, 30));
    }

    #[test]
    fn check_rejects_out_of_range_values() {
        let cases = [
            (sampling(-0.5, None, None), "temperature"),
            (sampling(f32::NAN, None, None), "temperature"),
            (sampling(1.0, Some(0), None), "top_k"),
            (sampling(1.0, None, Some(0.0)), "top_p"),
            (sampling(1.0, None, Some(1.5)), "top_p"),
        ];
        for (settings, option) in cases {
            let error = settings.check().unwrap_err();
            assert!(matches!(&error, GenerateError::InvalidOption { option: found, .. } if *found == option), "{settings:?}: {error}");
        }
        assert!(sampling(0.7, Some(40), Some(1.0)).check().is_ok());
    }
}
