//! The main table of the report: one row per run, the hyperparameters that differ between the
//! runs, the metrics with the best value of each marked, then wall time and memory.

use polars::prelude::*;

use super::format::{format_bytes, format_metric, format_value, shorten};
use super::merge::{LABEL, VARIANT};
use crate::results::RunStatus;

/// Columns that every summary has, and `variant`, which sweeps add. The other columns are
/// hyperparameters and metrics.
pub const FIXED_COLUMNS: [&str; 11] =
    [LABEL, "run_id", VARIANT, "recipe_name", "stage", "status", "error", "wall_time_s", "peak_rss_bytes", "device", "git_commit"];

/// Columns that lead every row of the main table.
const LEADING_COLUMNS: [&str; 5] = [LABEL, "run_id", "recipe_name", "stage", "status"];

/// Characters of a failed run's error shown in the table. HTML shows the rest on hover.
const ERROR_CHARS: usize = 60;

/// A table ready to render: a header and rows of cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// One table cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// The text shown.
    pub text: String,
    /// True for the best value of its column.
    pub best: bool,
    /// The full text where `text` is shortened, shown on hover in HTML.
    pub title: Option<String>,
}

impl Cell {
    /// Creates a plain cell.
    pub fn new(text: impl Into<String>) -> Self {
        Cell { text: text.into(), ..Default::default() }
    }
}

/// Whether the lowest or the highest value of a column is the best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Lower is better: losses, perplexity, wall time and memory.
    Min,
    /// Higher is better: accuracy, ROUGE, throughput.
    Max,
}

/// Returns the goal of a metric column: `Min` for names that contain `loss` or `perplexity`
/// and for `wall_time_s` and `peak_rss_bytes`, `Max` otherwise.
pub fn goal_of(column: &str) -> Goal {
    let lowered = column.to_lowercase();
    let lower_is_better = lowered.contains("loss") || lowered.contains("perplexity") || column == "wall_time_s" || column == "peak_rss_bytes";
    if lower_is_better { Goal::Min } else { Goal::Max }
}

/// Marks the best of `values` among the rows where `eligible` is true: every row equal to the
/// minimum or maximum, so ties are all marked. Nulls and NaN never count. Nothing is marked
/// unless at least two eligible rows have a value, because a single value has nothing to be
/// compared with.
pub fn best_rows(values: &[Option<f64>], eligible: &[bool], goal: Goal) -> Vec<bool> {
    let candidates: Vec<f64> = values
        .iter()
        .zip(eligible)
        .filter_map(|(value, &eligible)| value.filter(|value| eligible && !value.is_nan()))
        .collect();
    if candidates.len() < 2 {
        return vec![false; values.len()];
    }
    let best = match goal {
        Goal::Min => candidates.iter().copied().fold(f64::INFINITY, f64::min),
        Goal::Max => candidates.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    };
    values.iter().zip(eligible).map(|(value, &eligible)| eligible && *value == Some(best)).collect()
}

/// The hyperparameter and metric columns of a merged summary table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnRoles {
    /// Recipe keys such as `train.lr`, and top-level keys such as `seed`.
    pub hyperparameters: Vec<String>,
    /// Float columns without a dot, such as `final_val_loss` or `test_accuracy`.
    pub metrics: Vec<String>,
}

/// Sorts the columns of `merged` that are not in `FIXED_COLUMNS` into metrics and
/// hyperparameters. Metrics are float columns whose names have no dot, as `Summary::write`
/// names them. Hyperparameters are the rest: dotted keys such as `train.lr`, and `seed`, the
/// one top-level recipe key that is not a fixed column.
pub fn column_roles(merged: &DataFrame) -> ColumnRoles {
    let mut roles = ColumnRoles::default();
    for column in merged.columns() {
        let name = column.name().as_str();
        if FIXED_COLUMNS.contains(&name) {
            continue;
        }
        match !name.contains('.') && column.dtype().is_float() {
            true => roles.metrics.push(name.to_string()),
            false => roles.hyperparameters.push(name.to_string()),
        }
    }
    roles
}

/// Returns the columns of `names` whose values are not the same in every row of `frame`. A
/// null and a value count as different.
pub fn differing_columns(frame: &DataFrame, names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|name| {
            let Ok(column) = frame.column(name) else {
                return false;
            };
            let Ok(first) = column.get(0) else {
                return false;
            };
            (1..frame.height()).any(|row| column.get(row).is_ok_and(|value| !value.eq_missing(&first, true)))
        })
        .cloned()
        .collect()
}

/// Returns the values of a numeric column as floats, with None for nulls and for a column
/// that is missing or not numeric.
pub fn float_values(frame: &DataFrame, name: &str) -> Vec<Option<f64>> {
    let cast = frame.column(name).ok().filter(|column| column.dtype().is_primitive_numeric()).and_then(|column| column.cast(&DataType::Float64).ok());
    match cast.as_ref().and_then(|column| column.f64().ok()) {
        Some(values) => values.iter().collect(),
        None => vec![None; frame.height()],
    }
}

/// Returns the values of a column as text, with None for nulls and for a missing column.
pub fn text_values(frame: &DataFrame, name: &str) -> Vec<Option<String>> {
    let Ok(column) = frame.column(name) else {
        return vec![None; frame.height()];
    };
    (0..frame.height())
        .map(|row| match column.get(row) {
            Ok(AnyValue::Null) | Err(_) => None,
            Ok(value) => Some(format_value(&value)),
        })
        .collect()
}

/// Builds the main table from the merged summaries (see `merge_summaries`).
///
/// Columns: `label, run_id, recipe_name, stage, status`, then `error` when a run has one,
/// then the hyperparameters that differ between the runs, the metrics, `wall_time_s` and
/// `peak_rss`. The best value of each metric, wall time and memory among the completed runs
/// is marked, and failed runs take no part.
pub fn runs_table(merged: &DataFrame) -> Table {
    let roles = column_roles(merged);
    let hyperparameters = differing_columns(merged, &roles.hyperparameters);
    let completed: Vec<bool> = text_values(merged, "status").iter().map(|status| status.as_deref() == Some(RunStatus::Completed.as_str())).collect();
    let errors = text_values(merged, "error");
    let show_errors = errors.iter().any(Option::is_some);

    let mut columns: Vec<Vec<Cell>> = Vec::new();
    let mut headers: Vec<String> = Vec::new();
    let mut add = |header: &str, cells: Vec<Cell>| {
        headers.push(header.to_string());
        columns.push(cells);
    };

    for name in LEADING_COLUMNS {
        add(name, text_values(merged, name).into_iter().map(|text| Cell::new(text.unwrap_or_default())).collect());
    }
    if show_errors {
        let cells = errors
            .into_iter()
            .map(|error| match error {
                Some(error) => Cell { text: shorten(&error, ERROR_CHARS), best: false, title: Some(error) },
                None => Cell::default(),
            })
            .collect();
        add("error", cells);
    }
    for name in &hyperparameters {
        add(name, text_values(merged, name).into_iter().map(|text| Cell::new(text.unwrap_or_default())).collect());
    }
    for name in &roles.metrics {
        add(name, marked_cells(merged, name, &completed, format_metric));
    }
    add("wall_time_s", marked_cells(merged, "wall_time_s", &completed, format_metric));
    add("peak_rss", marked_cells(merged, "peak_rss_bytes", &completed, format_bytes));

    let rows = (0..merged.height()).map(|row| columns.iter().map(|cells| cells[row].clone()).collect()).collect();
    Table { columns: headers, rows }
}

/// Builds cells for a numeric column, marking the best value among the `eligible` rows.
fn marked_cells(frame: &DataFrame, name: &str, eligible: &[bool], format: fn(f64) -> String) -> Vec<Cell> {
    let values = float_values(frame, name);
    let best = best_rows(&values, eligible, goal_of(name));
    values
        .iter()
        .zip(best)
        .map(|(value, best)| Cell { text: value.map(format).unwrap_or_default(), best, title: None })
        .collect()
}

/// Builds a table of every column of `frame`, floats with 4 significant digits.
pub fn frame_table(frame: &DataFrame) -> Table {
    let columns: Vec<String> = frame.get_column_names().iter().map(|name| name.to_string()).collect();
    let cells: Vec<Vec<Cell>> = frame
        .columns()
        .iter()
        .map(|column| {
            let floats = column.dtype().is_float();
            (0..frame.height())
                .map(|row| match column.get(row) {
                    Ok(AnyValue::Float64(value)) if floats => Cell::new(format_metric(value)),
                    Ok(AnyValue::Float32(value)) if floats => Cell::new(format_metric(f64::from(value))),
                    Ok(value) => Cell::new(format_value(&value)),
                    Err(_) => Cell::default(),
                })
                .collect()
        })
        .collect();
    let rows = (0..frame.height()).map(|row| cells.iter().map(|column| column[row].clone()).collect()).collect();
    Table { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::merge::merge_summaries;

    fn run(run_id: &str, status: &str, lr: f64, loss: f64, accuracy: f64) -> DataFrame {
        df!(
            "run_id" => [run_id],
            "recipe_name" => ["pretrain"],
            "stage" => ["pretrain"],
            "status" => [status],
            "error" => [(status == "failed").then_some("out of memory while allocating a very long buffer for the attention scores")],
            "wall_time_s" => [10.0],
            "peak_rss_bytes" => [1u64 << 30],
            "device" => ["cpu"],
            "git_commit" => [None::<&str>],
            "seed" => [123i64],
            "train.lr" => [lr],
            "train.epochs" => [2i64],
            "final_val_loss" => [loss],
            "test_accuracy" => [accuracy],
        )
        .unwrap()
    }

    fn column<'a>(table: &'a Table, name: &str) -> Vec<&'a Cell> {
        let index = table.columns.iter().position(|column| column == name).unwrap_or_else(|| panic!("no column {name} in {:?}", table.columns));
        table.rows.iter().map(|row| &row[index]).collect()
    }

    #[test]
    fn only_differing_hyperparameters_shown() {
        let merged = merge_summaries(&[run("a", "completed", 1e-3, 2.0, 0.5), run("b", "completed", 1e-4, 3.0, 0.6)]).unwrap();

        let table = runs_table(&merged);

        assert_eq!(
            table.columns,
            ["label", "run_id", "recipe_name", "stage", "status", "train.lr", "final_val_loss", "test_accuracy", "wall_time_s", "peak_rss"]
        );
        assert_eq!(table.rows.len(), 2);
    }

    #[test]
    fn null_and_value_differ() {
        let with_key = df!("run_id" => ["a"], "train.max_steps" => [40i64]).unwrap();
        let without_key = df!("run_id" => ["b"]).unwrap();
        let merged = merge_summaries(&[with_key, without_key]).unwrap();

        let differing = differing_columns(&merged, &["train.max_steps".to_string()]);

        assert_eq!(differing, ["train.max_steps"]);
    }

    #[test]
    fn roles_split_metrics_from_hyperparameters() {
        let merged = merge_summaries(&[run("a", "completed", 1e-3, 2.0, 0.5)]).unwrap();

        let roles = column_roles(&merged);

        assert_eq!(roles.hyperparameters, ["seed", "train.lr", "train.epochs"]);
        assert_eq!(roles.metrics, ["final_val_loss", "test_accuracy"]);
    }

    #[test]
    fn best_marks_min_loss_and_max_accuracy() {
        let merged = merge_summaries(&[
            run("a", "completed", 1e-3, 2.0, 0.5),
            run("b", "completed", 1e-4, 3.0, 0.6),
            run("c", "failed", 1e-2, 1.0, 0.9),
        ])
        .unwrap();

        let table = runs_table(&merged);

        let best = |name: &str| column(&table, name).iter().map(|cell| cell.best).collect::<Vec<_>>();
        assert_eq!(best("final_val_loss"), [true, false, false], "the failed run's lower loss does not count");
        assert_eq!(best("test_accuracy"), [false, true, false]);
        assert_eq!(best("wall_time_s"), [true, true, false], "ties are all marked");
        assert_eq!(best("peak_rss"), [true, true, false]);
        assert_eq!(column(&table, "peak_rss")[0].text, "1 GiB");
    }

    #[test]
    fn failed_run_shows_short_error() {
        let merged = merge_summaries(&[run("a", "completed", 1e-3, 2.0, 0.5), run("b", "failed", 1e-4, 3.0, 0.6)]).unwrap();

        let table = runs_table(&merged);

        let errors = column(&table, "error");
        assert_eq!(errors[0].text, "");
        assert!(errors[1].text.ends_with('…'), "{:?}", errors[1]);
        assert!(errors[1].text.chars().count() <= ERROR_CHARS + 1);
        assert!(errors[1].title.as_deref().unwrap().ends_with("attention scores"));
        assert_eq!(column(&table, "status")[1].text, "failed");
    }

    #[test]
    fn best_ignores_nan_and_null() {
        let values = [Some(f64::NAN), Some(2.0), None, Some(1.0), Some(1.0)];
        let eligible = [true; 5];

        assert_eq!(best_rows(&values, &eligible, Goal::Min), [false, false, false, true, true]);
        assert_eq!(best_rows(&values, &eligible, Goal::Max), [false, true, false, false, false]);
    }

    #[test]
    fn best_needs_two_values() {
        assert_eq!(best_rows(&[Some(1.0), Some(f64::NAN)], &[true, true], Goal::Min), [false, false]);
        assert_eq!(best_rows(&[Some(1.0), Some(0.5)], &[true, false], Goal::Min), [false, false]);
    }

    #[test]
    fn goal_by_name() {
        for name in ["final_val_loss", "best_train_loss", "val_perplexity", "wall_time_s", "peak_rss_bytes"] {
            assert_eq!(goal_of(name), Goal::Min, "{name}");
        }
        for name in ["test_accuracy", "mean_rouge_l_f1", "kv_cache_tokens_per_s"] {
            assert_eq!(goal_of(name), Goal::Max, "{name}");
        }
    }

    #[test]
    fn frame_table_formats_floats() {
        let frame = df!("dtype" => ["f32"], "wall_s" => [0.123_456_7], "batch_size" => [4u64]).unwrap();

        let table = frame_table(&frame);

        assert_eq!(table.columns, ["dtype", "wall_s", "batch_size"]);
        let texts: Vec<&str> = table.rows[0].iter().map(|cell| cell.text.as_str()).collect();
        assert_eq!(texts, ["f32", "0.1235", "4"]);
    }
}
