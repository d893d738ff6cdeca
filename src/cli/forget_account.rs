//! `tidings forget-account NAME`: removes the cache of an account the config no longer names
//! (renamed or removed), which `tidings sync` points out. Refuses while the account still has
//! mail to send or changes queued for its server, unless `--force`.

use super::{Context, ForgetAccountArgs};
use std::io::Write;
use std::process::ExitCode;

/// Cached accounts the config does not name; none when the config names no account at all
/// (then every cached account is shown, as before any account was configured).
pub fn stale_accounts(ctx: &Context, store: &crate::store::Store) -> anyhow::Result<Vec<String>> {
    if ctx.config.accounts.is_empty() {
        return Ok(Vec::new());
    }
    let configured: Vec<String> = ctx.config.accounts.keys().cloned().collect();
    Ok(store.accounts_not_in(&configured)?)
}

/// The accounts `list` shows: those the config names, or every cached one when it names none.
pub fn shown_accounts(ctx: &Context) -> Option<Vec<String>> {
    (!ctx.config.accounts.is_empty()).then(|| ctx.config.accounts.keys().cloned().collect())
}

pub fn forget_account(ctx: &Context, args: &ForgetAccountArgs) -> anyhow::Result<ExitCode> {
    let name = &args.name;
    if ctx.config.accounts.contains_key(name) && !args.force {
        anyhow::bail!(
            "account {name:?} is still in {}: remove it there first (the next sync would fetch it again), or pass --force",
            ctx.config_file_note()
        );
    }
    let mut store = ctx.open_store()?;
    let work = store.unfinished_work(name)?;
    if !work.is_empty() && !args.force {
        anyhow::bail!(
            "account {name:?} has {} unsent outbox mail and {} changes queued for its server; \
             send them first (`tidings outbox`), or pass --force to drop them",
            work.unsent,
            work.queued_ops
        );
    }
    let Some(gone) = store.forget_account(name)? else {
        anyhow::bail!("no cached account named {name:?}");
    };
    writeln!(
        std::io::stderr().lock(),
        "forgot account {name:?}: {} messages, {} outbox entries, {} tracked mails",
        gone.messages,
        gone.outbox,
        gone.tracked
    )?;
    Ok(ExitCode::SUCCESS)
}
