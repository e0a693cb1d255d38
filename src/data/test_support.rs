//! Helpers shared by the data module's unit tests.

use std::path::PathBuf;

/// Returns the offline data mirror folder named by `RUNNER_DATA_MIRROR`.
pub fn mirror_dir() -> PathBuf {
    let folder = std::env::var_os("RUNNER_DATA_MIRROR").expect(
        "set RUNNER_DATA_MIRROR to the folder of pre-downloaded datasets to run these tests",
    );
    PathBuf::from(folder)
}
