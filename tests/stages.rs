//! End-to-end runs of the real recipes on the mirror data with tiny models.

mod common;

use common::*;

#[test]
fn instruct_recipe_trains_and_writes_tables() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();

    let output = runner(
        &[
            "run", "recipes/instruct.yaml",
            "--set", "model.init=random",
            "--set", "model.preset=gpt-micro",
            "--set", "train.epochs=1",
            "--set", "train.max_steps=40",
            "--set", "train.lr=0.001",
            "--set", "instruct.max_new_tokens=12",
            "--set", "instruct.eval_limit=6",
            "--out", out_arg,
        ],
        cache.path(),
    );
    assert!(output.status.success(), "run failed: {}", stderr(&output));

    let run_dir = single_run_dir(out.path(), "instruct");
    for file in ["recipe.yaml", "metrics.parquet", "summary.parquet", "responses.parquet", "responses.json", "run.log", "checkpoint/model.bpk", "checkpoint/config.json"] {
        assert!(run_dir.join(file).is_file(), "missing {file} in {}", run_dir.display());
    }

    let metrics = read_parquet(&run_dir.join("metrics.parquet"));
    let columns: Vec<String> = metrics.get_column_names().iter().map(|name| name.to_string()).collect();
    assert_eq!(columns, ["run_id", "stage", "epoch", "step", "tokens_seen", "split", "metric", "value", "elapsed_s"]);
    let val = metric_values(&metrics, "val", "loss");
    assert!(val.len() >= 2, "expected several evaluations, got {val:?}");
    assert!(val.last().unwrap() < val.first().unwrap(), "val loss did not fall: {val:?}");

    let responses: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join("responses.json")).unwrap()).unwrap();
    let responses = responses.as_array().unwrap();
    assert_eq!(responses.len(), 6);
    for key in ["instruction", "input", "output", "model_response"] {
        assert!(responses[0].get(key).is_some(), "responses.json entry lacks `{key}`");
    }
    // The first test entry is entry 935 of the file (85% of 1100).
    let entries: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(mirror().join("instruction-data.json")).unwrap()).unwrap();
    assert_eq!(responses[0]["instruction"], entries[935]["instruction"]);

    let summary = read_parquet(&run_dir.join("summary.parquet"));
    assert_eq!(summary.height(), 1);
    assert_eq!(summary.column("status").unwrap().str().unwrap().get(0), Some("completed"));
    assert!(summary.column("mean_rouge_l_f1").is_ok());
    assert!(summary.column("train.lr").is_ok());
}

#[test]
fn pretrain_then_instruct_chain() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();

    let output = runner(
        &[
            "run", "recipes/pretrain.yaml",
            "--set", "model.preset=gpt-micro",
            "--set", "model.context_length=64",
            "--set", "pretrain.stride=64",
            "--set", "train.epochs=2",
            "--set", "train.batch_size=4",
            "--set", "train.lr=0.002",
            "--set", "pretrain.sample_tokens=8",
            "--out", out_arg,
        ],
        cache.path(),
    );
    assert!(output.status.success(), "pretrain failed: {}", stderr(&output));
    let pretrain_dir = single_run_dir(out.path(), "pretrain");

    let metrics = read_parquet(&pretrain_dir.join("metrics.parquet"));
    let train = metric_values(&metrics, "train", "loss");
    assert!(train.last().unwrap() < train.first().unwrap(), "train loss did not fall: {train:?}");
    let samples = read_parquet(&pretrain_dir.join("samples.parquet"));
    assert_eq!(samples.height(), 2, "one sample per epoch");
    let text = samples.column("text").unwrap().str().unwrap().get(0).unwrap().to_string();
    assert!(text.starts_with("Every effort moves you"), "sample starts with the prompt: {text}");

    let init = format!("model.init={}", pretrain_dir.display());
    let output = runner(
        &[
            "run", "recipes/instruct.yaml",
            "--set", "model.preset=gpt-micro",
            "--set", "model.context_length=64",
            "--set", &init,
            "--set", "train.max_steps=2",
            "--set", "instruct.max_new_tokens=4",
            "--set", "instruct.eval_limit=2",
            "--out", out_arg,
        ],
        cache.path(),
    );
    assert!(output.status.success(), "instruct from pretrain failed: {}", stderr(&output));
    assert!(stderr(&output).contains("initial weights"), "log names the checkpoint: {}", stderr(&output));

    let mismatch = runner(
        &["run", "recipes/instruct.yaml", "--set", "model.preset=gpt-micro", "--set", &init, "--out", out_arg],
        cache.path(),
    );
    assert_eq!(mismatch.status.code(), Some(2));
    assert!(stderr(&mismatch).contains("model.context_length"), "{}", stderr(&mismatch));
}
