//! The CI sweep workflow: actionlint accepts it, and the experiment it runs by default expands.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{runner, stderr};

const WORKFLOW: &str = ".github/workflows/sweep.yml";

/// Finds actionlint: `RUNNER_ACTIONLINT`, then the copy `scripts/test` installs, then `PATH`.
fn actionlint() -> PathBuf {
    if let Some(path) = std::env::var_os("RUNNER_ACTIONLINT") {
        return PathBuf::from(path);
    }
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/bin/actionlint");
    if installed.is_file() {
        return installed;
    }
    PathBuf::from("actionlint")
}

fn lint(path: &Path) -> std::process::Output {
    Command::new(actionlint())
        .arg("-no-color")
        .arg(path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run actionlint ({error}); run scripts/test, which installs it from PyPI, or set RUNNER_ACTIONLINT")
        })
}

#[test]
fn actionlint_accepts_sweep_workflow() {
    let output = lint(Path::new(WORKFLOW));

    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "actionlint found problems:\n{report}{}", stderr(&output));
}

#[test]
fn actionlint_rejects_broken_copy() {
    // A reference to a matrix key that does not exist must fail, or the check above proves nothing.
    let folder = tempfile::tempdir().unwrap();
    let workflows = folder.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(WORKFLOW)).unwrap();
    let broken = workflows.join("sweep.yml");
    std::fs::write(&broken, text.replace("matrix.shard }}/", "matrix.shards }}/")).unwrap();

    let output = lint(&broken);

    assert!(!output.status.success(), "actionlint accepted an undefined matrix key");
    assert!(String::from_utf8_lossy(&output.stdout).contains("shards"), "{}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn default_experiment_expands_into_shards() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(WORKFLOW)).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let experiment = workflow["on"]["workflow_dispatch"]["inputs"]["experiment"]["default"].as_str().expect("a default experiment");
    let shards = workflow["jobs"]["sweep"]["strategy"]["matrix"]["shard"].as_sequence().expect("a list of shards").len();
    let cache = tempfile::tempdir().unwrap();

    let ids = |shard: &str| {
        let output = runner(&["sweep", experiment, "--shard", shard, "--dry-run"], cache.path());
        assert!(output.status.success(), "shard {shard}: {}", stderr(&output));
        let listing = String::from_utf8_lossy(&output.stdout).into_owned();
        listing.lines().filter(|line| !line.starts_with(' ')).map(|line| line[..12].to_string()).collect::<Vec<_>>()
    };

    let mut sharded: Vec<String> = (1..=shards).flat_map(|index| ids(&format!("{index}/{shards}"))).collect();
    let mut whole = ids("1/1");
    sharded.sort();
    whole.sort();
    assert_eq!(sharded, whole, "the shards run every variant exactly once");
}
