//! `runner generate` and `runner bench`, driven through the binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// Trains gpt-micro for two steps with a 64-token context and returns its run folder.
fn trained_run(out: &Path, cache: &Path) -> PathBuf {
    let output = runner(
        &[
            "run", "recipes/pretrain.yaml",
            "--set", "model.preset=gpt-micro",
            "--set", "model.context_length=64",
            "--set", "pretrain.stride=64",
            "--set", "train.max_steps=2",
            "--set", "train.batch_size=4",
            "--out", out.to_str().unwrap(),
        ],
        cache,
    );
    assert!(output.status.success(), "pretrain failed: {}", stderr(&output));
    single_run_dir(out, "pretrain")
}

fn generate(run_dir: &Path, extra: &[&str], cache: &Path) -> Output {
    let mut args = vec!["generate", run_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    runner(&args, cache)
}

/// Lines of standard error that start with `error:`.
fn error_lines(output: &Output) -> Vec<String> {
    stderr(output).lines().filter(|line| line.starts_with("error:")).map(str::to_string).collect()
}

#[test]
fn generate_streams_same_text_with_and_without_cache() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run_dir = trained_run(out.path(), cache.path());

    // 100 new tokens after a 5-token prompt pass the 64-token context, so both paths crop.
    let prompt = ["--prompt", "Every effort moves you", "--max-new-tokens", "100"];
    let cached = generate(&run_dir, &prompt, cache.path());
    assert!(cached.status.success(), "{}", stderr(&cached));
    let uncached = generate(&run_dir, &[&prompt[..], &["--no-cache"]].concat(), cache.path());
    assert!(uncached.status.success(), "{}", stderr(&uncached));

    let text = stdout(&cached);
    assert!(text.ends_with('\n'), "{text:?}");
    assert!(text.trim().len() > 10, "little text generated: {text:?}");
    assert_eq!(text, stdout(&uncached));
    assert!(stderr(&cached).contains("tokens/s"), "{}", stderr(&cached));
}

#[test]
fn generate_sampling_repeats_with_seed() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run_dir = trained_run(out.path(), cache.path());

    let sample = |seed: &str| {
        let args = ["--prompt", "I had always thought", "--max-new-tokens", "30", "--temperature", "1.5", "--top-k", "50", "--top-p", "0.95", "--seed", seed];
        let output = generate(&run_dir, &args, cache.path());
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    let first = sample("7");
    assert_eq!(first, sample("7"));
    assert_ne!(first, sample("8"), "another seed drew the same 30 tokens");

    let half = generate(&run_dir, &["--prompt", "I had always thought", "--max-new-tokens", "10", "--dtype", "f16"], cache.path());
    assert!(half.status.success(), "{}", stderr(&half));
}

#[test]
fn generate_rejects_invalid_arguments() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run_dir = trained_run(out.path(), cache.path());
    let long_prompt = "word ".repeat(100);

    let cases: [(&[&str], &str); 9] = [
        (&["--prompt", ""], "the prompt is empty"),
        (&["--prompt", &long_prompt], "more than the model's context_length of 64"),
        (&["--prompt", "Hi", "--max-new-tokens", "0"], "invalid max_new_tokens"),
        (&["--prompt", "Hi", "--top-k", "0", "--temperature", "1"], "invalid top_k"),
        (&["--prompt", "Hi", "--top-p", "0", "--temperature", "1"], "invalid top_p"),
        (&["--prompt", "Hi", "--top-p", "1.5", "--temperature", "1"], "invalid top_p: 1.5 is outside (0, 1]"),
        (&["--prompt", "Hi", "--top-p", "-0.2", "--temperature", "1"], "invalid top_p"),
        (&["--prompt", "Hi", "--temperature", "-1"], "invalid temperature"),
        (&["--prompt", "Hi", "--window", "65"], "invalid window: 65 is outside 1..=64"),
    ];
    for (args, expected) in cases {
        let output = generate(&run_dir, args, cache.path());
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        let errors = error_lines(&output);
        assert_eq!(errors.len(), 1, "{args:?}: {}", stderr(&output));
        assert!(errors[0].contains(expected), "{args:?}: {}", errors[0]);
        assert!(stdout(&output).is_empty(), "{args:?} printed text: {}", stdout(&output));
    }
}

#[test]
fn generate_without_checkpoint_fails() {
    let cache = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();

    let output = generate(empty.path(), &["--prompt", "Hi"], cache.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let errors = error_lines(&output);
    assert_eq!(errors.len(), 1, "{}", stderr(&output));
    assert!(errors[0].contains("no checkpoint"), "{}", errors[0]);
    assert!(errors[0].contains("config.json"), "{}", errors[0]);

    let missing = empty.path().join("no-such-run");
    let output = generate(&missing, &["--prompt", "Hi"], cache.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(error_lines(&output)[0].contains("no-such-run"), "{}", stderr(&output));
}

#[test]
fn generate_with_corrupt_checkpoint_fails_with_code_1() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run_dir = trained_run(out.path(), cache.path());
    std::fs::write(run_dir.join("checkpoint").join("model.bpk"), b"not a burnpack file").unwrap();

    let output = generate(&run_dir, &["--prompt", "Hi"], cache.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(error_lines(&output)[0].contains("cannot read checkpoint"), "{}", stderr(&output));
}

fn write_recipe(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("bench.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bench_writes_table_and_figure() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let recipe = write_recipe(
        dir.path(),
        "name: tiny-bench\nmodel:\n  preset: gpt-micro\n  context_length: 32\nbenchmark:\n  kv_cache:\n    prompt: Hello, I am\n    \
         generated_tokens: [5, 40]\n    batch_sizes: [1, 2]\n    warmup: 0\n    repeat: 1\n    dtypes: [f32, f16]\n",
    );
    let out = dir.path().join("results");
    let output = runner(&["bench", recipe.to_str().unwrap(), "--out", out.to_str().unwrap()], cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("tok/s"), "{}", stdout(&output));

    let run_dir = single_run_dir(&out, "tiny-bench");
    let table = read_parquet(&run_dir.join("kv_cache.parquet"));
    // 2 dtypes x 2 batch sizes x 2 lengths x cache on and off.
    assert_eq!(table.height(), 16);
    for name in ["dtype", "batch_size", "generated_tokens", "cache", "wall_s", "tokens_per_s", "ms_per_token", "speedup", "peak_rss_bytes", "kv_cache_bytes"] {
        assert!(table.column(name).is_ok(), "missing column {name}: {:?}", table.get_column_names());
    }
    let cache_bytes: Vec<u64> = table.column("kv_cache_bytes").unwrap().u64().unwrap().into_no_null_iter().collect();
    let cache_on: Vec<bool> = table.column("cache").unwrap().str().unwrap().iter().map(|value| value == Some("on")).collect();
    // f32, batch 1: 2 layers x (keys + values) x 32 positions x 64 wide x 4 bytes.
    assert_eq!(cache_bytes[0], 2 * 2 * 32 * 64 * 4);
    for (bytes, on) in cache_bytes.iter().zip(&cache_on) {
        assert_eq!(*bytes > 0, *on, "cache size {bytes} for cache on = {on}");
    }

    let svg = std::fs::read_to_string(run_dir.join("kv_cache.svg")).unwrap();
    assert!(svg.contains("f16 batch 2"), "figure lacks the f16 batch 2 series");
    let summary = read_parquet(&run_dir.join("summary.parquet"));
    assert_eq!(summary.column("status").unwrap().str().unwrap().get(0), Some("completed"));
    assert!(summary.column("kv_cache_speedup").is_ok(), "{:?}", summary.get_column_names());
}

#[test]
fn bench_rejects_recipe_without_section() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");

    let recipe = write_recipe(dir.path(), "model:\n  preset: gpt-micro\n");
    let output = runner(&["bench", recipe.to_str().unwrap(), "--out", out.to_str().unwrap()], cache.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(error_lines(&output)[0].contains("no `benchmark.kv_cache` section"), "{}", stderr(&output));

    let recipe = write_recipe(dir.path(), "model:\n  preset: gpt-micro\nbenchmark:\n  kv_cache:\n    repeat: 0\n");
    let output = runner(&["bench", recipe.to_str().unwrap(), "--out", out.to_str().unwrap()], cache.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(error_lines(&output)[0].contains("`benchmark.kv_cache.repeat`"), "{}", stderr(&output));
    assert!(!out.exists(), "a rejected benchmark created {}", out.display());
}

#[test]
fn shipped_benchmark_recipe_loads() {
    let cache = tempfile::tempdir().unwrap();
    // Only loading is checked here; the full recipe runs GPT-2 small for minutes.
    let output = runner(&["bench", "recipes/kv-cache.yaml", "--set", "benchmark.kv_cache.repeat=0"], cache.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(error_lines(&output)[0].contains("key `benchmark.kv_cache.repeat`"), "{}", stderr(&output));
}
