//! The instruct stage: Alpaca-style prompts, padded batches, and responses for the test split.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use super::StageError;
use super::batch::{RowSource, TokenRows};
use super::fit::{FitContext, Progress, fit};
use crate::data::instruct::{EncodedExample, InstructionEntry, collate, encode_example, format_prompt, split_entries};
use crate::data::{END_OF_TEXT, Gpt2Tokenizer};
use crate::eval::rouge_l_f1;
use crate::generate::{GenerateOptions, generate_greedy};
use crate::model::{Gpt, GptConfig};
use crate::recipe::Recipe;
use crate::results::{MetricsLog, ResponseRow, write_responses};

/// The heading that starts the model's answer in the Alpaca prompt.
const RESPONSE_HEADING: &str = "\n\n### Response:\n";

/// Tokenized train and validation examples plus the raw test entries.
pub struct InstructData {
    pub train: ExampleSource,
    pub val: ExampleSource,
    pub test: Vec<InstructionEntry>,
}

/// Examples of one split and how to collate them.
pub struct ExampleSource {
    examples: Vec<EncodedExample>,
    allowed_max_length: usize,
    mask_prompt: bool,
}

impl RowSource for ExampleSource {
    fn len(&self) -> usize {
        self.examples.len()
    }

    fn collate(&self, indices: &[usize]) -> TokenRows {
        let examples: Vec<EncodedExample> = indices.iter().map(|&index| self.examples[index].clone()).collect();
        let collated = collate(&examples, END_OF_TEXT, Some(self.allowed_max_length), self.mask_prompt);
        TokenRows { inputs: collated.inputs, targets: collated.targets }
    }
}

/// Splits the entries by `data.split` (85/10/5 in the book) in file order and tokenizes them.
pub fn prepare(recipe: &Recipe, entries: Vec<InstructionEntry>, tokenizer: &Gpt2Tokenizer, model: &GptConfig) -> Result<InstructData, StageError> {
    let total = entries.len();
    let splits = split_entries(entries, recipe.data.split.train, recipe.data.split.test);
    let source = |entries: &[InstructionEntry]| ExampleSource {
        examples: entries.iter().map(|entry| encode_example(tokenizer, entry)).collect(),
        allowed_max_length: recipe.instruct.allowed_max_length.unwrap_or(model.context_length),
        mask_prompt: recipe.instruct.mask_prompt,
    };
    let data = InstructData { train: source(&splits.train), val: source(&splits.val), test: splits.test };

    for (name, count) in [("train", data.train.len()), ("val", data.val.len()), ("test", data.test.len())] {
        if count == 0 {
            return Err(StageError::TooLittleData(format!(
                "the {name} split of {total} entries is empty; adjust data.split or use a larger dataset"
            )));
        }
    }
    if data.train.len() < recipe.train.batch_size {
        return Err(StageError::TooLittleData(format!(
            "the train split has {} entries, fewer than train.batch_size {}",
            data.train.len(),
            recipe.train.batch_size
        )));
    }
    tracing::info!("instruct data: {} train, {} val, {} test entries", data.train.len(), data.val.len(), data.test.len());
    Ok(data)
}

/// Finetunes on the train split, then generates responses for the test split and scores each one.
///
/// Returns the trained model and the mean ROUGE-L F1 of the responses.
#[allow(clippy::too_many_arguments)]
pub fn run(
    context: &FitContext,
    recipe: &Recipe,
    data: &InstructData,
    model: Gpt,
    config: &GptConfig,
    tokenizer: &Gpt2Tokenizer,
    run_dir: &Path,
    metrics: &mut MetricsLog,
) -> Result<(Gpt, f64), StageError> {
    let model = fit(context, model, &data.train, &data.val, metrics, &mut |_: &Gpt, _: Progress, _: &mut MetricsLog| {});
    let inference = burn::module::Module::valid(&model);

    let limit = recipe.instruct.eval_limit.unwrap_or(data.test.len()).min(data.test.len());
    let rows = respond(&inference, config, &data.test[..limit], recipe.instruct.max_new_tokens, tokenizer, &context.device.clone().inner());
    let mean = rows.iter().map(|row| row.rouge_l_f1).sum::<f64>() / rows.len() as f64;
    tracing::info!("mean ROUGE-L F1 over {} test responses: {mean:.4}", rows.len());

    write_responses(run_dir, &rows).map_err(|error| StageError::Output(error.to_string()))?;
    Ok((model, mean))
}

/// Generates a greedy response for each entry, stopping at `<|endoftext|>`.
fn respond(
    model: &Gpt,
    config: &GptConfig,
    entries: &[InstructionEntry],
    max_new_tokens: usize,
    tokenizer: &Gpt2Tokenizer,
    device: &burn::tensor::Device,
) -> Vec<ResponseRow> {
    let bar = ProgressBar::new(entries.len() as u64);
    bar.set_style(ProgressStyle::with_template("{spinner} respond [{elapsed_precise}] {bar:30} {pos}/{len} entries, eta {eta}").expect("valid progress template"));

    let options = GenerateOptions { max_new_tokens, stop_token: Some(END_OF_TEXT), use_cache: true };
    let rows = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let prompt = tokenizer.encode(&format!("{}{RESPONSE_HEADING}", format_prompt(entry)));
            let generated = generate_greedy(model, config, &prompt, options, device, &mut |_| {});
            let response = tokenizer.decode(&generated).unwrap_or_default().trim().to_string();
            bar.inc(1);
            ResponseRow {
                index: index as u32,
                instruction: entry.instruction.clone(),
                input: entry.input.clone(),
                output: entry.output.clone(),
                rouge_l_f1: rouge_l_f1(&entry.output, &response),
                model_response: response,
            }
        })
        .collect();
    bar.finish_and_clear();
    rows
}
