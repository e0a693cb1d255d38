//! The error type of sweeps.

use std::path::PathBuf;

use crate::recipe::RecipeError;
use crate::run::RunError;

/// An experiment that cannot be expanded, or a sweep that cannot go on.
///
/// A variant that fails is not an error of the sweep: it is recorded in its run folder and
/// the sweep continues.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The experiment file is invalid.
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    /// A variant's recipe does not load or validate.
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    /// A file or folder of the sweep cannot be read, written or removed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The run process of a variant cannot be started.
    #[error("cannot start `{program} run` for variant `{variant}`: {source}")]
    Spawn {
        program: String,
        variant: String,
        source: std::io::Error,
    },
    /// The failure of a variant cannot be recorded.
    #[error(transparent)]
    Record(Box<RunError>),
}

impl From<RunError> for SweepError {
    fn from(error: RunError) -> Self {
        SweepError::Record(Box::new(error))
    }
}

impl SweepError {
    /// Creates an error about the experiment file at `origin`.
    pub fn invalid(origin: impl Into<String>, message: impl Into<String>) -> Self {
        SweepError::Invalid { origin: origin.into(), message: message.into() }
    }

    /// Returns whether the experiment or command line was at fault (exit code 2), rather than
    /// the machine.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, SweepError::Invalid { .. } | SweepError::Recipe(_))
    }
}
