//! The error type of the results module.

use std::path::PathBuf;

use polars::prelude::PolarsError;

/// A failure to create a run folder or to write one of its files.
///
/// The messages name the file. The underlying error is the `source()`, so it is printed once
/// in an error chain (`{:#}` with anyhow) rather than repeated in every message.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The recipe name cannot be used as a folder name.
    #[error(
        "invalid recipe name {name:?}: {reason}; use a plain folder name such as `gpt2-instruct`"
    )]
    InvalidRecipeName {
        /// The rejected name.
        name: String,
        /// The reason the name was rejected.
        reason: &'static str,
    },

    /// Reading, writing, renaming or creating a file or folder failed.
    #[error(
        "failed to {action} {}; check that the folder exists, is writable and has free space",
        .path.display()
    )]
    Io {
        /// The operation that failed, such as `write` or `create folder`.
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },

    /// Polars failed to build or encode a table.
    #[error("failed to build or encode the table for {}", .path.display())]
    Table {
        /// The file the table was meant for.
        path: PathBuf,
        /// The error from polars.
        #[source]
        source: PolarsError,
    },

    /// A value could not be encoded as JSON.
    #[error("failed to encode {} as JSON", .path.display())]
    Json {
        /// The file the JSON was meant for.
        path: PathBuf,
        /// The error from serde_json.
        #[source]
        source: serde_json::Error,
    },

    /// Two columns of one table would get the same name.
    #[error(
        "duplicate column {column:?} in {}: a hyperparameter or metric has the same name as another column; rename it or leave it out of the summary",
        .path.display()
    )]
    DuplicateColumn {
        /// The repeated column name.
        column: String,
        /// The file the table was meant for.
        path: PathBuf,
    },
}
