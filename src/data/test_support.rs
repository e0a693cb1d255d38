//! Helpers shared by the data module's unit tests.

use std::path::PathBuf;

/// Returns the offline data mirror: `RUNNER_DATA_MIRROR`, or the mirror folder beside the
/// checkout that CI provides.
pub fn mirror_dir() -> PathBuf {
    match std::env::var_os("RUNNER_DATA_MIRROR") {
        Some(folder) => PathBuf::from(folder),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}
