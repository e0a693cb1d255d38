//! The GPT model: configuration and presets, layers with a KV cache, checkpoints.

mod cache;
pub mod checkpoint;
mod config;
mod gpt;

pub use cache::KvCache;
pub use config::{GptConfig, PRESETS};
pub use gpt::Gpt;
