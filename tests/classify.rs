//! The classify stage end to end: spam detection on the mirror's SMS collection, `runner
//! predict`, and every rejected data file.

mod common;

use std::path::Path;

use common::*;

#[test]
fn classify_recipe_trains_and_predicts() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = runner(
        &[
            "run", "recipes/classify-scratch.yaml",
            "--set", "model.preset=gpt-micro",
            "--set", "train.max_steps=30",
            "--set", "train.lr=0.001",
            "--out", out.path().to_str().unwrap(),
        ],
        cache.path(),
    );
    assert!(output.status.success(), "run failed: {}", stderr(&output));
    let run_dir = single_run_dir(out.path(), "classify-scratch");

    // 747 spam and 747 ham after balancing; the test split is what 70% + 10% leave.
    let predictions = read_parquet(&run_dir.join("predictions.parquet"));
    assert_eq!(predictions.height(), 1494 - 1045 - 149);
    let columns: Vec<String> = predictions.get_column_names().iter().map(|name| name.to_string()).collect();
    assert_eq!(columns, ["text", "label", "predicted_label", "probability"]);

    let confusion = read_parquet(&run_dir.join("confusion.parquet"));
    assert_eq!(confusion.height(), 4);
    let total: u64 = confusion.column("count").unwrap().u64().unwrap().into_no_null_iter().sum();
    assert_eq!(total, 300);

    let summary = read_parquet(&run_dir.join("summary.parquet"));
    for column in ["train_accuracy", "val_accuracy", "test_accuracy"] {
        let accuracy = summary.column(column).unwrap().f64().unwrap().get(0).unwrap();
        assert!((0.0..=1.0).contains(&accuracy), "{column} = {accuracy}");
    }
    let metrics = read_parquet(&run_dir.join("metrics.parquet"));
    assert!(!metric_values(&metrics, "val", "accuracy").is_empty(), "per-epoch accuracy recorded");

    let run_arg = run_dir.to_str().unwrap();
    let predicted = runner(&["predict", run_arg, "--text", "WINNER!! Claim your free prize now"], cache.path());
    assert!(predicted.status.success(), "{}", stderr(&predicted));
    let line = stdout(&predicted);
    let fields: Vec<&str> = line.trim().split('\t').collect();
    assert_eq!(fields.len(), 2, "{line}");
    assert!(fields[0] == "ham" || fields[0] == "spam", "{line}");
    let probability: f64 = fields[1].parse().unwrap();
    assert!((0.5..=1.0).contains(&probability), "{line}");

    let texts = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(texts.path(), "see you at lunch\nURGENT call now\n").unwrap();
    let predicted = runner(&["predict", run_arg, "--file", texts.path().to_str().unwrap()], cache.path());
    assert!(predicted.status.success(), "{}", stderr(&predicted));
    assert_eq!(stdout(&predicted).lines().count(), 2);
    assert!(stdout(&predicted).lines().next().unwrap().ends_with("\tsee you at lunch"));
}

#[test]
fn predict_rejects_other_runs() {
    let cache = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let output = runner(&["predict", empty.path().to_str().unwrap(), "--text", "hello"], cache.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("classifier.json"), "{}", stderr(&output));
}

/// Runs the classify recipe on `data` with extra flags and returns the one error line.
fn rejected_data(data: &Path, extra: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let set = format!("data.dataset={}", data.display());
    let mut args = vec!["run", "recipes/classify.yaml", "--set", "model.preset=gpt-micro", "--set", &set, "--out", out.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = runner(&args, cache.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "no run folder for bad data");
    let errors: Vec<String> = stderr(&output).lines().filter(|line| line.starts_with("error:")).map(str::to_string).collect();
    assert_eq!(errors.len(), 1, "{}", stderr(&output));
    errors.into_iter().next().unwrap()
}

fn data_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn missing_label_column_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path(), "reviews.csv", b"text,category\ngood,ham\nbad,spam\n");
    let message = rejected_data(&data, &["--set", "classify.has_header=true", "--set", "classify.separator=,"]);
    assert!(message.contains("no column `label`"), "{message}");
    assert!(message.contains("text, category"), "{message}");
}

#[test]
fn label_outside_mapping_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path(), "labels.tsv", b"ham\thi\nspam\twin\neggs\tbreakfast\n");
    let message = rejected_data(&data, &[]);
    assert!(message.contains("row 3"), "{message}");
    assert!(message.contains("`eggs`"), "{message}");
    assert!(message.contains("ham, spam"), "{message}");
}

#[test]
fn empty_file_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path(), "empty.tsv", b"");
    let message = rejected_data(&data, &[]);
    assert!(message.contains("is empty"), "{message}");
}

#[test]
fn line_without_tab_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path(), "notab.tsv", b"ham\thi\nspam win a prize\n");
    let message = rejected_data(&data, &[]);
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("separator"), "{message}");
}

#[test]
fn non_utf8_line_rejected_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"ham\tcaf\xe9\n".to_vec();
    for index in 0..20 {
        bytes.extend_from_slice(format!("ham\thello {index}\nspam\twin {index}\n").as_bytes());
    }
    let data = data_file(dir.path(), "latin1.tsv", &bytes);
    let message = rejected_data(&data, &[]);
    assert!(message.contains("line 1"), "{message}");
    assert!(message.contains("UTF-8"), "{message}");

    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let set = format!("data.dataset={}", data.display());
    let output = runner(
        &[
            "run", "recipes/classify.yaml", "--set", "model.preset=gpt-micro", "--set", &set,
            "--set", "classify.invalid_utf8=skip", "--set", "train.max_steps=1", "--out", out.path().to_str().unwrap(),
        ],
        cache.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("skipped 1 line"), "{}", stderr(&output));
}

#[test]
fn split_leaving_empty_set_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path(), "tiny.tsv", b"ham\ta\nspam\tb\nham\tc\nspam\td\n");
    let message = rejected_data(&data, &["--set", "train.batch_size=1"]);
    assert!(message.contains("split"), "{message}");
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn pretrain_then_classify_chain() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    let pretrain = runner(
        &[
            "run", "recipes/pretrain.yaml", "--set", "model.preset=gpt-micro", "--set", "model.context_length=64",
            "--set", "pretrain.stride=64", "--set", "train.max_steps=2", "--set", "train.batch_size=4",
            "--set", "pretrain.sample_tokens=2", "--out", out_arg,
        ],
        cache.path(),
    );
    assert!(pretrain.status.success(), "{}", stderr(&pretrain));
    let init = format!("model.init={}", single_run_dir(out.path(), "pretrain").display());

    let classify = runner(
        &[
            "run", "recipes/classify.yaml", "--set", "model.preset=gpt-micro", "--set", "model.context_length=64",
            "--set", &init, "--set", "train.max_steps=2", "--out", out_arg,
        ],
        cache.path(),
    );
    assert!(classify.status.success(), "{}", stderr(&classify));
    assert!(stderr(&classify).contains("initial weights"), "{}", stderr(&classify));
    assert!(single_run_dir(out.path(), "classify").join("predictions.parquet").is_file());
}
