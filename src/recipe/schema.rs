//! The recipe schema: every key a recipe may set, with its default.

use serde::{Deserialize, Serialize};

use crate::model::GptConfig;

/// One experiment: data pipeline, model, training stage and evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recipe {
    /// Run folder name under the results root; defaults to the recipe file's stem.
    pub name: String,
    /// Another recipe file whose keys this one starts from, relative to this file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// The training stage.
    pub stage: Stage,
    /// Seed for weight initialisation, shuffling and dropout.
    pub seed: u64,
    /// Where tensors live: `cpu`, `wgpu` or `cuda`.
    pub device: DeviceKind,
    pub data: DataSection,
    pub model: ModelSection,
    pub train: TrainSection,
    pub pretrain: PretrainSection,
    pub instruct: InstructSection,
}

impl Recipe {
    /// Writes out every value that defaults to another: the preset's architecture keys, the
    /// stride and the truncation length, so the stored recipe shows what actually ran.
    ///
    /// Does nothing to a model section that does not resolve; validation reports that.
    pub fn fill_derived(&mut self) {
        let Ok(model) = GptConfig::from_section(&self.model) else {
            return;
        };
        self.model.vocab_size = Some(model.vocab_size);
        self.model.context_length = Some(model.context_length);
        self.model.emb_dim = Some(model.emb_dim);
        self.model.n_heads = Some(model.n_heads);
        self.model.n_layers = Some(model.n_layers);
        self.model.drop_rate = Some(model.drop_rate);
        self.model.qkv_bias = Some(model.qkv_bias);
        self.model.tie_embeddings = Some(model.tie_embeddings);
        self.pretrain.stride.get_or_insert(model.context_length);
        self.instruct.allowed_max_length.get_or_insert(model.context_length);
    }
}

/// The training stages a recipe can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Next-token prediction on plain text.
    Pretrain,
    /// Supervised finetuning on Alpaca-style instruction data.
    Instruct,
}

impl Stage {
    /// Returns the stage name as written in recipes and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Pretrain => "pretrain",
            Stage::Instruct => "instruct",
        }
    }
}

/// Compute devices a recipe can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// burn-flex on the CPU; always compiled in.
    Cpu,
    /// burn's wgpu backend; needs the `wgpu` cargo feature.
    Wgpu,
    /// burn's CUDA backend; needs the `cuda` cargo feature.
    Cuda,
}

/// Where the data comes from and how it is split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// A dataset card name (see `datasets/`), a card file, or a data file path.
    pub dataset: String,
    /// Tokenizer name; `gpt2` is the GPT-2 BPE.
    pub tokenizer: String,
    /// Fractions of the data for each split.
    pub split: SplitSection,
}

/// Split fractions; `test` may be 0 for stages without a test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitSection {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

/// The model architecture and its initial weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// A named architecture (`gpt2-small`, `gpt-tiny`, ...); the keys below override it.
    pub preset: String,
    /// `random`, or the folder of an earlier run whose checkpoint supplies the weights.
    pub init: String,
    pub vocab_size: Option<usize>,
    pub context_length: Option<usize>,
    pub emb_dim: Option<usize>,
    pub n_heads: Option<usize>,
    pub n_layers: Option<usize>,
    pub drop_rate: Option<f64>,
    pub qkv_bias: Option<bool>,
    /// Share the token embedding matrix with the output head, as GPT-2 does.
    pub tie_embeddings: Option<bool>,
}

/// Optimiser and loop settings shared by every stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    pub epochs: usize,
    /// Stop after this many optimiser steps, even mid-epoch.
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub betas: [f64; 2],
    pub eps: f64,
    /// Evaluate every this many optimiser steps.
    pub eval_freq: usize,
    /// Batches per split in each periodic evaluation.
    pub eval_iter: usize,
    /// Clip the gradient norm to this value; no clipping when absent.
    pub grad_clip: Option<f64>,
}

/// Settings of the pretrain stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PretrainSection {
    /// Step between window starts; defaults to the model's context_length.
    pub stride: Option<usize>,
    /// Prompt of the sample generated after each epoch.
    pub start_context: String,
    /// Length of that sample in tokens.
    pub sample_tokens: usize,
}

/// Settings of the instruct stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstructSection {
    /// Truncate every training sequence to this many tokens; defaults to the model's
    /// context_length.
    pub allowed_max_length: Option<usize>,
    /// Leave the prompt tokens out of the loss.
    pub mask_prompt: bool,
    /// Longest generated response for the test split.
    pub max_new_tokens: usize,
    /// Generate responses for only the first N test entries; all when absent.
    pub eval_limit: Option<usize>,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            name: String::new(),
            extends: None,
            stage: Stage::Pretrain,
            seed: 123,
            device: DeviceKind::Cpu,
            data: DataSection::default(),
            model: ModelSection::default(),
            train: TrainSection::default(),
            pretrain: PretrainSection::default(),
            instruct: InstructSection::default(),
        }
    }
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            dataset: String::new(),
            tokenizer: "gpt2".into(),
            split: SplitSection::default(),
        }
    }
}

impl Default for SplitSection {
    fn default() -> Self {
        SplitSection { train: 0.9, val: 0.1, test: 0.0 }
    }
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            preset: "gpt2-small".into(),
            init: "random".into(),
            vocab_size: None,
            context_length: None,
            emb_dim: None,
            n_heads: None,
            n_layers: None,
            drop_rate: None,
            qkv_bias: None,
            tie_embeddings: None,
        }
    }
}

impl Default for TrainSection {
    fn default() -> Self {
        TrainSection {
            epochs: 1,
            max_steps: None,
            batch_size: 2,
            lr: 4e-4,
            weight_decay: 0.1,
            betas: [0.9, 0.999],
            eps: 1e-8,
            eval_freq: 5,
            eval_iter: 5,
            grad_clip: None,
        }
    }
}

impl Default for PretrainSection {
    fn default() -> Self {
        PretrainSection {
            stride: None,
            start_context: "Every effort moves you".into(),
            sample_tokens: 50,
        }
    }
}

impl Default for InstructSection {
    fn default() -> Self {
        InstructSection {
            allowed_max_length: None,
            mask_prompt: false,
            max_new_tokens: 256,
            eval_limit: None,
        }
    }
}
