//! `list`, and the other commands that read or change mail.

use super::{Context, FilterArg, FlagArgs, IdsArgs, ListArgs, MoveArgs, SyncArgs};
use crate::mail::mailbox_name::{self, FindError};
use crate::mail::ops::Action;
use crate::mail::sync::{MailAccount, SyncEvent};
use crate::store::{ListFilter, ListQuery, MessageSummary};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

pub fn rfc3339(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339()
}

fn display_from(m: &MessageSummary) -> String {
    match (m.from_name.is_empty(), m.from_addr.is_empty()) {
        (false, false) => format!("{} <{}>", m.from_name, m.from_addr),
        (true, _) => m.from_addr.clone(),
        (false, true) => m.from_name.clone(),
    }
}

pub fn summary_json(m: &MessageSummary) -> serde_json::Value {
    json!({
        "id": m.id,
        "account": m.account,
        "folder": mailbox_name::display(&m.folder),
        "uid": m.uid,
        "message_id": m.message_id,
        "from": display_from(m),
        "from_name": m.from_name,
        "from_addr": m.from_addr,
        "to": m.to,
        "cc": m.cc,
        "subject": m.subject,
        "date": rfc3339(m.date),
        "seen": m.seen,
        "flagged": m.flagged,
        "answered": m.answered,
        "has_attachments": m.has_attachments,
        "in_reply_to": m.in_reply_to,
    })
}

pub fn list(ctx: &Context, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store()?;
    let filter = match args.filter {
        None => ListFilter::All,
        Some(FilterArg::Unread) => ListFilter::Unread,
        Some(FilterArg::Flagged) => ListFilter::Flagged,
        Some(FilterArg::Tracked) => return list_tracked(ctx, &store, args),
    };
    let q = ListQuery {
        account: args.account.clone(),
        // A search spans every folder (its `folder:` narrows it) unless --folder says which.
        folder: match (&args.folder, &args.search) {
            (Some(f), _) => Some(folder_wire_name(&store, args.account.as_deref(), f)?),
            (None, Some(_)) => None,
            (None, None) => Some(folder_wire_name(&store, args.account.as_deref(), "INBOX")?),
        },
        filter,
        search: args.search.clone(),
        limit: args.limit,
        offset: 0,
    };
    if let Some(acc) = &args.account {
        store.account_id(acc)?;
    }
    let among = match &args.account {
        Some(_) => None,
        None => super::forget_account::shown_accounts(ctx),
    };
    if let Some(search) = &q.search {
        for problem in crate::store::SearchQuery::parse(search).problems {
            eprintln!("tidings: search: {problem}");
        }
    }
    let msgs = store.list_messages_among(&q, among.as_deref())?;
    if q.search.is_some() {
        let missing = store.count_without_body(args.account.as_deref())?;
        if let Some(note) = crate::mail::bodies::search_coverage_note(missing) {
            eprintln!(
                "tidings: {note} (`tidings sync` with [sync] bodies = \"all\" downloads them)"
            );
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let arr: Vec<_> = msgs.iter().map(summary_json).collect();
        serde_json::to_writer(&mut out, &arr)?;
        writeln!(out)?;
    } else {
        for m in &msgs {
            let flags = format!(
                "{}{}{}",
                if m.seen { ' ' } else { 'N' },
                if m.flagged { '!' } else { ' ' },
                if m.has_attachments { '@' } else { ' ' }
            );
            // Results from several folders say where each one is.
            let folder = if q.folder.is_none() {
                format!("[{}] ", mailbox_name::display(&m.folder))
            } else {
                String::new()
            };
            writeln!(
                out,
                "{:>7} {} {:<16} {:<24.24} {folder}{}",
                m.id,
                flags,
                rfc3339(m.date).get(..16).unwrap_or(""),
                display_from(m),
                m.subject
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The wire name of the folder `--folder` names, as shown ("Архив") or as on the server
/// (`&BBAEQARFBDgEMg-`), in the named account or any cached one. Before the first sync (no
/// folders cached) the name is taken as given and lists nothing; after it, a name no account
/// has is an error naming the folders there are.
fn folder_wire_name(
    store: &crate::store::Store,
    account: Option<&str>,
    wanted: &str,
) -> anyhow::Result<String> {
    let accounts = match account {
        Some(a) => vec![a.to_string()],
        None => store.account_names()?,
    };
    let mut wire: Vec<String> = Vec::new();
    let mut known: Vec<String> = Vec::new();
    for a in accounts {
        let folders = store.folders(store.account_id(&a)?)?;
        known.extend(
            folders
                .iter()
                .map(|f| mailbox_name::display(&f.name).into_owned()),
        );
        match mailbox_name::find(&folders, wanted) {
            Ok(f) => wire.push(f.name.clone()),
            Err(FindError::NotFound) => {}
            Err(FindError::Ambiguous(names)) => anyhow::bail!(
                "--folder {wanted:?} names several folders of {a}; give the server's name: {}",
                names.join(", ")
            ),
        }
    }
    wire.sort();
    wire.dedup();
    known.sort();
    known.dedup();
    match &wire[..] {
        [] if known.is_empty() => Ok(mailbox_name::encode(wanted)),
        [] => anyhow::bail!(
            "no folder {wanted:?}{}; the folders are: {}",
            account.map(|a| format!(" in {a}")).unwrap_or_default(),
            known.join(", ")
        ),
        [one] => Ok(one.clone()),
        // Only malformed names differ from one account to the next: ask for one account.
        _ => anyhow::bail!(
            "--folder {wanted:?} is a different folder in each account; add --account ({})",
            wire.join(", ")
        ),
    }
}

fn accounts_from_config(ctx: &Context) -> Vec<MailAccount> {
    MailAccount::all(&ctx.config, &ctx.paths.config_file)
}

/// `tidings sync [--account A]`: every account when none is named. Progress goes to stderr; a
/// failing account does not stop the others, but makes the exit code 1.
pub fn sync(ctx: &Context, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let accounts = match &args.account {
        Some(name) => vec![MailAccount::new(&ctx.config, &ctx.paths.config_file, name)
            .map_err(|e| anyhow::anyhow!("{}: {e}", ctx.paths.config_file.display()))?],
        None => accounts_from_config(ctx),
    };
    if accounts.is_empty() {
        anyhow::bail!(
            "no accounts to sync in {} (add an [accounts.NAME] section with [accounts.NAME.imap])",
            ctx.config_file_note()
        );
    }
    let store = ctx.open_store()?;
    let mut failed = false;
    for account in &accounts {
        let started = std::time::Instant::now();
        let mut err = std::io::stderr().lock();
        let mut on_event = |ev: SyncEvent| match ev {
            SyncEvent::Progress {
                account,
                folder,
                done,
                total,
            } => {
                let _ = writeln!(err, "{account}: {folder}: {done}/{total} envelopes");
            }
            SyncEvent::BodyProgress {
                account,
                folder,
                done,
                total,
            } => {
                let _ = writeln!(err, "{account}: {folder} (bodies): {done}/{total}");
            }
            SyncEvent::OpRolledBack {
                account, reason, ..
            } => {
                let _ = writeln!(err, "{account}: a queued change was refused: {reason}");
            }
            _ => {}
        };
        match crate::mail::sync::sync_account(account, &store, &mut on_event) {
            Ok(r) => {
                let _ = writeln!(
                    err,
                    "{}: synced {} folders in {:.2}s: {} new, {} flag changes, {} expunged, {} bodies",
                    account.name,
                    r.folders,
                    started.elapsed().as_secs_f64(),
                    r.new_messages,
                    r.flag_updates,
                    r.expunged,
                    r.bodies
                );
            }
            Err(e) => {
                failed = true;
                if e.needs_sign_in() {
                    // The one line to act on; it names the account already.
                    let _ = writeln!(err, "tidings: {e}");
                } else {
                    let _ = writeln!(err, "tidings: {}: {e}", account.name);
                }
            }
        }
    }
    let stale = super::forget_account::stale_accounts(ctx, &store)?;
    if !stale.is_empty() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "tidings: cached accounts not in {}: {} (hidden; remove with `tidings forget-account NAME`)",
            ctx.config_file_note(),
            stale.join(", ")
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn apply(ctx: &Context, ids: &[i64], action: &Action) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store()?;
    let accounts = accounts_from_config(ctx);
    let report = crate::mail::ops::apply_now(&accounts, &store, ids, action)?;
    if report.unchanged > 0 {
        eprintln!(
            "{} message(s) already where asked; left as they were",
            report.unchanged
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn flag(ctx: &Context, args: &FlagArgs) -> anyhow::Result<ExitCode> {
    let action = match (args.seen, args.unseen, args.flagged, args.unflagged) {
        (true, _, _, _) => Action::Seen(true),
        (_, true, _, _) => Action::Seen(false),
        (_, _, true, _) => Action::Flagged(true),
        _ => Action::Flagged(false),
    };
    apply(ctx, &args.ids, &action)
}

pub fn move_to(ctx: &Context, args: &MoveArgs) -> anyhow::Result<ExitCode> {
    let Some((folder, ids)) = args.args.split_last() else {
        eprintln!("tidings: move needs message ids and a folder");
        return Ok(ExitCode::from(2));
    };
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        match id.parse::<i64>() {
            Ok(n) => parsed.push(n),
            Err(_) => {
                eprintln!(
                    "tidings: move: {id:?} is not a message id (usage: tidings move ID... FOLDER)"
                );
                return Ok(ExitCode::from(2));
            }
        }
    }
    apply(ctx, &parsed, &Action::Move(folder.clone()))
}

pub fn archive(ctx: &Context, args: &IdsArgs) -> anyhow::Result<ExitCode> {
    apply(ctx, &args.ids, &Action::Archive)
}

pub fn delete(ctx: &Context, args: &IdsArgs) -> anyhow::Result<ExitCode> {
    apply(ctx, &args.ids, &Action::Delete)
}
/// `list --filter tracked`: tracked sent mail, newest activity first, with its opens and clicks.
/// A mail not yet synced into a folder is listed from its tracking record (`id` null).
fn list_tracked(
    ctx: &Context,
    store: &crate::store::Store,
    args: &ListArgs,
) -> anyhow::Result<ExitCode> {
    let account = match &args.account {
        Some(a) => Some(super::watch::tracking_account(ctx, Some(a))?),
        None => None,
    };
    let mut items = store.tracked_list(account.as_deref())?;
    if let (None, Some(shown)) = (&account, super::forget_account::shown_accounts(ctx)) {
        items.retain(|i| shown.contains(&i.message.account));
    }
    if let Some(limit) = args.limit {
        items.truncate(limit as usize);
    }
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::with_capacity(items.len());
    for item in &items {
        let m = &item.message;
        let s = &item.summary;
        let mut obj = match store.cached_copy(&m.account, &m.message_id)? {
            Some(id) => summary_json(&store.message(id)?),
            None => json!({
                "id": null,
                "account": m.account,
                "folder": null,
                "message_id": m.message_id,
                "to": m.recipients.iter().map(|r| if r.name.is_empty() {
                    r.address.clone()
                } else {
                    format!("{} <{}>", r.name, r.address)
                }).collect::<Vec<_>>().join(", "),
                "subject": m.subject,
                "date": rfc3339(m.sent_at),
            }),
        };
        let replies = store.replies_to(&m.message_id)?;
        let first_reply = replies.first();
        let extra = json!({
            "tracked": true,
            // A real reply (automatic answers never count): the strongest sign it was read.
            "replied": first_reply.is_some(),
            "replied_by": first_reply.map(|r| r.replied_by.clone()),
            "replied_by_name": first_reply.map(|r| r.replied_by_name.clone()),
            "replied_at": first_reply.map(|r| rfc3339(r.replied_at)),
            "replies": replies.iter().map(|r| json!({
                "from": r.replied_by,
                "name": r.replied_by_name,
                "at": rfc3339(r.replied_at),
                "message_id": r.reply_message_id,
            })).collect::<Vec<_>>(),
            "opens": s.opens,
            "clicks": s.clicks,
            "first_open": s.first_open.map(rfc3339),
            "last_open": s.last_open.map(rfc3339),
            "last_activity": s.last_activity.map(rfc3339),
            "opened_by": s.opened_by,
            "clicks_by_link": s.clicks_by_link,
            "automated": s.automated,
            "recipients": s.recipients.iter().map(|r| json!({
                "address": r.address,
                "name": r.name,
                "opens": r.opens,
                "first_open": r.first_open.map(rfc3339),
                "last_open": r.last_open.map(rfc3339),
                "clicks": r.clicks,
                "via_proxy": r.via_proxy,
            })).collect::<Vec<_>>(),
        });
        if let (Some(o), Some(e)) = (obj.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        rows.push((obj, item));
    }
    if args.json {
        let arr: Vec<_> = rows.into_iter().map(|(o, _)| o).collect();
        serde_json::to_writer(&mut out, &arr)?;
        writeln!(out)?;
    } else {
        for (_, item) in rows {
            let s = &item.summary;
            writeln!(
                out,
                "{:<16} {:>3} opens {:>3} clicks  {:<40.40} {}",
                rfc3339(item.sort_time()).get(..16).unwrap_or(""),
                s.opens,
                s.clicks,
                item.message.subject,
                s.opened_by.join(", ")
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
