//! Instruction data: Alpaca-style entries, their prompt format, splits and encoding.
//!
//! This follows chapter 7 of "Build a Large Language Model (From Scratch)" (S. Raschka, 2024):
//! `format_input`, the 85/10/5 split in file order, and `InstructionDataset`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::DataError;
use super::tokenizer::Gpt2Tokenizer;

mod batch;

pub use batch::{Collated, IGNORE_INDEX, collate};

/// The first sentence of every prompt.
pub const PROMPT_INTRO: &str = "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

/// Separator before the instruction text.
pub const INSTRUCTION_HEADER: &str = "\n\n### Instruction:\n";

/// Separator before the input text, left out when the input is empty.
pub const INPUT_HEADER: &str = "\n\n### Input:\n";

/// Separator before the response, which the model learns to write after it.
pub const RESPONSE_HEADER: &str = "\n\n### Response:\n";

/// One instruction example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionEntry {
    /// The task description.
    pub instruction: String,
    /// Optional context for the task, empty when the task has none.
    #[serde(default)]
    pub input: String,
    /// The reference response.
    pub output: String,
}

/// Instruction entries split in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructSplits {
    /// The first entries, for training.
    pub train: Vec<InstructionEntry>,
    /// The entries after `train`, for scoring generated responses.
    pub test: Vec<InstructionEntry>,
    /// The remaining entries, for validation loss.
    pub val: Vec<InstructionEntry>,
}

/// An entry's prompt and response as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedExample {
    /// Token ids of the prompt followed by the response.
    pub tokens: Vec<u32>,
    /// Number of token ids in the prompt encoded on its own.
    pub prompt_len: usize,
}

/// Loads a JSON list of `{instruction, input, output}` objects.
///
/// `input` may be missing, which reads as empty. Other fields are ignored. Malformed JSON, a
/// top-level value that is not a list, an empty list, and an entry without a string
/// `instruction` or `output` are errors that name the file and the line or entry index.
pub fn load_entries(path: &Path) -> Result<Vec<InstructionEntry>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|err| DataError::io("read", path, err))?;
    let value: Value = serde_json::from_str(&text).map_err(|err| invalid_json(path, &err))?;

    let Value::Array(items) = value else {
        return Err(DataError::NotAList {
            path: path.to_path_buf(),
            found: json_type(&value),
        });
    };
    if items.is_empty() {
        return Err(DataError::NoEntries {
            path: path.to_path_buf(),
        });
    }

    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            parse_entry(item).map_err(|reason| DataError::InvalidEntry {
                path: path.to_path_buf(),
                index,
                reason,
            })
        })
        .collect()
}

fn invalid_json(path: &Path, err: &serde_json::Error) -> DataError {
    // serde_json appends " at line L column C" to its message, and the error states those apart.
    let message = err.to_string();
    let location = format!(" at line {} column {}", err.line(), err.column());
    DataError::InvalidJson {
        path: path.to_path_buf(),
        line: err.line(),
        column: err.column(),
        message: message
            .strip_suffix(&location)
            .unwrap_or(&message)
            .to_string(),
    }
}

fn parse_entry(item: Value) -> Result<InstructionEntry, String> {
    let Value::Object(mut object) = item else {
        return Err(format!(
            "expected a JSON object, found a JSON {}",
            json_type(&item)
        ));
    };

    Ok(InstructionEntry {
        instruction: take_string(&mut object, "instruction")?
            .ok_or("missing field `instruction`")?,
        input: take_string(&mut object, "input")?.unwrap_or_default(),
        output: take_string(&mut object, "output")?.ok_or("missing field `output`")?,
    })
}

fn take_string(object: &mut Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match object.remove(field) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!(
            "field `{field}` must be a string, found a JSON {}",
            json_type(&other)
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Formats the Alpaca prompt: intro, instruction, and the input when it is not empty.
pub fn format_prompt(entry: &InstructionEntry) -> String {
    let mut prompt = format!("{PROMPT_INTRO}{INSTRUCTION_HEADER}{}", entry.instruction);
    if !entry.input.is_empty() {
        prompt.push_str(INPUT_HEADER);
        prompt.push_str(&entry.input);
    }
    prompt
}

/// Formats the response part that follows the prompt.
pub fn format_response(entry: &InstructionEntry) -> String {
    format!("{RESPONSE_HEADER}{}", entry.output)
}

/// Splits `entries` in file order: the first `floor(n * train)` for training, the next
/// `floor(n * test)` for testing, the rest for validation, as the reference's `int(...)` does.
///
/// # Panics
///
/// Panics if `train` or `test` is negative or their sum exceeds 1.
pub fn split_entries(mut entries: Vec<InstructionEntry>, train: f64, test: f64) -> InstructSplits {
    assert!(
        train >= 0.0 && test >= 0.0 && train + test <= 1.0,
        "split fractions must be non-negative and sum to at most 1, found train {train} and test {test}"
    );

    let total = entries.len() as f64;
    let train_count = (total * train).floor() as usize;
    let test_count = (total * test).floor() as usize;

    let mut test_and_val = entries.split_off(train_count);
    let val = test_and_val.split_off(test_count);
    InstructSplits {
        train: entries,
        test: test_and_val,
        val,
    }
}

/// Encodes an entry's prompt and response together, as the reference does.
///
/// `prompt_len` counts the prompt encoded alone, which is how the reference measures it for
/// prompt masking. The prompt's tokens are then a prefix of `tokens`, because GPT-2's
/// pre-tokenizer splits before the newline that starts the response. A prompt that ends in
/// whitespace is the exception: that whitespace joins the newline, so the boundary can shift.
pub fn encode_example(tokenizer: &Gpt2Tokenizer, entry: &InstructionEntry) -> EncodedExample {
    let prompt = format_prompt(entry);
    let full_text = prompt.clone() + &format_response(entry);
    EncodedExample {
        tokens: tokenizer.encode(&full_text),
        prompt_len: tokenizer.encode(&prompt).len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_support::mirror_dir;

    fn entry(instruction: &str, input: &str, output: &str) -> InstructionEntry {
        InstructionEntry {
            instruction: instruction.into(),
            input: input.into(),
            output: output.into(),
        }
    }

    fn write_json(folder: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let path = folder.path().join("entries.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn mirror_has_1100_entries() {
        let entries = load_entries(&mirror_dir().join("instruction-data.json")).unwrap();
        assert_eq!(entries.len(), 1100);
        assert_eq!(
            entries[2],
            entry(
                "Convert 45 kilometers to meters.",
                "",
                "45 kilometers is 45000 meters."
            )
        );
    }

    #[test]
    fn prompt_with_input() {
        let sample = entry(
            "Edit the following sentence for grammar.",
            "He go to the park every day.",
            "He goes to the park every day.",
        );
        assert_eq!(
            format_prompt(&sample),
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\
             \n\n### Instruction:\nEdit the following sentence for grammar.\
             \n\n### Input:\nHe go to the park every day."
        );
        assert_eq!(
            format_response(&sample),
            "\n\n### Response:\nHe goes to the park every day."
        );
    }

    #[test]
    fn prompt_without_input() {
        let sample = entry(
            "Convert 45 kilometers to meters.",
            "",
            "45 kilometers is 45000 meters.",
        );
        assert_eq!(
            format_prompt(&sample),
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\
             \n\n### Instruction:\nConvert 45 kilometers to meters."
        );
    }

    #[test]
    fn split_1100_entries() {
        let entries = load_entries(&mirror_dir().join("instruction-data.json")).unwrap();
        let first_test = entries[935].clone();
        let last = entries[1099].clone();

        let splits = split_entries(entries, 0.85, 0.1);
        assert_eq!(splits.train.len(), 935);
        assert_eq!(splits.test.len(), 110);
        assert_eq!(splits.val.len(), 55);
        assert_eq!(splits.test[0], first_test);
        assert_eq!(splits.val[54], last);
    }

    /// Token counts from Python tiktoken 0.14 (`r50k_base`) on the reference's prompt text.
    #[test]
    fn encode_example_lengths() {
        let tokenizer = Gpt2Tokenizer::new();
        let with_input = entry(
            "Edit the following sentence for grammar.",
            "He go to the park every day.",
            "He goes to the park every day.",
        );
        let without_input = entry(
            "Convert 45 kilometers to meters.",
            "",
            "45 kilometers is 45000 meters.",
        );

        let encoded = encode_example(&tokenizer, &with_input);
        assert_eq!(encoded.tokens.len(), 59);
        assert_eq!(encoded.prompt_len, 45);

        let encoded = encode_example(&tokenizer, &without_input);
        assert_eq!(encoded.tokens.len(), 44);
        assert_eq!(encoded.prompt_len, 31);
    }

    #[test]
    fn missing_input_reads_empty() {
        let folder = tempfile::tempdir().unwrap();
        let path = write_json(&folder, r#"[{"instruction": "Say hi.", "output": "Hi."}]"#);
        assert_eq!(load_entries(&path).unwrap(), [entry("Say hi.", "", "Hi.")]);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let folder = tempfile::tempdir().unwrap();
        let path = write_json(
            &folder,
            "[\n  {\"instruction\": \"a\", \"output\": \"b\"}\n  {\"instruction\": \"c\"}\n]",
        );
        let error = load_entries(&path).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(
                error,
                DataError::InvalidJson {
                    line: 3,
                    column: 3,
                    ..
                }
            ),
            "{message}"
        );
        assert!(message.contains("entries.json"), "{message}");
    }

    #[test]
    fn object_instead_of_list_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let path = write_json(&folder, r#"{"instruction": "a", "output": "b"}"#);
        let error = load_entries(&path).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::NotAList {
                    found: "object",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn empty_list_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let path = write_json(&folder, "[]");
        assert!(matches!(
            load_entries(&path),
            Err(DataError::NoEntries { .. })
        ));
    }

    #[test]
    fn entry_errors_name_index_and_field() {
        let folder = tempfile::tempdir().unwrap();
        let cases = [
            (
                r#"[{"instruction": "a", "output": "b"}, {"output": "d"}]"#,
                1,
                "missing field `instruction`",
            ),
            (r#"[{"instruction": "a"}]"#, 0, "missing field `output`"),
            (
                r#"[{"instruction": "a", "input": 3, "output": "b"}]"#,
                0,
                "field `input` must be a string, found a JSON number",
            ),
            (
                r#"[{"instruction": "a", "output": null}]"#,
                0,
                "field `output` must be a string, found a JSON null",
            ),
            (
                r#"[{"instruction": "a", "output": "b"}, "text"]"#,
                1,
                "expected a JSON object, found a JSON string",
            ),
        ];
        for (json, expected_index, expected_reason) in cases {
            let path = write_json(&folder, json);
            match load_entries(&path).unwrap_err() {
                DataError::InvalidEntry { index, reason, .. } => {
                    assert_eq!(index, expected_index, "{json}");
                    assert_eq!(reason, expected_reason, "{json}");
                }
                other => panic!("expected InvalidEntry for {json}, found {other}"),
            }
        }
    }
}
