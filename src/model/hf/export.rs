//! Writing runner's GPT as a Hugging Face GPT-2 folder (`model.safetensors` and
//! `config.json`) that transformers' `GPT2LMHeadModel.from_pretrained` loads.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use safetensors::{Dtype, View};

use super::config::HfGpt2Config;
use super::error::WeightsError;
use super::hub::WEIGHTS_FILE;
use super::names::{LM_HEAD, Layout, TRANSFORMER_PREFIX, tensor_names, transpose};
use super::source::CONFIG_FILE;
use crate::model::checkpoint::{self, CheckpointError};
use crate::model::{Gpt, GptConfig};
use crate::results::write_atomic;

/// The files an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFiles {
    pub weights: PathBuf,
    pub config: PathBuf,
}

/// Exports the checkpoint of the run in `run_dir` into `out_dir`.
pub fn export_run(run_dir: &Path, out_dir: &Path) -> Result<ExportedFiles, CheckpointError> {
    let (config, model) = checkpoint::load(run_dir, &Device::flex())?;
    Ok(export_model(&model, &config, out_dir)?)
}

/// Writes `model`, built from `config`, into `out_dir` in the layout that transformers'
/// `GPT2LMHeadModel.save_pretrained` uses: names prefixed with `transformer.`, float32, and
/// `lm_head.weight` only when the head is not tied to the token embedding.
///
/// Existing files of the same names are replaced. Each is written to a temporary file and
/// renamed, so a failed export never leaves half a file.
pub fn export_model(model: &Gpt, config: &GptConfig, out_dir: &Path) -> Result<ExportedFiles, WeightsError> {
    let mut collector = ParamCollector::default();
    model.visit(&mut collector);
    let mut params = collector.params;

    let mut tensors = Vec::new();
    for entry in tensor_names(config) {
        let (shape, values) = params.remove(&entry.param).expect("every listed parameter is in the model");
        let values = match entry.layout {
            Layout::Same => values,
            Layout::Transposed => transpose(&values, shape[0], shape[1]),
        };
        let name = if entry.hf == LM_HEAD { LM_HEAD.to_string() } else { format!("{TRANSFORMER_PREFIX}{}", entry.hf) };
        tensors.push((name, F32Tensor { shape: entry.hf_shape(), values }));
    }
    if !config.qkv_bias {
        // GPT-2's c_attn always has a bias, and a zero bias computes what no bias does.
        for layer in 0..config.n_layers {
            let width = 3 * config.emb_dim;
            let name = format!("{TRANSFORMER_PREFIX}h.{layer}.attn.c_attn.bias");
            tensors.push((name, F32Tensor { shape: vec![width], values: vec![0.0; width] }));
        }
    }

    std::fs::create_dir_all(out_dir).map_err(|error| WeightsError::io("create folder", out_dir, error))?;
    let files = ExportedFiles { weights: out_dir.join(WEIGHTS_FILE), config: out_dir.join(CONFIG_FILE) };

    let hf_config = HfGpt2Config::from_architecture(config);
    let json = serde_json::to_string_pretty(&hf_config).expect("a GPT-2 config always serializes");
    write_atomic(&files.config, format!("{json}\n").as_bytes())
        .map_err(|error| WeightsError::Write { path: files.config.clone(), reason: error.to_string() })?;

    // transformers rejects safetensors files whose metadata lacks the framework's `format`.
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(tensors, Some(metadata), &files.weights)
        .map_err(|error| WeightsError::Write { path: files.weights.clone(), reason: error.to_string() })?;
    tracing::info!("exported {} and {}", files.weights.display(), files.config.display());
    Ok(files)
}

/// Copies every float parameter out of a model, keyed by module path.
#[derive(Default)]
struct ParamCollector {
    path: Vec<String>,
    params: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl ModuleVisitor for ParamCollector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data();
        let shape = data.shape().to_vec();
        let values = data.try_into_vec_as::<f32>().expect("float parameters convert to f32");
        self.params.insert(self.path.join("."), (shape, values));
    }
}

/// A float32 tensor in the safetensors writer's terms.
struct F32Tensor {
    shape: Vec<usize>,
    values: Vec<f32>,
}

impl View for F32Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        // safetensors stores little-endian values whatever the host's byte order.
        Cow::Owned(self.values.iter().flat_map(|value| value.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.values.len() * size_of::<f32>()
    }
}
