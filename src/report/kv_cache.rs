//! The KV cache figures and tables that `runner bench` leaves in its run folders.

use std::path::{Path, PathBuf};

use super::collect::{SkippedFile, read_parquet, skip};
use super::table::{Table, frame_table};

/// The figure that `runner bench` draws.
pub const KV_CACHE_FIGURE: &str = "kv_cache.svg";

/// The table that `runner bench` writes.
pub const KV_CACHE_TABLE: &str = "kv_cache.parquet";

/// Columns of `kv_cache.parquet` shown in the report, where present.
const SHOWN_COLUMNS: [&str; 8] = ["dtype", "batch_size", "generated_tokens", "cache", "wall_s", "tokens_per_s", "ms_per_token", "speedup"];

/// The KV cache results of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct KvCacheSection {
    /// The run's label, as in the main table.
    pub label: String,
    /// The canonical path of `kv_cache.svg`.
    pub figure_path: PathBuf,
    /// The content of `kv_cache.svg`.
    pub figure: Vec<u8>,
    /// The measurements of `kv_cache.parquet`, or None when the file is missing or damaged.
    pub table: Option<Table>,
}

/// Reads the KV cache results of the run in `run_dir`, or returns None when it has no
/// `kv_cache.svg`.
///
/// A figure or table that cannot be read is added to `skipped` and logged as a warning. An
/// unreadable figure drops the section, an unreadable table only the table.
pub fn read_kv_cache(label: &str, run_dir: &Path, skipped: &mut Vec<SkippedFile>) -> Option<KvCacheSection> {
    let figure_path = run_dir.join(KV_CACHE_FIGURE);
    if !figure_path.is_file() {
        return None;
    }
    let figure = match std::fs::read(&figure_path) {
        Ok(bytes) => bytes,
        Err(error) => {
            skip(skipped, &figure_path, format!("cannot read the figure: {error}"));
            return None;
        }
    };

    let table_path = run_dir.join(KV_CACHE_TABLE);
    let table = match table_path.is_file() {
        true => match read_table(&table_path) {
            Ok(table) => Some(table),
            Err(reason) => {
                skip(skipped, &table_path, format!("{reason}; the figure is shown without its table"));
                None
            }
        },
        false => None,
    };
    Some(KvCacheSection { label: label.to_string(), figure_path, figure, table })
}

fn read_table(path: &Path) -> Result<Table, String> {
    let frame = read_parquet(path)?;
    let present_columns: Vec<&str> = SHOWN_COLUMNS.into_iter().filter(|name| frame.column(name).is_ok()).collect();
    if present_columns.is_empty() {
        return Err(format!("none of the KV cache columns {SHOWN_COLUMNS:?} is present"));
    }
    let frame = frame.select(present_columns).map_err(|error| error.to_string())?;
    Ok(frame_table(&frame))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{KvCacheRow, draw_kv_cache, to_frame};
    use crate::generate::Precision;

    fn row(cached: bool, wall_s: f64) -> KvCacheRow {
        KvCacheRow {
            dtype: Precision::F32,
            batch_size: 1,
            generated_tokens: 16,
            cached,
            repeat: 1,
            wall_s,
            wall_s_min: wall_s,
            tokens_per_s: 16.0 / wall_s,
            ms_per_token: wall_s * 1000.0 / 16.0,
            speedup: if cached { 2.0 } else { 1.0 },
            peak_rss_bytes: None,
            peak_rss_reset: false,
            kv_cache_bytes: 0,
        }
    }

    #[test]
    fn reads_figure_and_table() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [row(true, 0.5), row(false, 1.0)];
        draw_kv_cache(&rows, &dir.path().join(KV_CACHE_FIGURE)).unwrap();
        crate::results::write_parquet(&dir.path().join(KV_CACHE_TABLE), &mut to_frame("run-a", &rows)).unwrap();
        let mut skipped = Vec::new();

        let section = read_kv_cache("run-a", dir.path(), &mut skipped).unwrap();

        assert!(skipped.is_empty(), "{skipped:?}");
        assert!(section.figure.starts_with(b"<svg"));
        let table = section.table.unwrap();
        assert_eq!(table.columns, SHOWN_COLUMNS);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0][3].text, "on");
    }

    #[test]
    fn damaged_table_keeps_figure() {
        let dir = tempfile::tempdir().unwrap();
        draw_kv_cache(&[row(true, 0.5), row(false, 1.0)], &dir.path().join(KV_CACHE_FIGURE)).unwrap();
        std::fs::write(dir.path().join(KV_CACHE_TABLE), b"garbage").unwrap();
        let mut skipped = Vec::new();

        let section = read_kv_cache("run-a", dir.path(), &mut skipped).unwrap();

        assert!(section.table.is_none());
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].path.ends_with(KV_CACHE_TABLE));
    }

    #[test]
    fn no_figure_no_section() {
        let dir = tempfile::tempdir().unwrap();

        assert!(read_kv_cache("run-a", dir.path(), &mut Vec::new()).is_none());
    }
}
