//! The GPT model: configuration and presets, layers with a KV cache, checkpoints.

mod cache;
mod classifier;
pub mod checkpoint;
mod config;
mod gpt;
pub mod hf;

pub use cache::KvCache;
pub use classifier::GptClassifier;
pub use config::{GptConfig, PRESETS};
pub use gpt::Gpt;
