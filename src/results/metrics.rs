//! The long-format metrics table, `metrics.parquet`: one row per measurement.

use std::path::Path;

use polars::prelude::{Column, DataFrame, NamedFrom, NamedFromOwned, Series};

use super::{ResultsError, write_parquet};

/// One measurement, such as the validation loss at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The run that measured it.
    pub run_id: String,
    /// The stage: `pretrain`, `classify` or `instruct`.
    pub stage: String,
    /// The epoch, counted from 0.
    pub epoch: u32,
    /// The optimizer step at which the value was measured.
    pub step: u64,
    /// The number of training tokens seen up to this step.
    pub tokens_seen: u64,
    /// The data split, such as `train`, `val` or `test`.
    pub split: String,
    /// The metric name, such as `loss` or `accuracy`.
    pub metric: String,
    /// The measured value.
    pub value: f64,
    /// Seconds since the stage started.
    pub elapsed_s: f64,
}

/// The measurements of one run, in the order they were pushed.
#[derive(Debug, Clone, Default)]
pub struct MetricsLog {
    rows: Vec<MetricRow>,
}

impl MetricsLog {
    /// Creates an empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one measurement.
    pub fn push(&mut self, row: MetricRow) {
        self.rows.push(row);
    }

    /// Returns the measurements in the order they were pushed.
    pub fn rows(&self) -> &[MetricRow] {
        &self.rows
    }

    /// Returns the first value pushed for `split` and `metric`.
    pub fn first(&self, split: &str, metric: &str) -> Option<f64> {
        self.values(split, metric).next()
    }

    /// Returns the last value pushed for `split` and `metric`.
    pub fn last(&self, split: &str, metric: &str) -> Option<f64> {
        self.values(split, metric).last()
    }

    /// Returns the smallest value for `split` and `metric`, skipping NaN.
    ///
    /// Returns `None` when there is no value or every value is NaN, as after a diverged run.
    pub fn best_min(&self, split: &str, metric: &str) -> Option<f64> {
        self.values(split, metric)
            .filter(|value| !value.is_nan())
            .reduce(f64::min)
    }

    /// Builds the table with the columns `run_id, stage, epoch, step, tokens_seen, split,
    /// metric, value, elapsed_s`, typed String, String, UInt32, UInt64, UInt64, String,
    /// String, Float64, Float64.
    pub fn to_dataframe(&self) -> DataFrame {
        let rows = &self.rows;
        let strings = |name: &str, field: fn(&MetricRow) -> &str| {
            let values: Vec<&str> = rows.iter().map(field).collect();
            Column::from(Series::new(name.into(), values))
        };

        let columns = vec![
            strings("run_id", |row| row.run_id.as_str()),
            strings("stage", |row| row.stage.as_str()),
            column(
                "epoch",
                rows.iter().map(|row| row.epoch).collect::<Vec<u32>>(),
            ),
            column(
                "step",
                rows.iter().map(|row| row.step).collect::<Vec<u64>>(),
            ),
            column(
                "tokens_seen",
                rows.iter().map(|row| row.tokens_seen).collect::<Vec<u64>>(),
            ),
            strings("split", |row| row.split.as_str()),
            strings("metric", |row| row.metric.as_str()),
            column(
                "value",
                rows.iter().map(|row| row.value).collect::<Vec<f64>>(),
            ),
            column(
                "elapsed_s",
                rows.iter().map(|row| row.elapsed_s).collect::<Vec<f64>>(),
            ),
        ];

        DataFrame::new(rows.len(), columns)
            .expect("every column has one value per row and a distinct name")
    }

    /// Writes the table to `path` as parquet, atomically.
    pub fn write(&self, path: &Path) -> Result<(), ResultsError> {
        write_parquet(path, &mut self.to_dataframe())
    }

    fn values<'a>(&'a self, split: &'a str, metric: &'a str) -> impl Iterator<Item = f64> + 'a {
        self.rows
            .iter()
            .filter(move |row| row.split == split && row.metric == metric)
            .map(|row| row.value)
    }
}

fn column<T>(name: &str, values: Vec<T>) -> Column
where
    Series: NamedFromOwned<Vec<T>>,
{
    Column::from(Series::from_vec(name.into(), values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{DataType, ParquetReader, SerReader};
    use std::fs::File;

    fn row(step: u64, split: &str, metric: &str, value: f64) -> MetricRow {
        MetricRow {
            run_id: "20261204-101500-0a1f".into(),
            stage: "pretrain".into(),
            epoch: 0,
            step,
            tokens_seen: step * 512,
            split: split.into(),
            metric: metric.into(),
            value,
            elapsed_s: step as f64 * 0.5,
        }
    }

    fn sample_log() -> MetricsLog {
        let mut log = MetricsLog::new();
        log.push(row(0, "train", "loss", 9.5));
        log.push(row(0, "val", "loss", 9.8));
        log.push(row(5, "train", "loss", 7.25));
        log.push(row(5, "val", "loss", 7.5));
        log.push(row(10, "val", "loss", 7.75));
        log
    }

    #[test]
    fn dataframe_columns_and_types() {
        let df = sample_log().to_dataframe();

        let names: Vec<&str> = df
            .get_column_names()
            .iter()
            .map(|name| name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "run_id",
                "stage",
                "epoch",
                "step",
                "tokens_seen",
                "split",
                "metric",
                "value",
                "elapsed_s"
            ]
        );
        assert_eq!(
            df.dtypes(),
            [
                DataType::String,
                DataType::String,
                DataType::UInt32,
                DataType::UInt64,
                DataType::UInt64,
                DataType::String,
                DataType::String,
                DataType::Float64,
                DataType::Float64,
            ]
        );
        assert_eq!(df.height(), 5);
    }

    #[test]
    fn parquet_round_trip() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("metrics.parquet");
        let log = sample_log();

        log.write(&path).unwrap();

        let read = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert_eq!(read, log.to_dataframe());
        let steps: Vec<u64> = read
            .column("step")
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(steps, [0, 0, 5, 5, 10]);
        let values: Vec<f64> = read
            .column("value")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(values, [9.5, 9.8, 7.25, 7.5, 7.75]);
        let splits: Vec<&str> = read
            .column("split")
            .unwrap()
            .str()
            .unwrap()
            .no_null_iter()
            .collect();
        assert_eq!(splits, ["train", "val", "train", "val", "val"]);
    }

    #[test]
    fn empty_log_writes_empty_table() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("metrics.parquet");

        MetricsLog::new().write(&path).unwrap();

        let read = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert_eq!(read.height(), 0);
        assert_eq!(read.width(), 9);
    }

    #[test]
    fn first_last_and_best() {
        let log = sample_log();

        assert_eq!(log.first("val", "loss"), Some(9.8));
        assert_eq!(log.last("val", "loss"), Some(7.75));
        assert_eq!(log.best_min("val", "loss"), Some(7.5));
        assert_eq!(log.last("train", "loss"), Some(7.25));
    }

    #[test]
    fn missing_metric_gives_none() {
        let log = sample_log();

        assert_eq!(log.first("test", "loss"), None);
        assert_eq!(log.last("val", "accuracy"), None);
        assert_eq!(log.best_min("val", "accuracy"), None);
    }

    #[test]
    fn best_min_skips_nan() {
        let mut log = sample_log();
        log.push(row(15, "val", "loss", f64::NAN));

        assert_eq!(log.best_min("val", "loss"), Some(7.5));
        assert!(log.last("val", "loss").unwrap().is_nan());

        let mut diverged = MetricsLog::new();
        diverged.push(row(0, "val", "loss", f64::NAN));
        assert_eq!(diverged.best_min("val", "loss"), None);
    }
}
