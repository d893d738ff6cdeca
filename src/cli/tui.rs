//! `tidings` with no subcommand: the inbox on the configured accounts. Also the entry point other
//! commands (e.g. `tidings demo`) use to open the inbox on a data dir of their own.

use super::Context;
use crate::app::runtime::{QueueingBackend, Runtime};
use crate::app::App;
use crate::config::{Config, Paths};
use crate::ui::{keymap::Keymap, theme, Ui};
use std::process::ExitCode;
use std::sync::Arc;

/// How to open the inbox.
pub struct TuiOptions {
    /// Start the background sync of the configured accounts (off for demo data).
    pub sync: bool,
}

pub fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    if ctx.config.accounts.is_empty() {
        eprintln!(
            "tidings: no accounts configured in {}.\n\
             Add one like this:\n\n\
             [accounts.work]\n\
             email = \"me@example.com\"\n\
             [accounts.work.imap]\n\
             host = \"imap.example.com\"\n\
             port = 993\n\
             user = \"me\"\n\
             password_command = \"pass show mail\"\n\n\
             or try the inbox on sample mail: tidings demo",
            ctx.paths.config_file.display()
        );
        return Ok(ExitCode::from(1));
    }
    run_tui(&ctx.paths, &ctx.config, TuiOptions { sync: true })
}

/// Opens the inbox on `paths.db_path()` and runs it until the user quits.
pub fn run_tui(paths: &Paths, config: &Config, opts: TuiOptions) -> anyhow::Result<ExitCode> {
    let keymap = Keymap::new(&config.keys)
        .map_err(|e| anyhow::anyhow!("{}: {e}", paths.config_file.display()))?;
    let (theme, theme_error) =
        theme::load(config.theme.as_deref(), paths.user_themes_dir.as_deref());
    // Opening once here applies migrations and records configured accounts before any task reads.
    let store = crate::store::Store::open(&paths.db_path())?;
    for (name, acc) in &config.accounts {
        store.ensure_account(name, &acc.email, acc.display_name.as_deref())?;
    }
    drop(store);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let runtime = Runtime::new(&paths.db_path(), tx, Arc::new(QueueingBackend::default()))
            .with_config(config);
        let mut app = App::new(config.ui.threads);
        app.now = chrono::Utc::now().timestamp();
        app.utc_offset_secs = chrono::Local::now().offset().local_minus_utc();
        app.last_error = theme_error;
        if opts.sync {
            tracing::info!("sync engine not in this build yet; showing the cache");
        }
        let ui = Ui::new(theme, keymap, config.ui.mouse);
        crate::ui::event_loop::run(app, ui, runtime, rx).await
    })?;
    Ok(ExitCode::SUCCESS)
}
