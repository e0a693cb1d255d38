//! Run comparison: `runner report DIR...` reads the run folders under each DIR and writes one
//! report. It has a table of the hyperparameters that differ and the metrics (best values
//! marked), an optional `--group-by` table, loss and accuracy curves, and the KV cache
//! figures of `runner bench` runs.
//!
//! Every file is read on its own, so a damaged `summary.parquet` or `metrics.parquet` is
//! logged as a warning and listed under "Skipped files" while the other runs are still
//! reported. The report is HTML (one self-contained page) or Markdown (figures as SVG files
//! beside it), chosen by the extension of `--out`.

mod collect;
mod document;
mod error;
mod find;
mod format;
mod group;
mod html;
mod kv_cache;
mod markdown;
mod merge;
mod output;
mod plot;
mod table;

use std::collections::HashMap;
use std::path::PathBuf;

pub use error::ReportError;
pub use html::BEST_BACKGROUND;
pub use output::TableFormat;
pub use plot::LINE_COLORS;

use collect::{Collection, Run, read_runs};
use document::{GroupSection, Report};
use find::{Found, find_runs};
use group::{check_group_key, group_frame, group_table};
use kv_cache::read_kv_cache;
use merge::{LABEL, merge_summaries};
use output::{OutputKind, write_report, write_table};
use plot::{RunCurves, draw_curves};
use table::{column_roles, runs_table, text_values};

/// Command-line arguments of `runner report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Run folders, or folders searched recursively for them, such as `results`.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Report file: `.html` writes one self-contained page, `.md` a Markdown file with its
    /// figures as SVG files beside it. Its folder is created if missing.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// Add a table with one row per value of this summary column, such as `train.lr`: run
    /// counts and the mean, min and max of each metric over the completed runs.
    #[arg(long, value_name = "KEY")]
    pub group_by: Option<String>,
    /// Also write the merged summaries (every column, every run) beside the report as
    /// `<out stem>.csv` or `<out stem>.parquet`.
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
}

/// Result of a finished `runner report`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOutput {
    /// The files written, the report first.
    pub files: Vec<PathBuf>,
    /// Number of runs in the report.
    pub run_count: usize,
    /// Number of files left out as damaged or repeated.
    pub skipped_count: usize,
}

/// Reads the runs under `args.dirs` and writes the report and, with `--format`, the merged
/// table.
///
/// # Errors
///
/// Invalid input (see `ReportError::is_invalid_input`): an `--out` extension other than
/// `.html` or `.md`, a missing folder, no run found or none readable, an unknown
/// `--group-by` key. Other errors come from listing folders, polars, plotting or writing.
pub fn run_report(args: &ReportArgs) -> Result<ReportOutput, ReportError> {
    let kind = OutputKind::of(&args.out)?;
    if let Some(format) = args.format {
        output::table_path(&args.out, format)?;
    }
    let Found { summaries: summary_paths, unfinished } = find_runs(&args.dirs)?;
    match summary_paths.len() {
        1 => tracing::info!("reading 1 run summary"),
        count => tracing::info!("reading {count} run summaries"),
    }
    let Collection { runs, mut skipped } = read_runs(&summary_paths);
    for folder in unfinished {
        tracing::warn!("skipping {}: a run folder without summary.parquet, so the run has not finished or was killed", folder.display());
        let reason = "a run folder without summary.parquet: the run has not finished or was killed".to_string();
        skipped.push(collect::SkippedFile { path: folder, reason });
    }
    if runs.is_empty() {
        let skipped = skipped.into_iter().map(|file| file.path).collect();
        return Err(ReportError::NoReadableRuns { dirs: args.dirs.clone(), skipped });
    }

    let summaries: Vec<_> = runs.iter().map(|run| run.summary.clone()).collect();
    let merged = merge_summaries(&summaries).map_err(|source| ReportError::table("merge the summaries", source))?;
    let groups = match &args.group_by {
        Some(key) => {
            check_group_key(&merged, key)?;
            let metrics = column_roles(&merged).metrics;
            let grouped = group_frame(&merged, key, &metrics).map_err(|source| ReportError::table(format!("group the runs by {key}"), source))?;
            Some(GroupSection { key: key.clone(), table: group_table(&grouped, key, &metrics) })
        }
        None => None,
    };

    tracing::info!("drawing the curves of {} runs", runs.len());
    let ordered = in_table_order(&merged, &runs);
    let curves: Vec<RunCurves> = ordered.iter().map(|(label, run)| RunCurves { label, points: &run.curves }).collect();
    let figures = draw_curves(&curves)?;
    let kv_cache = ordered.iter().filter_map(|(label, run)| read_kv_cache(label, &run.dir, &mut skipped)).collect();

    let report = Report {
        dirs: args.dirs.clone(),
        run_count: runs.len(),
        completed_count: runs.iter().filter(|run| run.is_completed()).count(),
        runs: runs_table(&merged),
        groups,
        figures,
        kv_cache,
        skipped,
    };
    let mut files = write_report(&report, &args.out, kind)?;
    if let Some(format) = args.format {
        files.push(write_table(&merged, &args.out, format)?);
    }
    Ok(ReportOutput { files, run_count: report.run_count, skipped_count: report.skipped.len() })
}

/// Pairs each row of the merged table with its run and label, in the table's order.
fn in_table_order<'a>(merged: &polars::prelude::DataFrame, runs: &'a [Run]) -> Vec<(String, &'a Run)> {
    let by_id: HashMap<&str, &Run> = runs.iter().map(|run| (run.run_id.as_str(), run)).collect();
    let labels = text_values(merged, LABEL);
    text_values(merged, "run_id")
        .into_iter()
        .zip(labels)
        .filter_map(|(run_id, label)| {
            let run = by_id.get(run_id?.as_str())?;
            Some((label.unwrap_or_else(|| run.run_id.clone()), *run))
        })
        .collect()
}
