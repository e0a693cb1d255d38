//! Hugging Face GPT-2 weights: importing `model.safetensors` files (local, or OpenAI's
//! checkpoints from the Hub) into runner's GPT, and exporting a trained GPT in the same layout.

mod config;
mod error;
mod export;
mod hub;
mod import;
mod names;
mod reader;
mod reconcile;
mod source;

pub use config::HfGpt2Config;
pub use error::WeightsError;
pub use export::{ExportedFiles, export_model, export_run};
pub use hub::{ENDPOINT_ENV, HUB_MODELS, HubModel, WEIGHTS_FILE};
pub use import::{Gpt2Checkpoint, load_gpt2};
pub use reconcile::{PretrainedArchitecture, pretrained_architecture};
pub use source::{CONFIG_FILE, Gpt2Source};
