//! Sweeps: an experiment file expanded into variants, run one process each, or one shard of
//! them per CI job.
//!
//! Variant runs go to `<out>/<experiment name>/<variant id>/`. The id is a hash of the
//! variant's resolved recipe, so a second sweep finds the runs the first one finished and
//! skips them, and runs again those that failed or were killed.

mod error;
mod execute;
mod expand;
mod experiment;
mod shard;

use std::io::Write;
use std::path::PathBuf;

pub use error::SweepError;
pub use execute::{Outcome, VariantOutcome, VariantState, state_of};
pub use expand::{Variant, expand, short_value, variant_id};
pub use experiment::{Distribution, Experiment, ExperimentFile, NamedVariant, RandomSearch};
pub use shard::Shard;

use crate::recipe::parse_set_flag;

/// Command-line arguments of `runner sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct SweepArgs {
    /// The experiment file, such as experiments/lr-sweep.yaml.
    pub experiment: PathBuf,
    /// Run only shard I of N: variant k (from 0) belongs to shard k % N + 1, so N jobs with
    /// shards 1/N to N/N run every variant exactly once.
    #[arg(long, value_name = "I/N", default_value = "1/1", allow_hyphen_values = true)]
    pub shard: Shard,
    /// List the shard's variants, their ids, states and overrides, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Results root; a variant's run folder is OUT/<experiment name>/<variant id>.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Override a recipe key in every variant, for example `--set train.max_steps=2`;
    /// repeatable. It changes the variants' ids like any other value.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// The outcome of a sweep, one line per variant of the shard.
#[derive(Debug, Clone)]
pub struct SweepReport {
    /// The experiment's name.
    pub experiment: String,
    /// The folder that contains the variants' run folders.
    pub root: PathBuf,
    /// One line per variant of the shard, in expansion order.
    pub variants: Vec<VariantOutcome>,
}

impl SweepReport {
    /// Returns the number of variants that failed.
    pub fn failed(&self) -> usize {
        self.variants.iter().filter(|variant| matches!(variant.outcome, Outcome::Failed(_))).count()
    }
}

/// Expands the experiment and runs the variants of the shard that have not finished, writing
/// a listing to `out` instead when `args.dry_run` is set. A variant that fails is recorded
/// and the sweep goes on.
pub fn run_sweep(args: &SweepArgs, out: &mut dyn Write) -> Result<SweepReport, SweepError> {
    let experiment = Experiment::load(&args.experiment)?;
    let extra = args.overrides.iter().map(|raw| parse_set_flag(raw)).collect::<Result<Vec<_>, _>>()?;
    let variants = expand(&experiment, &extra)?;
    let root = args.out.join(&experiment.name);
    let selected: Vec<&Variant> = variants.iter().enumerate().filter(|(position, _)| args.shard.contains(*position)).map(|(_, variant)| variant).collect();

    tracing::info!(
        "experiment {}: {} variants, shard {} has {}; run folders in {}",
        experiment.name,
        variants.len(),
        args.shard,
        selected.len(),
        root.display()
    );
    if args.dry_run {
        write_listing(out, &selected, &root).map_err(|source| SweepError::Io { action: "write", path: PathBuf::from("standard output"), source })?;
        return Ok(SweepReport { experiment: experiment.name, root, variants: Vec::new() });
    }

    let mut outcomes = Vec::with_capacity(selected.len());
    for (number, variant) in selected.iter().enumerate() {
        let label = format!("[{}/{}] variant `{}` ({})", number + 1, selected.len(), variant.name, variant.id);
        let started = std::time::Instant::now();
        let outcome = match state_of(&root.join(&variant.id)) {
            VariantState::Finished => {
                tracing::info!("{label}: finished before, skipped");
                Outcome::Skipped
            }
            state => {
                tracing::info!("{label}: {}, running", state.as_str());
                // A variant that cannot even start (its folder cannot be removed, say) is one
                // failed variant, not the end of the sweep.
                let outcome = execute::run_variant(variant, &experiment.recipe, &args.out, &experiment.name)
                    .unwrap_or_else(|error| Outcome::Failed(error.to_string()));
                match &outcome {
                    Outcome::Failed(error) => tracing::warn!("{label} failed: {error}"),
                    _ => tracing::info!("{label}: completed"),
                }
                outcome
            }
        };
        let wall_time_s = match outcome {
            Outcome::Skipped => 0.0,
            _ => started.elapsed().as_secs_f64(),
        };
        outcomes.push(VariantOutcome { name: variant.name.clone(), id: variant.id.clone(), outcome, wall_time_s });
    }
    Ok(SweepReport { experiment: experiment.name, root, variants: outcomes })
}

/// Writes one block per variant: id, state and name, then the overrides that vary.
fn write_listing(out: &mut dyn Write, variants: &[&Variant], root: &std::path::Path) -> std::io::Result<()> {
    for variant in variants {
        let state = state_of(&root.join(&variant.id));
        writeln!(out, "{}  {:<10}  {}", variant.id, state.as_str(), variant.name.escape_debug())?;
        for (key, value) in &variant.varied {
            let value = match value {
                serde_yaml::Value::String(text) => text.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            writeln!(out, "    {key}: {value}")?;
        }
    }
    Ok(())
}

/// Formats the closing table of a sweep: id, outcome, wall time and name, then the errors.
pub fn format_report(report: &SweepReport) -> String {
    let mut text = String::new();
    for variant in &report.variants {
        let (outcome, error) = match &variant.outcome {
            Outcome::Skipped => ("skipped", None),
            Outcome::Completed => ("completed", None),
            Outcome::Failed(error) => ("failed", Some(error)),
        };
        text.push_str(&format!("{}  {outcome:<9}  {:>8.1} s  {}\n", variant.id, variant.wall_time_s, variant.name.escape_debug()));
        if let Some(error) = error {
            text.push_str(&format!("    error: {error}\n"));
        }
    }
    text.push_str(&format!(
        "{} variants: {} completed, {} skipped, {} failed; run folders in {}\n",
        report.variants.len(),
        report.variants.iter().filter(|variant| variant.outcome == Outcome::Completed).count(),
        report.variants.iter().filter(|variant| variant.outcome == Outcome::Skipped).count(),
        report.failed(),
        report.root.display()
    ));
    text
}
