//! Logging set-up: `tracing` to standard error, and a copy into the current run's `run.log`.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static RUN_LOG: Mutex<Option<File>> = Mutex::new(None);

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only where a person reads them: not in files, pipes or a sweep's capture.
    let colours = io::stderr().is_terminal();
    let terminal = tracing_subscriber::fmt::layer().with_writer(io::stderr).with_ansi(colours).with_target(false);
    let file = tracing_subscriber::fmt::layer().with_writer(RunLogWriter).with_ansi(false).with_target(false);
    let _ = tracing_subscriber::registry().with(filter).with(terminal).with(file).try_init();
}

/// Sends every later log line to `path` as well, until `detach_run_log`.
pub fn attach_run_log(path: &Path) {
    match File::create(path) {
        Ok(file) => *RUN_LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(file),
        Err(error) => tracing::warn!("cannot create run log {}: {error}", path.display()),
    }
}

/// Stops copying log lines into the run log.
pub fn detach_run_log() {
    *RUN_LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
}

#[derive(Clone, Copy)]
struct RunLogWriter;

impl Write for RunLogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match RUN_LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_mut() {
            Some(file) => file.write(bytes),
            None => Ok(bytes.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match RUN_LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for RunLogWriter {
    type Writer = RunLogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}
