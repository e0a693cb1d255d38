//! Running a shard of variants: skip the finished ones, run the rest one process each, and
//! record every failure in the variant's run folder.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use polars::prelude::{ParquetReader, SerReader};

use super::{SweepError, Variant};
use crate::results::RunDir;
use crate::run::{RunIdentity, record_failure};

/// The state of a variant's run folder before the sweep starts it.
#[derive(Debug, Clone, PartialEq)]
pub enum VariantState {
    /// No run folder yet.
    Pending,
    /// A completed run: the sweep skips it.
    Finished,
    /// A failed run, with its error: the sweep runs it again.
    Failed(String),
    /// A run folder without a readable summary, from a run that was killed: run again.
    Incomplete,
}

impl VariantState {
    /// Returns the state as one word for listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            VariantState::Pending => "pending",
            VariantState::Finished => "completed",
            VariantState::Failed(_) => "failed",
            VariantState::Incomplete => "incomplete",
        }
    }
}

/// The outcome of one variant in this sweep.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It had finished before; nothing ran.
    Skipped,
    /// It ran and completed.
    Completed,
    /// It ran and failed with this error.
    Failed(String),
}

/// One line of the sweep's closing table.
#[derive(Debug, Clone)]
pub struct VariantOutcome {
    pub name: String,
    pub id: String,
    pub outcome: Outcome,
    /// Wall time of this sweep's run of it; zero when skipped.
    pub wall_time_s: f64,
}

/// Reads a variant's state from its run folder `dir`.
pub fn state_of(dir: &Path) -> VariantState {
    if !dir.exists() {
        return VariantState::Pending;
    }
    match read_status(&dir.join("summary.parquet")) {
        Some((status, _)) if status == "completed" => VariantState::Finished,
        Some((_, error)) => VariantState::Failed(error.unwrap_or_default()),
        None => VariantState::Incomplete,
    }
}

/// Returns the `status` and `error` of a summary, or `None` when there is no readable one.
fn read_status(path: &Path) -> Option<(String, Option<String>)> {
    let frame = ParquetReader::new(File::open(path).ok()?).finish().ok()?;
    let status = frame.column("status").ok()?.str().ok()?.get(0)?.to_string();
    let error = frame.column("error").ok().and_then(|column| column.str().ok()?.get(0).map(str::to_string));
    Some((status, error))
}

fn flag(name: &str, value: &std::ffi::OsStr) -> std::ffi::OsString {
    let mut flag = std::ffi::OsString::from(format!("{name}="));
    flag.push(value);
    flag
}

/// Makes the child receive SIGTERM when the sweep ends, so killing a sweep never leaves a
/// variant training in a folder that the next sweep would remove and start again.
#[cfg(target_os = "linux")]
fn end_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;

    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec, and calls only prctl, getppid and _exit,
    // which are async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The sweep may have ended before prctl ran; then no signal would ever come.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// NOTE: outside Linux a child outlives a killed sweep; Ctrl-C still reaches both.
#[cfg(not(target_os = "linux"))]
fn end_with_parent(_command: &mut Command) {}

/// Runs `variant` as `runner run` in a child process, so that each variant has its own memory
/// peak and a crash ends only that variant, and returns how it ended.
pub fn run_variant(variant: &Variant, recipe_path: &Path, out_root: &Path, experiment: &str) -> Result<Outcome, SweepError> {
    let dir = out_root.join(experiment).join(&variant.id);
    if dir.exists() {
        tracing::info!("removing the unfinished run folder {} to run it again", dir.display());
        std::fs::remove_dir_all(&dir).map_err(|source| SweepError::Io { action: "remove", path: dir.clone(), source })?;
    }

    let program = std::env::current_exe().map_err(|source| SweepError::Io { action: "locate", path: PathBuf::from("runner"), source })?;
    // Every value goes in `--flag=value` form and the recipe after `--`, so a name or path
    // that starts with `-` is not read as a flag.
    let mut command = Command::new(&program);
    command.arg("run").arg(flag("--out", out_root.as_os_str()));
    command.arg(format!("--run-id={}", variant.id)).arg(format!("--variant={}", variant.name));
    for argument in variant.set_arguments() {
        command.arg(format!("--set={argument}"));
    }
    command.arg("--").arg(recipe_path);
    end_with_parent(&mut command);

    let started = Instant::now();
    let mut child = command.stdout(Stdio::inherit()).stderr(Stdio::piped()).spawn().map_err(|source| SweepError::Spawn {
        program: program.display().to_string(),
        variant: variant.name.clone(),
        source,
    })?;

    // Pass the child's log through and keep its last `error:` line, which is all there is to
    // record when it fails before it has a run folder.
    let mut last_error = None;
    if let Some(stderr) = child.stderr.take() {
        let mut terminal = std::io::stderr();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(terminal, "{line}");
            if let Some(message) = line.strip_prefix("error: ") {
                last_error = Some(message.to_string());
            }
        }
    }
    let status = child.wait().map_err(|source| SweepError::Io { action: "wait for", path: program.clone(), source })?;

    match state_of(&dir) {
        VariantState::Finished => Ok(Outcome::Completed),
        VariantState::Failed(error) => Ok(Outcome::Failed(error)),
        VariantState::Pending | VariantState::Incomplete => {
            let error = last_error.unwrap_or_else(|| format!("the run process stopped ({status}) before it wrote a summary"));
            let identity = RunIdentity { run_id: Some(variant.id.clone()), variant: Some(variant.name.clone()) };
            let run_dir = match dir.exists() {
                true => RunDir { path: dir.clone(), run_id: variant.id.clone() },
                false => RunDir::create_with_id(out_root, experiment, &variant.id).map_err(crate::run::RunError::from)?,
            };
            record_failure(&variant.recipe, &run_dir, &identity, &error, started.elapsed().as_secs_f64())?;
            Ok(Outcome::Failed(error))
        }
    }
}
