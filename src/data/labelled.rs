//! Labelled text (one record per line, TSV or CSV) read with polars.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::error::DataError;

/// Policy for a line that is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidUtf8 {
    /// Fail with the line number.
    Reject,
    /// Drop the line and count it.
    Skip,
}

/// Layout of a labelled text file: separator, header and the columns to read.
#[derive(Debug, Clone)]
pub struct LabelledLayout {
    pub separator: u8,
    /// The first line names the columns.
    pub has_header: bool,
    /// Column names to use when the file has no header, in file order.
    pub column_names: Vec<String>,
    pub text_column: String,
    pub label_column: String,
    pub invalid_utf8: InvalidUtf8,
}

/// The texts and labels of a file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledText {
    pub texts: Vec<String>,
    pub labels: Vec<String>,
    /// Lines dropped because they were not valid UTF-8.
    pub skipped_lines: usize,
}

/// Reads `path` as one record per line.
///
/// Quote characters are plain text, as in the SMS Spam Collection, where a CSV parser that
/// honours quotes would merge lines. Lines are checked before polars parses them, so an error
/// can name the line number.
pub fn load_labelled(path: &Path, layout: &LabelledLayout) -> Result<LabelledText, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { action: "read", path: path.to_path_buf(), source })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::EmptyFile { path: path.to_path_buf() });
    }

    let expected_fields = if layout.has_header { 1 } else { layout.column_names.len().max(1) };
    let (clean, skipped_lines) = clean_lines(path, &bytes, layout, expected_fields)?;
    let frame = parse(path, clean, layout)?;

    let column = |name: &str| -> Result<Vec<String>, DataError> {
        let series = frame.column(name).map_err(|_| DataError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            available: frame.get_column_names().iter().map(|name| name.as_str()).collect::<Vec<_>>().join(", "),
        })?;
        let values = series.str().map_err(|error| invalid_table(path, error))?;
        Ok(values.iter().map(|value| value.unwrap_or_default().to_string()).collect())
    };
    let texts = column(&layout.text_column)?;
    let labels = column(&layout.label_column)?;
    if skipped_lines > 0 {
        tracing::warn!("skipped {skipped_lines} line(s) of {} that are not valid UTF-8", path.display());
    }
    Ok(LabelledText { texts, labels, skipped_lines })
}

/// Checks every line's encoding and field count and returns the lines to parse.
fn clean_lines(path: &Path, bytes: &[u8], layout: &LabelledLayout, expected_fields: usize) -> Result<(Vec<u8>, usize), DataError> {
    let mut clean = Vec::with_capacity(bytes.len());
    let mut skipped = 0;
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);

    for (index, raw) in body.split(|&byte| byte == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let number = index + 1;
        if std::str::from_utf8(line).is_err() {
            match layout.invalid_utf8 {
                InvalidUtf8::Reject => return Err(DataError::NotUtf8Line { path: path.to_path_buf(), line: number }),
                InvalidUtf8::Skip => {
                    skipped += 1;
                    continue;
                }
            }
        }
        let found = line.iter().filter(|&&byte| byte == layout.separator).count() + 1;
        if found < expected_fields {
            return Err(DataError::MissingField {
                path: path.to_path_buf(),
                line: number,
                found,
                expected: expected_fields,
                separator: (layout.separator as char).escape_default().to_string(),
            });
        }
        clean.extend_from_slice(line);
        clean.push(b'\n');
    }
    Ok((clean, skipped))
}

fn parse(path: &Path, clean: Vec<u8>, layout: &LabelledLayout) -> Result<DataFrame, DataError> {
    let options = CsvReadOptions::default()
        .with_has_header(layout.has_header)
        // Every column is read as text: labels such as `0`/`1` must not become integers.
        .with_infer_schema_length(Some(0))
        .map_parse_options(|parse| parse.with_separator(layout.separator).with_quote_char(None));
    let mut frame = options
        .into_reader_with_file_handle(Cursor::new(clean))
        .finish()
        .map_err(|error| invalid_table(path, error))?;

    // Without a header polars names the columns column_1, column_2, ...; the recipe's names
    // replace as many of them as it gives.
    if !layout.has_header {
        let mut names: Vec<String> = frame.get_column_names().iter().map(|name| name.to_string()).collect();
        for (name, given) in names.iter_mut().zip(&layout.column_names) {
            *name = given.clone();
        }
        frame.set_column_names(&names).map_err(|error| invalid_table(path, error))?;
    }
    Ok(frame)
}

fn invalid_table(path: &Path, error: PolarsError) -> DataError {
    DataError::InvalidTable { path: PathBuf::from(path), message: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_support::mirror_dir;

    fn sms_layout() -> LabelledLayout {
        LabelledLayout {
            separator: b'\t',
            has_header: false,
            column_names: vec!["label".into(), "text".into()],
            text_column: "text".into(),
            label_column: "label".into(),
            invalid_utf8: InvalidUtf8::Reject,
        }
    }

    #[test]
    fn sms_collection_counts() {
        let path = mirror_dir().join("sms-spam-collection/SMSSpamCollection");
        let data = load_labelled(&path, &sms_layout()).unwrap();
        assert_eq!(data.texts.len(), 5574);
        assert_eq!(data.labels.iter().filter(|label| *label == "ham").count(), 4827);
        assert_eq!(data.labels.iter().filter(|label| *label == "spam").count(), 747);
    }

    #[test]
    fn quotes_stay_literal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quotes.tsv");
        std::fs::write(&path, "ham\t\"Hello\nspam\tWin \"big\" now\"\n").unwrap();
        let data = load_labelled(&path, &sms_layout()).unwrap();
        assert_eq!(data.texts, ["\"Hello", "Win \"big\" now\""]);
    }

    #[test]
    fn header_names_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("header.csv");
        std::fs::write(&path, "text,category\ngood film,pos\nbad film,neg\n").unwrap();
        let layout = LabelledLayout {
            separator: b',',
            has_header: true,
            column_names: Vec::new(),
            text_column: "text".into(),
            label_column: "category".into(),
            invalid_utf8: InvalidUtf8::Reject,
        };
        let data = load_labelled(&path, &layout).unwrap();
        assert_eq!(data.labels, ["pos", "neg"]);

        let missing = LabelledLayout { label_column: "label".into(), ..layout };
        let error = load_labelled(&path, &missing).unwrap_err().to_string();
        assert!(error.contains("no column `label`"), "{error}");
        assert!(error.contains("text, category"), "{error}");
    }

    #[test]
    fn invalid_utf8_rejected_or_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.tsv");
        std::fs::write(&path, b"ham\tfine\nspam\tcaf\xe9\nham\tok\n").unwrap();

        let error = load_labelled(&path, &sms_layout()).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");

        let skip = LabelledLayout { invalid_utf8: InvalidUtf8::Skip, ..sms_layout() };
        let data = load_labelled(&path, &skip).unwrap();
        assert_eq!(data.texts, ["fine", "ok"]);
        assert_eq!(data.skipped_lines, 1);
    }

    #[test]
    fn line_without_separator_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notab.tsv");
        std::fs::write(&path, "ham\tfine\nspam no tab here\n").unwrap();
        let error = load_labelled(&path, &sms_layout()).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("1 field(s) but 2"), "{error}");
    }

    #[test]
    fn empty_file_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.tsv");
        std::fs::write(&path, "\n").unwrap();
        let error = load_labelled(&path, &sms_layout()).unwrap_err().to_string();
        assert!(error.contains("is empty"), "{error}");
    }
}
