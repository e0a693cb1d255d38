//! Run folders and the result tables written into them.
//!
//! Every run writes `<root>/<recipe name>/<run id>/` with `recipe.yaml`, `metrics.parquet`,
//! `summary.parquet` (and `summary.csv`), stage outputs such as `responses.parquet`,
//! `checkpoint/` and `run.log`. Every table goes through a temporary file and a rename.

mod atomic;
mod error;
mod flatten;
mod metrics;
mod responses;
mod run_dir;
mod summary;
mod system;

pub use atomic::{write_atomic, write_csv, write_json, write_parquet};
pub use error::ResultsError;
pub use flatten::flatten_yaml;
pub use metrics::{MetricRow, MetricsLog};
pub use responses::{ResponseRow, write_responses};
pub use run_dir::{RunDir, check_folder_name};
pub use summary::{RunStatus, Summary};
pub use system::{git_commit, peak_rss_bytes};
