//! Semantic checks made after loading and before any data is read.

use std::path::Path;

use super::error::RecipeError;
use super::schema::{Padding, Recipe, Stage};
use crate::model::GptConfig;
use crate::model::hf::{Gpt2Source, HUB_MODELS, WEIGHTS_FILE};

/// Checks the values that parse but cannot work; `origin` names the source of a key.
pub fn validate(recipe: &Recipe, origin: &dyn Fn(&str) -> String) -> Result<(), RecipeError> {
    let fail = |key: &str, message: String| Err(RecipeError::at_key(origin(key), key, message));

    if recipe.data.dataset.trim().is_empty() && !recipe.benchmark.is_empty() {
        return fail("data.dataset", "missing, so there is nothing to train; this recipe has a `benchmark` section, which `runner bench` runs".into());
    }
    if recipe.data.dataset.trim().is_empty() {
        return fail("data.dataset", "missing; set a dataset card name (the-verdict, instruction-data, ...) or a file path".into());
    }
    if recipe.data.tokenizer != "gpt2" {
        return fail("data.tokenizer", format!("unknown tokenizer `{}`; only `gpt2` is available", recipe.data.tokenizer));
    }
    check_split(recipe, &fail)?;

    let model = match GptConfig::from_section(&recipe.model) {
        Ok(model) => model,
        Err((key, message)) => return fail(key, message),
    };
    if model.vocab_size < 50257 {
        return fail("model.vocab_size", format!("{} is smaller than the gpt2 tokenizer's 50257 tokens", model.vocab_size));
    }
    check_init(&recipe.model.init, &fail)?;
    check_train(recipe, &fail)?;

    match recipe.stage {
        Stage::Pretrain => {
            if recipe.pretrain.stride == Some(0) {
                return fail("pretrain.stride", "must be at least 1".into());
            }
            if recipe.pretrain.sample_tokens == 0 {
                return fail("pretrain.sample_tokens", "must be at least 1".into());
            }
        }
        Stage::Instruct => {
            let allowed = recipe.instruct.allowed_max_length.unwrap_or(model.context_length);
            if allowed < 2 {
                return fail("instruct.allowed_max_length", "must be at least 2 tokens".into());
            }
            if allowed > model.context_length {
                return fail(
                    "instruct.allowed_max_length",
                    format!("{allowed} exceeds the model's context_length {}; lower it or raise model.context_length", model.context_length),
                );
            }
            if recipe.instruct.max_new_tokens == 0 {
                return fail("instruct.max_new_tokens", "must be at least 1".into());
            }
            if recipe.instruct.eval_limit == Some(0) {
                return fail("instruct.eval_limit", "must be at least 1, or absent for the whole test split".into());
            }
        }
        Stage::Classify => check_classify(recipe, model.context_length, &fail)?,
    }
    Ok(())
}

fn check_classify(recipe: &Recipe, context_length: usize, fail: &Fail) -> Result<(), RecipeError> {
    let classify = &recipe.classify;
    if classify.separator.len() != 1 {
        return fail("classify.separator", format!("`{}` is not one ASCII character; use \"\\t\" or \",\"", classify.separator.escape_default()));
    }
    if !classify.has_header {
        for (key, column) in [("classify.text_column", &classify.text_column), ("classify.label_column", &classify.label_column)] {
            if !classify.column_names.contains(column) {
                return fail(key, format!("`{column}` is not in classify.column_names [{}]", classify.column_names.join(", ")));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(duplicate) = classify.labels.iter().find(|label| !seen.insert(*label)) {
        return fail("classify.labels", format!("`{duplicate}` appears twice"));
    }
    if classify.labels.len() == 1 {
        return fail("classify.labels", "lists one class; a classifier needs at least two".into());
    }
    if classify.padding == Padding::Fixed {
        match classify.pad_length {
            None => return fail("classify.pad_length", "missing; `padding: fixed` needs a length".into()),
            Some(0) => return fail("classify.pad_length", "must be at least 1".into()),
            Some(length) if length > context_length => {
                return fail("classify.pad_length", format!("{length} exceeds the model's context_length {context_length}"));
            }
            Some(_) => {}
        }
    }
    if recipe.data.split.test <= 0.0 {
        return fail("data.split.test", "the classify stage reports test accuracy, so it must be above 0".into());
    }
    Ok(())
}

type Fail<'a> = dyn Fn(&str, String) -> Result<(), RecipeError> + 'a;

fn check_split(recipe: &Recipe, fail: &Fail) -> Result<(), RecipeError> {
    let split = &recipe.data.split;
    for (key, value) in [("data.split.train", split.train), ("data.split.val", split.val)] {
        if !(value > 0.0 && value <= 1.0) {
            return fail(key, format!("{value} is outside (0, 1]"));
        }
    }
    if !(0.0..=1.0).contains(&split.test) {
        return fail("data.split.test", format!("{} is outside [0, 1]", split.test));
    }
    if recipe.stage == Stage::Instruct && split.test <= 0.0 {
        return fail("data.split.test", "the instruct stage generates responses for the test split, so it must be above 0".into());
    }
    let total = split.train + split.val + split.test;
    if total > 1.0 + 1e-9 {
        return fail("data.split", format!("train + val + test = {total}, which is above 1"));
    }
    Ok(())
}

/// Checks `model.init` without reading weights or using the network: a Hub name is always
/// accepted, and a safetensors file or folder needs a supported config.json beside it.
fn check_init(init: &str, fail: &Fail) -> Result<(), RecipeError> {
    if init == "random" {
        return Ok(());
    }
    if let Some(source) = Gpt2Source::parse(init) {
        return match source.config() {
            Ok(_) => Ok(()),
            Err(error) => fail("model.init", error.to_string()),
        };
    }

    let hub_names: Vec<&str> = HUB_MODELS.iter().map(|model| model.name).collect();
    let folder = Path::new(init);
    if !folder.is_dir() {
        return fail(
            "model.init",
            format!(
                "`{init}` is not `random`, a GPT-2 name ({}), a run folder, or a safetensors file or folder",
                hub_names.join(", ")
            ),
        );
    }
    if !crate::model::checkpoint::model_path(folder).is_file() {
        return fail(
            "model.init",
            format!(
                "folder `{init}` has neither checkpoint/model.bpk (point at a run that completed) nor {WEIGHTS_FILE} \
                 (a Hugging Face GPT-2 folder)"
            ),
        );
    }
    Ok(())
}

fn check_train(recipe: &Recipe, fail: &Fail) -> Result<(), RecipeError> {
    let train = &recipe.train;
    if train.epochs == 0 {
        return fail("train.epochs", "must be at least 1".into());
    }
    if train.max_steps == Some(0) {
        return fail("train.max_steps", "must be at least 1, or absent to train every epoch".into());
    }
    if train.batch_size == 0 {
        return fail("train.batch_size", "must be at least 1".into());
    }
    if !(train.lr.is_finite() && train.lr > 0.0) {
        return fail("train.lr", format!("{} is not a positive learning rate", train.lr));
    }
    if !(train.weight_decay.is_finite() && train.weight_decay >= 0.0) {
        return fail("train.weight_decay", format!("{} is negative or not finite", train.weight_decay));
    }
    for beta in train.betas {
        if !(0.0..1.0).contains(&beta) {
            return fail("train.betas", format!("{beta} is outside [0, 1)"));
        }
    }
    if !(train.eps > 0.0) {
        return fail("train.eps", format!("{} is not positive", train.eps));
    }
    if train.eval_freq == 0 {
        return fail("train.eval_freq", "must be at least 1".into());
    }
    if train.eval_iter == 0 {
        return fail("train.eval_iter", "must be at least 1".into());
    }
    if let Some(clip) = train.grad_clip
        && !(clip > 0.0)
    {
        return fail("train.grad_clip", format!("{clip} is not positive"));
    }
    Ok(())
}
