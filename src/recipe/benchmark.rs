//! The `benchmark` section of a recipe, and loading a recipe for `runner bench`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::RecipeError;
use super::load::{Override, origin_of, resolve};
use super::schema::Recipe;
use crate::data::Gpt2Tokenizer;
use crate::generate::Precision;
use crate::model::{GptConfig, checkpoint};

/// Inference benchmarks; a recipe without any runs none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BenchmarkSection {
    /// Generation with the KV cache against generation without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_cache: Option<KvCacheBenchmark>,
}

impl BenchmarkSection {
    /// Returns true when no benchmark is configured.
    pub fn is_empty(&self) -> bool {
        self.kv_cache.is_none()
    }
}

/// Settings of the KV cache benchmark: every combination of precision, batch size and
/// generated length is timed with the cache and without it, generating greedily from `prompt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KvCacheBenchmark {
    /// Text every sequence of the batch starts from.
    pub prompt: String,
    /// Numbers of new tokens to time; generation never stops early.
    pub generated_tokens: Vec<usize>,
    /// Numbers of sequences generated together; each repeats the prompt.
    pub batch_sizes: Vec<usize>,
    /// Untimed runs before the timed ones of each row.
    pub warmup: usize,
    /// Timed runs per row; the table reports their mean and minimum.
    pub repeat: usize,
    /// Precisions of the weights and cache, `f32`, `f16` or `bf16`.
    pub dtypes: Vec<Precision>,
    /// Size of the cache in positions, which is also the number of tokens each prediction
    /// conditions on; the model's context_length when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
}

impl Default for KvCacheBenchmark {
    fn default() -> Self {
        KvCacheBenchmark {
            prompt: "Hello, I am".into(),
            generated_tokens: vec![10, 20, 50, 100, 200],
            batch_sizes: vec![1],
            warmup: 1,
            repeat: 3,
            dtypes: vec![Precision::F32],
            window: None,
        }
    }
}

/// Loads a recipe for `runner bench` and checks the keys a benchmark reads: `model`,
/// `device`, `seed` and `benchmark`.
///
/// The data and training keys are not checked, because a benchmark reads no dataset and
/// trains nothing, so a recipe may leave `data.dataset` unset.
pub fn load_benchmark_recipe(path: &Path, overrides: &[String]) -> Result<Recipe, RecipeError> {
    let overrides = overrides.iter().map(|raw| Override::parse(raw)).collect::<Result<Vec<_>, _>>()?;
    let (figment, mut recipe) = resolve(path, &overrides)?;
    let fail = |key: &str, message: String| RecipeError::at_key(origin_of(&figment, key, path), key, message);

    let Some(bench) = &recipe.benchmark.kv_cache else {
        return Err(RecipeError::at(
            path.display().to_string(),
            "the recipe has no `benchmark.kv_cache` section, so there is nothing to benchmark; add one (see recipes/kv-cache.yaml)",
        ));
    };
    let model = GptConfig::from_section(&recipe.model).map_err(|(key, message)| fail(key, message))?;
    check_init(&recipe.model.init, &model).map_err(|message| fail("model.init", message))?;
    check_kv_cache(bench, &model).map_err(|(key, message)| fail(key, message))?;

    recipe.fill_derived();
    Ok(recipe)
}

/// Checks that `init` is `random` or a run folder whose checkpoint has the architecture `model`.
fn check_init(init: &str, model: &GptConfig) -> Result<(), String> {
    if init == "random" {
        return Ok(());
    }
    let folder = Path::new(init);
    if !checkpoint::model_path(folder).is_file() {
        return Err(format!("`{init}` is neither `random` nor a run folder with checkpoint/model.bpk"));
    }
    let saved = checkpoint::load_config(folder).map_err(|error| error.to_string())?;
    if (GptConfig { drop_rate: model.drop_rate, ..saved.clone() }) != *model {
        return Err(format!(
            "the checkpoint in `{init}` has another architecture ({saved:?}) than the recipe's model section ({model:?}); set the same model.preset and keys"
        ));
    }
    Ok(())
}

fn check_kv_cache(bench: &KvCacheBenchmark, model: &GptConfig) -> Result<(), (&'static str, String)> {
    let prompt_tokens = Gpt2Tokenizer::new().encode(&bench.prompt).len();
    if prompt_tokens == 0 {
        return Err(("benchmark.kv_cache.prompt", "is empty; set at least one character".into()));
    }
    let window = bench.window.unwrap_or(model.context_length);
    if !(1..=model.context_length).contains(&window) {
        return Err(("benchmark.kv_cache.window", format!("{window} is outside 1..={}, the model's context_length", model.context_length)));
    }
    if prompt_tokens > window {
        return Err((
            "benchmark.kv_cache.prompt",
            format!("has {prompt_tokens} tokens, more than the window of {window}; shorten it"),
        ));
    }
    if bench.generated_tokens.is_empty() || bench.generated_tokens.contains(&0) {
        return Err(("benchmark.kv_cache.generated_tokens", "must list at least one length, each at least 1".into()));
    }
    if bench.batch_sizes.is_empty() || bench.batch_sizes.contains(&0) {
        return Err(("benchmark.kv_cache.batch_sizes", "must list at least one batch size, each at least 1".into()));
    }
    if bench.repeat == 0 {
        return Err(("benchmark.kv_cache.repeat", "must be at least 1".into()));
    }
    if bench.dtypes.is_empty() {
        return Err(("benchmark.kv_cache.dtypes", "must list at least one of f32, f16, bf16".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, overrides: &[&str]) -> Result<Recipe, RecipeError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.yaml");
        std::fs::write(&path, text).unwrap();
        let overrides: Vec<String> = overrides.iter().map(|flag| flag.to_string()).collect();
        load_benchmark_recipe(&path, &overrides)
    }

    const MINIMAL: &str = "model:\n  preset: gpt-micro\nbenchmark:\n  kv_cache: {}\n";

    #[test]
    fn defaults_fill_empty_section() {
        let recipe = load(MINIMAL, &[]).unwrap();
        let bench = recipe.benchmark.kv_cache.unwrap();
        assert_eq!(bench, KvCacheBenchmark::default());
        assert_eq!(bench.generated_tokens, [10, 20, 50, 100, 200]);
        assert_eq!(recipe.model.context_length, Some(128));
    }

    #[test]
    fn section_absent_rejected() {
        let error = load("model:\n  preset: gpt-micro\n", &[]).unwrap_err();
        assert!(error.message.contains("no `benchmark.kv_cache` section"), "{error}");
    }

    #[test]
    fn dtype_list_parsed() {
        let recipe = load(MINIMAL, &["benchmark.kv_cache.dtypes=[f32, f16, bf16]"]).unwrap();
        assert_eq!(recipe.benchmark.kv_cache.unwrap().dtypes, [Precision::F32, Precision::F16, Precision::Bf16]);
    }

    #[test]
    fn unknown_dtype_rejected() {
        let error = load(MINIMAL, &["benchmark.kv_cache.dtypes=[f8]"]).unwrap_err();
        assert!(error.to_string().contains("f8"), "{error}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            ("benchmark.kv_cache.generated_tokens=[10, 0]", "benchmark.kv_cache.generated_tokens"),
            ("benchmark.kv_cache.generated_tokens=[]", "benchmark.kv_cache.generated_tokens"),
            ("benchmark.kv_cache.batch_sizes=[0]", "benchmark.kv_cache.batch_sizes"),
            ("benchmark.kv_cache.repeat=0", "benchmark.kv_cache.repeat"),
            ("benchmark.kv_cache.dtypes=[]", "benchmark.kv_cache.dtypes"),
            ("benchmark.kv_cache.prompt=''", "benchmark.kv_cache.prompt"),
            ("benchmark.kv_cache.window=129", "benchmark.kv_cache.window"),
            ("benchmark.kv_cache.window=2", "benchmark.kv_cache.prompt"),
            ("model.init=/no/such/run", "model.init"),
        ];
        for (flag, key) in cases {
            let error = load(MINIMAL, &[flag]).unwrap_err();
            assert_eq!(error.key.as_deref(), Some(key), "{flag}: {error}");
        }
    }

    #[test]
    fn empty_section_not_serialized() {
        let yaml = serde_yaml::to_string(&Recipe::default()).unwrap();
        assert!(!yaml.contains("benchmark"), "{yaml}");
    }
}
