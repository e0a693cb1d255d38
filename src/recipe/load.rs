//! Loading a recipe: defaults, the `extends` chain, environment variables, then `--set`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Yaml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::error::RecipeError;
use super::schema::Recipe;
use super::validate::validate;

/// Environment variables with this prefix and a `__` in the rest set recipe keys:
/// `RUNNER_TRAIN__LR=1e-4` sets `train.lr`. Names without `__` (`RUNNER_DATA_MIRROR`, or the
/// `RUNNER_OS` that CI systems export) are not recipe keys and are left alone.
pub const ENV_PREFIX: &str = "RUNNER_";

/// Loads, merges and validates the recipe at `path` with `--set KEY=VALUE` overrides.
pub fn load_recipe(path: &Path, overrides: &[String]) -> Result<Recipe, RecipeError> {
    let overrides = overrides.iter().map(|raw| Override::parse(raw)).collect::<Result<Vec<_>, _>>()?;
    load_recipe_with(path, &overrides)
}

/// Loads, merges and validates the recipe at `path` with overrides that were already parsed,
/// such as those of an experiment's variant. They apply after the environment variables, in
/// order.
pub fn load_recipe_with(path: &Path, overrides: &[Override]) -> Result<Recipe, RecipeError> {
    let (figment, mut recipe) = resolve(path, overrides)?;
    validate(&recipe, &|key| origin_of(&figment, key, path))?;
    recipe.fill_derived();
    Ok(recipe)
}

/// Merges every source into a recipe without the semantic checks.
pub(crate) fn resolve(path: &Path, overrides: &[Override]) -> Result<(Figment, Recipe), RecipeError> {
    let mut figment = Figment::from(Serialized::defaults(Recipe::default()));
    for file in extends_chain(path)? {
        figment = figment.merge(Yaml::file_exact(file));
    }
    figment = figment.merge(
        Env::prefixed(ENV_PREFIX)
            .filter(|key| key.as_str().contains("__"))
            .split("__"),
    );
    for item in overrides {
        figment = figment.merge(item.clone());
    }

    let mut recipe: Recipe = figment
        .extract()
        .map_err(|error| convert_error(&figment, error, path))?;
    recipe.extends = None;
    if recipe.name.is_empty() {
        recipe.name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "recipe".into());
    }
    Ok((figment, recipe))
}

/// Lists the recipe files to merge, the furthest ancestor first.
fn extends_chain(path: &Path) -> Result<Vec<PathBuf>, RecipeError> {
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut next = Some(path.to_path_buf());

    while let Some(file) = next.take() {
        let origin = file.display().to_string();
        let text = std::fs::read_to_string(&file)
            .map_err(|error| RecipeError::at(&origin, format!("cannot read recipe: {error}")))?;
        let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
        if !seen.insert(canonical) {
            return Err(RecipeError::at_key(&origin, "extends", "the `extends` chain loops back to this file"));
        }

        let document: serde_yaml::Value = serde_yaml::from_str(&text)
            .map_err(|error| RecipeError::at(&origin, format!("invalid YAML: {error}")))?;
        if !matches!(document, serde_yaml::Value::Mapping(_) | serde_yaml::Value::Null) {
            return Err(RecipeError::at(&origin, "a recipe must be a YAML mapping of keys to values"));
        }
        match document.get("extends") {
            None | Some(serde_yaml::Value::Null) => {}
            Some(serde_yaml::Value::String(parent)) => {
                let base = file.parent().unwrap_or(Path::new("."));
                next = Some(base.join(parent));
            }
            Some(other) => {
                return Err(RecipeError::at_key(&origin, "extends", format!("expected a file path, found {other:?}")));
            }
        }
        chain.push(file);
    }

    chain.reverse();
    Ok(chain)
}

/// Names the file, variable or flag that supplied `key`, or the recipe file when none did.
pub(crate) fn origin_of(figment: &Figment, key: &str, recipe: &Path) -> String {
    figment
        .find_metadata(key)
        .map(describe_metadata)
        // The built-in defaults are named after their Rust type; a missing or defaulted key
        // is the recipe file's to set.
        .filter(|origin| !origin.starts_with("Serialized") && origin != std::any::type_name::<Recipe>())
        .unwrap_or_else(|| recipe.display().to_string())
}

fn describe_metadata(metadata: &Metadata) -> String {
    match &metadata.source {
        Some(figment::Source::File(path)) => path.display().to_string(),
        _ => metadata.name.to_string(),
    }
}

/// Turns figment's error into one that names the origin, the key and the nearest valid key.
fn convert_error(figment: &Figment, error: figment::Error, recipe: &Path) -> RecipeError {
    let mut key = error.path.join(".");
    let message = match &error.kind {
        figment::error::Kind::UnknownField(field, expected) => {
            // figment's path ends with the unknown field itself except at the top level.
            if error.path.last() != Some(field) {
                key = if key.is_empty() { field.clone() } else { format!("{key}.{field}") };
            }
            let prefix = key.rsplit_once('.').map(|(parent, _)| format!("{parent}.")).unwrap_or_default();
            match nearest(field, expected) {
                Some(best) => format!("unknown key; did you mean `{prefix}{best}`?"),
                None => format!("unknown key; valid keys here are: {}", expected.join(", ")),
            }
        }
        figment::error::Kind::UnknownVariant(value, expected) => {
            format!("invalid value `{value}`; expected one of: {}", expected.join(", "))
        }
        other => other.to_string(),
    };

    let origin = match &error.metadata {
        Some(metadata) if !key.is_empty() => {
            let found = origin_of(figment, &key, recipe);
            if found == recipe.display().to_string() { describe_metadata(metadata) } else { found }
        }
        Some(metadata) => describe_metadata(metadata),
        None => recipe.display().to_string(),
    };
    if key.is_empty() {
        RecipeError::at(origin, message)
    } else {
        RecipeError::at_key(origin, key, message)
    }
}

/// Returns the candidate closest to `name`, if any is close enough to be a likely typo.
pub(crate) fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Splits a `--set key.path=value` flag into the key and a YAML value, so `1e-4`, `true`
/// and `[10, 20]` become a number, a bool and a list.
pub fn parse_set_flag(raw: &str) -> Result<(String, serde_yaml::Value), RecipeError> {
    let Some((key, text)) = raw.split_once('=') else {
        return Err(RecipeError::at(format!("--set {raw}"), "expected KEY=VALUE, for example `--set train.lr=1e-4`"));
    };

    // On a command line, text that YAML reads as a block mapping (`Hello: world`) is meant as
    // a string. An explicit `{...}` flow mapping stays a mapping.
    let value = match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(serde_yaml::Value::Mapping(_)) if !text.trim_start().starts_with('{') => serde_yaml::Value::String(text.to_string()),
        Ok(value) => value,
        Err(_) => serde_yaml::Value::String(text.to_string()),
    };
    Ok((key.trim().to_string(), value))
}

/// One override of a recipe key: a `--set key.path=value` flag or a value an experiment file
/// sets. Its origin names it in error messages.
#[derive(Debug, Clone)]
pub struct Override {
    key: String,
    value: Value,
    origin: String,
}

impl Override {
    /// Parses a `--set key.path=value` flag; see [`parse_set_flag`].
    pub fn parse(raw: &str) -> Result<Self, RecipeError> {
        let (key, value) = parse_set_flag(raw)?;
        if value.is_null() && raw.split_once('=').is_some_and(|(_, text)| text.trim().is_empty()) {
            return Err(RecipeError::at(
                format!("--set {raw}"),
                format!("the value is empty; write a value such as `{key}=1`, or `{key}=\"\"` for empty text"),
            ));
        }
        Override::new(&key, &value, format!("--set {key}")).map_err(|error| RecipeError { origin: format!("--set {raw}"), ..error })
    }

    /// Creates an override of the dotted `key` with a YAML value; `origin` names where it was
    /// written, such as an experiment file and variant.
    pub fn new(key: &str, value: &serde_yaml::Value, origin: impl Into<String>) -> Result<Self, RecipeError> {
        let origin = origin.into();
        if key.is_empty() {
            return Err(RecipeError::at(origin, "the key is empty; write a dotted key path such as `train.lr`"));
        }
        if key.split('.').any(str::is_empty) {
            return Err(RecipeError::at(origin, format!("the key `{key}` has an empty part; write a dotted key path such as `train.lr`")));
        }
        if key == "extends" {
            return Err(RecipeError::at_key(origin, key, "cannot be overridden, because the `extends` chain is read before any override; edit the recipe file instead"));
        }
        let value = Value::serialize(value)
            .map_err(|error| RecipeError::at_key(&origin, key, format!("invalid value: {error}")))?;
        Ok(Override { key: key.to_string(), value, origin })
    }

    /// Returns the dotted key this override sets.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Provider for Override {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.origin.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let nested = figment::util::nest(&self.key, self.value.clone());
        let dict = nested.into_dict().unwrap_or_default();
        Ok(Profile::Default.collect(dict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_only() {
        let keys = ["n_heads", "n_layers", "emb_dim", "context_length"];
        assert_eq!(nearest("n_head", &keys), Some("n_heads"));
        assert_eq!(nearest("contxt_length", &keys), Some("context_length"));
        assert_eq!(nearest("optimizer", &keys), None);
    }

    #[test]
    fn set_override_parses_yaml_values() {
        let lr = Override::parse("train.lr=1e-4").unwrap();
        assert_eq!(lr.key, "train.lr");
        assert_eq!(lr.value.to_f64(), Some(1e-4));

        let betas = Override::parse("train.betas=[0.9, 0.95]").unwrap();
        assert_eq!(betas.value.into_array().map(|items| items.len()), Some(2));

        let text = Override::parse("pretrain.start_context=Hello: world").unwrap();
        assert_eq!(text.value.into_string().as_deref(), Some("Hello: world"));
    }

    #[test]
    fn set_override_without_equals_rejected() {
        let error = Override::parse("train.lr").err().unwrap();
        assert!(error.message.contains("expected KEY=VALUE"), "{error}");
        assert_eq!(error.origin, "--set train.lr");
    }

    #[test]
    fn override_with_empty_value_rejected() {
        let error = Override::parse("train.lr=").err().unwrap();
        assert!(error.message.starts_with("the value is empty"), "{error}");
        assert!(Override::parse("pretrain.start_context=\"\"").is_ok());
    }

    #[test]
    fn extends_override_rejected() {
        let error = Override::parse("extends=base.yaml").err().unwrap();
        assert!(error.message.contains("cannot be overridden"), "{error}");
    }

    #[test]
    fn override_with_empty_key_segment_rejected() {
        let error = Override::parse("train..lr=1").err().unwrap();
        assert!(error.message.contains("has an empty part"), "{error}");
        assert_eq!(error.origin, "--set train..lr=1");
    }
}
