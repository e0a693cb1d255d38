//! The run folder `<root>/<recipe name>/<run id>/` and the paths of its standard files.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::ResultsError;

/// How many run ids `RunDir::create` tries before it gives up on a name clash.
const MAX_ATTEMPTS: usize = 16;

/// One run's output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The folder, `<root>/<recipe name>/<run id>`.
    pub path: PathBuf,
    /// The run id, `YYYYmmdd-HHMMSS-xxxx`: UTC start time plus four random hex digits.
    pub run_id: String,
}

impl RunDir {
    /// Creates a new, empty run folder under `root/recipe_name/`.
    ///
    /// The random suffix of the run id keeps two runs started in the same second apart. The
    /// folder is created with `create_dir`, which fails if it exists, so a clash of ids gets a
    /// new suffix instead of sharing a folder.
    pub fn create(root: &Path, recipe_name: &str) -> Result<RunDir, ResultsError> {
        let recipe_folder = create_recipe_folder(root, recipe_name)?;

        let mut attempt = 0;
        loop {
            attempt += 1;
            let run_id = new_run_id();
            let path = recipe_folder.join(&run_id);

            match fs::create_dir(&path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "created run folder");
                    return Ok(RunDir { path, run_id });
                }
                Err(error)
                    if error.kind() == ErrorKind::AlreadyExists && attempt < MAX_ATTEMPTS =>
                {
                    tracing::debug!(%run_id, "run id already taken, drawing another");
                }
                Err(source) => {
                    return Err(ResultsError::Io {
                        action: "create folder",
                        path,
                        source,
                    });
                }
            }
        }
    }

    /// Creates the run folder `root/recipe_name/run_id` with a run id the caller chose, such as
    /// a sweep variant's id. Fails if the folder exists, so a finished run is never mixed
    /// with a new one.
    pub fn create_with_id(root: &Path, recipe_name: &str, run_id: &str) -> Result<RunDir, ResultsError> {
        validate_recipe_name(run_id)?;
        let recipe_folder = create_recipe_folder(root, recipe_name)?;

        let path = recipe_folder.join(run_id);
        fs::create_dir(&path).map_err(|source| ResultsError::Io { action: "create folder", path: path.clone(), source })?;
        tracing::info!(path = %path.display(), "created run folder");
        Ok(RunDir { path, run_id: run_id.to_string() })
    }

    /// Returns the path of the fully resolved recipe, `recipe.yaml`.
    pub fn recipe_path(&self) -> PathBuf {
        self.path.join("recipe.yaml")
    }

    /// Returns the path of the long-format metrics table, `metrics.parquet`.
    pub fn metrics_path(&self) -> PathBuf {
        self.path.join("metrics.parquet")
    }

    /// Returns the path of the one-row summary table, `summary.parquet`.
    ///
    /// `Summary::write` puts `summary.csv` beside it.
    pub fn summary_path(&self) -> PathBuf {
        self.path.join("summary.parquet")
    }

    /// Returns the path of the folder for model and optimizer records, `checkpoint/`.
    ///
    /// `create` does not make this folder.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.path.join("checkpoint")
    }

    /// Returns the path of the run's log file, `run.log`.
    pub fn log_path(&self) -> PathBuf {
        self.path.join("run.log")
    }
}

/// Creates `root/recipe_name`, the folder of one recipe's runs, if it is missing.
fn create_recipe_folder(root: &Path, recipe_name: &str) -> Result<PathBuf, ResultsError> {
    validate_recipe_name(recipe_name)?;
    let recipe_folder = root.join(recipe_name);
    fs::create_dir_all(&recipe_folder).map_err(|source| ResultsError::Io {
        action: "create folder",
        path: recipe_folder.clone(),
        source,
    })?;
    Ok(recipe_folder)
}

/// Rejects a name that would not make exactly one new folder under the results root.
fn validate_recipe_name(name: &str) -> Result<(), ResultsError> {
    check_folder_name(name).map_err(|reason| ResultsError::InvalidRecipeName { name: name.to_owned(), reason })
}

/// Checks that `name` makes exactly one new folder when joined to a path, and returns the
/// reason when it does not.
pub fn check_folder_name(name: &str) -> Result<(), &'static str> {
    let reason = if name.is_empty() {
        Some("the name is empty")
    } else if name.contains('/') || name.contains('\\') {
        Some("the name contains a path separator")
    } else if name == "." || name.contains("..") {
        Some("the name is `.` or contains `..`")
    } else if name.chars().any(char::is_control) {
        Some("the name contains a control character")
    } else {
        None
    };

    match reason {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// Returns `YYYYmmdd-HHMMSS-xxxx` for the current UTC time and four random hex digits.
fn new_run_id() -> String {
    let time = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let suffix: u16 = rand::random();
    format!("{time}-{suffix:04x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_run_id(id: &str) -> bool {
        let parts: Vec<&str> = id.split('-').collect();
        parts.len() == 3
            && parts[0].len() == 8
            && parts[0].chars().all(|c| c.is_ascii_digit())
            && parts[1].len() == 6
            && parts[1].chars().all(|c| c.is_ascii_digit())
            && parts[2].len() == 4
            && parts[2]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    }

    #[test]
    fn create_makes_folder_under_recipe() {
        let root = tempfile::tempdir().unwrap();

        let run = RunDir::create(root.path(), "gpt2-instruct").unwrap();

        assert!(run.path.is_dir());
        assert_eq!(
            run.path,
            root.path().join("gpt2-instruct").join(&run.run_id)
        );
        assert!(is_run_id(&run.run_id), "{}", run.run_id);
    }

    #[test]
    fn runs_in_same_second_differ() {
        let root = tempfile::tempdir().unwrap();

        let runs: Vec<RunDir> = (0..20)
            .map(|_| RunDir::create(root.path(), "pretrain").unwrap())
            .collect();

        let mut ids: Vec<&str> = runs.iter().map(|run| run.run_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), runs.len());
    }

    #[test]
    fn standard_paths_are_inside_folder() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "classify").unwrap();

        assert_eq!(run.recipe_path(), run.path.join("recipe.yaml"));
        assert_eq!(run.metrics_path(), run.path.join("metrics.parquet"));
        assert_eq!(run.summary_path(), run.path.join("summary.parquet"));
        assert_eq!(run.checkpoint_dir(), run.path.join("checkpoint"));
        assert_eq!(run.log_path(), run.path.join("run.log"));
    }

    #[test]
    fn unsafe_recipe_names_rejected() {
        let root = tempfile::tempdir().unwrap();

        for name in [
            "",
            ".",
            "..",
            "a/b",
            "../escape",
            "a\\b",
            "x..y",
            "tab\there",
        ] {
            let result = RunDir::create(root.path(), name);
            assert!(
                matches!(result, Err(ResultsError::InvalidRecipeName { .. })),
                "{name:?} gave {result:?}"
            );
        }
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn recipe_name_error_names_value() {
        let error = validate_recipe_name("../escape").unwrap_err();

        assert!(error.to_string().contains("\"../escape\""), "{error}");
    }
}
