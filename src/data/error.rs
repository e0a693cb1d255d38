//! The error type of the data module.

use std::path::PathBuf;

/// Errors from loading dataset cards, fetching dataset files, tokenizing and parsing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A dataset spec is neither a built-in card name nor an existing file.
    #[error(
        "unknown dataset `{spec}`: it is not a built-in dataset card and no file exists at that \
         path. Known datasets: {known}. A path to a card `.yaml` file or to a data file works too"
    )]
    UnknownDataset {
        /// The spec as given.
        spec: String,
        /// The built-in card names, comma-separated.
        known: String,
    },

    /// A dataset card file failed to parse or contains an invalid value.
    #[error("invalid dataset card {path}: {reason}")]
    InvalidCard {
        /// The card file, or `<built-in NAME>` for an embedded card.
        path: String,
        /// Description of the problem, naming the field.
        reason: String,
    },

    /// A file or folder could not be read, written or created.
    #[error("failed to {action} {path}: {source}")]
    Io {
        /// The operation that failed, such as `read` or `create folder`.
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A dataset file has a size other than its card states.
    #[error(
        "dataset file {path} has {actual} bytes but its card `{card}` expects {expected}, \
         so the file is not used. Delete or replace it"
    )]
    SizeMismatch {
        /// The card name.
        card: String,
        /// The file that was checked.
        path: PathBuf,
        /// The size on the card, in bytes.
        expected: u64,
        /// The size on disk, in bytes.
        actual: u64,
    },

    /// A dataset file's sha256 differs from the one its card states.
    #[error(
        "dataset file {path} has sha256 {actual} but its card `{card}` expects {expected}, \
         so the file is not used. Delete or replace it"
    )]
    ChecksumMismatch {
        /// The card name.
        card: String,
        /// The file that was checked.
        path: PathBuf,
        /// The sha256 on the card, lowercase hex.
        expected: String,
        /// The sha256 of the file, lowercase hex.
        actual: String,
    },

    /// A download failed, for example because the machine is offline.
    #[error(
        "failed to download `{file}` of dataset `{card}` from {url}: {reason}. If this machine \
         is offline, download the file elsewhere and place it at {destination}, or set \
         RUNNER_DATA_MIRROR to a folder that contains `{file}`"
    )]
    DownloadFailed {
        /// The card name.
        card: String,
        /// The file's path relative to the mirror or cache folder.
        file: String,
        /// The URL that was requested.
        url: String,
        /// Cache path where the file belongs.
        destination: PathBuf,
        /// The network or HTTP error.
        reason: String,
    },

    /// A downloaded file's sha256 differs from its card's.
    #[error(
        "the file downloaded from {url} for dataset `{card}` has sha256 {actual} but the card \
         expects {expected}, so it was discarded. The source may have changed. Check the card's \
         `url` and `sha256`"
    )]
    DownloadMismatch {
        /// The card name.
        card: String,
        /// The URL that was downloaded.
        url: String,
        /// The sha256 on the card, lowercase hex.
        expected: String,
        /// The sha256 of the downloaded bytes, lowercase hex.
        actual: String,
    },

    /// A dataset comes inside an archive, which the runner does not extract.
    #[error(
        "dataset `{card}` is not in the cache or mirror, and its source {url} is an archive, \
         which runner does not extract. Download it, extract the member `{member}` and place \
         it at {destination}, or set RUNNER_DATA_MIRROR to a folder that contains `{file}`"
    )]
    ArchiveNotExtracted {
        /// The card name.
        card: String,
        /// The archive URL.
        url: String,
        /// The file inside the archive.
        member: String,
        /// The file's path relative to the mirror or cache folder.
        file: String,
        /// Cache path where the extracted file belongs.
        destination: PathBuf,
    },

    /// Neither `RUNNER_DATA_DIR` nor a user cache folder is available.
    #[error(
        "no cache folder for datasets: RUNNER_DATA_DIR is not set and this system has no user \
         cache folder. Set RUNNER_DATA_DIR to a writable folder"
    )]
    NoCacheDir,

    /// A text file is not valid UTF-8.
    #[error("{path} is not valid UTF-8 at byte offset {offset}. Convert the file to UTF-8")]
    NotUtf8 {
        /// The file that was read.
        path: PathBuf,
        /// The offset of the first invalid byte.
        offset: usize,
    },

    /// A data file contains no data.
    #[error("{path} is empty. Point the recipe at a file that contains data")]
    EmptyFile {
        /// The file that was read.
        path: PathBuf,
    },

    /// A line of a labelled text file is not valid UTF-8.
    #[error(
        "line {line} of {path} is not valid UTF-8; fix the file, or set \
         `classify.invalid_utf8: skip` to drop such lines"
    )]
    NotUtf8Line {
        /// The file that was read.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },

    /// A line of a labelled text file has fewer fields than the columns it should contain.
    #[error(
        "line {line} of {path} has {found} field(s) but {expected} were expected; is the \
         separator `{separator}` right (`classify.separator`)?"
    )]
    MissingField {
        /// The file that was read.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// Fields found on the line.
        found: usize,
        /// Fields every line needs.
        expected: usize,
        /// The separator, escaped for display.
        separator: String,
    },

    /// A column named by the recipe is not in a labelled text file.
    #[error("{path} has no column `{column}`; its columns are: {available}")]
    MissingColumn {
        /// The file that was read.
        path: PathBuf,
        /// The column the recipe names.
        column: String,
        /// The columns found, comma-separated.
        available: String,
    },

    /// A table failed to parse.
    #[error("cannot parse {path} as a table: {message}")]
    InvalidTable {
        /// The file that was read.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },

    /// A label is not in the recipe's label list.
    #[error(
        "row {row} of {path} has label `{label}`, which is not in classify.labels ({known}); \
         add it to the list or remove the row"
    )]
    UnknownLabel {
        /// The file that was read.
        path: PathBuf,
        /// The 1-based data row.
        row: usize,
        /// The label found.
        label: String,
        /// The labels of the recipe, comma-separated.
        known: String,
    },

    /// A JSON file failed to parse.
    #[error("invalid JSON in {path} at line {line}, column {column}: {message}")]
    InvalidJson {
        /// The file that was read.
        path: PathBuf,
        /// The 1-based line of the error.
        line: usize,
        /// The 1-based column of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },

    /// An instruction file's top-level JSON value is not a list.
    #[error(
        "{path} contains a JSON {found}, but an instruction dataset must be a JSON list of \
         objects with `instruction`, `input` and `output`"
    )]
    NotAList {
        /// The file that was read.
        path: PathBuf,
        /// The JSON type found, such as `object`.
        found: &'static str,
    },

    /// An instruction entry lacks a required field or has a field of the wrong type.
    #[error("invalid entry {index} in {path}: {reason}")]
    InvalidEntry {
        /// The file that was read.
        path: PathBuf,
        /// The 0-based position of the entry in the list.
        index: usize,
        /// Description of the problem, naming the field.
        reason: String,
    },

    /// An instruction file contains an empty list.
    #[error("{path} contains an empty list, but an instruction dataset needs at least one entry")]
    NoEntries {
        /// The file that was read.
        path: PathBuf,
    },

    /// A tokenizer name is not supported.
    #[error("{reason}")]
    UnsupportedTokenizer {
        /// Reason the name was rejected, with the supported names.
        reason: String,
    },

    /// A token id is outside the tokenizer's vocabulary.
    #[error(
        "token id {id} at position {position} is outside the vocabulary of {vocab_size} tokens"
    )]
    UnknownToken {
        /// The id that has no entry.
        id: u32,
        /// Its position in the decoded slice.
        position: usize,
        /// The tokenizer's vocabulary size.
        vocab_size: usize,
    },
}

impl DataError {
    /// Builds a [`DataError::Io`] for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
