//! The `--group-by` table: one row per value of a column, with run counts and the mean, min
//! and max of each metric over the completed runs.

use polars::prelude::*;

use super::ReportError;
use super::format::{format_metric, format_value};
use super::table::{Cell, Table};
use crate::results::RunStatus;

/// Column names offered when `--group-by` names no column.
const NEAREST_COUNT: usize = 3;

/// Checks that `key` is a column of `merged`.
///
/// # Errors
///
/// `UnknownGroupKey` with the nearest column names by edit distance, nearest first.
pub fn check_group_key(merged: &DataFrame, key: &str) -> Result<(), ReportError> {
    if merged.column(key).is_ok() {
        return Ok(());
    }
    let mut names: Vec<(usize, String)> = merged
        .get_column_names()
        .iter()
        .map(|name| (strsim::damerau_levenshtein(key, name), name.to_string()))
        .collect();
    names.sort();
    let nearest = names.into_iter().take(NEAREST_COUNT).map(|(_, name)| name).collect();
    Err(ReportError::UnknownGroupKey { key: key.to_string(), nearest })
}

/// Groups the rows of `merged` by the values of `key`, sorted by value with nulls first.
///
/// Columns: `key`, `runs` (every run with the value), `completed` (those that completed),
/// then `<metric> mean`, `<metric> min` and `<metric> max` for each of `metrics`, over the
/// completed runs only.
pub fn group_frame(merged: &DataFrame, key: &str, metrics: &[String]) -> PolarsResult<DataFrame> {
    let completed = || col("status").eq(lit(RunStatus::Completed.as_str()));
    let mut aggregations = vec![len().alias("runs"), completed().sum().cast(DataType::UInt32).alias("completed")];
    for metric in metrics {
        // A diverged run's NaN would turn the mean into NaN, so it is left out like in the
        // main table.
        let values = || col(metric.as_str()).filter(completed().and(col(metric.as_str()).is_not_nan()));
        aggregations.push(values().mean().alias(format!("{metric} mean")));
        aggregations.push(values().min().alias(format!("{metric} min")));
        aggregations.push(values().max().alias(format!("{metric} max")));
    }

    merged
        .clone()
        .lazy()
        .group_by([col(key)])
        .agg(aggregations)
        .sort([key], SortMultipleOptions::default().with_nulls_last(false))
        .collect()
}

/// Builds the displayed group table from `group_frame`'s output: one column per metric with
/// `mean (min – max)`, or only the mean where min and max are equal.
pub fn group_table(grouped: &DataFrame, key: &str, metrics: &[String]) -> Table {
    let mut columns = vec![key.to_string(), "runs".into(), "completed".into()];
    columns.extend(metrics.iter().cloned());

    let cell = |name: &str, row: usize| grouped.column(name).and_then(|column| column.get(row)).unwrap_or(AnyValue::Null);
    let float = |name: &str, row: usize| cell(name, row).extract::<f64>();
    let rows = (0..grouped.height())
        .map(|row| {
            let key_text = match cell(key, row) {
                AnyValue::Null => "(null)".to_string(),
                value => format_value(&value),
            };
            let mut cells = vec![Cell::new(key_text), Cell::new(format_value(&cell("runs", row))), Cell::new(format_value(&cell("completed", row)))];
            for metric in metrics {
                let stats = (float(&format!("{metric} mean"), row), float(&format!("{metric} min"), row), float(&format!("{metric} max"), row));
                let text = match stats {
                    (Some(mean), Some(min), Some(max)) if min != max => {
                        format!("{} ({} – {})", format_metric(mean), format_metric(min), format_metric(max))
                    }
                    (Some(mean), _, _) => format_metric(mean),
                    _ => String::new(),
                };
                cells.push(Cell::new(text));
            }
            cells
        })
        .collect();
    Table { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs() -> DataFrame {
        df!(
            "run_id" => ["a", "b", "c", "d"],
            "status" => ["completed", "completed", "failed", "completed"],
            "train.lr" => [Some(1e-3), Some(1e-3), Some(1e-3), None],
            "final_val_loss" => [2.0, 4.0, 0.5, 3.0],
        )
        .unwrap()
    }

    #[test]
    fn nan_metric_left_out_of_mean() {
        let frame = df!(
            "run_id" => ["a", "b"],
            "status" => ["completed", "completed"],
            "seed" => [1i64, 1],
            "final_val_loss" => [2.0, f64::NAN],
        )
        .unwrap();

        let grouped = group_frame(&frame, "seed", &["final_val_loss".to_string()]).unwrap();

        let mean: Vec<Option<f64>> = grouped.column("final_val_loss mean").unwrap().f64().unwrap().iter().collect();
        assert_eq!(mean, [Some(2.0)]);
    }

    #[test]
    fn group_counts_and_means_completed_runs() {
        let metrics = vec!["final_val_loss".to_string()];

        let grouped = group_frame(&runs(), "train.lr", &metrics).unwrap();

        assert_eq!(grouped.height(), 2);
        let runs: Vec<Option<u32>> = grouped.column("runs").unwrap().cast(&DataType::UInt32).unwrap().u32().unwrap().iter().collect();
        assert_eq!(runs, [Some(1), Some(3)]);
        let completed: Vec<Option<u32>> = grouped.column("completed").unwrap().u32().unwrap().iter().collect();
        assert_eq!(completed, [Some(1), Some(2)]);
        let mean: Vec<Option<f64>> = grouped.column("final_val_loss mean").unwrap().f64().unwrap().iter().collect();
        assert_eq!(mean, [Some(3.0), Some(3.0)], "the failed run's 0.5 is left out");
        let min: Vec<Option<f64>> = grouped.column("final_val_loss min").unwrap().f64().unwrap().iter().collect();
        assert_eq!(min, [Some(3.0), Some(2.0)]);

        let table = group_table(&grouped, "train.lr", &metrics);
        assert_eq!(table.columns, ["train.lr", "runs", "completed", "final_val_loss"]);
        assert_eq!(table.rows[0][0].text, "(null)");
        assert_eq!(table.rows[1][3].text, "3 (2 – 4)");
        assert_eq!(table.rows[0][3].text, "3");
    }

    #[test]
    fn unknown_key_lists_nearest_columns() {
        let error = check_group_key(&runs(), "train.rl").unwrap_err();

        match &error {
            ReportError::UnknownGroupKey { key, nearest } => {
                assert_eq!(key, "train.rl");
                assert_eq!(nearest[0], "train.lr");
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(error.to_string().contains("train.lr"), "{error}");
        assert!(error.is_invalid_input());
    }

    #[test]
    fn known_key_accepted() {
        check_group_key(&runs(), "status").unwrap();
    }
}
