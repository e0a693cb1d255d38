//! Atomic file writes: write a temporary file in the target's folder, fsync it, rename it.
//!
//! A rename within one file system replaces the target in one step, so a reader, or a run
//! that crashed, finds either the previous file or the complete new one, never half a table.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::{CsvWriter, DataFrame, ParquetWriter, SerWriter};
use serde::Serialize;
use serde_json::ser::{PrettyFormatter, Serializer};

use super::ResultsError;

/// Writes `bytes` to `path` atomically, replacing any existing file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    write_with(path, |writer| {
        writer
            .write_all(bytes)
            .map_err(|source| io_error("write", path, source))
    })
}

/// Writes `df` to `path` as parquet, atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<(), ResultsError> {
    write_with(path, |writer| {
        ParquetWriter::new(writer)
            .finish(df)
            .map(|_bytes_written| ())
            .map_err(|source| table_error(path, source))
    })
}

/// Writes `df` to `path` as CSV with a header row, atomically.
pub fn write_csv(path: &Path, df: &mut DataFrame) -> Result<(), ResultsError> {
    write_with(path, |writer| {
        CsvWriter::new(writer)
            .include_header(true)
            .finish(df)
            .map_err(|source| table_error(path, source))
    })
}

/// Writes `value` to `path` as pretty-printed JSON, atomically.
///
/// The indentation is four spaces, like `json.dump(value, file, indent=4)` in the PyTorch
/// code of rasbt/LLMs-from-scratch. A newline ends the file.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), ResultsError> {
    write_with(path, |writer| {
        let formatter = PrettyFormatter::with_indent(b"    ");
        let mut serializer = Serializer::with_formatter(&mut *writer, formatter);
        value
            .serialize(&mut serializer)
            .map_err(|source| ResultsError::Json {
                path: path.to_owned(),
                source,
            })?;

        writer
            .write_all(b"\n")
            .map_err(|source| io_error("write", path, source))
    })
}

/// Runs `write` on a temporary file beside `path`, then moves the file to `path`.
///
/// On any error the temporary file is removed and `path` keeps its previous content.
fn write_with<F>(path: &Path, write: F) -> Result<(), ResultsError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), ResultsError>,
{
    let temporary = temporary_path(path)?;
    let result = write_synced(&temporary, write).and_then(|()| {
        fs::rename(&temporary, path).map_err(|source| io_error("rename a file to", path, source))
    });

    if result.is_err()
        && let Err(error) = fs::remove_file(&temporary)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %temporary.display(), %error, "failed to remove a temporary file");
    }
    result?;

    sync_parent(path)
}

/// Creates `temporary`, runs `write` on it and flushes it to the disk.
fn write_synced<F>(temporary: &Path, write: F) -> Result<(), ResultsError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), ResultsError>,
{
    // `create_new` fails rather than truncating a file that another writer still owns.
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temporary)
        .map_err(|source| io_error("create temporary file", temporary, source))?;
    let mut writer = BufWriter::new(file);

    write(&mut writer)?;

    let file = writer
        .into_inner()
        .map_err(|error| io_error("write temporary file", temporary, error.into_error()))?;
    file.sync_all()
        .map_err(|source| io_error("sync temporary file", temporary, source))
}

/// Returns a new hidden file name in the folder of `path`.
///
/// The `.tmp` suffix keeps the file out of globs such as `results/**/*.parquet`, the leading
/// dot hides it from `ls`, and the process id plus a counter keep concurrent writers apart.
fn temporary_path(path: &Path) -> Result<PathBuf, ResultsError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let Some(file_name) = path.file_name() else {
        let source = std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        );
        return Err(io_error("write", path, source));
    };
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        ".{}.{}-{count}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    );
    Ok(path.with_file_name(name))
}

/// Flushes the folder entry of `path`, so the rename itself survives a power loss.
#[cfg(unix)]
fn sync_parent(path: &Path) -> Result<(), ResultsError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|folder| folder.sync_all())
        .map_err(|source| io_error("sync folder", parent, source))
}

/// Does nothing: only Unix lets a program open a folder to flush it.
#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> Result<(), ResultsError> {
    Ok(())
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> ResultsError {
    ResultsError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn table_error(path: &Path, source: polars::prelude::PolarsError) -> ResultsError {
    ResultsError::Table {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{ParquetReader, SerReader, df};

    /// A value whose serialization always fails, standing in for a crash mid-write.
    struct Unserializable;

    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("serialization failed on purpose"))
        }
    }

    fn file_names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_replaces_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("run.log");

        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();

        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(file_names(folder.path()), vec!["run.log"]);
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("responses.json");

        let error = write_json(&path, &Unserializable).unwrap_err();

        assert!(matches!(error, ResultsError::Json { .. }), "{error:?}");
        assert!(!path.exists());
        assert!(
            file_names(folder.path()).is_empty(),
            "{:?}",
            file_names(folder.path())
        );
    }

    #[test]
    fn failed_write_keeps_previous_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("responses.json");
        write_json(&path, &vec![1, 2]).unwrap();

        write_json(&path, &Unserializable).unwrap_err();

        assert_eq!(fs::read_to_string(&path).unwrap(), "[\n    1,\n    2\n]\n");
        assert_eq!(file_names(folder.path()), vec!["responses.json"]);
    }

    #[test]
    fn write_into_missing_folder_fails() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("missing").join("metrics.parquet");

        let error = write_atomic(&path, b"data").unwrap_err();

        assert!(
            matches!(
                error,
                ResultsError::Io {
                    action: "create temporary file",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("missing"), "{error}");
    }

    #[test]
    fn parquet_round_trip() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("table.parquet");
        let mut written = df!("step" => [1u64, 2], "value" => [0.5f64, 0.25]).unwrap();

        write_parquet(&path, &mut written).unwrap();

        let read = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert_eq!(read, written);
    }

    #[test]
    fn csv_has_header_and_rows() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("table.csv");
        let mut written = df!("metric" => ["loss", "accuracy"], "value" => [0.5f64, 0.75]).unwrap();

        write_csv(&path, &mut written).unwrap();

        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "metric,value\nloss,0.5\naccuracy,0.75\n"
        );
    }
}
