//! Writing of the report files: the page, its figures in Markdown mode, and the merged table.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::ReportError;
use super::document::Report;
use super::html::render_html;
use super::markdown::render_markdown;
use crate::results::{write_atomic, write_csv, write_parquet};

/// The format of the report, from the extension of `--out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// One self-contained HTML page.
    Html,
    /// GitHub Markdown with the figures as SVG files beside it.
    Markdown,
}

impl OutputKind {
    /// Returns the format that the extension of `path` names: `.html` or `.md`, in any case.
    ///
    /// # Errors
    ///
    /// `UnsupportedOutput` for any other extension or none.
    pub fn of(path: &Path) -> Result<Self, ReportError> {
        let extension = path.extension().map(|extension| extension.to_string_lossy().to_lowercase());
        match extension.as_deref() {
            Some("html") => Ok(OutputKind::Html),
            Some("md") => Ok(OutputKind::Markdown),
            _ => Err(ReportError::UnsupportedOutput { path: path.to_owned() }),
        }
    }
}

/// The format of the merged table that `--format` adds beside the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// Comma-separated text with a header row.
    Csv,
    /// Parquet, with the merged column types.
    Parquet,
}

/// Creates the folder of `out` if missing and returns it, canonical.
pub fn prepare_folder(out: &Path) -> Result<PathBuf, ReportError> {
    let folder = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let create_error = |source| ReportError::CreateDir { path: folder.clone(), source };
    std::fs::create_dir_all(&folder).map_err(create_error)?;
    folder.canonicalize().map_err(create_error)
}

/// Writes the report to `out` in `kind`, and in Markdown mode each figure beside it as
/// `<out stem>-<metric>-<split>.svg`. Returns the paths written, the report first.
pub fn write_report(report: &Report, out: &Path, kind: OutputKind) -> Result<Vec<PathBuf>, ReportError> {
    let folder = prepare_folder(out)?;
    let stem = file_stem(out);
    let out = folder.join(out.file_name().expect("OutputKind::of accepted a file name"));

    match kind {
        OutputKind::Html => {
            tracing::info!("writing {}", out.display());
            write_atomic(&out, render_html(report).as_bytes())?;
            Ok(vec![out])
        }
        OutputKind::Markdown => {
            let figure_files: Vec<String> = report.figures.iter().map(|figure| format!("{stem}-{}.svg", figure.name())).collect();
            let mut written = vec![out.clone()];
            for (figure, file) in report.figures.iter().zip(&figure_files) {
                let path = folder.join(file);
                write_atomic(&path, figure.svg.as_bytes())?;
                written.push(path);
            }
            tracing::info!("writing {} and {} figures", out.display(), figure_files.len());
            write_atomic(&out, render_markdown(report, &figure_files, &folder).as_bytes())?;
            Ok(written)
        }
    }
}

/// Writes `merged` beside the report as `<out stem>.csv` or `<out stem>.parquet` and returns
/// the path. For CSV, columns of types that CSV cannot hold become text.
pub fn write_table(merged: &DataFrame, out: &Path, format: TableFormat) -> Result<PathBuf, ReportError> {
    let path = table_path(out, format)?;
    let folder = prepare_folder(out)?;
    let path = folder.join(path.file_name().expect("a table path has a file name"));
    tracing::info!("writing {}", path.display());

    match format {
        TableFormat::Csv => {
            let mut table = csv_compatible(merged).map_err(|source| ReportError::table("convert the merged table for CSV", source))?;
            write_csv(&path, &mut table)?;
        }
        TableFormat::Parquet => write_parquet(&path, &mut merged.clone())?,
    }
    Ok(path)
}

/// Returns where `--format` writes the merged table for the report `out`, rejecting the
/// names of a run folder's own tables, which the table would replace.
pub fn table_path(out: &Path, format: TableFormat) -> Result<PathBuf, ReportError> {
    let stem = file_stem(out);
    let name = match format {
        TableFormat::Csv => format!("{stem}.csv"),
        TableFormat::Parquet => format!("{stem}.parquet"),
    };
    let path = out.with_file_name(name);
    if matches!(stem.as_str(), "summary" | "metrics") {
        return Err(ReportError::ReservedTableName { path: out.to_path_buf(), table: path });
    }
    Ok(path)
}

fn file_stem(out: &Path) -> String {
    out.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into())
}

/// Replaces every column that is not numeric, Boolean or String with its values as text, so
/// that polars' CSV writer accepts it. Polars cannot cast every type to String (lists, for
/// one), so the text is each value's display form. A null stays null.
pub fn csv_compatible(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let mut table = frame.clone();
    for column in frame.columns() {
        let dtype = column.dtype();
        if dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_string() {
            continue;
        }
        let texts: Vec<Option<String>> = (0..column.len())
            .map(|row| match column.get(row) {
                Ok(AnyValue::Null) => Ok(None),
                Ok(value) => Ok(Some(value.to_string())),
                Err(error) => Err(error),
            })
            .collect::<PolarsResult<_>>()?;
        table.with_column(Column::new(column.name().clone(), texts))?;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_from_extension() {
        assert_eq!(OutputKind::of(Path::new("report.html")).unwrap(), OutputKind::Html);
        assert_eq!(OutputKind::of(Path::new("out/REPORT.MD")).unwrap(), OutputKind::Markdown);
        for rejected in ["report.txt", "report", "report.htm"] {
            let error = OutputKind::of(Path::new(rejected)).unwrap_err();
            assert!(error.is_invalid_input(), "{rejected}");
            assert!(error.to_string().contains(rejected), "{error}");
        }
    }

    #[test]
    fn csv_gets_text_for_other_types() {
        let frame = DataFrame::new(
            1,
            vec![
                Column::new("run_id".into(), ["a"]),
                Column::full_null("train.seed".into(), 1, &DataType::Null),
                Column::new("bench.lengths".into(), [Series::new("".into(), [1i64, 2])]),
            ],
        )
        .unwrap();
        let folder = tempfile::tempdir().unwrap();

        let path = write_table(&frame, &folder.path().join("report.html"), TableFormat::Csv).unwrap();

        assert_eq!(path, folder.path().canonicalize().unwrap().join("report.csv"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("run_id,train.seed,bench.lengths\na,,"), "{text}");
    }

    #[test]
    fn missing_folder_created() {
        let folder = tempfile::tempdir().unwrap();
        let out = folder.path().join("new/deeper/report.html");

        let created = prepare_folder(&out).unwrap();

        assert!(created.is_dir());
        assert!(created.ends_with("new/deeper"));
    }
}
