//! Inference benchmarks: `runner bench RECIPE` runs a recipe's `benchmark` section in a new run
//! folder, without training.
//!
//! The model is the recipe's `model` section with random weights, or the checkpoint of the run
//! folder that `model.init` names. The folder gets `recipe.yaml`, `kv_cache.parquet` (and
//! `kv_cache.csv`), the figure `kv_cache.svg`, `summary.parquet` and `run.log`.

mod kv_cache;
mod memory;
mod plot;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use kv_cache::{KvCacheRow, format_table, measure, to_frame};
pub use memory::reset_peak_rss;
pub use plot::draw_kv_cache;

use crate::data::Gpt2Tokenizer;
use crate::device::{self, DeviceError};
use crate::logging;
use crate::model::checkpoint::{self, CheckpointError};
use crate::model::{Gpt, GptConfig};
use crate::recipe::{Recipe, RecipeError, load_benchmark_recipe};
use crate::results::{ResultsError, RunDir, RunStatus, Summary, flatten_yaml, git_commit, peak_rss_bytes, write_atomic, write_csv, write_parquet};

/// Command-line arguments of `runner bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The recipe YAML file; it needs a `benchmark.kv_cache` section.
    pub recipe: PathBuf,
    /// Override a recipe key, for example `--set benchmark.kv_cache.repeat=1`; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Results root; the run folder is OUT/<recipe name>/<run id>.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
}

/// Failure of a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// The figure could not be drawn.
    #[error("cannot draw {}: {message}", .path.display())]
    Plot { path: PathBuf, message: String },
}

impl BenchError {
    /// Returns true when the recipe or command line is invalid, so nothing ran.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, BenchError::Recipe(_))
    }
}

/// Run folder of a finished benchmark, and the measured rows.
#[derive(Debug)]
pub struct BenchReport {
    /// The run folder, `<out>/<recipe name>/<run id>`.
    pub run_dir: PathBuf,
    /// One row per measured combination, as in `kv_cache.parquet`.
    pub rows: Vec<KvCacheRow>,
}

/// Loads the recipe of `args`, runs its benchmark and writes the run folder.
pub fn run_bench(args: &BenchArgs) -> Result<BenchReport, BenchError> {
    let recipe = load_benchmark_recipe(&args.recipe, &args.overrides)?;
    run_recipe(&recipe, &args.out)
}

/// Runs the benchmark of a loaded recipe, writing its run folder under `out_root`.
pub fn run_recipe(recipe: &Recipe, out_root: &Path) -> Result<BenchReport, BenchError> {
    let started = Instant::now();
    let settings = recipe.benchmark.kv_cache.as_ref().expect("load_benchmark_recipe requires benchmark.kv_cache");
    let device = device::select(recipe.device)?;
    let config = GptConfig::from_section(&recipe.model).map_err(|(key, message)| RecipeError::at_key("recipe", key, message))?;
    let mut load_model = || initial_model(recipe, &config, &device);
    let model = load_model()?;
    let parameters = burn::module::Module::num_params(&model);
    drop(model);
    let prompt = Gpt2Tokenizer::new().encode(&settings.prompt);

    let run_dir = RunDir::create(out_root, &recipe.name)?;
    logging::attach_run_log(&run_dir.log_path());
    tracing::info!(
        "run folder: {}; model {} ({} parameters), prompt of {} tokens",
        run_dir.path.display(),
        recipe.model.preset,
        parameters,
        prompt.len()
    );
    let recipe_yaml = serde_yaml::to_string(recipe).expect("a recipe always serializes");
    write_atomic(&run_dir.recipe_path(), recipe_yaml.as_bytes())?;

    let outcome = measure(&mut load_model, &config, settings, &prompt, &device).and_then(|rows| {
        write_outputs(&run_dir, &rows)?;
        Ok(rows)
    });

    let summary = Summary {
        run_id: run_dir.run_id.clone(),
        variant: None,
        recipe_name: recipe.name.clone(),
        stage: "benchmark".into(),
        status: if outcome.is_ok() { RunStatus::Completed } else { RunStatus::Failed },
        error: outcome.as_ref().err().map(ToString::to_string),
        wall_time_s: started.elapsed().as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
        device: device::name(recipe.device).to_string(),
        git_commit: git_commit(),
        hyperparameters: flatten_yaml(&serde_yaml::to_value(recipe).expect("a recipe always serializes"))
            .into_iter()
            .filter(|(key, _)| !matches!(key.as_str(), "name" | "stage" | "device"))
            .collect(),
        metrics: outcome.as_deref().map(headline).unwrap_or_default(),
    };
    summary.write(&run_dir.summary_path())?;
    logging::detach_run_log();

    Ok(BenchReport { run_dir: run_dir.path.clone(), rows: outcome? })
}

/// Builds the f32 model: random weights drawn from the recipe's seed, so every call returns the
/// same weights, or the checkpoint of the run folder in `model.init`.
fn initial_model(recipe: &Recipe, config: &GptConfig, device: &burn::tensor::Device) -> Result<Gpt, BenchError> {
    if recipe.model.init == "random" {
        device.seed(recipe.seed);
        return Ok(config.init(device));
    }
    let model = checkpoint::load_weights(config.init(device), Path::new(&recipe.model.init))?;
    tracing::info!("weights: {}", checkpoint::model_path(Path::new(&recipe.model.init)).display());
    Ok(model)
}

fn write_outputs(run_dir: &RunDir, rows: &[KvCacheRow]) -> Result<(), BenchError> {
    let mut frame = to_frame(&run_dir.run_id, rows);
    write_parquet(&run_dir.path.join("kv_cache.parquet"), &mut frame)?;
    write_csv(&run_dir.path.join("kv_cache.csv"), &mut frame)?;

    let figure = run_dir.path.join("kv_cache.svg");
    draw_kv_cache(rows, &figure).map_err(|message| BenchError::Plot { path: figure, message })
}

/// Tokens per second with and without the cache and the speedup, for the longest generated
/// length at the first precision and batch size the recipe lists.
fn headline(rows: &[KvCacheRow]) -> Vec<(String, f64)> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let longest = rows.iter().filter(|row| row.dtype == first.dtype && row.batch_size == first.batch_size).map(|row| row.generated_tokens).max();
    let pick = |cached: bool| {
        rows.iter().find(|row| row.dtype == first.dtype && row.batch_size == first.batch_size && Some(row.generated_tokens) == longest && row.cached == cached)
    };
    let (Some(on), Some(off)) = (pick(true), pick(false)) else {
        return Vec::new();
    };
    vec![
        ("kv_cache_tokens_per_s".into(), on.tokens_per_s),
        ("no_cache_tokens_per_s".into(), off.tokens_per_s),
        ("kv_cache_speedup".into(), on.speedup),
    ]
}
