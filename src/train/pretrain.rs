//! The pretrain stage: sliding windows over plain text and next-token prediction.

use std::path::Path;

use polars::prelude::*;

use super::batch::{RowSource, TokenRows};
use super::fit::{FitContext, Progress, fit};
use super::StageError;
use crate::data::text::{TokenWindow, sliding_windows};
use crate::data::Gpt2Tokenizer;
use crate::generate::{GenerateOptions, generate_greedy};
use crate::model::{Gpt, GptConfig};
use crate::recipe::Recipe;
use crate::results::MetricsLog;

/// Token windows of the train and validation text.
pub struct PretrainData {
    pub train: WindowSource,
    pub val: WindowSource,
}

/// Windows of one split.
pub struct WindowSource(pub Vec<TokenWindow>);

impl RowSource for WindowSource {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn collate(&self, indices: &[usize]) -> TokenRows {
        let widen = |ids: &[u32]| ids.iter().map(|&id| id as i64).collect::<Vec<_>>();
        TokenRows {
            inputs: indices.iter().map(|&index| widen(&self.0[index].input)).collect(),
            targets: indices.iter().map(|&index| widen(&self.0[index].target)).collect(),
        }
    }
}

/// Splits `text` by characters into train and validation parts and cuts each into windows.
pub fn prepare(recipe: &Recipe, text: &str, tokenizer: &Gpt2Tokenizer, model: &GptConfig) -> Result<PretrainData, StageError> {
    let split = &recipe.data.split;
    let chars = text.chars().count();
    let train_end = byte_offset(text, (split.train * chars as f64) as usize);
    let val_end = byte_offset(text, ((split.train + split.val).min(1.0) * chars as f64) as usize);

    let context_length = model.context_length;
    let stride = recipe.pretrain.stride.unwrap_or(context_length);
    let windows = |part: &str| sliding_windows(&tokenizer.encode(part), context_length, stride);
    let train = WindowSource(windows(&text[..train_end]));
    let val = WindowSource(windows(&text[train_end..val_end]));

    if train.len() < recipe.train.batch_size {
        return Err(StageError::TooLittleData(format!(
            "the training text gives {} windows of {context_length} tokens, fewer than train.batch_size {}; \
             lower train.batch_size or model.context_length, or raise data.split.train",
            train.len(),
            recipe.train.batch_size
        )));
    }
    if val.0.is_empty() {
        return Err(StageError::TooLittleData(format!(
            "the validation text is shorter than one window of {context_length} tokens; \
             raise data.split.val or lower model.context_length"
        )));
    }
    tracing::info!("pretrain data: {} train windows, {} val windows of {context_length} tokens", train.len(), val.len());
    Ok(PretrainData { train, val })
}

fn byte_offset(text: &str, char_index: usize) -> usize {
    text.char_indices().nth(char_index).map_or(text.len(), |(offset, _)| offset)
}

/// Trains on the windows and writes a generated sample after every epoch to `samples.parquet`.
pub fn run(
    context: &FitContext,
    recipe: &Recipe,
    data: &PretrainData,
    model: Gpt,
    config: &GptConfig,
    tokenizer: &Gpt2Tokenizer,
    run_dir: &Path,
    metrics: &mut MetricsLog,
) -> Result<Gpt, StageError> {
    let prompt = tokenizer.encode(&recipe.pretrain.start_context);
    let device = context.device.clone().inner();
    let mut samples: Vec<(u32, u64, String)> = Vec::new();

    let mut sample = |model: &Gpt, progress: Progress, _: &mut MetricsLog| {
        if prompt.is_empty() {
            return;
        }
        let options = GenerateOptions { max_new_tokens: recipe.pretrain.sample_tokens, stop_token: None, use_cache: true };
        let generated = generate_greedy(model, config, &prompt, options, &device, &mut |_| {});
        let text = tokenizer.decode(&[prompt.as_slice(), &generated].concat()).unwrap_or_default();
        tracing::info!("sample after epoch {}: {}", progress.epoch, text.replace('\n', " "));
        samples.push((progress.epoch, progress.step, text));
    };
    let model = fit(context, model, &data.train, &data.val, metrics, &mut sample);

    write_samples(run_dir, &recipe.pretrain.start_context, &samples)?;
    Ok(model)
}

fn write_samples(run_dir: &Path, prompt: &str, samples: &[(u32, u64, String)]) -> Result<(), StageError> {
    let mut frame = df!(
        "epoch" => samples.iter().map(|sample| sample.0).collect::<Vec<_>>(),
        "step" => samples.iter().map(|sample| sample.1).collect::<Vec<_>>(),
        "prompt" => vec![prompt.to_string(); samples.len()],
        "text" => samples.iter().map(|sample| sample.2.clone()).collect::<Vec<_>>(),
    )
    .map_err(|error| StageError::Output(error.to_string()))?;
    crate::results::write_parquet(&run_dir.join("samples.parquet"), &mut frame).map_err(|error| StageError::Output(error.to_string()))
}
