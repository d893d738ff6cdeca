//! `tidings snooze ID --until TIME` and `tidings unsnooze ID`: put a received message away until a
//! time, or bring it back now. The message moves to the Snoozed folder on the server; whichever
//! tidings process runs at that time (the TUI or `tidings watch`) brings it back, unread, on top.

use super::Context;
use crate::clock;
use crate::mail::snooze;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SnoozeArgs {
    /// Message id, as `tidings list` prints it
    pub id: i64,
    /// When it comes back: "2026-12-08 09:00" (local time), RFC 3339, "tomorrow 09:00", "in 2h"
    #[arg(long, value_name = "TIME")]
    pub until: String,
    /// One JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct UnsnoozeArgs {
    /// Message id of the snoozed message (`tidings list --folder Snoozed`)
    pub id: i64,
}

pub fn snooze(ctx: &Context, args: &SnoozeArgs) -> anyhow::Result<ExitCode> {
    let now = clock::now();
    let until = clock::parse_time(&args.until, now)?;
    anyhow::ensure!(
        until > now,
        "{} is not in the future: a snooze needs a time to come back at",
        clock::format_local(until)
    );
    let store = ctx.open_store()?;
    let row = snooze::snooze(
        &ctx.config,
        &store,
        args.id,
        until.timestamp(),
        now.timestamp(),
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "message_id": row.message_id,
            "account": row.account,
            "folder": row.folder,
            "returns_to": row.from_folder,
            "until": clock::rfc3339(until),
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "snoozed until {} (back in {} then, unread)",
            clock::format_local(until),
            crate::sanitize::sanitize_line(&crate::mail::mailbox_name::display(&row.from_folder))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn unsnooze(ctx: &Context, args: &UnsnoozeArgs) -> anyhow::Result<ExitCode> {
    let mut store = ctx.open_store()?;
    let r = snooze::unsnooze(&ctx.config, &mut store, args.id, clock::now().timestamp())?;
    let folder = crate::mail::mailbox_name::display(&r.snooze.from_folder).into_owned();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "back in {}{}",
        crate::sanitize::sanitize_line(&folder),
        if r.already_back {
            " (it had left the Snoozed folder already)"
        } else {
            ""
        }
    )?;
    Ok(ExitCode::SUCCESS)
}
