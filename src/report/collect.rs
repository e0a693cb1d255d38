//! Reading of run folders: each `summary.parquet` and `metrics.parquet`, one file at a time,
//! so that a damaged file is named and skipped while the other runs are still reported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::results::RunStatus;

/// The long-format measurements of a run, written by `MetricsLog`.
pub const METRICS_FILE: &str = "metrics.parquet";

/// Columns that a summary must have to be listed.
const REQUIRED_SUMMARY_COLUMNS: [&str; 2] = ["run_id", "status"];

/// Columns of `metrics.parquet` that the curves need.
const REQUIRED_METRICS_COLUMNS: [&str; 4] = ["step", "split", "metric", "value"];

/// Metrics drawn as curves. Other metrics appear only through the summaries.
pub const CURVE_METRICS: [&str; 2] = ["loss", "accuracy"];

/// A file that the report leaves out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedFile {
    /// The file's canonical path.
    pub path: PathBuf,
    /// The reason, such as the parquet reader's error.
    pub reason: String,
}

/// One measured point of a curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    /// The metric, one of `CURVE_METRICS`.
    pub metric: String,
    /// The data split, such as `train` or `val`.
    pub split: String,
    /// The optimizer step.
    pub step: f64,
    /// The measured value.
    pub value: f64,
}

/// One run as read from its folder.
#[derive(Debug, Clone)]
pub struct Run {
    /// The canonical run folder, the parent of `summary.parquet`.
    pub dir: PathBuf,
    /// The run id from the summary.
    pub run_id: String,
    /// The status from the summary, such as `completed` or `failed`.
    pub status: String,
    /// The summary's one row, columns as written.
    pub summary: DataFrame,
    /// The loss and accuracy measurements, empty when the run has no readable metrics file.
    pub curves: Vec<CurvePoint>,
}

impl Run {
    /// Returns true when the run finished its stage.
    pub fn is_completed(&self) -> bool {
        self.status == RunStatus::Completed.as_str()
    }
}

/// The runs that could be read, and the files that were left out.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// One run per run id, in the order the run ids first appear in `summary_paths`.
    pub runs: Vec<Run>,
    /// Damaged files and repeated runs, in the order they were met.
    pub skipped: Vec<SkippedFile>,
}

/// Reads every summary of `summary_paths`, and the metrics file beside each.
///
/// A summary that cannot be read, or lacks `run_id` or `status`, goes to `skipped` with the
/// reason, and so does a damaged metrics file, whose run is then listed without curves. When
/// two summaries have the same run id, as for a copied run folder, the first completed one is
/// kept (else the first one) and the other goes to `skipped`. Each skipped file is logged as a
/// warning.
pub fn read_runs(summary_paths: &[PathBuf]) -> Collection {
    let mut collection = Collection::default();
    let mut index_by_run_id: BTreeMap<String, usize> = BTreeMap::new();

    for path in summary_paths {
        let mut run = match read_summary(path) {
            Ok(run) => run,
            Err(reason) => {
                skip(&mut collection.skipped, path, reason);
                continue;
            }
        };

        let replaced = index_by_run_id.get(&run.run_id).copied();
        if let Some(index) = replaced {
            let previous = &collection.runs[index];
            let replace = !previous.is_completed() && run.is_completed();
            let (listed, unlisted) = match replace {
                true => (&run.dir, &previous.dir),
                false => (&previous.dir, &run.dir),
            };
            let reason = format!("run {} is also in {}, which is listed instead", run.run_id, listed.display());
            let unlisted_summary = unlisted.join(super::find::SUMMARY_FILE);
            skip(&mut collection.skipped, &unlisted_summary, reason);
            if !replace {
                continue;
            }
        }

        let metrics_path = run.dir.join(METRICS_FILE);
        if metrics_path.is_file() {
            match read_curves(&metrics_path) {
                Ok(points) => run.curves = points,
                Err(reason) => skip(&mut collection.skipped, &metrics_path, format!("{reason}; the run is listed without curves")),
            }
        }
        match replaced {
            Some(index) => collection.runs[index] = run,
            None => {
                index_by_run_id.insert(run.run_id.clone(), collection.runs.len());
                collection.runs.push(run);
            }
        }
    }
    collection
}

/// Adds `path` to `skipped` with `reason` and logs it as a warning.
pub(super) fn skip(skipped: &mut Vec<SkippedFile>, path: &Path, reason: String) {
    tracing::warn!("skipping {}: {reason}", path.display());
    skipped.push(SkippedFile { path: path.to_owned(), reason });
}

/// Reads a parquet file eagerly through a lazy scan. Globbing and hive partitioning are off,
/// because a run folder's path may contain `[`, `*` or `key=value` parts.
pub fn read_parquet(path: &Path) -> Result<DataFrame, String> {
    let source = PlRefPath::try_from_path(path).map_err(|error| error.to_string())?;
    let args = ScanArgsParquet {
        glob: false,
        hive_options: HiveOptions { enabled: Some(false), ..Default::default() },
        ..Default::default()
    };
    LazyFrame::scan_parquet(source, args)
        .and_then(LazyFrame::collect)
        .map_err(|error| one_line(&error.to_string()))
}

fn read_summary(path: &Path) -> Result<Run, String> {
    let summary = read_parquet(path)?;
    for column in REQUIRED_SUMMARY_COLUMNS {
        if summary.column(column).is_err() {
            return Err(format!("the column `{column}` is missing, so this is not a run summary"));
        }
    }
    if summary.height() != 1 {
        return Err(format!("a run summary has one row, this file has {}", summary.height()));
    }
    let text = |column: &str| -> Result<String, String> {
        match summary.column(column).and_then(|values| values.get(0)) {
            Ok(AnyValue::String(value)) => Ok(value.to_string()),
            Ok(AnyValue::StringOwned(value)) => Ok(value.to_string()),
            Ok(other) => Err(format!("the column `{column}` has the value {other:?}, expected text")),
            Err(error) => Err(one_line(&error.to_string())),
        }
    };
    let run_id = text("run_id")?;
    let status = text("status")?;
    let dir = path.parent().expect("a summary path names a file in a folder").to_owned();
    Ok(Run { dir, run_id, status, summary, curves: Vec::new() })
}

/// Reads the loss and accuracy rows of a metrics file, in file order.
fn read_curves(path: &Path) -> Result<Vec<CurvePoint>, String> {
    let metrics = read_parquet(path)?;
    for column in REQUIRED_METRICS_COLUMNS {
        if metrics.column(column).is_err() {
            return Err(format!("the column `{column}` is missing, so this is not a metrics table"));
        }
    }

    let is_curve_metric = CURVE_METRICS.iter().map(|metric| col("metric").eq(lit(*metric))).reduce(Expr::or).expect("CURVE_METRICS is not empty");
    let points = metrics
        .lazy()
        .select([
            col("metric").strict_cast(DataType::String),
            col("split").strict_cast(DataType::String),
            col("step").strict_cast(DataType::Float64),
            col("value").strict_cast(DataType::Float64),
        ])
        .filter(is_curve_metric)
        .collect()
        .map_err(|error| one_line(&error.to_string()))?;

    let texts = |name: &str| points.column(name).and_then(|column| column.str().cloned());
    let floats = |name: &str| points.column(name).and_then(|column| column.f64().cloned());
    let (metric, split, step, value) = match (texts("metric"), texts("split"), floats("step"), floats("value")) {
        (Ok(metric), Ok(split), Ok(step), Ok(value)) => (metric, split, step, value),
        _ => return Err("the columns metric, split, step and value have unexpected types".into()),
    };

    let mut curves = Vec::with_capacity(points.height());
    for index in 0..points.height() {
        if let (Some(metric), Some(split), Some(step), Some(value)) = (metric.get(index), split.get(index), step.get(index), value.get(index)) {
            curves.push(CurvePoint { metric: metric.to_string(), split: split.to_string(), step, value });
        }
    }
    Ok(curves)
}

/// Joins the lines of a multi-line error message, so a report line or a log line stays one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{MetricRow, MetricsLog, Summary};
    use serde_json::json;
    use std::fs;

    fn summary(run_id: &str, status: RunStatus) -> Summary {
        Summary {
            run_id: run_id.into(),
            variant: None,
            recipe_name: "pretrain".into(),
            stage: "pretrain".into(),
            status,
            error: None,
            wall_time_s: 10.0,
            peak_rss_bytes: Some(1 << 30),
            device: "cpu".into(),
            git_commit: None,
            hyperparameters: vec![("train.lr".into(), json!(0.001))],
            metrics: vec![("final_val_loss".into(), 2.5)],
        }
    }

    fn write_run(root: &Path, folder: &str, run_id: &str, status: RunStatus) -> PathBuf {
        let dir = root.join(folder);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("summary.parquet");
        summary(run_id, status).write(&path).unwrap();
        path.canonicalize().unwrap()
    }

    #[test]
    fn reads_summary_and_curves() {
        let root = tempfile::tempdir().unwrap();
        let path = write_run(root.path(), "a", "run-a", RunStatus::Completed);
        let mut log = MetricsLog::new();
        for (step, metric, value) in [(0, "loss", 3.0), (0, "accuracy", 0.5), (0, "tokens_per_s", 9.0)] {
            log.push(MetricRow {
                run_id: "run-a".into(),
                stage: "pretrain".into(),
                epoch: 0,
                step,
                tokens_seen: 0,
                split: "val".into(),
                metric: metric.into(),
                value,
                elapsed_s: 0.0,
            });
        }
        log.write(&path.with_file_name("metrics.parquet")).unwrap();

        let collection = read_runs(&[path]);

        assert!(collection.skipped.is_empty(), "{:?}", collection.skipped);
        let run = &collection.runs[0];
        assert_eq!(run.run_id, "run-a");
        assert!(run.is_completed());
        let metrics: Vec<&str> = run.curves.iter().map(|point| point.metric.as_str()).collect();
        assert_eq!(metrics, ["loss", "accuracy"]);
    }

    #[test]
    fn garbage_summary_skipped() {
        let root = tempfile::tempdir().unwrap();
        let good = write_run(root.path(), "a", "run-a", RunStatus::Completed);
        let bad = write_run(root.path(), "b", "run-b", RunStatus::Completed);
        fs::write(&bad, b"not a parquet file at all").unwrap();

        let collection = read_runs(&[good, bad.clone()]);

        assert_eq!(collection.runs.len(), 1);
        assert_eq!(collection.skipped.len(), 1);
        assert_eq!(collection.skipped[0].path, bad);
        assert!(!collection.skipped[0].reason.is_empty());
    }

    #[test]
    fn truncated_summary_skipped() {
        let root = tempfile::tempdir().unwrap();
        let bad = write_run(root.path(), "b", "run-b", RunStatus::Completed);
        let bytes = fs::read(&bad).unwrap();
        fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();

        let collection = read_runs(&[bad]);

        assert!(collection.runs.is_empty());
        assert_eq!(collection.skipped.len(), 1, "{:?}", collection.skipped);
    }

    #[test]
    fn summary_without_status_skipped() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("summary.parquet");
        let mut frame = df!("run_id" => ["run-a"], "train.lr" => [0.1]).unwrap();
        crate::results::write_parquet(&path, &mut frame).unwrap();

        let collection = read_runs(&[path]);

        assert!(collection.runs.is_empty());
        assert!(collection.skipped[0].reason.contains("`status`"), "{:?}", collection.skipped);
    }

    #[test]
    fn damaged_metrics_drop_only_curves() {
        let root = tempfile::tempdir().unwrap();
        let path = write_run(root.path(), "a", "run-a", RunStatus::Completed);
        let metrics = path.with_file_name("metrics.parquet");
        fs::write(&metrics, b"PAR1 garbage").unwrap();

        let collection = read_runs(&[path]);

        assert_eq!(collection.runs.len(), 1);
        assert!(collection.runs[0].curves.is_empty());
        assert_eq!(collection.skipped[0].path, metrics);
        assert!(collection.skipped[0].reason.contains("without curves"), "{:?}", collection.skipped);
    }

    #[test]
    fn duplicate_run_prefers_completed() {
        let root = tempfile::tempdir().unwrap();
        let failed = write_run(root.path(), "a", "run-x", RunStatus::Failed);
        let completed = write_run(root.path(), "b", "run-x", RunStatus::Completed);
        let other = write_run(root.path(), "c", "run-y", RunStatus::Completed);

        let collection = read_runs(&[failed.clone(), completed.clone(), other]);

        let listed: Vec<(&str, &Path)> = collection.runs.iter().map(|run| (run.run_id.as_str(), run.dir.as_path())).collect();
        assert_eq!(listed, [("run-x", completed.parent().unwrap()), ("run-y", root.path().join("c").canonicalize().unwrap().as_path())]);
        assert_eq!(collection.skipped.len(), 1);
        assert_eq!(collection.skipped[0].path, failed);
        assert!(collection.skipped[0].reason.contains("run-x"), "{:?}", collection.skipped);
    }

    #[test]
    fn duplicate_run_keeps_first_when_both_completed() {
        let root = tempfile::tempdir().unwrap();
        let first = write_run(root.path(), "a", "run-x", RunStatus::Completed);
        let second = write_run(root.path(), "b", "run-x", RunStatus::Completed);

        let collection = read_runs(&[first.clone(), second.clone()]);

        assert_eq!(collection.runs.len(), 1);
        assert_eq!(collection.runs[0].dir, first.parent().unwrap());
        assert_eq!(collection.skipped[0].path, second);
    }
}
