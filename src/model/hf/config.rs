//! The Hugging Face `config.json` of a GPT-2 model and its mapping to [`GptConfig`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::WeightsError;
use crate::data::END_OF_TEXT;
use crate::model::GptConfig;

/// The fields of a transformers `GPT2Config` that decide the architecture.
///
/// A field missing from the file takes transformers' `GPT2Config` default, because
/// `save_pretrained` leaves out values equal to the defaults. Fields this runner does not use
/// (token ids, generation settings) are ignored on reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HfGpt2Config {
    #[serde(default = "default_vocab_size")]
    pub vocab_size: usize,
    /// Number of positions in the position embedding `wpe`.
    #[serde(default = "default_n_positions")]
    pub n_positions: usize,
    #[serde(default = "default_n_embd")]
    pub n_embd: usize,
    #[serde(default = "default_n_layer")]
    pub n_layer: usize,
    #[serde(default = "default_n_head")]
    pub n_head: usize,
    /// Width of the MLP's hidden layer, where `None` means 4 * n_embd.
    #[serde(default)]
    pub n_inner: Option<usize>,
    #[serde(default = "default_activation")]
    pub activation_function: String,
    #[serde(default = "default_layer_norm_epsilon")]
    pub layer_norm_epsilon: f64,
    /// Whether `lm_head.weight` is the token embedding `wte.weight`.
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_true")]
    pub scale_attn_weights: bool,
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    #[serde(default)]
    pub add_cross_attention: bool,
    /// Dropout on residual branches, embeddings and attention weights.
    #[serde(default = "default_dropout")]
    pub resid_pdrop: f64,
    #[serde(default = "default_dropout")]
    pub embd_pdrop: f64,
    #[serde(default = "default_dropout")]
    pub attn_pdrop: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architectures: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<u32>,
}

// The defaults of transformers' GPT2Config, which are GPT-2 small's values.
fn default_vocab_size() -> usize {
    50257
}
fn default_n_positions() -> usize {
    1024
}
fn default_n_embd() -> usize {
    768
}
fn default_n_layer() -> usize {
    12
}
fn default_n_head() -> usize {
    12
}
fn default_activation() -> String {
    "gelu_new".into()
}
fn default_layer_norm_epsilon() -> f64 {
    1e-5
}
fn default_true() -> bool {
    true
}
fn default_dropout() -> f64 {
    0.1
}

/// Activations that equal the tanh approximation of GELU that runner's GPT uses.
const TANH_GELU_NAMES: [&str; 3] = ["gelu_new", "gelu_pytorch_tanh", "gelu_fast"];

/// The LayerNorm epsilon that runner's GPT uses.
const LAYER_NORM_EPSILON: f64 = 1e-5;

impl HfGpt2Config {
    /// Returns the configuration of a GPT-2 model size with transformers' other defaults.
    pub fn with_size(n_embd: usize, n_head: usize, n_layer: usize) -> HfGpt2Config {
        HfGpt2Config {
            vocab_size: default_vocab_size(),
            n_positions: default_n_positions(),
            n_embd,
            n_layer,
            n_head,
            n_inner: None,
            activation_function: default_activation(),
            layer_norm_epsilon: default_layer_norm_epsilon(),
            tie_word_embeddings: true,
            scale_attn_weights: true,
            scale_attn_by_inverse_layer_idx: false,
            add_cross_attention: false,
            resid_pdrop: default_dropout(),
            embd_pdrop: default_dropout(),
            attn_pdrop: default_dropout(),
            model_type: Some("gpt2".into()),
            architectures: None,
            bos_token_id: None,
            eos_token_id: None,
        }
    }

    /// Reads `config.json` and checks that runner's GPT can reproduce the model it describes.
    pub fn load(path: &Path) -> Result<HfGpt2Config, WeightsError> {
        let text = std::fs::read_to_string(path).map_err(|error| WeightsError::io("read", path, error))?;
        let config: HfGpt2Config = serde_json::from_str(&text)
            .map_err(|error| WeightsError::InvalidConfig { path: path.to_path_buf(), reason: error.to_string() })?;
        config.check_supported(path)?;
        Ok(config)
    }

    /// Rejects settings that would make runner's forward pass differ from transformers'.
    pub fn check_supported(&self, path: &Path) -> Result<(), WeightsError> {
        let unsupported = |key: &'static str, value: String, supported: String| {
            Err(WeightsError::UnsupportedConfig { path: path.to_path_buf(), key, value, supported })
        };

        if let Some(model_type) = &self.model_type
            && model_type != "gpt2"
        {
            return unsupported("model_type", format!("`{model_type}`"), "`gpt2`".into());
        }
        for (key, value) in [
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
        ] {
            if value == 0 {
                return unsupported(key, "0".into(), "values of at least 1".into());
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return unsupported("n_head", self.n_head.to_string(), format!("a divisor of n_embd {}", self.n_embd));
        }
        if let Some(inner) = self.n_inner
            && inner != 4 * self.n_embd
        {
            return unsupported("n_inner", inner.to_string(), format!("null or 4 * n_embd = {}", 4 * self.n_embd));
        }
        if !TANH_GELU_NAMES.contains(&self.activation_function.as_str()) {
            return unsupported(
                "activation_function",
                format!("`{}`", self.activation_function),
                format!("the tanh approximation of GELU ({})", TANH_GELU_NAMES.join(", ")),
            );
        }
        if (self.layer_norm_epsilon - LAYER_NORM_EPSILON).abs() > 1e-12 {
            return unsupported("layer_norm_epsilon", self.layer_norm_epsilon.to_string(), LAYER_NORM_EPSILON.to_string());
        }
        if !self.scale_attn_weights {
            return unsupported("scale_attn_weights", "false".into(), "true".into());
        }
        if self.scale_attn_by_inverse_layer_idx {
            return unsupported("scale_attn_by_inverse_layer_idx", "true".into(), "false".into());
        }
        if self.add_cross_attention {
            return unsupported("add_cross_attention", "true".into(), "false".into());
        }
        Ok(())
    }

    /// Returns runner's architecture for these weights.
    ///
    /// GPT-2's c_attn always has a bias, so `qkv_bias` is true. Dropout and whether the output
    /// head shares the token embedding are training choices that the weights do not fix, so
    /// they come from the caller.
    pub fn to_architecture(&self, drop_rate: f64, tie_embeddings: bool) -> GptConfig {
        GptConfig {
            vocab_size: self.vocab_size,
            context_length: self.n_positions,
            emb_dim: self.n_embd,
            n_heads: self.n_head,
            n_layers: self.n_layer,
            drop_rate,
            qkv_bias: true,
            tie_embeddings,
        }
    }

    /// Returns the config that makes transformers' `GPT2LMHeadModel` compute what `config` does.
    pub fn from_architecture(config: &GptConfig) -> HfGpt2Config {
        HfGpt2Config {
            vocab_size: config.vocab_size,
            n_positions: config.context_length,
            tie_word_embeddings: config.tie_embeddings,
            resid_pdrop: config.drop_rate,
            embd_pdrop: config.drop_rate,
            attn_pdrop: config.drop_rate,
            architectures: Some(vec!["GPT2LMHeadModel".into()]),
            bos_token_id: Some(END_OF_TEXT),
            eos_token_id: Some(END_OF_TEXT),
            ..HfGpt2Config::with_size(config.emb_dim, config.n_heads, config.n_layers)
        }
    }

    /// Describes the architecture in config.json terms, for error messages.
    pub fn describe(&self) -> String {
        format!(
            "n_layer {}, n_head {}, n_embd {}, n_positions {}, vocab_size {}",
            self.n_layer, self.n_head, self.n_embd, self.n_positions, self.vocab_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_transformers_defaults() {
        let config: HfGpt2Config = serde_json::from_str(r#"{"n_embd": 64, "n_head": 2}"#).unwrap();
        assert_eq!(config.n_layer, 12);
        assert_eq!(config.n_positions, 1024);
        assert_eq!(config.vocab_size, 50257);
        assert!(config.tie_word_embeddings);
        assert_eq!(config.activation_function, "gelu_new");
        config.check_supported(Path::new("config.json")).unwrap();
    }

    #[test]
    fn exact_gelu_is_rejected() {
        let config: HfGpt2Config = serde_json::from_str(r#"{"activation_function": "gelu"}"#).unwrap();
        let error = config.check_supported(Path::new("config.json")).unwrap_err().to_string();
        assert!(error.contains("`activation_function`"), "{error}");
        assert!(error.contains("gelu_new"), "{error}");
    }

    #[test]
    fn indivisible_heads_are_rejected() {
        let config: HfGpt2Config = serde_json::from_str(r#"{"n_embd": 64, "n_head": 3}"#).unwrap();
        let error = config.check_supported(Path::new("config.json")).unwrap_err().to_string();
        assert!(error.contains("`n_head`"), "{error}");
    }

    #[test]
    fn architecture_round_trips() {
        let architecture = GptConfig { drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let hf = HfGpt2Config::from_architecture(&architecture);
        assert_eq!(hf.n_positions, 128);
        assert!(!hf.tie_word_embeddings);
        let back = hf.to_architecture(0.0, architecture.tie_embeddings);
        assert_eq!(back, GptConfig { qkv_bias: true, ..architecture });
    }
}
