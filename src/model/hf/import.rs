//! Loading Hugging Face GPT-2 weights into runner's GPT.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, TensorData};

use super::config::HfGpt2Config;
use super::error::WeightsError;
use super::names::{LM_HEAD, Layout, TRANSFORMER_PREFIX, WTE, is_mask_buffer, tensor_names};
use super::reader::SafetensorsFile;
use crate::model::{Gpt, GptConfig};

/// A GPT-2 weights file and the architecture its `config.json` describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpt2Checkpoint {
    /// The `model.safetensors` file.
    pub weights: PathBuf,
    /// The model's configuration.
    pub config: HfGpt2Config,
}

/// Location of one parameter's values in the file.
struct Source {
    /// The tensor's full name in the file.
    name: String,
    layout: Layout,
}

/// Replaces every parameter of `model`, a GPT built from `config`, with the checkpoint's
/// values.
///
/// Every tensor name, shape and dtype is checked before any value is read, so a file that
/// does not match fails without loading anything. A model whose output head is separate
/// while the checkpoint ties it to `wte` gets a copy of `wte` as its head, as the loader of
/// "Build a Large Language Model (From Scratch)" does. Both compute the same logits until
/// training changes one of them.
///
/// Parameters still lazily initialized in `model` are never initialized, so building the
/// model with `config.init` and loading costs no random initialization.
pub fn load_gpt2(model: Gpt, config: &GptConfig, checkpoint: &Gpt2Checkpoint) -> Result<Gpt, WeightsError> {
    let started = Instant::now();
    let file = SafetensorsFile::open(&checkpoint.weights)?;
    let plan = plan_tensors(&file, config, &checkpoint.config)?;

    let mut loader = TensorLoader { file: &file, plan: &plan, path: Vec::new(), loaded: 0 };
    let model = model.map(&mut loader);
    assert_eq!(loader.loaded, plan.len(), "every planned tensor is a parameter of the model");

    tracing::info!(
        "imported {} tensors ({:.1} MB) from {} in {:.2} s",
        plan.len(),
        file.len_bytes() as f64 / 1e6,
        file.path().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(model)
}

/// Matches each parameter of the model to a tensor of the file and checks names, shapes and
/// dtypes. Returns the sources keyed by parameter path.
fn plan_tensors(file: &SafetensorsFile, config: &GptConfig, hf: &HfGpt2Config) -> Result<HashMap<String, Source>, WeightsError> {
    let path = file.path().to_path_buf();
    let architecture = hf.describe();
    if !hf.tie_word_embeddings && config.tie_embeddings {
        return Err(WeightsError::UntiedHead { path });
    }

    // transformers' GPT2LMHeadModel prefixes every name but lm_head.weight with
    // `transformer.`; files converted from OpenAI's release have no prefix.
    let prefix = if file.info(&format!("{TRANSFORMER_PREFIX}{WTE}")).is_some() { TRANSFORMER_PREFIX } else { "" };
    let full_name = |hf_name: &str| if hf_name == LM_HEAD { hf_name.to_string() } else { format!("{prefix}{hf_name}") };

    let names = tensor_names(config);
    let sources: Vec<(String, Vec<usize>)> = names
        .iter()
        .map(|entry| {
            // A separate head starting from tied weights reads wte, [vocab, emb] like lm_head.
            let hf_name = if entry.hf == LM_HEAD && hf.tie_word_embeddings { WTE } else { entry.hf.as_str() };
            (full_name(hf_name), entry.hf_shape())
        })
        .collect();

    let missing: Vec<&String> = sources.iter().map(|(name, _)| name).filter(|name| file.info(name).is_none()).collect();
    if let Some(first) = missing.first() {
        let others = match missing.len() {
            1 => String::new(),
            count => format!(" (and {} more)", count - 1),
        };
        return Err(WeightsError::MissingTensor { path, name: first.to_string(), others, architecture });
    }

    for (name, expected) in &sources {
        let actual = &file.info(name).expect("presence checked above").shape;
        if actual != expected {
            return Err(WeightsError::ShapeMismatch {
                path,
                name: name.clone(),
                expected: expected.clone(),
                actual: actual.clone(),
                architecture,
            });
        }
        file.check_dtype(name)?;
    }

    let used: HashSet<&str> = sources.iter().map(|(name, _)| name.as_str()).collect();
    let mut file_names: Vec<&str> = file.names().collect();
    file_names.sort();
    for name in file_names {
        if used.contains(name) {
            continue;
        }
        let bare = name.strip_prefix(prefix).unwrap_or(name);
        // transformers ties lm_head to wte after loading, so it ignores a stored copy too.
        let ignored = is_mask_buffer(bare) || (name == LM_HEAD && hf.tie_word_embeddings);
        if ignored {
            tracing::debug!("ignoring tensor `{name}` of {}", path.display());
            continue;
        }
        return Err(WeightsError::UnexpectedTensor { path, name: name.to_string(), architecture });
    }

    Ok(names
        .into_iter()
        .zip(sources)
        .map(|(entry, (name, _))| (entry.param, Source { name, layout: entry.layout }))
        .collect())
}

/// Replaces each float parameter with the values of its planned tensor.
struct TensorLoader<'a> {
    file: &'a SafetensorsFile,
    plan: &'a HashMap<String, Source>,
    /// Module path of the parameter being visited.
    path: Vec<String>,
    loaded: usize,
}

impl ModuleMapper for TensorLoader<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let source = self
            .plan
            .get(&path)
            .unwrap_or_else(|| panic!("parameter `{path}` of runner's GPT is missing from the Hugging Face name table"));

        let shape = param.lazy_shape();
        let values = match source.layout {
            Layout::Same => self.file.read_f32(&source.name),
            // The file stores [shape[1], shape[0]].
            Layout::Transposed => self.file.read_f32_transposed(&source.name, shape[1], shape[0]),
        };
        let tensor = Tensor::<D>::from_data(TensorData::new(values, shape), &param.lazy_device());
        self.loaded += 1;

        let id = param.id;
        param.transform_for_load(tensor, id)
    }
}
