//! `tidings` with no subcommand: the inbox on the configured accounts. Also the entry point other
//! commands (e.g. `tidings demo`) use to open the inbox on a data dir of their own.

use super::Context;
use crate::app::runtime::{OpsBackend, Runtime};
use crate::app::App;
use crate::app::Msg;
use crate::config::{Config, Paths};
use crate::mail::sync::{spawn_watcher, MailAccount, SyncEvent};
use crate::ui::{keymap::Keymap, theme, Ui};
use std::process::ExitCode;
use std::sync::Arc;

/// How to open the inbox.
pub struct TuiOptions {
    /// Start the background sync of the configured accounts (off for demo data).
    pub sync: bool,
    /// Folder changes made outside the app (the demo's SMTP receiver filing into INBOX).
    pub local_events: Option<tokio::sync::mpsc::UnboundedReceiver<SyncEvent>>,
}

pub fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    if ctx.config.accounts.is_empty() {
        eprintln!(
            "tidings: no accounts configured in {}.\n\
             Set one up with `tidings account add`, or add one like this:\n\n\
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
    run_tui(
        &ctx.paths,
        &ctx.config,
        TuiOptions {
            sync: true,
            local_events: None,
        },
    )
}

/// Opens the inbox on `paths.db_path()` and runs it until the user quits.
pub fn run_tui(paths: &Paths, config: &Config, opts: TuiOptions) -> anyhow::Result<ExitCode> {
    let keymap = Keymap::new(&config.keys)
        .map_err(|e| anyhow::anyhow!("{}: {e}", paths.config_file.display()))?;
    let (theme, theme_error) =
        theme::load(config.theme.as_deref(), paths.user_themes_dir.as_deref());
    let themes = theme::load_all(paths.user_themes_dir.as_deref());
    let history_file = paths.data_dir.join(HISTORY_FILE);
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
        let backend = if opts.sync {
            let watchers = start_watchers(paths, config, tx.clone());
            OpsBackend::new(Box::new(move || {
                for w in watchers.iter() {
                    w.sync_now();
                }
            }))
        } else {
            OpsBackend::local_only()
        };
        // An account with no IMAP server (the demo's, a send-only one) keeps its mail here only.
        let backend = backend.with_local_accounts(
            config
                .accounts
                .iter()
                .filter(|(_, a)| a.imap.is_none())
                .map(|(name, _)| name.clone()),
        );
        let runtime = Runtime::new(&paths.db_path(), tx.clone(), Arc::new(backend))
            .with_config(config)
            .config_file(&paths.config_file);
        let mut app = App::new(config.ui.threads);
        app.now = crate::clock::now().timestamp();
        app.utc_offset_secs = chrono::Local::now().offset().local_minus_utc();
        app.theme = match (&theme_error, &config.theme) {
            (None, Some(name)) => name.clone(),
            _ => "default".into(),
        };
        app.last_error = theme_error;
        app.themes = themes.keys().cloned().collect();
        app.command_history = read_history(&history_file);
        start_tracking(paths, config, tx.clone());
        crate::app::runtime::followups::start_in_app(config, paths.db_path(), tx.clone());
        if let Some(mut events) = opts.local_events {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(ev) = events.recv().await {
                    if tx.send(Msg::Sync(ev)).is_err() {
                        break;
                    }
                }
            });
        }
        app.superdata = config.superdata.clone();
        let ui = Ui::new(theme, keymap, config.ui.mouse).with_themes(themes);
        let app = crate::ui::event_loop::run(app, ui, runtime, rx).await?;
        write_history(&history_file, &app.command_history);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The `:` command line's history in the data dir, one line per command, oldest first.
const HISTORY_FILE: &str = "command_history";

/// The history kept from earlier sessions; none when there is no file or it cannot be read.
fn read_history(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut history = Vec::new();
    for line in text.lines() {
        crate::app::command::remember(&mut history, line);
    }
    history
}

/// Keeps the history for the next session. It holds searches, so only the user may read it;
/// failing to write it costs only the history, so it is logged, not fatal.
fn write_history(path: &std::path::Path, history: &[String]) {
    let mut text = history.join("\n");
    text.push('\n');
    if let Err(e) = crate::private_files::write_private_file(path, text.as_bytes()) {
        tracing::warn!("saving the command history to {}: {e}", path.display());
    }
}

/// One sync watcher per configured account (initial sync, then IDLE or polling, replaying queued
/// triage), each on its own thread; their events reach the app as `Msg::Sync`. Dropping the
/// handles stops the watchers.
fn start_watchers(
    paths: &Paths,
    config: &Config,
    app_tx: tokio::sync::mpsc::UnboundedSender<Msg>,
) -> Arc<Vec<crate::mail::sync::WatcherHandle>> {
    let (sync_tx, mut sync_rx) = tokio::sync::mpsc::unbounded_channel::<SyncEvent>();
    let watchers: Vec<_> = MailAccount::all(config, &paths.config_file)
        .into_iter()
        .map(|acc| spawn_watcher(acc, paths.db_path(), sync_tx.clone()))
        .collect();
    tokio::spawn(async move {
        while let Some(ev) = sync_rx.recv().await {
            if app_tx.send(Msg::Sync(ev)).is_err() {
                break;
            }
        }
    });
    Arc::new(watchers)
}

/// The bell's count now, and — when a tracker is configured (by the user, or by `tidings demo`
/// for its embedded tracker) — the events pollers as a background task. Their reports reach the
/// app as messages at once (a burst folded into one, see `app::activity::poller_msgs`): new events
/// refresh the marks, the bell, an open timeline and the activity pane; failures show in the
/// status line ("tracker unreachable: …, next try in 40 s").
fn start_tracking(
    paths: &Paths,
    config: &Config,
    tx: tokio::sync::mpsc::UnboundedSender<crate::app::Msg>,
) {
    use crate::app::Msg;
    use crate::tracking::client::poller::{self, PollerConfig};
    let db = paths.db_path();
    let unread = move |db: &std::path::Path| {
        crate::store::Store::open(db)
            .and_then(|s| s.unread_notification_count())
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .unwrap_or(0)
    };
    let _ = tx.send(Msg::Notifications {
        unread: unread(&db),
    });
    // One poller per tracker the accounts use; none configured is not an error here.
    let started = match PollerConfig::for_trackers(config, None, db.clone()) {
        Err(poller::PollError::NoBaseUrl) => return,
        configs => configs.and_then(poller::spawn_all),
    };
    let mut handle = match started {
        Ok(h) => h,
        Err(e) => {
            let _ = tx.send(Msg::Error(format!("tracking: {e}")));
            return;
        }
    };
    tokio::spawn(async move {
        while let Some(first) = handle.events.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = handle.events.try_recv() {
                batch.push(more);
            }
            for msg in crate::app::poller_msgs(batch) {
                if tx.send(msg).is_err() {
                    handle.stop();
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_history_outlives_the_session_privately_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HISTORY_FILE);
        assert!(read_history(&path).is_empty(), "no file: no history");
        let mut lines: Vec<String> = (0..crate::app::command::HISTORY_MAX + 5)
            .map(|i| format!("search {i}"))
            .collect();
        lines.push("theme light".into());
        write_history(&path, &lines);
        let back = read_history(&path);
        assert_eq!(back.len(), crate::app::command::HISTORY_MAX);
        assert_eq!(back.last().map(String::as_str), Some("theme light"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the user reads it: {mode:o}");
    }
}
