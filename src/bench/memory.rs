//! Peak resident memory for one measurement.
//!
//! Linux keeps one high-water mark of resident memory per process (`VmHWM`), so without a
//! reset every row of a benchmark would report the peak of the largest row before it. Writing
//! `5` to `/proc/self/clear_refs` (Linux 4.0 and later, see proc(5)) sets the mark back to the
//! current resident size.

/// Sets this process's peak resident memory back to its current resident memory.
///
/// Returns false where that is not possible (not Linux, or `/proc` not writable); the next
/// `peak_rss_bytes` then still returns the peak since the process started.
pub fn reset_peak_rss() -> bool {
    #[cfg(target_os = "linux")]
    {
        match std::fs::write("/proc/self/clear_refs", b"5") {
            Ok(()) => true,
            Err(error) => {
                tracing::debug!(%error, "cannot reset the peak RSS through /proc/self/clear_refs");
                false
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
