//! Logs: the inbox and the mail commands write a daily file under the data dir, never to the
//! terminal the TUI draws on; the tracker server writes to stderr (journald keeps it) or to a
//! file it is told to use.

use std::path::Path;
use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    filter_or("info")
}

fn filter_or(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("TIDINGS_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Starts file logging; the guard must live as long as the program so buffered lines are flushed.
/// `TIDINGS_LOG` sets the filter (default `info`).
pub fn init(log_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    // Logs name senders and subjects: the user's alone, like the cache.
    crate::private_files::create_private_dir(log_dir).ok()?;
    let appender = tracing_appender::rolling::daily(log_dir, "tidings.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Logging for a server: to `file` (appended to, created 0600) when given, else to stderr, where
/// journald or the supervisor keeps it. Written synchronously, so a line logged just before the
/// process exits is not lost.
pub fn init_server(file: Option<&Path>) -> std::io::Result<()> {
    // PostgreSQL's notices ("relation … already exists, skipping" at every start) are not news.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter_or("info,tokio_postgres::connection=warn"))
        .with_ansi(false);
    // A second initialisation (tests running several servers in one process) keeps the first.
    match file {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(path)?;
            let _ = builder.with_writer(std::sync::Mutex::new(file)).try_init();
        }
        None => {
            let _ = builder.with_writer(std::io::stderr).try_init();
        }
    }
    Ok(())
}
