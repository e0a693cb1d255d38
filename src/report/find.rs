//! Discovery of run folders: every `summary.parquet` under the folders of the command line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::ReportError;

/// The file that marks a run folder.
pub const SUMMARY_FILE: &str = "summary.parquet";

/// The run folders a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The canonical path of every `summary.parquet`, sorted.
    pub summaries: Vec<PathBuf>,
    /// Run folders with `recipe.yaml` and `run.log` but no summary: runs that have not
    /// finished or were killed.
    pub unfinished: Vec<PathBuf>,
}

/// Returns the canonical path of every `summary.parquet` under `dirs`, sorted and without
/// repeats so a folder passed twice under different names counts once, and the run folders
/// that have no summary.
///
/// Each folder is searched recursively and may itself be a run folder. Symbolic links to
/// folders are followed, and a folder reached twice is searched once, so a link loop ends.
///
/// # Errors
///
/// `MissingDir` or `NotADir` for a path of `dirs` that is not a folder, `ReadDir` when a folder
/// cannot be listed, and `NoRuns` when no folder contains a summary.
pub fn find_runs(dirs: &[PathBuf]) -> Result<Found, ReportError> {
    for dir in dirs {
        if !dir.exists() {
            return Err(ReportError::MissingDir { path: dir.clone() });
        }
        if !dir.is_dir() {
            return Err(ReportError::NotADir { path: dir.clone() });
        }
    }

    let mut visited = BTreeSet::new();
    let mut summaries = BTreeSet::new();
    let mut unfinished = BTreeSet::new();
    for dir in dirs {
        walk(dir, &mut visited, &mut summaries, &mut unfinished)?;
    }

    if summaries.is_empty() {
        return Err(ReportError::NoRuns { dirs: dirs.to_vec() });
    }
    Ok(Found { summaries: summaries.into_iter().collect(), unfinished: unfinished.into_iter().collect() })
}

fn walk(dir: &Path, visited: &mut BTreeSet<PathBuf>, summaries: &mut BTreeSet<PathBuf>, unfinished: &mut BTreeSet<PathBuf>) -> Result<(), ReportError> {
    let read_dir_error = |source| ReportError::ReadDir { path: dir.to_owned(), source };
    let canonical = dir.canonicalize().map_err(read_dir_error)?;
    if !visited.insert(canonical.clone()) {
        return Ok(());
    }

    let mut subfolders = Vec::new();
    let mut has_summary = false;
    for entry in std::fs::read_dir(&canonical).map_err(read_dir_error)? {
        let path = entry.map_err(read_dir_error)?.path();
        // `is_dir` and `is_file` follow symbolic links.
        if path.is_dir() {
            subfolders.push(path);
        } else if path.file_name().is_some_and(|name| name == SUMMARY_FILE) && path.is_file() {
            let file = path.canonicalize().map_err(|source| ReportError::ReadDir { path: path.clone(), source })?;
            summaries.insert(file);
            has_summary = true;
        }
    }
    if !has_summary && canonical.join("recipe.yaml").is_file() && canonical.join("run.log").is_file() {
        unfinished.insert(canonical.clone());
    }

    subfolders.sort();
    for subfolder in subfolders {
        walk(&subfolder, visited, summaries, unfinished)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"").unwrap();
    }

    #[test]
    fn run_folder_without_summary_is_unfinished() {
        let root = tempfile::tempdir().unwrap();
        touch(&root.path().join("sweep/done/summary.parquet"));
        touch(&root.path().join("sweep/done/recipe.yaml"));
        touch(&root.path().join("sweep/done/run.log"));
        touch(&root.path().join("sweep/killed/recipe.yaml"));
        touch(&root.path().join("sweep/killed/run.log"));

        let found = find_runs(&[root.path().to_owned()]).unwrap();

        assert_eq!(found.summaries.len(), 1);
        assert_eq!(found.unfinished, [root.path().join("sweep/killed").canonicalize().unwrap()]);
    }

    #[test]
    fn finds_nested_and_direct_runs() {
        let root = tempfile::tempdir().unwrap();
        let first = root.path().join("pretrain/run-a/summary.parquet");
        let second = root.path().join("instruct/run-b/summary.parquet");
        touch(&first);
        touch(&second);
        touch(&root.path().join("pretrain/run-a/metrics.parquet"));

        let found = find_runs(&[root.path().to_owned()]).unwrap().summaries;
        assert_eq!(found.len(), 2, "{found:?}");

        let direct = find_runs(&[root.path().join("pretrain/run-a")]).unwrap().summaries;
        assert_eq!(direct, [first.canonicalize().unwrap()]);
    }

    #[test]
    fn same_folder_twice_counts_once() {
        let root = tempfile::tempdir().unwrap();
        touch(&root.path().join("run-a/summary.parquet"));
        let other_name = root.path().join("run-a/../run-a");

        let found = find_runs(&[root.path().to_owned(), other_name]).unwrap().summaries;

        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[cfg(unix)]
    #[test]
    fn link_loop_ends() {
        let root = tempfile::tempdir().unwrap();
        touch(&root.path().join("run-a/summary.parquet"));
        std::os::unix::fs::symlink(root.path(), root.path().join("run-a/loop")).unwrap();

        let found = find_runs(&[root.path().to_owned()]).unwrap().summaries;

        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn missing_folder_rejected() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("nope");

        let error = find_runs(std::slice::from_ref(&missing)).unwrap_err();

        assert!(matches!(&error, ReportError::MissingDir { path } if *path == missing), "{error:?}");
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn file_argument_rejected() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("summary.parquet");
        touch(&file);

        let error = find_runs(&[file]).unwrap_err();

        assert!(matches!(error, ReportError::NotADir { .. }), "{error:?}");
    }

    #[test]
    fn empty_folder_has_no_runs() {
        let root = tempfile::tempdir().unwrap();

        let error = find_runs(&[root.path().to_owned()]).unwrap_err();

        assert!(matches!(error, ReportError::NoRuns { .. }), "{error:?}");
        assert!(error.is_invalid_input());
    }
}
