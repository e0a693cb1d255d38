//! `runner generate`: continue a prompt with the model saved in a run folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;

use super::{GenerateError, GenerationSettings, Generator, Precision, Sampling, StreamDecoder};
use crate::data::{END_OF_TEXT, Gpt2Tokenizer};
use crate::model::checkpoint;

/// Command-line arguments of `runner generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Run folder with a checkpoint, such as results/pretrain/<run id>.
    pub run_dir: PathBuf,
    /// Text to continue; the generated text is printed without it.
    #[arg(long)]
    pub prompt: String,
    /// Maximum number of new tokens; generation also stops at <|endoftext|>.
    #[arg(long, default_value_t = 50)]
    pub max_new_tokens: usize,
    /// Softmax temperature; 0 picks the most likely token at every step (greedy).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub temperature: f32,
    /// Sample only from the K most likely tokens.
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// Sample only from the most likely tokens whose probabilities add up to P, in (0, 1].
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub top_p: Option<f32>,
    /// Seed of the random generator that draws tokens when the temperature is above 0.
    #[arg(long, default_value_t = 123)]
    pub seed: u64,
    /// Recompute every position at each step instead of reusing cached keys and values.
    #[arg(long)]
    pub no_cache: bool,
    /// Condition each token on at most this many most recent tokens, which is also the KV
    /// cache's size in positions (default: the model's context_length).
    #[arg(long, value_name = "TOKENS")]
    pub window: Option<usize>,
    /// Precision of the weights and KV cache.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub dtype: Precision,
}

/// Result of a finished `runner generate`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationReport {
    /// Number of prompt tokens.
    pub prompt_tokens: usize,
    /// The new tokens, without the stop token.
    pub tokens: Vec<u32>,
    /// Wall time of generation in seconds, prefill included, model loading excluded.
    pub seconds: f64,
}

/// Loads the model of `args.run_dir`, continues the prompt and writes the new text to `out`
/// piece by piece as tokens are chosen, followed by a newline.
///
/// Every argument is checked before the model is loaded, so a bad request fails at once.
pub fn run_command(args: &GenerateArgs, out: &mut dyn Write) -> Result<GenerationReport, GenerateError> {
    let sampling = Sampling { temperature: args.temperature, top_k: args.top_k, top_p: args.top_p, seed: args.seed };
    let settings = GenerationSettings {
        max_new_tokens: args.max_new_tokens,
        stop_token: Some(END_OF_TEXT),
        use_cache: !args.no_cache,
        window: args.window,
        sampling,
    };
    if args.prompt.is_empty() {
        return Err(GenerateError::EmptyPrompt);
    }
    if sampling.is_greedy() && (args.top_k.is_some() || args.top_p.is_some()) {
        tracing::warn!("--top-k and --top-p have no effect at temperature 0, which always picks the most likely token");
    }
    check_run_dir(&args.run_dir)?;

    let config = checkpoint::load_config(&args.run_dir)?;
    settings.check(&config)?;
    let prompt = Gpt2Tokenizer::new().encode(&args.prompt);
    if prompt.len() > config.context_length {
        return Err(GenerateError::PromptTooLong { tokens: prompt.len(), context_length: config.context_length });
    }

    let device = Device::flex();
    let (_, model) = checkpoint::load(&args.run_dir, &device)?;
    let model = args.dtype.cast(model.valid());
    tracing::info!(
        run_dir = %args.run_dir.display(),
        dtype = args.dtype.as_str(),
        cache = settings.use_cache,
        "generating up to {} tokens after a {}-token prompt",
        settings.max_new_tokens,
        prompt.len()
    );

    let started = Instant::now();
    let mut decoder = StreamDecoder::new();
    let mut write_error = None;
    let mut on_step = |tokens: &[Option<u32>]| {
        if let (Some(token), None) = (tokens[0], &write_error) {
            let piece = decoder.push(token);
            if let Err(error) = out.write_all(piece.as_bytes()).and_then(|()| out.flush()) {
                write_error = Some(error);
            }
        }
    };
    let tokens = Generator::new(&model, &config, &device).generate(&[&prompt], &settings, &mut on_step)?.remove(0);
    let seconds = started.elapsed().as_secs_f64();

    if let Some(error) = write_error {
        return Err(GenerateError::Output(error));
    }
    let rest = decoder.finish();
    out.write_all(format!("{rest}\n").as_bytes()).and_then(|()| out.flush()).map_err(GenerateError::Output)?;
    tracing::info!("generated {} tokens in {seconds:.2} s ({:.1} tokens/s)", tokens.len(), tokens.len() as f64 / seconds);
    Ok(GenerationReport { prompt_tokens: prompt.len(), tokens, seconds })
}

/// Checks that `run_dir` contains the two checkpoint files, naming the first one missing.
fn check_run_dir(run_dir: &Path) -> Result<(), GenerateError> {
    for path in [run_dir.to_path_buf(), checkpoint::config_path(run_dir), checkpoint::model_path(run_dir)] {
        if !path.exists() {
            return Err(GenerateError::MissingCheckpoint { run_dir: run_dir.to_path_buf(), missing: path });
        }
    }
    Ok(())
}
