//! `tidings watch`: the events pollers without the TUI — desktop notifications while the terminal
//! app is closed (docs/tracking.md has a systemd user unit), one poller per tracker the accounts
//! use. `--once` polls until caught up and exits, for scripts and tests. It may run beside the
//! TUI on the same data dir: each event notifies once in total (see `tracking::client::poller`).
//! It also sends scheduled mail and brings snoozed messages back (`super::schedule`), with or
//! without a tracker.
//! It also raises reminders that came due (`app::runtime::followups`), once in total likewise;
//! with no tracker configured it does only that.

use super::{Context, WatchArgs};
use crate::app::runtime::followups;
use crate::tracking::client::poller::{self, Poller, PollerConfig, PollerEvent, PollerState};
use std::io::Write;
use std::process::ExitCode;

/// The account events are stored under: the one named, else the first configured, else "default".
pub fn tracking_account(ctx: &Context, named: Option<&str>) -> anyhow::Result<String> {
    match named {
        Some(a) if !ctx.config.accounts.is_empty() && !ctx.config.accounts.contains_key(a) => {
            anyhow::bail!("no account {a:?} in the config")
        }
        Some(a) => Ok(a.to_string()),
        None => Ok(ctx
            .config
            .accounts
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "default".into())),
    }
}

pub fn watch(ctx: &Context, args: &WatchArgs) -> anyhow::Result<ExitCode> {
    let account = match args.account.as_deref() {
        Some(a) => Some(tracking_account(ctx, Some(a))?),
        None => None,
    };
    let configs =
        match PollerConfig::for_trackers(&ctx.config, account.as_deref(), ctx.paths.db_path()) {
            // Reminders need no tracker; a config file that is not there is still a mistake
            // worth naming (a watch unit with a mistyped path would otherwise idle for ever).
            Err(poller::PollError::NoBaseUrl) if ctx.paths.config_file.exists() => Vec::new(),
            c => c.map_err(|e| anyhow::anyhow!("{e} in {}", ctx.config_file_note()))?,
        };
    let db = ctx.paths.db_path();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        if args.once {
            // A tracker that cannot be reached must not hold back scheduled mail or snoozes,
            // which do not depend on it; its error is still the exit status.
            let polled = poll_each_once(configs).await;
            for line in super::schedule::round(&ctx.config, &ctx.paths.db_path())? {
                writeln!(std::io::stdout(), "{line}")?;
            }
            // Reminders wait for the events: an open not yet fetched may settle a no-open one.
            polled?;
            for n in followups::remind_round(&ctx.config, &db).await? {
                writeln!(std::io::stdout(), "{} — {}", n.summary, n.body)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        let (stop_scheduled, scheduled) = super::schedule::spawn(ctx);
        let (rtx, mut reminders) = tokio::sync::mpsc::unbounded_channel();
        let remind = followups::spawn_reminders(ctx.config.clone(), db, rtx);
        let polling = !configs.is_empty();
        let mut handle = poller::spawn_all(configs)?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                ev = handle.events.recv(), if polling => match ev {
                    Some(PollerEvent::Notification(n)) => {
                        writeln!(std::io::stdout(), "{} — {}", n.summary, n.body)?;
                    }
                    Some(PollerEvent::StateChanged(s)) => {
                        if s.state != PollerState::Starting {
                            eprintln!("tidings watch: {}", s.describe());
                        }
                    }
                    Some(PollerEvent::NewEvents { .. }) => {}
                    None => return Ok(ExitCode::FAILURE),
                },
                Some(n) = reminders.recv() => {
                    writeln!(std::io::stdout(), "{} — {}", n.summary, n.body)?;
                }
                // systemd stops the unit with SIGTERM: finish the current poll, exit 0.
                _ = tokio::signal::ctrl_c() => break,
                _ = terminate.recv() => break,
            }
        }
        handle.stop();
        remind.stop();
        let _ = handle.task.await;
        stop_scheduled.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = scheduled.join();
        let _ = remind.task.await;
        Ok(ExitCode::SUCCESS)
    })
}

/// One poll of each tracker until caught up, printing its notifications.
async fn poll_each_once(configs: Vec<PollerConfig>) -> anyhow::Result<()> {
    for config in configs {
        let mut p = Poller::new(config)?;
        let outcome = p.poll_once().await?;
        tracing::info!(
            events = outcome.new_events,
            notifications = outcome.notifications.len(),
            "watch --once caught up"
        );
        for n in &outcome.notifications {
            writeln!(std::io::stdout(), "{} — {}", n.summary, n.body)?;
        }
    }
    Ok(())
}
