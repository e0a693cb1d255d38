//! The experiment file: a base recipe, the overrides every variant shares, and what to vary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use super::SweepError;

/// An experiment file as written: a base recipe plus exactly one of `grid`, `random` and
/// `variants`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Name of the folder the variants' run folders go into; defaults to the file's stem.
    #[serde(default)]
    pub name: Option<String>,
    /// The base recipe, relative to the experiment file.
    pub recipe: String,
    /// Overrides every variant gets, as dotted keys, such as a small preset for a sweep.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// Every combination of these values: dotted key → list of values.
    #[serde(default)]
    pub grid: Option<BTreeMap<String, Vec<Value>>>,
    /// Values drawn at random from distributions.
    #[serde(default)]
    pub random: Option<RandomSearch>,
    /// Named variants, each a set of overrides.
    #[serde(default)]
    pub variants: Option<Vec<NamedVariant>>,
}

/// A random search: `count` variants whose values are drawn with `seed`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSearch {
    /// Number of variants to draw.
    pub count: usize,
    /// Seed of the draws, so the same file always gives the same variants.
    #[serde(default)]
    pub seed: u64,
    /// Dotted key → distribution.
    pub params: BTreeMap<String, Distribution>,
}

/// A distribution to draw one key's value from, written as a one-key mapping such as
/// `{log_uniform: [1.0e-5, 1.0e-3]}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "DistributionSpec")]
pub enum Distribution {
    /// A float drawn uniformly from `[low, high)`.
    Uniform([f64; 2]),
    /// A float whose logarithm is uniform: the usual choice for learning rates.
    LogUniform([f64; 2]),
    /// An integer drawn uniformly from `low..=high`.
    IntUniform([i64; 2]),
    /// One of the listed values, each equally likely.
    Choice(Vec<Value>),
}

/// The mapping a distribution is written as; exactly one key may be set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistributionSpec {
    uniform: Option<[f64; 2]>,
    log_uniform: Option<[f64; 2]>,
    int_uniform: Option<[i64; 2]>,
    choice: Option<Vec<Value>>,
}

impl TryFrom<DistributionSpec> for Distribution {
    type Error = String;

    fn try_from(spec: DistributionSpec) -> Result<Self, Self::Error> {
        let written = [
            spec.uniform.map(Distribution::Uniform),
            spec.log_uniform.map(Distribution::LogUniform),
            spec.int_uniform.map(Distribution::IntUniform),
            spec.choice.map(Distribution::Choice),
        ];
        let mut written = written.into_iter().flatten();
        match (written.next(), written.next()) {
            (Some(distribution), None) => Ok(distribution),
            _ => Err("write exactly one of uniform, log_uniform, int_uniform and choice".into()),
        }
    }
}

/// One explicitly named variant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedVariant {
    /// The variant's name, shown in reports.
    pub name: String,
    /// Its overrides, as dotted keys.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
}

/// Maximum number of variants of one experiment. A larger grid is more likely a mistake than
/// a plan, and expanding it would exhaust memory.
pub const MAX_VARIANTS: usize = 10_000;

/// Maximum length of a variant name in characters, because names label table rows and legends.
const MAX_NAME_CHARS: usize = 200;

/// Keys a variant may not set: the experiment's name names the run folders, and the recipe's
/// `extends` chain is read before any override applies.
const FIXED_KEYS: [&str; 2] = ["name", "extends"];

/// A loaded experiment file with its paths resolved.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The experiment file.
    pub path: PathBuf,
    /// The experiment's name: the results folder of its runs.
    pub name: String,
    /// The base recipe's path, relative to the working folder.
    pub recipe: PathBuf,
    /// The file as written.
    pub file: ExperimentFile,
}

impl Experiment {
    /// Reads and checks the experiment file at `path`.
    pub fn load(path: &Path) -> Result<Experiment, SweepError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| SweepError::invalid(&origin, format!("cannot read experiment: {error}")))?;
        // Reading a `Value` first rejects a key written twice, which a plain map would resolve
        // silently to its last value.
        let document: Value = serde_yaml::from_str(&text).map_err(|error| SweepError::invalid(&origin, format!("invalid YAML: {error}")))?;
        if !document.is_mapping() {
            return Err(SweepError::invalid(&origin, "an experiment must be a YAML mapping with `recipe` and one of `grid`, `random` and `variants`"));
        }
        let file: ExperimentFile = serde_yaml::from_value(document).map_err(|error| SweepError::invalid(&origin, error.to_string()))?;

        let name = match &file.name {
            Some(name) => name.clone(),
            None => path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_else(|| "experiment".into()),
        };
        if let Err(reason) = crate::results::check_folder_name(&name) {
            return Err(SweepError::invalid(&origin, format!("key `name`: `{name}` cannot name the results folder: {reason}")));
        }
        let recipe = path.parent().unwrap_or(Path::new(".")).join(&file.recipe);
        if recipe.is_dir() {
            return Err(SweepError::invalid(&origin, format!("key `recipe`: {} is a folder; name a recipe file in it", recipe.display())));
        }
        if !recipe.is_file() {
            return Err(SweepError::invalid(&origin, format!("key `recipe`: the base recipe {} does not exist", recipe.display())));
        }

        let experiment = Experiment { path: path.to_path_buf(), name, recipe, file };
        experiment.check()?;
        Ok(experiment)
    }

    /// Rejects a file without exactly one way to vary the recipe, one whose way is empty, and
    /// values that cannot run.
    fn check(&self) -> Result<(), SweepError> {
        let origin = self.path.display().to_string();
        let file = &self.file;
        let variations = [file.grid.is_some(), file.random.is_some(), file.variants.is_some()].iter().filter(|present| **present).count();
        if variations != 1 {
            return Err(SweepError::invalid(&origin, "give exactly one of `grid`, `random` and `variants`"));
        }

        let mut keys: Vec<(String, &str)> = file.set.keys().map(|key| (format!("set.{key}"), key.as_str())).collect();
        if let Some(grid) = &file.grid {
            if grid.is_empty() {
                return Err(SweepError::invalid(&origin, "key `grid`: the grid is empty; list at least one key with its values"));
            }
            if let Some((key, _)) = grid.iter().find(|(_, values)| values.is_empty()) {
                return Err(SweepError::invalid(&origin, format!("key `grid.{key}`: the list of values is empty")));
            }
            let combinations = grid.values().try_fold(1usize, |product, values| product.checked_mul(values.len()));
            if combinations.is_none_or(|count| count > MAX_VARIANTS) {
                let count = combinations.map_or_else(|| "more than 2^64".to_string(), |count| count.to_string());
                return Err(SweepError::invalid(&origin, format!("key `grid`: {count} combinations, more than the {MAX_VARIANTS} a sweep may run; split the grid")));
            }
            keys.extend(grid.keys().map(|key| (format!("grid.{key}"), key.as_str())));
        }
        if let Some(random) = &file.random {
            if random.count == 0 {
                return Err(SweepError::invalid(&origin, "key `random.count`: must be at least 1"));
            }
            if random.count > MAX_VARIANTS {
                return Err(SweepError::invalid(&origin, format!("key `random.count`: {} is more than the {MAX_VARIANTS} variants a sweep may run", random.count)));
            }
            keys.extend(random.params.keys().map(|key| (format!("random.params.{key}"), key.as_str())));
            if random.params.is_empty() {
                return Err(SweepError::invalid(&origin, "key `random.params`: no keys to draw; add at least one key with a distribution"));
            }
            for (key, distribution) in &random.params {
                distribution.check().map_err(|message| SweepError::invalid(&origin, format!("key `random.params.{key}`: {message}")))?;
            }
        }
        if let Some(variants) = &file.variants {
            if variants.is_empty() {
                return Err(SweepError::invalid(&origin, "key `variants`: the list is empty"));
            }
            if variants.len() > MAX_VARIANTS {
                return Err(SweepError::invalid(&origin, format!("key `variants`: {} variants, more than the {MAX_VARIANTS} a sweep may run", variants.len())));
            }
            let mut names = std::collections::HashSet::new();
            for variant in variants {
                if variant.name.trim().is_empty() {
                    return Err(SweepError::invalid(&origin, "key `variants`: a variant has an empty name"));
                }
                if variant.name.chars().count() > MAX_NAME_CHARS || variant.name.chars().any(char::is_control) {
                    return Err(SweepError::invalid(
                        &origin,
                        format!("key `variants`: the name `{}` is too long or contains a control character; use at most {MAX_NAME_CHARS} printable characters", variant.name.escape_debug()),
                    ));
                }
                keys.extend(variant.set.keys().map(|key| (format!("variants.{}.set.{key}", variant.name), key.as_str())));
                if !names.insert(variant.name.as_str()) {
                    return Err(SweepError::invalid(&origin, format!("key `variants`: the name `{}` is used twice", variant.name)));
                }
            }
        }

        if let Some((place, key)) = keys.iter().find(|(_, key)| FIXED_KEYS.contains(key)) {
            return Err(SweepError::invalid(
                &origin,
                format!("key `{place}`: `{key}` cannot be varied; the experiment's `name` names its results folder, and `extends` belongs in the recipe"),
            ));
        }
        Ok(())
    }
}

impl Distribution {
    fn check(&self) -> Result<(), String> {
        let finite = match self {
            Distribution::Uniform(bounds) | Distribution::LogUniform(bounds) => bounds.iter().all(|bound| bound.is_finite()),
            _ => true,
        };
        let width_finite = match self {
            Distribution::Uniform([low, high]) => (high - low).is_finite(),
            _ => true,
        };
        if !finite || !width_finite {
            return Err("the bounds and their difference must be finite numbers".into());
        }
        match self {
            Distribution::Uniform([low, high]) if low >= high => Err(format!("uniform needs low < high, found [{low}, {high}]")),
            Distribution::LogUniform([low, high]) if *low <= 0.0 || low >= high => {
                Err(format!("log_uniform needs 0 < low < high, found [{low}, {high}]"))
            }
            Distribution::IntUniform([low, high]) if low > high => Err(format!("int_uniform needs low <= high, found [{low}, {high}]")),
            Distribution::Choice(values) if values.is_empty() => Err("choice needs at least one value".into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(folder: &Path, text: &str) -> PathBuf {
        std::fs::write(folder.join("base.yaml"), "stage: pretrain\n").unwrap();
        let path = folder.join("exp.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load_error(text: &str) -> String {
        let folder = tempfile::tempdir().unwrap();
        Experiment::load(&write(folder.path(), text)).unwrap_err().to_string()
    }

    #[test]
    fn name_defaults_to_stem() {
        let folder = tempfile::tempdir().unwrap();
        let experiment = Experiment::load(&write(folder.path(), "recipe: base.yaml\ngrid:\n  train.lr: [0.1]\n")).unwrap();
        assert_eq!(experiment.name, "exp");
        assert_eq!(experiment.recipe, folder.path().join("base.yaml"));
    }

    #[test]
    fn list_instead_of_mapping_rejected() {
        let message = load_error("- recipe: base.yaml\n");
        assert!(message.ends_with("an experiment must be a YAML mapping with `recipe` and one of `grid`, `random` and `variants`"), "{message}");
    }

    #[test]
    fn empty_grid_rejected() {
        let message = load_error("recipe: base.yaml\ngrid: {}\n");
        assert!(message.ends_with("exp.yaml: key `grid`: the grid is empty; list at least one key with its values"), "{message}");
    }

    #[test]
    fn empty_value_list_rejected() {
        let message = load_error("recipe: base.yaml\ngrid:\n  train.lr: []\n");
        assert!(message.contains("key `grid.train.lr`: the list of values is empty"), "{message}");
    }

    #[test]
    fn two_kinds_of_variation_rejected() {
        let message = load_error("recipe: base.yaml\ngrid:\n  train.lr: [0.1]\nvariants:\n  - name: a\n");
        assert!(message.contains("give exactly one of `grid`, `random` and `variants`"), "{message}");
    }

    #[test]
    fn unknown_key_rejected() {
        let message = load_error("recipe: base.yaml\ngird:\n  train.lr: [0.1]\n");
        assert!(message.contains("unknown field `gird`"), "{message}");
    }

    #[test]
    fn missing_recipe_rejected() {
        let message = load_error("recipe: nowhere.yaml\ngrid:\n  train.lr: [0.1]\n");
        assert!(message.contains("the base recipe"), "{message}");
        assert!(message.contains("nowhere.yaml does not exist"), "{message}");
    }

    #[test]
    fn infinite_bounds_rejected() {
        for bounds in ["{uniform: [0, .inf]}", "{uniform: [-1e308, 1e308]}", "{log_uniform: [1e-300, .inf]}"] {
            let message = load_error(&format!("recipe: base.yaml\nrandom:\n  count: 2\n  params:\n    train.lr: {bounds}\n"));
            assert!(message.contains("the bounds and their difference must be finite numbers"), "{bounds}: {message}");
        }
    }

    #[test]
    fn huge_grid_rejected() {
        let values = format!("[{}]", (0..101).map(|value| value.to_string()).collect::<Vec<_>>().join(", "));
        let message = load_error(&format!("recipe: base.yaml\ngrid:\n  train.lr: {values}\n  seed: {values}\n"));
        assert!(message.contains("10201 combinations, more than the 10000 a sweep may run"), "{message}");
    }

    #[test]
    fn duplicate_grid_key_rejected() {
        let message = load_error("recipe: base.yaml\ngrid:\n  train.lr: [0.1]\n  train.lr: [0.2]\n");
        assert!(message.contains("duplicate entry with key \"train.lr\""), "{message}");
    }

    #[test]
    fn unsafe_experiment_name_rejected() {
        for name in ["..", "a/b", "''"] {
            let message = load_error(&format!("name: {name}\nrecipe: base.yaml\ngrid:\n  train.lr: [0.1]\n"));
            assert!(message.contains("cannot name the results folder"), "{name}: {message}");
        }
    }

    #[test]
    fn varying_name_rejected() {
        let message = load_error("recipe: base.yaml\ngrid:\n  name: [a, b]\n");
        assert!(message.contains("key `grid.name`: `name` cannot be varied"), "{message}");
    }

    #[test]
    fn duplicate_variant_names_rejected() {
        let message = load_error("recipe: base.yaml\nvariants:\n  - name: a\n  - name: a\n");
        assert!(message.contains("the name `a` is used twice"), "{message}");
    }

    #[test]
    fn bad_distribution_rejected() {
        let message = load_error("recipe: base.yaml\nrandom:\n  count: 2\n  params:\n    train.lr: {log_uniform: [0.0, 0.1]}\n");
        assert!(message.contains("key `random.params.train.lr`: log_uniform needs 0 < low < high"), "{message}");
    }
}
