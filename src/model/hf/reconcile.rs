//! The architecture of a run that starts from GPT-2 weights: the checkpoint's, with the
//! recipe's keys checked against it.

use super::config::HfGpt2Config;
use crate::data::VOCAB_SIZE;
use crate::model::GptConfig;
use crate::recipe::ModelSection;

/// The architecture to build, and the recipe values that the checkpoint replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainedArchitecture {
    pub config: GptConfig,
    /// One message per replaced recipe value, for the log.
    pub warnings: Vec<String>,
}

/// Builds the architecture for loading `checkpoint`, named `origin` in messages.
///
/// The checkpoint decides the widths, heads, layers and vocabulary. A recipe value for one of
/// those that equals the preset's is a default, which the checkpoint replaces with a warning.
/// So a recipe whose preset is `gpt2-medium` can start from `gpt2-small` weights, and the
/// stored `recipe.yaml` of such a run runs again. A value that differs from both the preset
/// and the checkpoint was chosen on purpose and is an error naming the key and the
/// checkpoint's value. As "Build a Large Language Model (From Scratch)" does for OpenAI's
/// weights, `context_length` becomes the checkpoint's `n_positions` and `qkv_bias` becomes
/// true, with a warning. `drop_rate` and a separate output head stay the recipe's choice, but
/// a tied head is an error when the checkpoint's head is separate.
///
/// Returns the offending key and a message on a conflict.
pub fn pretrained_architecture(
    section: &ModelSection,
    checkpoint: &HfGpt2Config,
    origin: &str,
) -> Result<PretrainedArchitecture, (&'static str, String)> {
    let recipe = GptConfig::from_section(section)?;
    let preset = GptConfig::preset(&section.preset).expect("from_section accepted the preset");
    if checkpoint.vocab_size < VOCAB_SIZE {
        return Err((
            "model.init",
            format!(
                "the checkpoint {origin} has vocab_size {}, fewer than the gpt2 tokenizer's {VOCAB_SIZE} tokens",
                checkpoint.vocab_size
            ),
        ));
    }
    let config = checkpoint.to_architecture(recipe.drop_rate, recipe.tie_embeddings);
    let mut warnings = Vec::new();

    let mut replaced = Vec::new();
    for (key, hf_key, ours, default, theirs) in [
        ("model.vocab_size", "vocab_size", recipe.vocab_size, preset.vocab_size, config.vocab_size),
        ("model.emb_dim", "n_embd", recipe.emb_dim, preset.emb_dim, config.emb_dim),
        ("model.n_heads", "n_head", recipe.n_heads, preset.n_heads, config.n_heads),
        ("model.n_layers", "n_layer", recipe.n_layers, preset.n_layers, config.n_layers),
    ] {
        if ours == theirs {
            continue;
        }
        if ours != default {
            return Err((
                key,
                format!("is {ours}, but the checkpoint {origin} has {hf_key} {theirs}; remove the key or set it to {theirs}"),
            ));
        }
        replaced.push(format!("{key} {ours} -> {theirs}"));
    }
    if !replaced.is_empty() {
        warnings.push(format!(
            "the checkpoint {origin} replaces the architecture of preset {}: {}",
            section.preset,
            replaced.join(", ")
        ));
    }

    if recipe.context_length != config.context_length {
        warnings.push(format!(
            "model.context_length {} -> {}: the position embedding of {origin} has {} positions",
            recipe.context_length, config.context_length, config.context_length
        ));
    }
    if !recipe.qkv_bias {
        warnings.push(format!("model.qkv_bias false -> true: GPT-2's query/key/value projection in {origin} has a bias"));
    }
    if recipe.tie_embeddings && !checkpoint.tie_word_embeddings {
        return Err((
            "model.tie_embeddings",
            format!("is true, but the checkpoint {origin} has a separate output head (tie_word_embeddings: false); set it to false"),
        ));
    }

    Ok(PretrainedArchitecture { config, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(preset: &str) -> ModelSection {
        ModelSection { preset: preset.into(), ..ModelSection::default() }
    }

    fn tiny_checkpoint() -> HfGpt2Config {
        HfGpt2Config { n_positions: 128, ..HfGpt2Config::with_size(64, 2, 2) }
    }

    #[test]
    fn checkpoint_replaces_preset_values() {
        let resolved = pretrained_architecture(&section("gpt2-medium"), &tiny_checkpoint(), "tiny").unwrap();
        let expected = GptConfig {
            vocab_size: 50257,
            context_length: 128,
            emb_dim: 64,
            n_heads: 2,
            n_layers: 2,
            drop_rate: 0.1,
            qkv_bias: true,
            tie_embeddings: false,
        };
        assert_eq!(resolved.config, expected);
        assert_eq!(resolved.warnings.len(), 3, "{:?}", resolved.warnings);
        assert!(resolved.warnings[0].contains("model.emb_dim 1024 -> 64"), "{:?}", resolved.warnings);
        assert!(resolved.warnings[1].contains("model.context_length 1024 -> 128"), "{:?}", resolved.warnings);
        assert!(resolved.warnings[2].contains("model.qkv_bias"), "{:?}", resolved.warnings);
    }

    #[test]
    fn filled_recipe_resolves_the_same() {
        // A stored recipe.yaml has every key written out with the preset's values.
        let mut filled = section("gpt2-medium");
        let preset = GptConfig::preset("gpt2-medium").unwrap();
        filled.emb_dim = Some(preset.emb_dim);
        filled.n_heads = Some(preset.n_heads);
        filled.n_layers = Some(preset.n_layers);
        filled.vocab_size = Some(preset.vocab_size);
        filled.context_length = Some(preset.context_length);
        filled.qkv_bias = Some(false);
        let plain = pretrained_architecture(&section("gpt2-medium"), &tiny_checkpoint(), "tiny").unwrap();
        assert_eq!(pretrained_architecture(&filled, &tiny_checkpoint(), "tiny").unwrap(), plain);
    }

    #[test]
    fn matching_recipe_has_no_architecture_warning() {
        let medium = HfGpt2Config::with_size(1024, 16, 24);
        let mut recipe = section("gpt2-medium");
        recipe.qkv_bias = Some(true);
        let resolved = pretrained_architecture(&recipe, &medium, "gpt2-medium").unwrap();
        assert!(resolved.warnings.is_empty(), "{:?}", resolved.warnings);
        assert_eq!(resolved.config.emb_dim, 1024);
    }

    #[test]
    fn chosen_value_that_conflicts_is_an_error() {
        let mut recipe = section("gpt2-medium");
        recipe.emb_dim = Some(512);
        recipe.n_heads = Some(8);
        let (key, message) = pretrained_architecture(&recipe, &tiny_checkpoint(), "tiny").unwrap_err();
        assert_eq!(key, "model.emb_dim");
        assert!(message.contains("n_embd 64"), "{message}");
    }

    #[test]
    fn tied_recipe_rejects_separate_head() {
        let untied = HfGpt2Config { tie_word_embeddings: false, ..tiny_checkpoint() };
        let mut recipe = section("gpt-micro");
        recipe.tie_embeddings = Some(true);
        let (key, _) = pretrained_architecture(&recipe, &untied, "tiny").unwrap_err();
        assert_eq!(key, "model.tie_embeddings");
        recipe.tie_embeddings = Some(false);
        assert!(pretrained_architecture(&recipe, &untied, "tiny").is_ok());
    }

    #[test]
    fn small_vocabulary_is_an_error() {
        let small = HfGpt2Config { vocab_size: 1000, ..tiny_checkpoint() };
        let (key, message) = pretrained_architecture(&section("gpt-micro"), &small, "tiny").unwrap_err();
        assert_eq!(key, "model.init");
        assert!(message.contains("vocab_size 1000"), "{message}");
    }
}
