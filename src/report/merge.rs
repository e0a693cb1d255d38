//! Merging of one-row run summaries into one table with a row per run.

use polars::prelude::*;
use polars_core::utils::get_supertype;

/// Column that the merge puts first: the run's `variant` where it has one, else its run id.
pub const LABEL: &str = "label";

/// Optional column with the name of a sweep's variant, which runs written before sweeps lack.
pub const VARIANT: &str = "variant";

/// Merges summaries into one table, one row per input row, sorted by label and then run id.
///
/// The columns are `label` and then every column of the summaries in the order they first
/// appear. A column that a summary lacks is null in its row. A column whose dtypes differ
/// between summaries takes their supertype (Null and Int64 give Int64, Int64 and Float64
/// give Float64), or String when polars has none.
pub fn merge_summaries(summaries: &[DataFrame]) -> PolarsResult<DataFrame> {
    let dtypes = relaxed_dtypes(summaries);
    let frames: Vec<LazyFrame> = summaries
        .iter()
        .map(|summary| {
            let casts: Vec<Expr> = summary
                .columns()
                .iter()
                .filter_map(|column| {
                    let target = &dtypes.iter().find(|(name, _)| name == column.name())?.1;
                    (column.dtype() != target).then(|| col(column.name().clone()).cast(target.clone()))
                })
                .collect();
            summary.clone().lazy().with_columns(casts)
        })
        .collect();

    let args = UnionArgs { diagonal: true, to_supertypes: true, rechunk: true, ..Default::default() };
    let merged = concat(frames, args)?;

    let label = match dtypes.iter().any(|(name, _)| name == VARIANT) {
        true => when(col(VARIANT).is_not_null()).then(col(VARIANT).cast(DataType::String)).otherwise(col("run_id")),
        false => col("run_id"),
    };
    let order: Vec<Expr> = std::iter::once(col(LABEL)).chain(dtypes.iter().map(|(name, _)| col(name.clone()))).collect();
    merged
        .with_column(label.alias(LABEL))
        .select(order)
        .sort([LABEL, "run_id"], SortMultipleOptions::default().with_maintain_order(true))
        .collect()
}

/// Returns every column name of `summaries` in order of first appearance, with the dtype that
/// fits its values in all of them.
pub fn relaxed_dtypes(summaries: &[DataFrame]) -> Vec<(PlSmallStr, DataType)> {
    let mut dtypes: Vec<(PlSmallStr, DataType)> = Vec::new();
    for column in summaries.iter().flat_map(|summary| summary.columns()) {
        match dtypes.iter_mut().find(|(name, _)| name == column.name()) {
            Some((_, dtype)) => *dtype = get_supertype(dtype, column.dtype()).unwrap_or(DataType::String),
            None => dtypes.push((column.name().clone(), column.dtype().clone())),
        }
    }
    dtypes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtype_of(frame: &DataFrame, name: &str) -> DataType {
        frame.column(name).unwrap().dtype().clone()
    }

    #[test]
    fn null_int_and_float_relax() {
        let null_lr = DataFrame::new(1, vec![Column::new("run_id".into(), ["a"]), Column::full_null("train.lr".into(), 1, &DataType::Null)]).unwrap();
        let int_lr = df!("run_id" => ["b"], "train.lr" => [1i64]).unwrap();
        let float_lr = df!("run_id" => ["c"], "train.lr" => [1e-4f64]).unwrap();

        assert_eq!(relaxed_dtypes(&[null_lr.clone(), int_lr.clone()])[1].1, DataType::Int64);
        let merged = merge_summaries(&[null_lr, int_lr, float_lr]).unwrap();

        assert_eq!(dtype_of(&merged, "train.lr"), DataType::Float64);
        let values: Vec<Option<f64>> = merged.column("train.lr").unwrap().f64().unwrap().iter().collect();
        assert_eq!(values, [None, Some(1.0), Some(1e-4)]);
    }

    #[test]
    fn unrelated_dtypes_become_string() {
        let flag = df!("run_id" => ["a"], "data.shuffle" => [true]).unwrap();
        let text = df!("run_id" => ["b"], "data.shuffle" => ["sometimes"]).unwrap();

        let merged = merge_summaries(&[flag, text]).unwrap();

        assert_eq!(dtype_of(&merged, "data.shuffle"), DataType::String);
        let values: Vec<Option<&str>> = merged.column("data.shuffle").unwrap().str().unwrap().iter().collect();
        assert_eq!(values, [Some("true"), Some("sometimes")]);
    }

    #[test]
    fn missing_columns_become_null() {
        let pretrain = df!("run_id" => ["a"], "final_val_loss" => [2.0]).unwrap();
        let classify = df!("run_id" => ["b"], "test_accuracy" => [0.9]).unwrap();

        let merged = merge_summaries(&[pretrain, classify]).unwrap();

        let names: Vec<&str> = merged.get_column_names().iter().map(|name| name.as_str()).collect();
        assert_eq!(names, [LABEL, "run_id", "final_val_loss", "test_accuracy"]);
        assert_eq!(merged.column("test_accuracy").unwrap().null_count(), 1);
        assert_eq!(merged.column("final_val_loss").unwrap().null_count(), 1);
    }

    #[test]
    fn label_is_variant_else_run_id_and_sorts() {
        let old = df!("run_id" => ["m-run"]).unwrap();
        let swept = df!("run_id" => ["z-run"], VARIANT => ["lr-high"]).unwrap();
        let unnamed = DataFrame::new(1, vec![Column::new("run_id".into(), ["a-run"]), Column::full_null(VARIANT.into(), 1, &DataType::String)]).unwrap();

        let merged = merge_summaries(&[old, swept, unnamed]).unwrap();

        let labels: Vec<Option<&str>> = merged.column(LABEL).unwrap().str().unwrap().iter().collect();
        assert_eq!(labels, [Some("a-run"), Some("lr-high"), Some("m-run")]);
    }
}
