//! `tidings watch`: the events poller without the TUI — desktop notifications while the terminal
//! app is closed (docs/tracking.md has a systemd user unit). `--once` polls until caught up and
//! exits, for scripts and tests.

use super::{Context, WatchArgs};
use crate::tracking::poller::{self, Poller, PollerConfig, PollerEvent, PollerState};
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
    let account = tracking_account(ctx, args.account.as_deref())?;
    let config = PollerConfig::from_config(
        &account,
        &ctx.config.tracking,
        &ctx.config.notifications,
        ctx.paths.db_path(),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        if args.once {
            let mut p = Poller::new(config)?;
            let outcome = p.poll_once().await?;
            tracing::info!(
                events = outcome.new_events,
                notifications = outcome.notifications.len(),
                "watch --once caught up"
            );
            for n in &outcome.notifications {
                println!("{} — {}", n.summary, n.body);
            }
            return Ok(ExitCode::SUCCESS);
        }
        let mut handle = poller::spawn(config)?;
        loop {
            tokio::select! {
                ev = handle.events.recv() => match ev {
                    Some(PollerEvent::Notification(n)) => println!("{} — {}", n.summary, n.body),
                    Some(PollerEvent::StateChanged(s)) => {
                        if s.state != PollerState::Starting {
                            eprintln!("tidings watch: {}", s.describe());
                        }
                    }
                    Some(PollerEvent::NewEvents { .. }) => {}
                    None => return Ok(ExitCode::FAILURE),
                },
                _ = tokio::signal::ctrl_c() => {
                    handle.stop();
                    let _ = handle.task.await;
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    })
}
