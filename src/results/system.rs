//! Facts about the machine and the source tree that a run summary records.

use std::path::Path;
use std::process::Command;

/// Returns the peak resident memory of this process in bytes.
///
/// On Linux this is `VmHWM` from `/proc/self/status`. Other platforms return `None`.
pub fn peak_rss_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        parse_vm_hwm(&status)
    }

    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Returns the commit of the git repository in the current folder.
///
/// `-dirty` is appended when `git status --porcelain` lists changes, so a summary shows that
/// the run's code may differ from the commit. Returns `None` when git is missing, the folder
/// is not in a repository, or the repository has no commit yet.
pub fn git_commit() -> Option<String> {
    git_commit_in(Path::new("."))
}

/// Returns the commit of the repository that contains `folder`, as `git_commit` does.
fn git_commit_in(folder: &Path) -> Option<String> {
    let commit = run_git(folder, &["rev-parse", "HEAD"])?;
    let commit = commit.trim();

    match run_git(folder, &["status", "--porcelain"]) {
        Some(changes) if !changes.trim().is_empty() => Some(format!("{commit}-dirty")),
        Some(_) => Some(commit.to_owned()),
        None => {
            tracing::warn!(
                commit,
                "`git status` failed, so the summary cannot mark uncommitted changes"
            );
            Some(commit.to_owned())
        }
    }
}

/// Runs git in `folder` and returns its standard output, or `None` if it failed.
fn run_git(folder: &Path, args: &[&str]) -> Option<String> {
    let output = match Command::new("git").args(args).current_dir(folder).output() {
        Ok(output) => output,
        Err(error) => {
            tracing::debug!(%error, "failed to start git");
            return None;
        }
    };

    if !output.status.success() {
        tracing::debug!(
            ?args,
            stderr = %String::from_utf8_lossy(&output.stderr).trim(),
            "git failed"
        );
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

/// Reads the `VmHWM:   123456 kB` line of `/proc/self/status` as bytes.
#[cfg(any(target_os = "linux", test))]
fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn git(folder: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .current_dir(folder)
            .output()
            .unwrap()
            .status;
        assert!(status.success(), "git {args:?} failed");
    }

    #[test]
    fn vm_hwm_parsed_as_bytes() {
        let status =
            "Name:\trunner\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  1000 kB\n";

        assert_eq!(parse_vm_hwm(status), Some(123_456 * 1024));
        assert_eq!(parse_vm_hwm("Name:\trunner\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_rss_positive_on_linux() {
        let bytes = peak_rss_bytes().unwrap();

        assert!(bytes > 1024 * 1024, "{bytes}");
    }

    #[test]
    fn git_commit_clean_then_dirty() {
        let folder = tempfile::tempdir().unwrap();
        git(folder.path(), &["init", "--quiet"]);
        fs::write(folder.path().join("recipe.yaml"), "name: a\n").unwrap();
        git(folder.path(), &["add", "recipe.yaml"]);
        git(folder.path(), &["commit", "--quiet", "-m", "Add recipe"]);

        let clean = git_commit_in(folder.path()).unwrap();
        assert_eq!(clean.len(), 40, "{clean}");
        assert!(clean.chars().all(|c| c.is_ascii_hexdigit()), "{clean}");

        fs::write(folder.path().join("recipe.yaml"), "name: b\n").unwrap();
        assert_eq!(git_commit_in(folder.path()), Some(format!("{clean}-dirty")));
    }

    #[test]
    fn git_commit_none_outside_repository() {
        let folder = tempfile::tempdir().unwrap();

        // NOTE: assumes the system temporary folder is not inside a git repository.
        assert_eq!(git_commit_in(folder.path()), None);
    }

    #[test]
    fn git_commit_none_before_first_commit() {
        let folder = tempfile::tempdir().unwrap();
        git(folder.path(), &["init", "--quiet"]);

        assert_eq!(git_commit_in(folder.path()), None);
    }
}
