//! The error type of Hugging Face GPT-2 import and export.

use std::path::PathBuf;

/// Errors from finding, reading, checking or writing Hugging Face GPT-2 weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// A file or folder could not be opened, read, written or created.
    #[error("failed to {action} {path}: {source}")]
    Io {
        /// The operation that failed, such as `open` or `create folder`.
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A safetensors file has no `config.json` beside it.
    #[error(
        "config.json not found beside {weights}: the number of attention heads cannot be read \
         from the tensors alone. Place the model's Hugging Face config.json in the same folder"
    )]
    MissingConfig {
        /// The weights file.
        weights: PathBuf,
    },

    /// A `config.json` is not valid JSON or lacks a required field.
    #[error("invalid GPT-2 config {path}: {reason}")]
    InvalidConfig {
        /// The config file.
        path: PathBuf,
        /// Description of the parse failure.
        reason: String,
    },

    /// A `config.json` describes a model that runner's GPT cannot reproduce exactly.
    #[error("GPT-2 config {path} sets `{key}` to {value}, but runner's GPT supports only {supported}")]
    UnsupportedConfig {
        /// The config file.
        path: PathBuf,
        /// The config.json key.
        key: &'static str,
        /// The value in the file.
        value: String,
        /// The values that work.
        supported: String,
    },

    /// The file does not start with a valid safetensors header.
    #[error("{path} is not a safetensors file: {reason}")]
    NotSafetensors {
        /// The file that was read.
        path: PathBuf,
        /// The invalid part of the header.
        reason: String,
    },

    /// The header describes more tensor data than the file contains.
    #[error(
        "{path} is truncated: its header describes {expected} bytes but the file has {actual}. \
         Download or copy the file again"
    )]
    Truncated {
        /// The file that was read.
        path: PathBuf,
        /// The size the header implies, in bytes.
        expected: u64,
        /// The size on disk, in bytes.
        actual: u64,
    },

    /// The header parses but its tensor entries are inconsistent.
    #[error("{path} is a corrupt safetensors file: {reason}")]
    Corrupt {
        /// The file that was read.
        path: PathBuf,
        /// Description of the inconsistency.
        reason: String,
    },

    /// A tensor the model needs is not in the file.
    #[error("tensor `{name}` is missing from {path}{others}, so the file does not match its config.json ({architecture})")]
    MissingTensor {
        /// The file that was read.
        path: PathBuf,
        /// The first missing tensor.
        name: String,
        /// ` (and N more)` when more tensors are missing, else empty.
        others: String,
        /// The architecture the names were derived from.
        architecture: String,
    },

    /// The file contains a tensor that a GPT-2 of this architecture does not have.
    #[error("{path} contains tensor `{name}`, which a GPT-2 with {architecture} does not have, so the file does not match its config.json")]
    UnexpectedTensor {
        /// The file that was read.
        path: PathBuf,
        /// The first unexpected tensor.
        name: String,
        /// The architecture the names were derived from.
        architecture: String,
    },

    /// A tensor has a shape other than the architecture implies.
    #[error("tensor `{name}` in {path} has shape {actual:?}, but {architecture} needs {expected:?}")]
    ShapeMismatch {
        /// The file that was read.
        path: PathBuf,
        /// The tensor name in the file.
        name: String,
        /// The shape the architecture implies.
        expected: Vec<usize>,
        /// The shape in the file.
        actual: Vec<usize>,
        /// The architecture the shapes were derived from.
        architecture: String,
    },

    /// The checkpoint has its own output head but the model shares the token embedding.
    #[error(
        "{path} has its own output head (`tie_word_embeddings: false`), which a GPT with tied \
         embeddings cannot hold; set model.tie_embeddings=false"
    )]
    UntiedHead {
        /// The file that was read.
        path: PathBuf,
    },

    /// A tensor is stored in a data type that is not a float type runner converts.
    #[error("tensor `{name}` in {path} has data type {dtype}, but only F32, F16 and BF16 are supported")]
    UnsupportedDtype {
        /// The file that was read.
        path: PathBuf,
        /// The tensor name in the file.
        name: String,
        /// The data type in the header.
        dtype: String,
    },

    /// A download from the Hugging Face Hub failed.
    #[error(
        "failed to download {url}: {reason}. If this machine is offline, download the file \
         elsewhere and place it at {destination}, or in `{model}/` under the folder that \
         RUNNER_DATA_MIRROR names; or set model.init=random"
    )]
    DownloadFailed {
        /// The URL that was requested.
        url: String,
        /// The `model.init` name, which is also the folder name in the mirror and the cache.
        model: String,
        /// Cache path where the file belongs.
        destination: PathBuf,
        /// The network or HTTP error.
        reason: String,
    },

    /// Neither `RUNNER_DATA_DIR` nor a user cache folder is available for downloads.
    #[error("no folder to download GPT-2 weights into: set RUNNER_DATA_DIR, or RUNNER_DATA_MIRROR to a folder that already contains them")]
    NoCacheDir,

    /// The safetensors writer failed.
    #[error("failed to write {path}: {reason}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The writer's error.
        reason: String,
    },
}

impl WeightsError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WeightsError::Io { action, path: path.into(), source }
    }
}
