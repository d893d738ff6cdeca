//! `tidings followups`: the reminders set on sent mail, due first — who has not answered, and
//! when to chase them; settled ones (replied, opened, done) follow for a month. `--json` is one
//! array for scripts: `message_id`, `subject`, `to`, `due` (RFC 3339), `state`
//! (`pending` | `due` | `replied` | `opened` | `done`), `replied_by` and more.

use super::FollowupsArgs;
use super::{Context, RemindIfArg};
use crate::store::{RemindIf, Reminder};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

/// Settled reminders stay listed this long after they were due (without `--all`).
const SETTLED_SHOWN_SECONDS: i64 = 30 * 86_400;

impl From<RemindIfArg> for RemindIf {
    fn from(a: RemindIfArg) -> RemindIf {
        match a {
            RemindIfArg::NoReply => RemindIf::NoReply,
            RemindIfArg::NoOpen => RemindIf::NoOpen,
        }
    }
}

fn time(ts: i64) -> String {
    crate::clock::rfc3339(chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default())
}

fn reminder_json(r: &Reminder) -> serde_json::Value {
    json!({
        "account": r.account,
        "message_id": r.message_id,
        "subject": r.subject,
        "to": r.to,
        "sent_at": time(r.sent_at),
        "due": time(r.due_at),
        "state": r.state.as_str(),
        "remind_if": r.condition.as_str(),
        "replied_by": r.reply.as_ref().map(|p| p.replied_by.clone()),
        "replied_by_name": r.reply.as_ref().map(|p| p.replied_by_name.clone()),
        "replied_at": r.reply.as_ref().map(|p| time(p.replied_at)),
        "opened_at": r.opened_at.map(time),
        "notified_at": r.notified_at.map(time),
    })
}

pub fn followups(ctx: &Context, args: &FollowupsArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store()?;
    let own = |account: &str| -> Vec<String> {
        ctx.config
            .accounts
            .get(account)
            .map(|a| vec![a.email.clone()])
            .unwrap_or_default()
    };
    crate::mail::replies::backfill(&store, &own)?;
    let now = crate::clock::now().timestamp();
    let mut list = store.reminders(now)?;
    if let Some(a) = &args.account {
        list.retain(|r| &r.account == a);
    }
    if !args.all {
        list.retain(|r| r.state.is_open() || r.due_at > now - SETTLED_SHOWN_SECONDS);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let arr: Vec<_> = list.iter().map(reminder_json).collect();
        serde_json::to_writer(&mut out, &arr)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        writeln!(
            out,
            "No reminders. Send with `--remind-after 3d` (or C-r in the composer) to get one."
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let line = crate::sanitize::sanitize_line;
    for r in &list {
        let due = chrono::DateTime::from_timestamp(r.due_at, 0).unwrap_or_default();
        writeln!(
            out,
            "{:<8} {:<22} {:<30.30} {}",
            r.state.as_str(),
            crate::clock::format_local(due),
            line(&r.to),
            line(&r.subject)
        )?;
        let detail = crate::app::followups::reminder_label(r, now);
        if !r.state.is_open() || r.state == crate::store::ReminderState::Due {
            writeln!(out, "         {}", line(&detail))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
