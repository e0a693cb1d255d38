//! Saving a trained model into a run folder and loading it back.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;

use super::config::GptConfig;
use super::gpt::Gpt;
use super::hf::WeightsError;

/// Errors of saving or loading a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot write checkpoint {path}: {message}")]
    Save { path: PathBuf, message: String },
    #[error("cannot read checkpoint {path}: {message}; is this the folder of a completed run?")]
    Load { path: PathBuf, message: String },
    /// Hugging Face GPT-2 weights that could not be found, read or written.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// Path of the model weights inside a run folder.
pub fn model_path(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint").join("model.bpk")
}

/// Path of the architecture file inside a run folder.
pub fn config_path(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint").join("config.json")
}

/// Writes the weights and the architecture under `run_dir/checkpoint/`.
pub fn save(model: &Gpt, config: &GptConfig, run_dir: &Path) -> Result<(), CheckpointError> {
    let weights = model_path(run_dir);
    let folder = weights.parent().expect("checkpoint path has a parent");
    let save_error = |path: &Path, message: String| CheckpointError::Save { path: path.to_path_buf(), message };

    std::fs::create_dir_all(folder).map_err(|error| save_error(folder, error.to_string()))?;
    config
        .save(config_path(run_dir))
        .map_err(|error| save_error(&config_path(run_dir), error.to_string()))?;

    // Write beside the final name and rename, so a crash never leaves a truncated model file.
    let partial = weights.with_extension("bpk.partial");
    model
        .clone()
        .into_record()
        .save(&partial)
        .map_err(|error| save_error(&partial, format!("{error:?}")))?;
    std::fs::rename(&partial, &weights).map_err(|error| save_error(&weights, error.to_string()))
}

/// Reads the architecture and weights saved in `run_dir` onto `device`.
pub fn load(run_dir: &Path, device: &Device) -> Result<(GptConfig, Gpt), CheckpointError> {
    let config = load_config(run_dir)?;
    let model = load_weights(config.init(device), run_dir)?;
    Ok((config, model))
}

/// Replaces the weights of `model` with those saved in `run_dir`.
pub fn load_weights(model: Gpt, run_dir: &Path) -> Result<Gpt, CheckpointError> {
    let weights = model_path(run_dir);
    let record = ModuleRecord::load(&weights).map_err(|error| CheckpointError::Load {
        path: weights.clone(),
        message: format!("{error:?}"),
    })?;
    Ok(model.load_record(record))
}

/// Reads only the architecture saved in `run_dir`.
pub fn load_config(run_dir: &Path) -> Result<GptConfig, CheckpointError> {
    let path = config_path(run_dir);
    GptConfig::load(&path).map_err(|error| CheckpointError::Load { path, message: error.to_string() })
}
