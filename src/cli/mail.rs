//! `list`, and the other commands that read or change mail.

use super::{Context, FilterArg, ListArgs};
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
        "folder": m.folder,
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
        Some(FilterArg::Tracked) => anyhow::bail!(
            "--filter tracked needs the tracking feature, which this build does not have yet"
        ),
    };
    let q = ListQuery {
        account: args.account.clone(),
        folder: Some(args.folder.clone()),
        filter,
        search: args.search.clone(),
        limit: args.limit,
        offset: 0,
    };
    if let Some(acc) = &args.account {
        store.account_id(acc)?;
    }
    let msgs = store.list_messages(&q)?;
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
            writeln!(
                out,
                "{:>7} {} {:<16} {:<24.24} {}",
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
