//! The error type of `runner report`.

use std::path::PathBuf;

use polars::prelude::PolarsError;

use crate::results::ResultsError;

/// Failure of `runner report`.
///
/// A damaged file inside a run folder is not an error: the report lists it under "Skipped
/// files" and goes on with the other runs.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `--out` has an extension that names no report format.
    #[error("invalid --out {}: the report format comes from the extension, which must be .html or .md", .path.display())]
    UnsupportedOutput {
        /// The rejected path.
        path: PathBuf,
    },

    /// `--out` would write the merged table over a run folder's own table.
    #[error("invalid --out {}: with --format the merged table would be written as {}, the name of a run folder's own table; choose another file name", .path.display(), .table.display())]
    ReservedTableName {
        /// The rejected report path.
        path: PathBuf,
        /// The table path it implies.
        table: PathBuf,
    },

    /// A folder given on the command line does not exist.
    #[error("folder not found: {}; pass run folders or folders that contain them, such as results/pretrain", .path.display())]
    MissingDir {
        /// The folder as given.
        path: PathBuf,
    },

    /// A path given on the command line is a file, not a folder.
    #[error("{} is not a folder; pass run folders or folders that contain them, such as results/pretrain", .path.display())]
    NotADir {
        /// The path as given.
        path: PathBuf,
    },

    /// No `summary.parquet` was found under any of the folders.
    #[error("no runs found: no summary.parquet under {}; pass folders that `runner run` or `runner bench` wrote", join_paths(.dirs))]
    NoRuns {
        /// The folders as given.
        dirs: Vec<PathBuf>,
    },

    /// Every `summary.parquet` found was damaged, so there is nothing to compare.
    #[error("no readable runs: every summary.parquet under {} is damaged ({})", join_paths(.dirs), join_paths(.skipped))]
    NoReadableRuns {
        /// The folders as given.
        dirs: Vec<PathBuf>,
        /// The damaged summary files.
        skipped: Vec<PathBuf>,
    },

    /// `--group-by` names no column of the merged summaries.
    #[error("unknown --group-by key {key:?}; nearest columns: {}", .nearest.join(", "))]
    UnknownGroupKey {
        /// The key as given.
        key: String,
        /// The closest column names, closest first.
        nearest: Vec<String>,
    },

    /// Listing a folder failed.
    #[error("failed to list {}", .path.display())]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },

    /// Creating the report's folder failed.
    #[error("failed to create folder {}; check that its parent is writable", .path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },

    /// Polars failed to merge, group or sort the summaries.
    #[error("failed to {action}")]
    Table {
        /// The computation that failed, such as `merge the summaries`.
        action: String,
        /// The error from polars.
        #[source]
        source: PolarsError,
    },

    /// A figure could not be drawn.
    #[error("failed to draw the figure {name}: {message}")]
    Plot {
        /// The figure's name, such as `loss-val`.
        name: String,
        /// The error from plotters.
        message: String,
    },

    /// Writing the report or a table failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

impl ReportError {
    /// Returns true when the command line or the folders it names are invalid, so the CLI
    /// exits with code 2 instead of 1.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            ReportError::UnsupportedOutput { .. }
                | ReportError::ReservedTableName { .. }
                | ReportError::MissingDir { .. }
                | ReportError::NotADir { .. }
                | ReportError::NoRuns { .. }
                | ReportError::NoReadableRuns { .. }
                | ReportError::UnknownGroupKey { .. }
        )
    }

    /// Creates a `Table` error.
    pub(crate) fn table(action: impl Into<String>, source: PolarsError) -> Self {
        ReportError::Table { action: action.into(), source }
    }
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
}
