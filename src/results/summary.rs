//! The one-row run summary, `summary.parquet` plus `summary.csv` for people.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use polars::prelude::{Column, DataFrame, DataType, NamedFrom, Series};
use serde_json::Value as JsonValue;

use super::{ResultsError, write_csv, write_parquet};

/// The outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// The run finished every step of its stage.
    Completed,
    /// The run stopped with an error, stored in `Summary::error`.
    Failed,
}

impl RunStatus {
    /// Returns the value of the `status` column: `completed` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One run's outcome: what ran, how it ended, its hyperparameters and its headline metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The run id, as in the run folder's name.
    pub run_id: String,
    /// The name of the experiment variant a sweep ran, `None` for a plain run.
    pub variant: Option<String>,
    /// The recipe's name.
    pub recipe_name: String,
    /// The stage: `pretrain`, `classify` or `instruct`.
    pub stage: String,
    /// Whether the run completed.
    pub status: RunStatus,
    /// The error message of a failed run.
    pub error: Option<String>,
    /// Wall-clock time of the whole run in seconds.
    pub wall_time_s: f64,
    /// Peak resident memory of the process in bytes, where the platform reports it.
    pub peak_rss_bytes: Option<u64>,
    /// The device the run used, such as `cpu` or `cuda:0`.
    pub device: String,
    /// The commit of the source tree, with `-dirty` when it had uncommitted changes.
    pub git_commit: Option<String>,
    /// Hyperparameters under dotted keys such as `train.lr`, as `flatten_yaml` returns them.
    pub hyperparameters: Vec<(String, JsonValue)>,
    /// Headline metrics such as `final_val_loss`, `best_val_loss` or `mean_rouge_l`.
    pub metrics: Vec<(String, f64)>,
}

impl Summary {
    /// Writes the summary as one row to `path` (parquet) and to `summary.csv` beside it.
    ///
    /// The columns are `run_id, variant, recipe_name, stage, status, error, wall_time_s,
    /// peak_rss_bytes, device, git_commit`, then one per hyperparameter, then one Float64
    /// column per metric. Both files are written atomically, parquet first.
    ///
    /// # Errors
    ///
    /// `ResultsError::DuplicateColumn` when a hyperparameter or metric has the name of an
    /// earlier column, such as a top-level recipe key `device`. Nothing is written then.
    pub fn write(&self, path: &Path) -> Result<(), ResultsError> {
        let mut df = self.to_dataframe(path)?;

        write_parquet(path, &mut df)?;
        write_csv(&path.with_extension("csv"), &mut df)?;

        tracing::debug!(path = %path.display(), columns = df.width(), "wrote run summary");
        Ok(())
    }

    /// Builds the one-row table. `path` only names the file in errors.
    fn to_dataframe(&self, path: &Path) -> Result<DataFrame, ResultsError> {
        let mut columns = vec![
            text_column("run_id", &self.run_id),
            Series::new("variant".into(), [self.variant.as_deref()]).into(),
            text_column("recipe_name", &self.recipe_name),
            text_column("stage", &self.stage),
            text_column("status", self.status.as_str()),
            Series::new("error".into(), [self.error.as_deref()]).into(),
            Series::new("wall_time_s".into(), [self.wall_time_s]).into(),
            Series::new("peak_rss_bytes".into(), [self.peak_rss_bytes]).into(),
            text_column("device", &self.device),
            Series::new("git_commit".into(), [self.git_commit.as_deref()]).into(),
        ];
        for (key, value) in &self.hyperparameters {
            columns.push(json_column(key, value));
        }
        for (name, value) in &self.metrics {
            columns.push(Series::new(name.as_str().into(), [*value]).into());
        }

        let mut names = HashSet::new();
        for column in &columns {
            if !names.insert(column.name().as_str()) {
                return Err(ResultsError::DuplicateColumn {
                    column: column.name().to_string(),
                    path: path.to_owned(),
                });
            }
        }

        DataFrame::new(1, columns).map_err(|source| ResultsError::Table {
            path: path.to_owned(),
            source,
        })
    }
}

fn text_column(name: &str, value: &str) -> Column {
    Series::new(name.into(), [value]).into()
}

/// Builds a one-value column typed after the JSON value.
///
/// Integers become Int64 and other numbers Float64. A null becomes a column of the Null type,
/// so a report can stack it on the same key's values from other runs. Lists and objects are
/// stored as their JSON text.
fn json_column(name: &str, value: &JsonValue) -> Column {
    match value {
        JsonValue::Null => Column::full_null(name.into(), 1, &DataType::Null),
        JsonValue::Bool(flag) => Series::new(name.into(), [*flag]).into(),
        JsonValue::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => Series::new(name.into(), [integer]).into(),
            (None, Some(float)) => Series::new(name.into(), [float]).into(),
            (None, None) => text_column(name, &number.to_string()),
        },
        JsonValue::String(text) => text_column(name, text),
        JsonValue::Array(_) | JsonValue::Object(_) => text_column(name, &value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{AnyValue, ParquetReader, SerReader};
    use serde_json::json;
    use std::fs::{self, File};

    fn sample_summary() -> Summary {
        Summary {
            run_id: "20261204-101500-0a1f".into(),
            variant: None,
            recipe_name: "instruct".into(),
            stage: "instruct".into(),
            status: RunStatus::Completed,
            error: None,
            wall_time_s: 812.5,
            peak_rss_bytes: Some(3_221_225_472),
            device: "cpu".into(),
            git_commit: Some("0123abcd-dirty".into()),
            hyperparameters: vec![
                ("train.lr".into(), json!(5.0e-5)),
                ("train.epochs".into(), json!(2)),
                ("train.mask_prompt".into(), json!(false)),
                ("model.preset".into(), json!("gpt2-medium")),
                ("bench.lengths".into(), json!([16, 32])),
                ("train.seed".into(), JsonValue::Null),
            ],
            metrics: vec![
                ("final_val_loss".into(), 0.75),
                ("mean_rouge_l".into(), 0.5),
            ],
        }
    }

    fn read(path: &Path) -> DataFrame {
        ParquetReader::new(File::open(path).unwrap())
            .finish()
            .unwrap()
    }

    fn cell<'a>(df: &'a DataFrame, name: &str) -> AnyValue<'a> {
        df.column(name).unwrap().get(0).unwrap()
    }

    #[test]
    fn write_then_read_back() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("summary.parquet");

        sample_summary().write(&path).unwrap();
        let df = read(&path);

        assert_eq!(df.height(), 1);
        let names: Vec<&str> = df
            .get_column_names()
            .iter()
            .map(|name| name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "run_id",
                "variant",
                "recipe_name",
                "stage",
                "status",
                "error",
                "wall_time_s",
                "peak_rss_bytes",
                "device",
                "git_commit",
                "train.lr",
                "train.epochs",
                "train.mask_prompt",
                "model.preset",
                "bench.lengths",
                "train.seed",
                "final_val_loss",
                "mean_rouge_l",
            ]
        );
        assert_eq!(
            cell(&df, "run_id"),
            AnyValue::String("20261204-101500-0a1f")
        );
        assert_eq!(cell(&df, "status"), AnyValue::String("completed"));
        assert_eq!(cell(&df, "error"), AnyValue::Null);
        assert_eq!(cell(&df, "wall_time_s"), AnyValue::Float64(812.5));
        assert_eq!(cell(&df, "peak_rss_bytes"), AnyValue::UInt64(3_221_225_472));
        assert_eq!(cell(&df, "git_commit"), AnyValue::String("0123abcd-dirty"));
        assert_eq!(cell(&df, "train.lr"), AnyValue::Float64(5.0e-5));
        assert_eq!(cell(&df, "train.epochs"), AnyValue::Int64(2));
        assert_eq!(cell(&df, "train.mask_prompt"), AnyValue::Boolean(false));
        assert_eq!(cell(&df, "model.preset"), AnyValue::String("gpt2-medium"));
        assert_eq!(cell(&df, "bench.lengths"), AnyValue::String("[16,32]"));
        assert_eq!(cell(&df, "train.seed"), AnyValue::Null);
        assert_eq!(cell(&df, "final_val_loss"), AnyValue::Float64(0.75));
        assert_eq!(cell(&df, "mean_rouge_l"), AnyValue::Float64(0.5));
    }

    #[test]
    fn column_types() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("summary.parquet");

        sample_summary().write(&path).unwrap();
        let df = read(&path);

        let dtype = |name: &str| df.column(name).unwrap().dtype().clone();
        assert_eq!(dtype("error"), DataType::String);
        assert_eq!(dtype("peak_rss_bytes"), DataType::UInt64);
        assert_eq!(dtype("git_commit"), DataType::String);
        assert_eq!(dtype("train.epochs"), DataType::Int64);
        assert_eq!(dtype("train.seed"), DataType::Null);
    }

    #[test]
    fn failed_run_keeps_error() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("summary.parquet");
        let summary = Summary {
            status: RunStatus::Failed,
            error: Some("out of memory".into()),
            peak_rss_bytes: None,
            git_commit: None,
            ..sample_summary()
        };

        summary.write(&path).unwrap();
        let df = read(&path);

        assert_eq!(cell(&df, "status"), AnyValue::String("failed"));
        assert_eq!(cell(&df, "error"), AnyValue::String("out of memory"));
        assert_eq!(cell(&df, "peak_rss_bytes"), AnyValue::Null);
        assert_eq!(cell(&df, "git_commit"), AnyValue::Null);
    }

    #[test]
    fn csv_written_beside_parquet() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("summary.parquet");

        sample_summary().write(&path).unwrap();

        let csv = fs::read_to_string(folder.path().join("summary.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(
            lines[0].starts_with("run_id,variant,recipe_name,stage,status,error,"),
            "{csv}"
        );
        assert!(lines[0].ends_with(",final_val_loss,mean_rouge_l"), "{csv}");
        assert!(
            lines[1].starts_with("20261204-101500-0a1f,,instruct,instruct,completed,,812.5,"),
            "{csv}"
        );
    }

    #[test]
    fn duplicate_column_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("summary.parquet");
        let mut summary = sample_summary();
        summary
            .hyperparameters
            .push(("device".into(), json!("cuda")));

        let error = summary.write(&path).unwrap_err();

        assert!(
            matches!(&error, ResultsError::DuplicateColumn { column, .. } if column == "device"),
            "{error:?}"
        );
        assert!(!path.exists());
    }
}
