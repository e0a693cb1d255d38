//! Helpers shared by the end-to-end tests: run the real binary on the mirror data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

/// Returns the offline data mirror. CI exports `RUNNER_DATA_MIRROR`, and a checkout beside the
/// mirror finds it without the variable.
pub fn mirror() -> PathBuf {
    match std::env::var_os("RUNNER_DATA_MIRROR") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}

/// Runs `runner` from the repository root with the mirror, an empty download cache and
/// downloads turned off, so no test reaches the network.
pub fn runner(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUNNER_DATA_MIRROR", mirror())
        .env("RUNNER_DATA_DIR", cache)
        .env("RUNNER_OFFLINE", "1")
        .env("RUST_LOG", "info")
        .output()
        .expect("runner binary starts")
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Returns the one run folder under `out/<name>/`.
pub fn single_run_dir(out: &Path, name: &str) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(out.join(name))
        .expect("recipe folder exists")
        .map(|entry| entry.expect("readable entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "expected one run folder in {}, found {runs:?}", out.display());
    runs.into_iter().next().unwrap()
}

/// Reads a parquet table.
pub fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
    ParquetReader::new(file).finish().expect("valid parquet")
}

/// Values of `metric` for `split` in a metrics table, in step order.
pub fn metric_values(metrics: &DataFrame, split: &str, metric: &str) -> Vec<f64> {
    let frame = metrics
        .clone()
        .lazy()
        .filter(col("split").eq(lit(split)).and(col("metric").eq(lit(metric))))
        .sort(["step"], Default::default())
        .collect()
        .expect("filter metrics");
    frame.column("value").unwrap().f64().unwrap().into_no_null_iter().collect()
}

/// Returns a completed pretrain run's summary with the hyperparameters `seed`, `model.preset`,
/// `train.epochs` and `train.lr`, and the metrics `final_val_loss` and `test_accuracy`.
pub fn fake_summary(run_id: &str, lr: f64, final_val_loss: f64, test_accuracy: f64) -> runner::results::Summary {
    runner::results::Summary {
        run_id: run_id.into(),
        variant: None,
        recipe_name: "pretrain".into(),
        stage: "pretrain".into(),
        status: runner::results::RunStatus::Completed,
        error: None,
        wall_time_s: 12.5,
        peak_rss_bytes: Some(600 << 20),
        device: "cpu".into(),
        git_commit: Some("0123abcd".into()),
        hyperparameters: vec![
            ("seed".into(), serde_json::json!(123)),
            ("model.preset".into(), serde_json::json!("gpt-micro")),
            ("train.epochs".into(), serde_json::json!(2)),
            ("train.lr".into(), serde_json::json!(lr)),
        ],
        metrics: vec![("final_val_loss".into(), final_val_loss), ("test_accuracy".into(), test_accuracy)],
    }
}

/// Writes a synthetic run folder `root/<recipe name>/<run id>/` with `summary.parquet` and a
/// `metrics.parquet` of train and val losses at steps 0, 5, 10, and so on. The val losses
/// are `val_losses` and the train losses 0.25 lower. Returns the run folder.
pub fn write_fake_run(root: &Path, summary: &runner::results::Summary, val_losses: &[f64]) -> PathBuf {
    let dir = root.join(&summary.recipe_name).join(&summary.run_id);
    std::fs::create_dir_all(&dir).unwrap();
    summary.write(&dir.join("summary.parquet")).unwrap();

    let mut log = runner::results::MetricsLog::new();
    for (index, &val_loss) in val_losses.iter().enumerate() {
        for (split, value) in [("train", val_loss - 0.25), ("val", val_loss)] {
            log.push(runner::results::MetricRow {
                run_id: summary.run_id.clone(),
                stage: summary.stage.clone(),
                epoch: 0,
                step: index as u64 * 5,
                tokens_seen: index as u64 * 5 * 256,
                split: split.into(),
                metric: "loss".into(),
                value,
                elapsed_s: index as f64,
            });
        }
    }
    log.write(&dir.join("metrics.parquet")).unwrap();
    dir
}
