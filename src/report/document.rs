//! The content of a report, independent of its format: what `html` and `markdown` render.

use std::path::PathBuf;

use super::collect::SkippedFile;
use super::kv_cache::KvCacheSection;
use super::plot::Figure;
use super::table::Table;

/// Title of every report.
pub const TITLE: &str = "Run report";

/// Everything a report shows, in the order it shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The folders given on the command line.
    pub dirs: Vec<PathBuf>,
    /// Number of runs listed.
    pub run_count: usize,
    /// Number of listed runs that completed.
    pub completed_count: usize,
    /// The main table, one row per run.
    pub runs: Table,
    /// The `--group-by` table, when requested.
    pub groups: Option<GroupSection>,
    /// Loss curves, then accuracy curves.
    pub figures: Vec<Figure>,
    /// KV cache results of the runs that have them, in the order of the main table.
    pub kv_cache: Vec<KvCacheSection>,
    /// Damaged files and repeated runs that the report leaves out.
    pub skipped: Vec<SkippedFile>,
}

/// The `--group-by` table and its key.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSection {
    /// The column the runs are grouped by.
    pub key: String,
    /// One row per value of `key`.
    pub table: Table,
}

impl Report {
    /// Returns the line under the title, such as `3 runs (2 completed) from results/pretrain.`.
    pub fn overview(&self) -> String {
        let runs = match self.run_count {
            1 => "1 run".to_string(),
            count => format!("{count} runs"),
        };
        let dirs: Vec<String> = self.dirs.iter().map(|dir| dir.display().to_string()).collect();
        format!("{runs} ({} completed) from {}.", self.completed_count, dirs.join(", "))
    }

    /// Returns the figures of one metric, such as `loss`, with their indices in `figures`.
    pub fn figures_of<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = (usize, &'a Figure)> + 'a {
        self.figures.iter().enumerate().filter(move |(_, figure)| figure.metric == metric)
    }
}

/// Returns the heading of a metric's figures, such as `Loss curves`.
pub fn curves_heading(metric: &str) -> String {
    let mut chars = metric.chars();
    match chars.next() {
        Some(first) => format!("{}{} curves", first.to_uppercase(), chars.as_str()),
        None => "Curves".to_string(),
    }
}

/// Explains the marked cells of the main table.
pub const BEST_NOTE: &str =
    "The best value of each metric among the completed runs is marked: the lowest loss, perplexity, wall time and memory, the highest of the other metrics.";

/// Explains the cells of the group table.
pub const GROUP_NOTE: &str = "Each metric shows the mean (min – max) over the completed runs of the group.";
