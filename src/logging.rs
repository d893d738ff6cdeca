//! Logs go to a daily file under the data dir, never to the terminal the TUI draws on.

use std::path::Path;
use tracing_subscriber::EnvFilter;

/// Starts file logging; the guard must live as long as the program so buffered lines are flushed.
/// `TIDINGS_LOG` sets the filter (default `info`).
pub fn init(log_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    // Logs name senders and subjects: the user's alone, like the cache.
    crate::private_files::create_private_dir(log_dir).ok()?;
    let appender = tracing_appender::rolling::daily(log_dir, "tidings.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("TIDINGS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
