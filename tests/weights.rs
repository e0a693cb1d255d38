//! Hugging Face GPT-2 weights: parity with transformers on the tiny fixture, export and
//! re-import, damaged files, and runs that start from the fixture.
//!
//! scripts/make_gpt2_fixture.py wrote tests/fixtures/gpt2-tiny with transformers, so these
//! tests need no Python.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::*;
use runner::data::{DataDirs, Gpt2Tokenizer};
use runner::generate::{GenerateOptions, generate_greedy};
use runner::model::hf::{Gpt2Source, export_model, load_gpt2};
use runner::model::{Gpt, GptConfig, checkpoint};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// Largest difference allowed between runner's logits and transformers'.
const LOGIT_TOLERANCE: f32 = 1e-4;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpt2-tiny")
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_dir().join("reference.json")).expect("reference.json exists");
    serde_json::from_str(&text).expect("reference.json is valid JSON")
}

fn ids(value: &serde_json::Value) -> Vec<u32> {
    value.as_array().unwrap().iter().map(|id| id.as_u64().unwrap() as u32).collect()
}

fn floats(value: &serde_json::Value) -> Vec<f32> {
    value.as_array().unwrap().iter().map(|number| number.as_f64().unwrap() as f32).collect()
}

/// Imports a GPT-2 folder with no mirror or cache, so nothing can be downloaded.
fn import(dir: &Path, tie_embeddings: bool) -> (GptConfig, Gpt) {
    let source = Gpt2Source::parse(dir.to_str().unwrap()).expect("a folder with model.safetensors");
    let checkpoint = source.locate(&DataDirs { mirror: None, cache: None }).unwrap();
    let config = checkpoint.config.to_architecture(0.0, tie_embeddings);
    let model = load_gpt2(config.init(&Device::flex()), &config, &checkpoint).unwrap();
    (config, model)
}

/// Returns the logits of every position, each a row of vocab_size values.
fn logits(model: &Gpt, tokens: &[u32]) -> Vec<Vec<f32>> {
    let values: Vec<i64> = tokens.iter().map(|&token| token as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(values, [1, tokens.len()]), &Device::flex());
    let output = model.forward(input);
    let vocab = output.dims()[2];
    let flat: Vec<f32> = output.into_data().iter::<f32>().collect();
    flat.chunks(vocab).map(<[f32]>::to_vec).collect()
}

fn max_difference(left: &[Vec<f32>], right: &[Vec<f32>]) -> f32 {
    assert_eq!(left.len(), right.len());
    left.iter().flatten().zip(right.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

/// Rewrites the fixture's weights into `dir` through `edit`, beside a copy of its config.json.
fn write_edited_fixture(dir: &Path, edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>)) {
    let bytes = std::fs::read(fixture_dir().join("model.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.dtype(), view.shape().to_vec(), view.data().to_vec()))
        .collect();
    edit(&mut tensors);

    let views: HashMap<String, TensorView> = tensors
        .iter()
        .map(|(name, dtype, shape, data)| (name.clone(), TensorView::new(*dtype, shape.clone(), data).unwrap()))
        .collect();
    std::fs::create_dir_all(dir).unwrap();
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(metadata), &dir.join("model.safetensors")).unwrap();
    std::fs::copy(fixture_dir().join("config.json"), dir.join("config.json")).unwrap();
}

#[test]
fn fixture_prompt_tokenizes_as_reference() {
    let reference = reference();
    let tokens = Gpt2Tokenizer::new().encode(reference["prompt"].as_str().unwrap());
    assert_eq!(tokens, ids(&reference["input_ids"]));
}

#[test]
fn fixture_logits_match_transformers() {
    let reference = reference();
    let sampled = ids(&reference["sampled_token_ids"]);
    let positions = reference["positions"].as_array().unwrap();

    for tie_embeddings in [true, false] {
        let (_, model) = import(&fixture_dir(), tie_embeddings);
        let rows = logits(&model, &ids(&reference["input_ids"]));
        assert_eq!(rows.len(), positions.len());

        for (position, (row, expected)) in rows.iter().zip(positions).enumerate() {
            for (&token, want) in sampled.iter().zip(floats(&expected["sampled_logits"])) {
                let got = row[token as usize];
                assert!(
                    (got - want).abs() <= LOGIT_TOLERANCE,
                    "tied {tie_embeddings}, position {position}, token {token}: {got} vs transformers' {want}"
                );
            }
            for (&token, want) in ids(&expected["top_ids"]).iter().zip(floats(&expected["top_logits"])) {
                let got = row[token as usize];
                assert!(
                    (got - want).abs() <= LOGIT_TOLERANCE,
                    "tied {tie_embeddings}, position {position}, top token {token}: {got} vs transformers' {want}"
                );
            }
            let best = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 as u32;
            assert_eq!(best, ids(&expected["top_ids"])[0], "tied {tie_embeddings}, position {position}: argmax");
        }
    }
}

#[test]
fn fixture_greedy_continuation_matches_transformers() {
    let reference = reference();
    let expected = ids(&reference["greedy_new_tokens"]);
    let (config, model) = import(&fixture_dir(), true);

    for use_cache in [false, true] {
        let options = GenerateOptions { max_new_tokens: expected.len(), stop_token: None, use_cache };
        let generated = generate_greedy(&model, &config, &ids(&reference["input_ids"]), options, &Device::flex(), &mut |_| {});
        assert_eq!(generated, expected, "use_cache {use_cache}");
    }
}

#[test]
fn unprefixed_names_and_mask_buffers_load() {
    // Files converted from OpenAI's release, as on the Hub, name tensors without the
    // `transformer.` prefix and may carry the causal-mask buffers.
    let dir = tempfile::tempdir().unwrap();
    write_edited_fixture(dir.path(), |tensors| {
        for (name, ..) in tensors.iter_mut() {
            *name = name.strip_prefix("transformer.").unwrap().to_string();
        }
        tensors.push(("h.0.attn.bias".into(), Dtype::F32, vec![1, 1, 2, 2], vec![0; 16]));
        tensors.push(("h.1.attn.masked_bias".into(), Dtype::F32, vec![], vec![0; 4]));
    });

    let tokens = ids(&reference()["input_ids"]);
    let (_, original) = import(&fixture_dir(), true);
    let (_, converted) = import(dir.path(), true);
    assert_eq!(max_difference(&logits(&original, &tokens), &logits(&converted, &tokens)), 0.0);
}

#[test]
fn export_then_import_keeps_logits() {
    let tokens = ids(&reference()["input_ids"]);
    for tie_embeddings in [true, false] {
        let (config, model) = import(&fixture_dir(), tie_embeddings);
        let out = tempfile::tempdir().unwrap();
        let files = export_model(&model, &config, out.path()).unwrap();
        assert_eq!(files.weights, out.path().join("model.safetensors"));

        let exported: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files.config).unwrap()).unwrap();
        assert_eq!(exported["tie_word_embeddings"], tie_embeddings);
        assert_eq!(exported["n_positions"], 128);
        let bytes = std::fs::read(&files.weights).unwrap();
        let names = SafeTensors::deserialize(&bytes).unwrap().names().len();
        // 2 embeddings, 12 tensors per block, the final norm, and lm_head when untied.
        assert_eq!(names, 2 + 2 * 12 + 2 + usize::from(!tie_embeddings), "tied {tie_embeddings}");

        let (_, reimported) = import(out.path(), tie_embeddings);
        assert_eq!(max_difference(&logits(&model, &tokens), &logits(&reimported, &tokens)), 0.0, "tied {tie_embeddings}");
    }
}

#[test]
fn model_without_qkv_bias_exports_zero_bias() {
    let device = Device::flex();
    let config = GptConfig { drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
    assert!(!config.qkv_bias);
    let model = config.init(&device);
    let out = tempfile::tempdir().unwrap();
    export_model(&model, &config, out.path()).unwrap();

    let (reimported_config, reimported) = import(out.path(), false);
    assert!(reimported_config.qkv_bias);
    let tokens = [464, 3290, 318];
    assert!(max_difference(&logits(&model, &tokens), &logits(&reimported, &tokens)) < 1e-6);
}

/// Runs `runner run recipes/instruct.yaml` on the fixture with a short schedule.
fn run_instruct(init: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    let init = format!("model.init={}", init.display());
    let mut args = vec![
        "run", "recipes/instruct.yaml",
        "--set", &init,
        "--set", "instruct.allowed_max_length=128",
        "--set", "train.max_steps=2",
        "--set", "instruct.eval_limit=2",
        "--set", "instruct.max_new_tokens=4",
        "--out", out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    runner(&args, cache.path())
}

#[test]
fn run_from_fixture_then_export() {
    let out = tempfile::tempdir().unwrap();
    let output = run_instruct(&fixture_dir(), out.path(), &[]);
    let log = stderr(&output);
    assert!(output.status.success(), "run failed: {log}");
    assert!(log.contains("initial weights"), "{log}");
    assert!(log.contains("model.emb_dim 1024 -> 64"), "the preset's values are replaced with a warning: {log}");
    assert!(log.contains("model.qkv_bias false -> true"), "{log}");

    let run_dir = single_run_dir(out.path(), "instruct");
    let (trained_config, trained) = checkpoint::load(&run_dir, &Device::flex()).unwrap();
    assert_eq!((trained_config.emb_dim, trained_config.n_layers, trained_config.context_length), (64, 2, 128));
    assert!(trained_config.qkv_bias);

    let exported = out.path().join("exported");
    let cache = tempfile::tempdir().unwrap();
    let output = runner(&["export", run_dir.to_str().unwrap(), "--out", exported.to_str().unwrap()], cache.path());
    assert!(output.status.success(), "export failed: {}", stderr(&output));
    assert!(stdout(&output).contains("model.safetensors"), "{}", stdout(&output));

    let tokens = ids(&reference()["input_ids"]);
    let (_, reimported) = import(&exported, trained_config.tie_embeddings);
    assert_eq!(max_difference(&logits(&trained, &tokens), &logits(&reimported, &tokens)), 0.0);
}

/// Runs the instruct recipe on a damaged copy of the fixture and returns the error output.
fn failed_run(init: &Path) -> String {
    let out = tempfile::tempdir().unwrap();
    let output = run_instruct(init, out.path(), &[]);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "a failed import leaves no run folder");
    log
}

#[test]
fn missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_edited_fixture(dir.path(), |tensors| tensors.retain(|(name, ..)| name != "transformer.h.1.mlp.c_fc.weight"));
    let log = failed_run(dir.path());
    assert!(log.contains("tensor `transformer.h.1.mlp.c_fc.weight` is missing"), "{log}");
}

#[test]
fn wrong_shape_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_edited_fixture(dir.path(), |tensors| {
        let entry = tensors.iter_mut().find(|(name, ..)| name == "transformer.h.0.attn.c_attn.weight").unwrap();
        entry.2 = vec![64, 128];
        entry.3.truncate(64 * 128 * 2);
    });
    let log = failed_run(dir.path());
    assert!(log.contains("tensor `transformer.h.0.attn.c_attn.weight`"), "{log}");
    assert!(log.contains("has shape [64, 128]"), "{log}");
    assert!(log.contains("needs [64, 192]"), "{log}");
}

#[test]
fn truncated_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture_dir().join("config.json"), dir.path().join("config.json")).unwrap();
    let bytes = std::fs::read(fixture_dir().join("model.safetensors")).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let log = failed_run(dir.path());
    assert!(log.contains("is truncated"), "{log}");
    assert!(log.contains(&format!("describes {} bytes", bytes.len())), "{log}");
}

#[test]
fn non_safetensors_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture_dir().join("config.json"), dir.path().join("config.json")).unwrap();
    // A PyTorch checkpoint is a zip archive.
    let weights = dir.path().join("pytorch_model.bin");
    std::fs::write(&weights, b"PK\x03\x04 not a safetensors file at all").unwrap();
    let log = failed_run(&weights);
    assert!(log.contains("is not a safetensors file"), "{log}");
}

#[test]
fn conflicting_width_is_rejected() {
    let out = tempfile::tempdir().unwrap();
    let output = run_instruct(&fixture_dir(), out.path(), &["--set", "model.emb_dim=128"]);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{log}");
    assert!(log.contains("`model.emb_dim`"), "{log}");
    assert!(log.contains("n_embd 64"), "{log}");
}

#[test]
fn long_sequences_for_short_checkpoint_rejected() {
    let out = tempfile::tempdir().unwrap();
    let output = run_instruct(&fixture_dir(), out.path(), &["--set", "instruct.allowed_max_length=512"]);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{log}");
    assert!(log.contains("`instruct.allowed_max_length`"), "{log}");
    assert!(log.contains("128 positions"), "{log}");
}

#[test]
fn validate_checks_init_offline() {
    let cache = tempfile::tempdir().unwrap();
    let output = runner(&["validate", "recipes/instruct.yaml"], cache.path());
    assert!(output.status.success(), "the default gpt2-medium init validates without a download: {}", stderr(&output));
    assert!(std::fs::read_dir(cache.path()).unwrap().next().is_none(), "validation downloads nothing");

    let no_config = tempfile::tempdir().unwrap();
    std::fs::copy(fixture_dir().join("model.safetensors"), no_config.path().join("model.safetensors")).unwrap();
    for (init, expected) in [
        (no_config.path().to_str().unwrap().to_string(), "config.json not found"),
        ("no/such/folder".to_string(), "gpt2-small, gpt2-medium, gpt2-large, gpt2-xl"),
    ] {
        let set = format!("model.init={init}");
        let output = runner(&["validate", "recipes/instruct.yaml", "--set", &set], cache.path());
        assert_eq!(output.status.code(), Some(2), "{init}: {}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{init}: {}", stderr(&output));
    }
}

#[test]
fn export_of_folder_without_run_fails() {
    let folder = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = runner(
        &["export", folder.path().to_str().unwrap(), "--out", out.path().join("exported").to_str().unwrap()],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("is this the folder of a completed run?"), "{}", stderr(&output));
    assert!(!out.path().join("exported").exists());
}

/// Imports the GPT-2 folder named by `GPT2_IMPORT_BENCH` and nothing else, for measuring load
/// time and peak memory from outside the process (see docs/benchmarks.md).
/// `GPT2_IMPORT_TIE=false` gives the model a separate output head, as the presets have.
#[test]
#[ignore = "needs a gpt2-small-sized folder in GPT2_IMPORT_BENCH"]
fn import_for_benchmark() {
    let dir = PathBuf::from(std::env::var("GPT2_IMPORT_BENCH").expect("GPT2_IMPORT_BENCH names a GPT-2 folder"));
    let tie_embeddings = std::env::var("GPT2_IMPORT_TIE").map_or(true, |value| value != "false");
    let (config, model) = import(&dir, tie_embeddings);
    assert_eq!(burn::module::Module::num_params(&model), expected_params(&config));
}

fn expected_params(config: &GptConfig) -> usize {
    let emb = config.emb_dim;
    let block = 12 * emb * emb + 13 * emb;
    let head = if config.tie_embeddings { 0 } else { emb * config.vocab_size };
    (config.vocab_size + config.context_length) * emb + config.n_layers * block + 2 * emb + head
}
