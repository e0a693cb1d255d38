//! End-to-end sweeps of tiny pretraining variants on the mirror data: shards, skipping,
//! failures, and one report over the shards.

mod common;

use std::path::{Path, PathBuf};

use common::{read_parquet, runner, stderr, stdout};

/// Writes an experiment over the real pretraining recipe with a tiny model, so each variant
/// runs in seconds, varied as `variation` says.
fn write_experiment(folder: &Path, variation: &str) -> PathBuf {
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/pretrain.yaml");
    let text = format!(
        "name: tiny-sweep\n\
         recipe: {}\n\
         set:\n  model.preset: gpt-micro\n  model.context_length: 64\n  pretrain.stride: 64\n  \
         train.epochs: 1\n  train.batch_size: 4\n  pretrain.sample_tokens: 4\n\
         {variation}",
        recipe.display()
    );
    let path = folder.join("tiny-sweep.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

const GRID: &str = "grid:\n  train.lr: [0.001, 0.002]\n  seed: [1, 2]\n";

fn run_folders(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root).unwrap().map(|entry| entry.unwrap().path()).collect();
    folders.sort();
    folders
}

fn column_strings(frame: &polars::prelude::DataFrame, name: &str) -> Vec<String> {
    let column = frame.column(name).unwrap_or_else(|_| panic!("column {name}"));
    column.str().unwrap().iter().map(|value| value.unwrap_or_default().to_string()).collect()
}

#[test]
fn shards_report_each_variant_once() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let experiment = write_experiment(work.path(), GRID);
    let experiment = experiment.to_str().unwrap();
    let shard_one = work.path().join("shard-1");
    let shard_two = work.path().join("shard-2");

    for (shard, out) in [("1/2", &shard_one), ("2/2", &shard_two)] {
        let output = runner(&["sweep", experiment, "--shard", shard, "--out", out.to_str().unwrap()], cache.path());
        assert!(output.status.success(), "shard {shard} failed: {}", stderr(&output));
        assert!(stdout(&output).contains("2 variants: 2 completed, 0 skipped, 0 failed"), "{}", stdout(&output));
        assert_eq!(run_folders(&out.join("tiny-sweep")).len(), 2);
    }

    let table = work.path().join("report.parquet");
    let report = work.path().join("report.html");
    let output = runner(
        &["report", shard_one.to_str().unwrap(), shard_two.to_str().unwrap(), "--out", report.to_str().unwrap(), "--format", "parquet"],
        cache.path(),
    );
    assert!(output.status.success(), "report failed: {}", stderr(&output));

    let merged = read_parquet(&table);
    let mut variants = column_strings(&merged, "variant");
    variants.sort();
    assert_eq!(
        variants,
        ["seed=1,train.lr=0.001", "seed=1,train.lr=0.002", "seed=2,train.lr=0.001", "seed=2,train.lr=0.002"]
    );
    let losses = merged.column("final_val_loss").unwrap().cast(&polars::prelude::DataType::Float64).unwrap();
    assert_eq!(losses.null_count(), 0, "every variant has its final validation loss");
    let html = std::fs::read_to_string(&report).unwrap();
    for variant in &variants {
        assert_eq!(html.matches(&format!(">{variant}<")).count(), 1, "{variant} listed once in the table");
    }
}

#[test]
fn rerun_finished_sweep_trains_nothing() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let experiment = write_experiment(work.path(), "grid:\n  train.lr: [0.001, 0.002]\n");
    let out = work.path().join("results");
    let arguments = ["sweep", experiment.to_str().unwrap(), "--out", out.to_str().unwrap()];

    let first = runner(&arguments, cache.path());
    assert!(first.status.success(), "{}", stderr(&first));
    let folders = run_folders(&out.join("tiny-sweep"));
    let summaries: Vec<Vec<u8>> = folders.iter().map(|folder| std::fs::read(folder.join("summary.parquet")).unwrap()).collect();

    let second = runner(&arguments, cache.path());

    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stdout(&second).contains("2 variants: 0 completed, 2 skipped, 0 failed"), "{}", stdout(&second));
    assert!(!stderr(&second).contains("train loss"), "no training step ran: {}", stderr(&second));
    assert_eq!(run_folders(&out.join("tiny-sweep")), folders);
    for (folder, before) in folders.iter().zip(&summaries) {
        assert_eq!(&std::fs::read(folder.join("summary.parquet")).unwrap(), before, "{} unchanged", folder.display());
    }
}

#[test]
fn failed_variant_recorded_sweep_continues() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let missing = work.path().join("missing.txt");
    let variants = format!(
        "variants:\n  - name: good\n  - name: missing-data\n    set: {{data.dataset: {}}}\n",
        missing.display()
    );
    let experiment = write_experiment(work.path(), &variants);
    let out = work.path().join("results");
    let arguments = ["sweep", experiment.to_str().unwrap(), "--out", out.to_str().unwrap()];

    let output = runner(&arguments, cache.path());

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).contains("2 variants: 1 completed, 0 skipped, 1 failed"), "{}", stdout(&output));
    let summaries: Vec<_> = run_folders(&out.join("tiny-sweep")).iter().map(|folder| read_parquet(&folder.join("summary.parquet"))).collect();
    let failed = summaries.iter().find(|summary| column_strings(summary, "status")[0] == "failed").expect("a failed summary");
    assert_eq!(column_strings(failed, "variant"), ["missing-data"]);
    assert!(column_strings(failed, "error")[0].contains("unknown dataset"), "{:?}", column_strings(failed, "error"));

    // A second sweep runs the failed variant again and skips the finished one.
    let again = runner(&arguments, cache.path());
    assert!(stdout(&again).contains("2 variants: 0 completed, 1 skipped, 1 failed"), "{}", stdout(&again));
}

#[test]
fn dry_run_lists_without_running() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let experiment = write_experiment(work.path(), GRID);
    let out = work.path().join("results");

    let output = runner(&["sweep", experiment.to_str().unwrap(), "--dry-run", "--shard", "2/2", "--out", out.to_str().unwrap()], cache.path());

    assert!(output.status.success(), "{}", stderr(&output));
    let listing = stdout(&output);
    assert_eq!(listing.lines().filter(|line| line.contains("  pending  ")).count(), 2, "{listing}");
    assert!(listing.contains("seed=1,train.lr=0.002"), "{listing}");
    assert!(listing.contains("    train.lr: 0.002"), "{listing}");
    assert!(!out.exists(), "a dry run creates no folder");
}

#[test]
fn unknown_override_key_rejected() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let experiment = write_experiment(work.path(), "grid:\n  train.learning_rate: [0.001]\n");

    let output = runner(&["sweep", experiment.to_str().unwrap(), "--out", work.path().join("results").to_str().unwrap()], cache.path());

    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("tiny-sweep.yaml, variant `train.learning_rate=0.001`: key `train.learning_rate`: unknown key"),
        "{message}"
    );
}

#[test]
fn empty_grid_rejected() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let experiment = write_experiment(work.path(), "grid: {}\n");

    let output = runner(&["sweep", experiment.to_str().unwrap(), "--dry-run"], cache.path());

    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("key `grid`: the grid is empty"), "{}", stderr(&output));
}

#[test]
fn out_of_range_shard_rejected() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let experiment = write_experiment(work.path(), GRID);

    for (shard, expected) in [("3/2", "shard 3 is past the shard count 2; use 1/2 to 2/2"), ("0/2", "shards count from 1, so the first is 1/2")] {
        let output = runner(&["sweep", experiment.to_str().unwrap(), "--shard", shard, "--dry-run"], cache.path());
        assert_eq!(output.status.code(), Some(2), "{shard}");
        assert!(stderr(&output).contains(expected), "{shard}: {}", stderr(&output));
    }
}

#[test]
fn variant_name_starting_with_dash_runs() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let experiment = write_experiment(work.path(), "variants:\n  - name: -x\n");
    let out = work.path().join("results");

    let output = runner(&["sweep", experiment.to_str().unwrap(), "--out", out.to_str().unwrap()], cache.path());

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("1 variants: 1 completed"), "{}", stdout(&output));
}

/// Returns whether a process whose command line contains `needle` is running.
#[cfg(target_os = "linux")]
fn process_running(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().filter_map(Result::ok).any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&cmdline).contains(needle)
    })
}

#[cfg(target_os = "linux")]
#[test]
fn killed_sweep_stops_its_variant() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // Long enough that the variant is still training when the sweep is killed.
    let experiment = write_experiment(work.path(), "variants:\n  - name: long\n    set: {train.epochs: 200}\n");
    let out = work.path().join("results");
    let mut sweep = std::process::Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(["sweep", experiment.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUNNER_DATA_MIRROR", common::mirror())
        .env("RUNNER_DATA_DIR", cache.path())
        .env("RUNNER_OFFLINE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let root = out.join("tiny-sweep");
    let started = std::time::Instant::now();
    let run_log = loop {
        let found = std::fs::read_dir(&root).ok().and_then(|mut entries| entries.next()).map(|entry| entry.unwrap().path().join("run.log"));
        if let Some(log) = found.filter(|log| log.exists()) {
            break log;
        }
        assert!(started.elapsed().as_secs() < 60, "the variant never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let run_id = run_log.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
    assert!(process_running(&format!("--run-id={run_id}")), "the variant runs in its own process");

    sweep.kill().unwrap();
    sweep.wait().unwrap();

    let stopped = std::time::Instant::now();
    while process_running(&format!("--run-id={run_id}")) {
        assert!(stopped.elapsed().as_secs() < 10, "the variant kept running after its sweep was killed");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!run_log.with_file_name("summary.parquet").exists(), "the killed variant wrote no summary");
}
