//! Expanding an experiment into variants: grid products, random draws or named lists, each
//! resolved into a full recipe with a stable id.

use std::collections::{BTreeMap, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_yaml::Value;
use sha2::{Digest, Sha256};

use super::experiment::{Distribution, Experiment};
use super::SweepError;
use crate::recipe::{Override, Recipe, load_recipe_with};

/// Hex digits of the sha256 that make a variant id: 48 bits, so two variants of one
/// experiment sharing an id is vanishingly unlikely.
const ID_HEX_DIGITS: usize = 12;

/// Dotted keys and the values they are set to.
type Overrides = Vec<(String, Value)>;

/// One run of an experiment.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The variant's name: its own for named variants, else its values, `train.lr=0.0001`.
    pub name: String,
    /// Its stable id: the start of the sha256 of its resolved recipe.
    pub id: String,
    /// The overrides that make its recipe, in the order they apply.
    pub overrides: Vec<(String, Value)>,
    /// Only the overrides that set it apart from the other variants, for listings.
    pub varied: Vec<(String, Value)>,
    /// The recipe it runs, validated.
    pub recipe: Recipe,
}

impl Variant {
    /// Returns the overrides as `--set KEY=VALUE` arguments of `runner run`. Values are
    /// written as JSON, which the `--set` parser reads back as the same YAML value.
    pub fn set_arguments(&self) -> Vec<String> {
        self.overrides
            .iter()
            .map(|(key, value)| format!("{key}={}", serde_json::to_string(value).expect("YAML values serialize as JSON")))
            .collect()
    }
}

/// Expands `experiment` into its variants, in a fixed order, with `extra` overrides (from the
/// command line) applied to every one.
///
/// Every variant's recipe is loaded and validated here, so an override of a key the recipe
/// does not have stops the sweep before anything runs.
pub fn expand(experiment: &Experiment, extra: &[(String, Value)]) -> Result<Vec<Variant>, SweepError> {
    let file = &experiment.file;
    let origin = experiment.path.display().to_string();

    let random = file.random.is_some();
    let varied: Vec<(Option<String>, Overrides)> = if let Some(grid) = &file.grid {
        grid_product(grid).into_iter().map(|values| (None, values)).collect()
    } else if let Some(random) = &file.random {
        let mut rng = ChaCha8Rng::seed_from_u64(random.seed);
        (0..random.count)
            .map(|_| (None, random.params.iter().map(|(key, distribution)| (key.clone(), draw(distribution, &mut rng))).collect()))
            .collect()
    } else {
        let variants = file.variants.as_deref().unwrap_or_default();
        variants.iter().map(|variant| (Some(variant.name.clone()), variant.set.clone().into_iter().collect())).collect()
    };

    // Each override names where it was written, so an error points at the right line.
    let shared: Vec<(String, Value, String)> = file
        .set
        .iter()
        .map(|(key, value)| (key.clone(), value.clone(), format!("{origin}, key `set`")))
        .chain(extra.iter().map(|(key, value)| (key.clone(), value.clone(), format!("--set {key}"))))
        .collect();

    let mut seen: HashMap<String, String> = HashMap::new();
    let mut expanded: Vec<Variant> = Vec::with_capacity(varied.len());
    for (name, values) in varied {
        let name = name.unwrap_or_else(|| describe(&values, random));
        let variant_origin = format!("{origin}, variant `{name}`");

        let mut parsed = Vec::with_capacity(shared.len() + values.len() + 1);
        for (key, value, key_origin) in &shared {
            parsed.push(Override::new(key, value, key_origin)?);
        }
        for (key, value) in &values {
            parsed.push(Override::new(key, value, &variant_origin)?);
        }
        let experiment_name = Value::String(experiment.name.clone());
        parsed.push(Override::new("name", &experiment_name, &origin)?);
        let recipe = load_recipe_with(&experiment.recipe, &parsed)?;
        let id = variant_id(&recipe);

        if let Some(other) = seen.insert(id.clone(), name.clone()) {
            if random {
                // Draws from a small set of choices repeat; the repeat is the same run.
                tracing::info!("random draw `{name}` repeats variant `{other}` ({id}); it runs once");
                continue;
            }
            return Err(SweepError::invalid(
                &origin,
                format!("variants `{other}` and `{name}` resolve to the same recipe (id {id}); remove one or make them differ"),
            ));
        }

        let mut overrides: Vec<(String, Value)> = shared.iter().map(|(key, value, _)| (key.clone(), value.clone())).collect();
        overrides.extend(values.iter().cloned());
        overrides.push(("name".into(), experiment_name));
        expanded.push(Variant { name, id, overrides, varied: values, recipe });
    }

    disambiguate_names(&mut expanded);
    Ok(expanded)
}

/// Appends the id to generated names that two variants share, as rounded random draws can.
fn disambiguate_names(variants: &mut [Variant]) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for variant in variants.iter() {
        *counts.entry(variant.name.clone()).or_default() += 1;
    }
    for variant in variants.iter_mut() {
        if counts[&variant.name] > 1 {
            variant.name = format!("{} [{}]", variant.name, variant.id);
        }
    }
}

/// Returns the id of a resolved recipe: it changes with any value, including defaults, and
/// nothing else.
pub fn variant_id(recipe: &Recipe) -> String {
    let yaml = serde_yaml::to_string(recipe).expect("a recipe always serializes");
    let digest = Sha256::digest(yaml.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    hex[..ID_HEX_DIGITS].to_string()
}

/// Returns every combination of the grid's values, with the last key varying fastest.
fn grid_product(grid: &BTreeMap<String, Vec<Value>>) -> Vec<Overrides> {
    let mut combinations: Vec<Overrides> = vec![Vec::new()];
    for (key, values) in grid {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |value| {
                    let mut combination = prefix.clone();
                    combination.push((key.clone(), value.clone()));
                    combination
                })
            })
            .collect();
    }
    combinations
}

fn draw(distribution: &Distribution, rng: &mut ChaCha8Rng) -> Value {
    match distribution {
        Distribution::Uniform([low, high]) => Value::from(rng.random_range(*low..*high)),
        Distribution::LogUniform([low, high]) => Value::from(rng.random_range(low.ln()..high.ln()).exp()),
        Distribution::IntUniform([low, high]) => Value::from(rng.random_range(*low..=*high)),
        Distribution::Choice(values) => values[rng.random_range(0..values.len())].clone(),
    }
}

/// Names a generated variant by its values: `train.batch_size=4,train.lr=0.0001`. Random
/// draws are rounded to four significant digits; grid values are written as given.
fn describe(values: &[(String, Value)], rounded: bool) -> String {
    let text = |value: &Value| match (rounded, value) {
        (true, _) | (false, Value::String(_)) => short_value(value),
        (false, other) => serde_json::to_string(other).unwrap_or_default(),
    };
    values.iter().map(|(key, value)| format!("{key}={}", text(value))).collect::<Vec<_>>().join(",")
}

/// Formats a value as a short label: strings bare, floats to four significant digits.
pub fn short_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            let text = format!("{float:.3e}");
            // Back through f64 to drop trailing zeros: 1.000e-4 → 0.0001.
            text.parse::<f64>().map(|rounded| rounded.to_string()).unwrap_or(text)
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn experiment(folder: &Path, text: &str) -> Experiment {
        std::fs::write(
            folder.join("base.yaml"),
            "stage: pretrain\ndata:\n  dataset: the-verdict\nmodel:\n  preset: gpt-micro\ntrain:\n  lr: 0.001\n",
        )
        .unwrap();
        let path = folder.join("exp.yaml");
        std::fs::write(&path, text).unwrap();
        Experiment::load(&path).unwrap()
    }

    #[test]
    fn grid_product_in_fixed_order() {
        let folder = tempfile::tempdir().unwrap();
        let experiment = experiment(folder.path(), "recipe: base.yaml\ngrid:\n  train.lr: [0.001, 0.0001]\n  train.batch_size: [2, 4]\n");

        let variants = expand(&experiment, &[]).unwrap();

        let names: Vec<&str> = variants.iter().map(|variant| variant.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "train.batch_size=2,train.lr=0.001",
                "train.batch_size=2,train.lr=0.0001",
                "train.batch_size=4,train.lr=0.001",
                "train.batch_size=4,train.lr=0.0001",
            ]
        );
        assert_eq!(variants[3].recipe.train.batch_size, 4);
        assert_eq!(variants[3].recipe.train.lr, 0.0001);
        assert_eq!(variants[0].recipe.name, "exp");
    }

    #[test]
    fn ids_stable_and_distinct() {
        let folder = tempfile::tempdir().unwrap();
        let experiment = experiment(folder.path(), "recipe: base.yaml\ngrid:\n  train.lr: [0.001, 0.0001]\n");

        let first = expand(&experiment, &[]).unwrap();
        let second = expand(&experiment, &[]).unwrap();

        assert_eq!(first[0].id, second[0].id);
        assert_ne!(first[0].id, first[1].id);
        assert_eq!(first[0].id.len(), ID_HEX_DIGITS);
    }

    #[test]
    fn random_draws_seeded_in_range() {
        let folder = tempfile::tempdir().unwrap();
        let text = "recipe: base.yaml\nrandom:\n  count: 5\n  seed: 3\n  params:\n    train.lr: {log_uniform: [0.00001, 0.01]}\n    train.batch_size: {choice: [2, 4]}\n";
        let experiment = experiment(folder.path(), text);

        let first = expand(&experiment, &[]).unwrap();
        let second = expand(&experiment, &[]).unwrap();

        assert_eq!(first.len(), 5);
        for (a, b) in first.iter().zip(&second) {
            assert_eq!(a.id, b.id);
            assert!((0.00001..0.01).contains(&a.recipe.train.lr), "{}", a.recipe.train.lr);
            assert!([2, 4].contains(&a.recipe.train.batch_size));
        }
    }

    #[test]
    fn unknown_key_names_variant() {
        let folder = tempfile::tempdir().unwrap();
        let experiment = experiment(folder.path(), "recipe: base.yaml\nvariants:\n  - name: typo\n    set: {train.lrr: 0.1}\n");

        let message = expand(&experiment, &[]).unwrap_err().to_string();

        assert!(message.contains("exp.yaml, variant `typo`: key `train.lrr`: unknown key; did you mean `train.lr`?"), "{message}");
    }

    #[test]
    fn close_grid_values_keep_distinct_names() {
        let folder = tempfile::tempdir().unwrap();
        let experiment = experiment(folder.path(), "recipe: base.yaml\ngrid:\n  train.lr: [0.00100001, 0.001]\n");

        let names: Vec<String> = expand(&experiment, &[]).unwrap().into_iter().map(|variant| variant.name).collect();

        assert_eq!(names, ["train.lr=0.00100001", "train.lr=0.001"]);
    }

    #[test]
    fn repeated_random_draws_run_once() {
        let folder = tempfile::tempdir().unwrap();
        let text = "recipe: base.yaml\nrandom:\n  count: 6\n  seed: 1\n  params:\n    train.batch_size: {choice: [2, 4]}\n";
        let experiment = experiment(folder.path(), text);

        let mut names: Vec<String> = expand(&experiment, &[]).unwrap().into_iter().map(|variant| variant.name).collect();
        names.sort();

        assert_eq!(names, ["train.batch_size=2", "train.batch_size=4"]);
    }

    #[test]
    fn command_line_override_error_names_the_flag() {
        let folder = tempfile::tempdir().unwrap();
        let experiment = experiment(folder.path(), "recipe: base.yaml\ngrid:\n  train.lr: [0.1]\n");

        let message = expand(&experiment, &[("train.lrr".into(), Value::from(0.1))]).unwrap_err().to_string();

        assert!(message.starts_with("--set train.lrr: key `train.lrr`: unknown key"), "{message}");
    }

    #[test]
    fn identical_variants_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let text = "recipe: base.yaml\nvariants:\n  - name: a\n    set: {train.lr: 0.1}\n  - name: b\n    set: {train.lr: 0.1}\n";
        let experiment = experiment(folder.path(), text);

        let message = expand(&experiment, &[]).unwrap_err().to_string();

        assert!(message.contains("variants `a` and `b` resolve to the same recipe"), "{message}");
    }

    #[test]
    fn set_arguments_round_trip() {
        let folder = tempfile::tempdir().unwrap();
        let text = "recipe: base.yaml\nvariants:\n  - name: a\n    set: {train.lr: 0.1, pretrain.start_context: 'Hello: world', model.preset: gpt-micro}\n";
        let experiment = experiment(folder.path(), text);
        let variant = expand(&experiment, &[]).unwrap().remove(0);

        let reloaded = crate::recipe::load_recipe(&experiment.recipe, &variant.set_arguments()).unwrap();

        assert_eq!(variant_id(&reloaded), variant.id);
    }

    #[test]
    fn short_values() {
        assert_eq!(short_value(&Value::from(0.0001)), "0.0001");
        assert_eq!(short_value(&Value::from(0.000213456)), "0.0002135");
        assert_eq!(short_value(&Value::from(8)), "8");
        assert_eq!(short_value(&Value::String("all".into())), "all");
    }
}
