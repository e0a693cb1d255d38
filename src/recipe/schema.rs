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
    /// Compute device: `cpu`, `wgpu` or `cuda`.
    pub device: DeviceKind,
    pub data: DataSection,
    pub model: ModelSection,
    pub train: TrainSection,
    pub pretrain: PretrainSection,
    pub instruct: InstructSection,
    pub classify: ClassifySection,
    /// Inference benchmarks that `runner bench` runs; omitted from the YAML when empty.
    #[serde(skip_serializing_if = "super::benchmark::BenchmarkSection::is_empty")]
    pub benchmark: super::benchmark::BenchmarkSection,
}

impl Recipe {
    /// Writes out the preset's architecture keys, so `runner show` lists every value.
    ///
    /// Does nothing to a model section that does not resolve; validation reports that.
    pub fn fill_derived(&mut self) {
        if let Ok(model) = GptConfig::from_section(&self.model) {
            self.set_model(&model);
        }
    }

    /// Records the architecture that actually runs (which a checkpoint may dictate) and the
    /// values that default to its context length, so the stored recipe repeats the run.
    pub fn set_model(&mut self, model: &GptConfig) {
        self.model.vocab_size = Some(model.vocab_size);
        self.model.context_length = Some(model.context_length);
        self.model.emb_dim = Some(model.emb_dim);
        self.model.n_heads = Some(model.n_heads);
        self.model.n_layers = Some(model.n_layers);
        self.model.drop_rate = Some(model.drop_rate);
        self.model.qkv_bias = Some(model.qkv_bias);
        self.model.tie_embeddings = Some(model.tie_embeddings);
    }

    /// Fills `pretrain.stride` and `instruct.allowed_max_length`, which default to the
    /// context length of the model that runs.
    pub fn set_context_defaults(&mut self, context_length: usize) {
        self.pretrain.stride.get_or_insert(context_length);
        self.instruct.allowed_max_length.get_or_insert(context_length);
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
    /// Text classification with the output head replaced by one output per class.
    Classify,
}

impl Stage {
    /// Returns the stage name as written in recipes and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Pretrain => "pretrain",
            Stage::Instruct => "instruct",
            Stage::Classify => "classify",
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

/// Dataset, tokenizer and split fractions.
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
    /// Initialisation scheme of random weights.
    pub weight_init: WeightInit,
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

/// Weight initialisation schemes for `model.init: random`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightInit {
    /// GPT-2's: normal(0, 0.02) weights, residual projections scaled by 1/sqrt(2 * n_layers),
    /// zero biases.
    Gpt2,
    /// PyTorch's layer defaults, which the book's models use: uniform ±1/sqrt(fan_in) for
    /// linear layers and normal(0, 1) for embeddings.
    Pytorch,
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

/// Settings of the classify stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifySection {
    /// Field separator of the data file, one character (`\t` for TSV, `,` for CSV).
    pub separator: String,
    /// The first line of the file names the columns.
    pub has_header: bool,
    /// Names of the columns in file order when there is no header.
    pub column_names: Vec<String>,
    pub text_column: String,
    pub label_column: String,
    /// Class names in class-index order; inferred (sorted) from the data when empty.
    pub labels: Vec<String>,
    /// Undersample every class to the size of the smallest one before splitting.
    pub balance: bool,
    /// `reject` a line that is not valid UTF-8, or `skip` it and count it.
    pub invalid_utf8: InvalidUtf8Policy,
    /// Length every input is padded or truncated to.
    pub padding: Padding,
    /// Length for `padding: fixed`.
    pub pad_length: Option<usize>,
    /// Token position whose hidden state feeds the classification head.
    pub pooling: Pooling,
    /// Parts of the model that train; everything else is frozen.
    pub trainable: Trainable,
}

/// Handling of lines that are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidUtf8Policy {
    Reject,
    Skip,
}

/// Input length of the classify stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// The length of the longest training example, as the reference does.
    Longest,
    /// The model's context_length.
    Context,
    /// `classify.pad_length` tokens.
    Fixed,
}

/// Token position that feeds the classification head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The last position, padding or not: the only one that attends to every token.
    Last,
    First,
    /// The last token before the padding.
    LastNonPadding,
    /// The mean over the non-padding tokens.
    Mean,
}

/// Parts of the model that the classify stage trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trainable {
    /// The output head only.
    LastLayer,
    /// The last transformer block, the final norm and the head.
    LastBlock,
    /// The last two blocks, the final norm and the head.
    LastTwoBlocks,
    /// Every parameter.
    All,
}

impl Default for ClassifySection {
    fn default() -> Self {
        ClassifySection {
            separator: "\t".into(),
            has_header: false,
            column_names: vec!["label".into(), "text".into()],
            text_column: "text".into(),
            label_column: "label".into(),
            labels: Vec::new(),
            balance: true,
            invalid_utf8: InvalidUtf8Policy::Reject,
            padding: Padding::Longest,
            pad_length: None,
            pooling: Pooling::Last,
            trainable: Trainable::LastBlock,
        }
    }
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
            classify: ClassifySection::default(),
            benchmark: Default::default(),
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
            weight_init: WeightInit::Gpt2,
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
