//! GPT architecture settings and the named presets.

use burn::config::Config;

use crate::recipe::ModelSection;

/// The shape of a GPT model; `init` builds it.
#[derive(Config, Debug, PartialEq)]
pub struct GptConfig {
    pub vocab_size: usize,
    /// Number of positions the position embedding covers.
    pub context_length: usize,
    pub emb_dim: usize,
    pub n_heads: usize,
    pub n_layers: usize,
    pub drop_rate: f64,
    pub qkv_bias: bool,
    /// Reuse the token embedding matrix as the output head.
    pub tie_embeddings: bool,
}

/// Names accepted by `model.preset`.
pub const PRESETS: [&str; 6] = ["gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl", "gpt-tiny", "gpt-micro"];

impl GptConfig {
    /// Returns the architecture of a named preset.
    ///
    /// The `gpt2-*` presets are OpenAI's GPT-2 sizes with the book's pretraining choices
    /// (no qkv bias, separate output head, dropout 0.1). `gpt-tiny` trains in minutes on two
    /// CPU cores, and `gpt-micro` exists for tests that must run in seconds.
    pub fn preset(name: &str) -> Option<GptConfig> {
        let (context_length, emb_dim, n_heads, n_layers) = match name {
            "gpt2-small" => (1024, 768, 12, 12),
            "gpt2-medium" => (1024, 1024, 16, 24),
            "gpt2-large" => (1024, 1280, 20, 36),
            "gpt2-xl" => (1024, 1600, 25, 48),
            "gpt-tiny" => (256, 256, 4, 4),
            "gpt-micro" => (128, 64, 2, 2),
            _ => return None,
        };
        Some(GptConfig {
            vocab_size: 50257,
            context_length,
            emb_dim,
            n_heads,
            n_layers,
            drop_rate: 0.1,
            qkv_bias: false,
            tie_embeddings: false,
        })
    }

    /// Builds the architecture a recipe's `model` section describes.
    ///
    /// Returns the offending key and a message when the preset is unknown or a value is invalid.
    pub fn from_section(section: &ModelSection) -> Result<GptConfig, (&'static str, String)> {
        let mut config = GptConfig::preset(&section.preset).ok_or_else(|| {
            ("model.preset", format!("unknown preset `{}`; expected one of: {}", section.preset, PRESETS.join(", ")))
        })?;

        if let Some(value) = section.vocab_size {
            config.vocab_size = value;
        }
        if let Some(value) = section.context_length {
            config.context_length = value;
        }
        if let Some(value) = section.emb_dim {
            config.emb_dim = value;
        }
        if let Some(value) = section.n_heads {
            config.n_heads = value;
        }
        if let Some(value) = section.n_layers {
            config.n_layers = value;
        }
        if let Some(value) = section.drop_rate {
            config.drop_rate = value;
        }
        if let Some(value) = section.qkv_bias {
            config.qkv_bias = value;
        }
        if let Some(value) = section.tie_embeddings {
            config.tie_embeddings = value;
        }

        config.check()?;
        Ok(config)
    }

    /// Checks the values that `init` cannot build a model from.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (key, value) in [
            ("model.vocab_size", self.vocab_size),
            ("model.context_length", self.context_length),
            ("model.emb_dim", self.emb_dim),
            ("model.n_heads", self.n_heads),
            ("model.n_layers", self.n_layers),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        if self.emb_dim % self.n_heads != 0 {
            return Err((
                "model.n_heads",
                format!(
                    "emb_dim {} is not divisible by n_heads {}; pick n_heads that divides emb_dim",
                    self.emb_dim, self.n_heads
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.drop_rate) {
            return Err(("model.drop_rate", format!("{} is outside [0, 1)", self.drop_rate)));
        }
        Ok(())
    }

    /// Returns the size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.emb_dim / self.n_heads
    }
}
