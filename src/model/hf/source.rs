//! Resolution of a `model.init` value to GPT-2 weights: a local file or folder, or a Hub name
//! looked up in the mirror folder, then the cache, then downloaded.

use std::path::{Path, PathBuf};

use super::config::HfGpt2Config;
use super::error::WeightsError;
use super::hub::{HubModel, WEIGHTS_FILE, download};
use super::import::Gpt2Checkpoint;
use crate::data::DataDirs;
use crate::model::checkpoint;

/// Name of the architecture file in a Hugging Face model folder.
pub const CONFIG_FILE: &str = "config.json";

/// GPT-2 weights that a `model.init` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gpt2Source {
    /// One of OpenAI's checkpoints, by its `model.init` name.
    Hub(HubModel),
    /// A safetensors file with a `config.json` in the same folder.
    Local {
        /// The weights file.
        weights: PathBuf,
    },
}

impl Gpt2Source {
    /// Reads a `model.init` value.
    ///
    /// Returns `None` for values that name no GPT-2 weights: `random`, the folder of a run
    /// (it has `checkpoint/model.bpk`), or a path that does not exist. A folder counts when it
    /// contains `model.safetensors`. Any existing file counts, and reading it shows whether it
    /// is a safetensors file.
    pub fn parse(init: &str) -> Option<Gpt2Source> {
        if let Some(model) = HubModel::find(init) {
            return Some(Gpt2Source::Hub(model));
        }
        let path = Path::new(init);
        if path.is_file() {
            return Some(Gpt2Source::Local { weights: path.to_path_buf() });
        }
        let weights = path.join(WEIGHTS_FILE);
        if path.is_dir() && weights.is_file() && !checkpoint::model_path(path).is_file() {
            return Some(Gpt2Source::Local { weights });
        }
        None
    }

    /// Reads the architecture without touching the weights or the network: the config.json
    /// of a local file, or the built-in one of a Hub name.
    pub fn config(&self) -> Result<HfGpt2Config, WeightsError> {
        match self {
            Gpt2Source::Hub(model) => Ok(model.config()),
            Gpt2Source::Local { weights } => {
                let config = weights.parent().unwrap_or(Path::new(".")).join(CONFIG_FILE);
                if !config.is_file() {
                    return Err(WeightsError::MissingConfig { weights: weights.clone() });
                }
                HfGpt2Config::load(&config)
            }
        }
    }

    /// Returns the weights file and architecture, downloading a Hub checkpoint into the
    /// cache when neither the mirror nor the cache has it.
    pub fn locate(&self, dirs: &DataDirs) -> Result<Gpt2Checkpoint, WeightsError> {
        let config = self.config()?;
        let weights = match self {
            Gpt2Source::Local { weights } => weights.clone(),
            Gpt2Source::Hub(model) => locate_hub(model, dirs)?,
        };
        Ok(Gpt2Checkpoint { weights, config })
    }
}

fn locate_hub(model: &HubModel, dirs: &DataDirs) -> Result<PathBuf, WeightsError> {
    if let Some(mirror) = &dirs.mirror {
        let path = mirror.join(model.name).join(WEIGHTS_FILE);
        if path.is_file() {
            tracing::info!("{} weights: {} (mirror)", model.name, path.display());
            return Ok(path);
        }
    }

    let cache = dirs.cache.as_ref().ok_or(WeightsError::NoCacheDir)?;
    let path = cache.join(model.name).join(WEIGHTS_FILE);
    if path.is_file() {
        tracing::info!("{} weights: {} (cache)", model.name, path.display());
        return Ok(path);
    }

    download(&model.weights_url(), &path, model.name)?;
    tracing::info!("{} weights: {} (downloaded)", model.name, path.display());
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(mirror: Option<&Path>, cache: Option<&Path>) -> DataDirs {
        DataDirs { mirror: mirror.map(Path::to_path_buf), cache: cache.map(Path::to_path_buf) }
    }

    #[test]
    fn values_parse_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Gpt2Source::parse("gpt2-large"), Some(Gpt2Source::Hub(HubModel::find("gpt2-large").unwrap())));
        assert_eq!(Gpt2Source::parse("random"), None);
        assert_eq!(Gpt2Source::parse(dir.path().join("absent").to_str().unwrap()), None);
        // An empty folder is neither a run nor a Hugging Face folder.
        assert_eq!(Gpt2Source::parse(dir.path().to_str().unwrap()), None);

        let weights = dir.path().join(WEIGHTS_FILE);
        std::fs::write(&weights, b"").unwrap();
        assert_eq!(Gpt2Source::parse(dir.path().to_str().unwrap()), Some(Gpt2Source::Local { weights: weights.clone() }));
        assert_eq!(Gpt2Source::parse(weights.to_str().unwrap()), Some(Gpt2Source::Local { weights: weights.clone() }));

        // A run folder stays a run folder even with an exported model beside its checkpoint.
        std::fs::create_dir_all(dir.path().join("checkpoint")).unwrap();
        std::fs::write(checkpoint::model_path(dir.path()), b"").unwrap();
        assert_eq!(Gpt2Source::parse(dir.path().to_str().unwrap()), None);
    }

    #[test]
    fn local_file_needs_config_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let weights = dir.path().join("weights.safetensors");
        std::fs::write(&weights, b"").unwrap();
        let source = Gpt2Source::parse(weights.to_str().unwrap()).unwrap();

        let error = source.config().unwrap_err().to_string();
        assert!(error.contains("config.json not found beside"), "{error}");

        std::fs::write(dir.path().join(CONFIG_FILE), r#"{"n_embd": 64, "n_head": 2, "n_layer": 2}"#).unwrap();
        assert_eq!(source.config().unwrap().n_layer, 2);
    }

    #[test]
    fn hub_name_prefers_mirror_then_cache() {
        let mirror = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let source = Gpt2Source::parse("gpt2-medium").unwrap();
        for folder in [mirror.path(), cache.path()] {
            std::fs::create_dir_all(folder.join("gpt2-medium")).unwrap();
            std::fs::write(folder.join("gpt2-medium").join(WEIGHTS_FILE), b"").unwrap();
        }

        let found = source.locate(&dirs(Some(mirror.path()), Some(cache.path()))).unwrap();
        assert_eq!(found.weights, mirror.path().join("gpt2-medium").join(WEIGHTS_FILE));
        assert_eq!(found.config.n_layer, 24);

        let found = source.locate(&dirs(None, Some(cache.path()))).unwrap();
        assert_eq!(found.weights, cache.path().join("gpt2-medium").join(WEIGHTS_FILE));
    }

    #[test]
    fn hub_name_without_cache_folder_is_an_error() {
        let error = Gpt2Source::parse("gpt2-small").unwrap().locate(&dirs(None, None)).unwrap_err();
        assert!(matches!(error, WeightsError::NoCacheDir), "{error}");
    }
}
