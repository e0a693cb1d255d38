//! One run of a recipe: prepare the data, create the run folder, train, evaluate, write tables.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::{DataDirs, DataError, Gpt2Tokenizer, instruct, load_tokenizer, resolve_dataset, text};
use crate::device::{self, DeviceError};
use crate::logging;
use crate::model::checkpoint::{self, CheckpointError};
use crate::model::hf::{Gpt2Source, load_gpt2, pretrained_architecture};
use crate::model::{Gpt, GptConfig};
use crate::recipe::{Recipe, RecipeError, Stage};
use crate::results::{MetricsLog, ResultsError, RunDir, RunStatus, Summary, flatten_yaml, git_commit, peak_rss_bytes, write_atomic};
use crate::train::fit::FitContext;
use crate::train::classify::ClassifyData;
use crate::train::instruct::InstructData;
use crate::train::pretrain::PretrainData;
use crate::train::{StageError, classify as classify_stage, instruct as instruct_stage, pretrain as pretrain_stage};

/// Errors that end a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// Names a run that a sweep starts: the run id (the variant's id) and the variant's name.
/// A plain run has neither and gets a fresh timestamped id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIdentity {
    /// The run id, used as the run folder's name.
    pub run_id: Option<String>,
    /// The variant's name, stored in the summary's `variant` column.
    pub variant: Option<String>,
}

impl RunIdentity {
    fn create_dir(&self, out_root: &Path, recipe_name: &str) -> Result<RunDir, ResultsError> {
        match &self.run_id {
            Some(run_id) => RunDir::create_with_id(out_root, recipe_name, run_id),
            None => RunDir::create(out_root, recipe_name),
        }
    }
}

/// Run folder and headline numbers of a finished run.
#[derive(Debug)]
pub struct RunReport {
    pub run_dir: PathBuf,
    pub metrics: Vec<(String, f64)>,
}

enum StageData {
    Pretrain(PretrainData),
    Instruct(InstructData),
    Classify(ClassifyData),
}

/// Runs `recipe`, writing its run folder under `out_root`.
///
/// Everything that can be checked before training (device, tokenizer, dataset, initial
/// weights) is checked before the run folder exists, so a bad recipe or dataset leaves none.
/// A failure after that writes `summary.parquet` with status `failed` and the error.
pub fn run(recipe: &Recipe, out_root: &Path) -> Result<RunReport, RunError> {
    run_as(recipe, out_root, &RunIdentity::default())
}

/// Runs `recipe` like [`run`], in the run folder and under the variant name `identity` gives.
pub fn run_as(recipe: &Recipe, out_root: &Path, identity: &RunIdentity) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let device = device::select(recipe.device)?;
    device.seed(recipe.seed);
    let tokenizer = load_tokenizer(&recipe.data.tokenizer)?;
    let config = model_config(recipe)?;

    // From here on the recipe names the architecture that runs, which a checkpoint may set.
    let mut resolved = recipe.clone();
    resolved.set_model(&config);
    resolved.set_context_defaults(config.context_length);
    let recipe = &resolved;
    let data = prepare_data(recipe, &tokenizer, &config)?;

    let training_device = device.clone().autodiff();
    let model = initial_model(recipe, &config, &training_device)?;
    tracing::info!("model: {} parameters ({})", burn::module::Module::num_params(&model), recipe.model.preset);

    let run_dir = identity.create_dir(out_root, &recipe.name)?;
    logging::attach_run_log(&run_dir.log_path());
    tracing::info!("run folder: {}", run_dir.path.display());
    let recipe_yaml = serde_yaml::to_string(recipe).expect("a recipe always serializes");
    write_atomic(&run_dir.recipe_path(), recipe_yaml.as_bytes())?;

    let mut metrics = MetricsLog::new();
    let context = FitContext {
        run_id: &run_dir.run_id,
        stage: recipe.stage.as_str(),
        seed: recipe.seed,
        train: &recipe.train,
        device: &training_device,
        started,
    };
    let outcome = train_stage(&context, recipe, &data, model, &config, &tokenizer, &run_dir, &mut metrics);

    let (status, error, mut headline) = match &outcome {
        Ok(extra) => (RunStatus::Completed, None, extra.clone()),
        Err(error) => (RunStatus::Failed, Some(error.to_string()), Vec::new()),
    };
    headline.extend(loss_metrics(&metrics));
    metrics.write(&run_dir.metrics_path())?;
    let summary = Summary {
        status,
        error,
        wall_time_s: started.elapsed().as_secs_f64(),
        metrics: headline.clone(),
        ..summary_of(recipe, &run_dir, identity)
    };
    summary.write(&run_dir.summary_path())?;
    logging::detach_run_log();

    outcome?;
    Ok(RunReport { run_dir: run_dir.path.clone(), metrics: headline })
}

/// Completes the run folder of a run that failed before it could write its summary, such as
/// a sweep variant whose process stopped early or was killed: writes `recipe.yaml` unless the
/// run wrote one, and a `failed` summary with `error`.
pub fn record_failure(recipe: &Recipe, run_dir: &RunDir, identity: &RunIdentity, error: &str, wall_time_s: f64) -> Result<(), RunError> {
    if !run_dir.recipe_path().exists() {
        let recipe_yaml = serde_yaml::to_string(recipe).expect("a recipe always serializes");
        write_atomic(&run_dir.recipe_path(), recipe_yaml.as_bytes())?;
    }
    let summary = Summary {
        status: RunStatus::Failed,
        error: Some(error.to_string()),
        wall_time_s,
        peak_rss_bytes: None,
        ..summary_of(recipe, run_dir, identity)
    };
    summary.write(&run_dir.summary_path())?;
    Ok(())
}

/// Builds the summary fields that are set before training. Status, time and metrics are
/// filled in when the run ends.
fn summary_of(recipe: &Recipe, run_dir: &RunDir, identity: &RunIdentity) -> Summary {
    Summary {
        run_id: run_dir.run_id.clone(),
        variant: identity.variant.clone(),
        recipe_name: recipe.name.clone(),
        stage: recipe.stage.as_str().to_string(),
        status: RunStatus::Completed,
        error: None,
        wall_time_s: 0.0,
        peak_rss_bytes: peak_rss_bytes(),
        device: device::name(recipe.device).to_string(),
        git_commit: git_commit(),
        hyperparameters: hyperparameters(recipe),
        metrics: Vec::new(),
    }
}

/// Trains the stage, saves the checkpoint and returns the stage's own headline metrics.
#[allow(clippy::too_many_arguments)]
fn train_stage(
    context: &FitContext,
    recipe: &Recipe,
    data: &StageData,
    model: Gpt,
    config: &GptConfig,
    tokenizer: &Gpt2Tokenizer,
    run_dir: &RunDir,
    metrics: &mut MetricsLog,
) -> Result<Vec<(String, f64)>, RunError> {
    let (model, extra) = match data {
        StageData::Pretrain(data) => {
            let model = pretrain_stage::run(context, recipe, data, model, config, tokenizer, &run_dir.path, metrics)?;
            (model, Vec::new())
        }
        StageData::Instruct(data) => {
            let (model, rouge) = instruct_stage::run(context, recipe, data, model, config, tokenizer, &run_dir.path, metrics)?;
            (model, vec![("mean_rouge_l_f1".to_string(), rouge)])
        }
        StageData::Classify(data) => {
            let (classifier, accuracy) = classify_stage::run(context, recipe, data, model, config, &run_dir.path, metrics)?;
            (classifier.gpt, accuracy)
        }
    };
    checkpoint::save(&model, config, &run_dir.path)?;
    Ok(extra)
}

/// Flattens the recipe's keys into dotted columns, less `name`, `stage` and `device`, which
/// have columns of their own in the summary.
fn hyperparameters(recipe: &Recipe) -> Vec<(String, serde_json::Value)> {
    let yaml = serde_yaml::to_value(recipe).expect("a recipe always serializes");
    flatten_yaml(&yaml).into_iter().filter(|(key, _)| !matches!(key.as_str(), "name" | "stage" | "device")).collect()
}

/// First, last and best losses of the periodic evaluations.
fn loss_metrics(metrics: &MetricsLog) -> Vec<(String, f64)> {
    let mut rows = Vec::new();
    for split in ["train", "val"] {
        if let Some(value) = metrics.first(split, "loss") {
            rows.push((format!("first_{split}_loss"), value));
        }
        if let Some(value) = metrics.last(split, "loss") {
            rows.push((format!("final_{split}_loss"), value));
        }
        if let Some(value) = metrics.best_min(split, "loss") {
            rows.push((format!("best_{split}_loss"), value));
        }
    }
    rows
}

/// Resolves the architecture, and checks it against the checkpoint the run starts from.
fn model_config(recipe: &Recipe) -> Result<GptConfig, RunError> {
    let config = GptConfig::from_section(&recipe.model).map_err(|(key, message)| RecipeError::at_key("recipe", key, message))?;
    if recipe.model.init == "random" {
        return Ok(config);
    }
    if let Some(source) = Gpt2Source::parse(&recipe.model.init) {
        return pretrained_config(recipe, &source);
    }

    let saved = checkpoint::load_config(Path::new(&recipe.model.init))?;
    let differences = [
        ("model.vocab_size", saved.vocab_size.to_string(), config.vocab_size.to_string()),
        ("model.context_length", saved.context_length.to_string(), config.context_length.to_string()),
        ("model.emb_dim", saved.emb_dim.to_string(), config.emb_dim.to_string()),
        ("model.n_heads", saved.n_heads.to_string(), config.n_heads.to_string()),
        ("model.n_layers", saved.n_layers.to_string(), config.n_layers.to_string()),
        ("model.qkv_bias", saved.qkv_bias.to_string(), config.qkv_bias.to_string()),
        ("model.tie_embeddings", saved.tie_embeddings.to_string(), config.tie_embeddings.to_string()),
    ];
    for (key, theirs, ours) in differences {
        if theirs != ours {
            return Err(RecipeError::at_key(
                "recipe",
                key,
                format!("is {ours}, but the checkpoint in {} was trained with {theirs}; set the same model.preset and keys", recipe.model.init),
            )
            .into());
        }
    }
    Ok(GptConfig { drop_rate: config.drop_rate, ..saved })
}

/// Resolves the architecture of a run that starts from GPT-2 weights. It reads only the
/// config.json (or the built-in architecture of a Hub name), so the weights are downloaded
/// later, after the dataset has been checked.
fn pretrained_config(recipe: &Recipe, source: &Gpt2Source) -> Result<GptConfig, RunError> {
    let checkpoint_config = source.config().map_err(CheckpointError::from)?;
    let resolved = pretrained_architecture(&recipe.model, &checkpoint_config, &recipe.model.init)
        .map_err(|(key, message)| RecipeError::at_key("recipe", key, message))?;
    for warning in &resolved.warnings {
        tracing::warn!("{warning}");
    }

    // Training sequences longer than the position embedding cannot run. The default
    // allowed_max_length comes from the preset, which the checkpoint may have replaced.
    let context_length = resolved.config.context_length;
    if recipe.stage == Stage::Instruct
        && let Some(allowed) = recipe.instruct.allowed_max_length
        && allowed > context_length
    {
        return Err(RecipeError::at_key(
            "recipe",
            "instruct.allowed_max_length",
            format!(
                "is {allowed} (by default the preset's context_length), but the checkpoint {} has {context_length} positions. \
                 Set it to {context_length} or less",
                recipe.model.init
            ),
        )
        .into());
    }
    Ok(resolved.config)
}

fn initial_model(recipe: &Recipe, config: &GptConfig, device: &burn::tensor::Device) -> Result<Gpt, RunError> {
    if recipe.model.init == "random" {
        return Ok(config.init_with(device, recipe.model.weight_init));
    }
    if let Some(source) = Gpt2Source::parse(&recipe.model.init) {
        let checkpoint = source.locate(&DataDirs::from_env()).map_err(CheckpointError::from)?;
        let model = load_gpt2(config.init(device), config, &checkpoint).map_err(CheckpointError::from)?;
        tracing::info!("initial weights: {}", checkpoint.weights.display());
        return Ok(model);
    }
    let model = checkpoint::load_weights(config.init(device), Path::new(&recipe.model.init))?;
    tracing::info!("initial weights: {}", checkpoint::model_path(Path::new(&recipe.model.init)).display());
    Ok(model)
}

fn prepare_data(recipe: &Recipe, tokenizer: &Gpt2Tokenizer, config: &GptConfig) -> Result<StageData, RunError> {
    let dataset = resolve_dataset(&recipe.data.dataset)?;
    match recipe.stage {
        Stage::Pretrain => {
            let raw = text::read_text(&dataset.path)?;
            Ok(StageData::Pretrain(pretrain_stage::prepare(recipe, &raw, tokenizer, config)?))
        }
        Stage::Instruct => {
            let entries = instruct::load_entries(&dataset.path)?;
            Ok(StageData::Instruct(instruct_stage::prepare(recipe, entries, tokenizer, config)?))
        }
        Stage::Classify => Ok(StageData::Classify(classify_stage::prepare(recipe, &dataset.path, tokenizer, config)?)),
    }
}
