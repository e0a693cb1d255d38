//! The instruct stage's test-set responses, `responses.parquet` and `responses.json`.

use std::path::Path;

use polars::prelude::{Column, DataFrame, NamedFrom, Series};
use serde::Serialize;

use super::{ResultsError, write_json, write_parquet};

/// One test example with the model's response and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseRow {
    /// The example's position in the test split, counted from 0.
    pub index: u32,
    /// The task, as in the dataset.
    pub instruction: String,
    /// The optional input of the task, empty when the example has none.
    pub input: String,
    /// The expected response from the dataset.
    pub output: String,
    /// The text the model generated after `### Response:`.
    pub model_response: String,
    /// ROUGE-L F1 of `model_response` against `output`.
    pub rouge_l_f1: f64,
}

/// One entry of `responses.json`: the dataset entry plus the model's response and score.
#[derive(Serialize)]
struct ResponseEntry<'a> {
    instruction: &'a str,
    input: &'a str,
    output: &'a str,
    model_response: &'a str,
    rouge_l_f1: f64,
}

/// Writes `responses.parquet` and `responses.json` into `dir`, atomically.
///
/// The table has the columns `index, instruction, input, output, model_response,
/// rouge_l_f1`. The JSON file is the list of dataset entries `{instruction, input, output}`
/// with `model_response` and `rouge_l_f1` added, indented by four spaces. That is the form of
/// the test-set responses that `ch07/01_main-chapter-code/gpt_instruction_finetuning.py` of
/// rasbt/LLMs-from-scratch writes with `json.dump(test_data, file, indent=4)`, plus the score.
pub fn write_responses(dir: &Path, rows: &[ResponseRow]) -> Result<(), ResultsError> {
    let parquet_path = dir.join("responses.parquet");
    let mut df = responses_dataframe(rows).map_err(|source| ResultsError::Table {
        path: parquet_path.clone(),
        source,
    })?;
    write_parquet(&parquet_path, &mut df)?;

    let entries: Vec<ResponseEntry> = rows
        .iter()
        .map(|row| ResponseEntry {
            instruction: &row.instruction,
            input: &row.input,
            output: &row.output,
            model_response: &row.model_response,
            rouge_l_f1: row.rouge_l_f1,
        })
        .collect();
    write_json(&dir.join("responses.json"), &entries)?;

    tracing::debug!(dir = %dir.display(), rows = rows.len(), "wrote responses");
    Ok(())
}

fn responses_dataframe(rows: &[ResponseRow]) -> polars::prelude::PolarsResult<DataFrame> {
    let strings = |name: &str, field: fn(&ResponseRow) -> &str| {
        let values: Vec<&str> = rows.iter().map(field).collect();
        Column::from(Series::new(name.into(), values))
    };
    let indices: Vec<u32> = rows.iter().map(|row| row.index).collect();
    let scores: Vec<f64> = rows.iter().map(|row| row.rouge_l_f1).collect();

    DataFrame::new(
        rows.len(),
        vec![
            Series::new("index".into(), indices).into(),
            strings("instruction", |row| row.instruction.as_str()),
            strings("input", |row| row.input.as_str()),
            strings("output", |row| row.output.as_str()),
            strings("model_response", |row| row.model_response.as_str()),
            Series::new("rouge_l_f1".into(), scores).into(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{DataType, ParquetReader, SerReader};
    use serde_json::json;
    use std::fs::{self, File};

    fn sample_rows() -> Vec<ResponseRow> {
        vec![
            ResponseRow {
                index: 0,
                instruction: "Rewrite the sentence using a simile.".into(),
                input: "The car is very fast.".into(),
                output: "The car is as fast as lightning.".into(),
                model_response: "The car is as fast as a bullet.".into(),
                rouge_l_f1: 0.8,
            },
            ResponseRow {
                index: 1,
                instruction: "Name the author of 'Pride and Prejudice'.".into(),
                input: String::new(),
                output: "Jane Austen.".into(),
                model_response: "The author is Jane Austen.".into(),
                rouge_l_f1: 0.571_428_571_428_571_4,
            },
        ]
    }

    #[test]
    fn parquet_has_columns_and_values() {
        let folder = tempfile::tempdir().unwrap();

        write_responses(folder.path(), &sample_rows()).unwrap();

        let file = File::open(folder.path().join("responses.parquet")).unwrap();
        let df = ParquetReader::new(file).finish().unwrap();
        let names: Vec<&str> = df
            .get_column_names()
            .iter()
            .map(|name| name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "index",
                "instruction",
                "input",
                "output",
                "model_response",
                "rouge_l_f1"
            ]
        );
        assert_eq!(df.column("index").unwrap().dtype(), &DataType::UInt32);
        assert_eq!(df.column("rouge_l_f1").unwrap().dtype(), &DataType::Float64);
        let inputs: Vec<&str> = df
            .column("input")
            .unwrap()
            .str()
            .unwrap()
            .no_null_iter()
            .collect();
        assert_eq!(inputs, ["The car is very fast.", ""]);
        let scores: Vec<f64> = df
            .column("rouge_l_f1")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(scores, [0.8, 0.571_428_571_428_571_4]);
    }

    #[test]
    fn json_lists_entries_with_responses() {
        let folder = tempfile::tempdir().unwrap();

        write_responses(folder.path(), &sample_rows()).unwrap();

        let text = fs::read_to_string(folder.path().join("responses.json")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!([
                {
                    "instruction": "Rewrite the sentence using a simile.",
                    "input": "The car is very fast.",
                    "output": "The car is as fast as lightning.",
                    "model_response": "The car is as fast as a bullet.",
                    "rouge_l_f1": 0.8
                },
                {
                    "instruction": "Name the author of 'Pride and Prejudice'.",
                    "input": "",
                    "output": "Jane Austen.",
                    "model_response": "The author is Jane Austen.",
                    "rouge_l_f1": 0.571_428_571_428_571_4
                }
            ])
        );
        assert!(
            text.starts_with("[\n    {\n        \"instruction\": "),
            "{text}"
        );
    }

    #[test]
    fn empty_responses_write_empty_files() {
        let folder = tempfile::tempdir().unwrap();

        write_responses(folder.path(), &[]).unwrap();

        let text = fs::read_to_string(folder.path().join("responses.json")).unwrap();
        assert_eq!(text, "[]\n");
        let file = File::open(folder.path().join("responses.parquet")).unwrap();
        assert_eq!(ParquetReader::new(file).finish().unwrap().height(), 0);
    }
}
