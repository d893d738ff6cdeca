//! The inbox's application layer: state, user actions and the pure update step, plus the runtime
//! that executes the update's effects off the UI loop. Knows the store and mail layers; knows
//! nothing of ratatui — `ui` draws from [`App`] and feeds it [`Msg`]s.

pub mod action;
pub mod activity;
pub mod compose;
pub mod contact;
pub mod fuzzy;
pub mod outbox_view;
pub mod runtime;
pub mod state;
pub mod threads;
pub mod timeline;
pub mod tracking_urls;
mod update;

pub use action::Action;
pub use state::*;
pub use update::safe_file_name;

// What the panes need from the mail layer, through here so `ui` depends on `app` alone.
pub use crate::mail::mailbox_name::display as folder_display_name;
pub use crate::mail::outbox::state as outbox_state;
pub use crate::mail::render::human_size;

use chrono::{DateTime, Utc};

/// `ts` and `now` in the local time of `utc_offset_secs`; `None` when either is out of range.
pub(crate) fn local_pair(
    ts: i64,
    now: i64,
    utc_offset_secs: i32,
) -> Option<(DateTime<chrono::FixedOffset>, DateTime<chrono::FixedOffset>)> {
    let off = chrono::FixedOffset::east_opt(utc_offset_secs)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset is valid"));
    let d = DateTime::<Utc>::from_timestamp(ts, 0)?;
    let n = DateTime::<Utc>::from_timestamp(now, 0)?;
    Some((d.with_timezone(&off), n.with_timezone(&off)))
}

/// A compact date for the list: the time today, else day and month, else the year.
pub fn short_date(ts: i64, now: i64, utc_offset_secs: i32) -> String {
    let Some((d, n)) = local_pair(ts, now, utc_offset_secs) else {
        return String::new();
    };
    if d.date_naive() == n.date_naive() {
        d.format("%H:%M").to_string()
    } else if d.format("%Y").to_string() == n.format("%Y").to_string() {
        d.format("%d %b").to_string()
    } else {
        d.format("%Y-%m").to_string()
    }
}

/// A plain summary for unit tests of the app layer.
#[cfg(test)]
pub(crate) fn test_summary(id: i64, date: i64, subject: &str) -> crate::store::MessageSummary {
    crate::store::MessageSummary {
        id,
        account: "w".into(),
        folder: "INBOX".into(),
        uid: id as u32,
        message_id: Some(format!("<{id}@test>")),
        in_reply_to: None,
        thread_root: None,
        from_name: "A".into(),
        from_addr: "a@x.test".into(),
        to: String::new(),
        cc: String::new(),
        subject: subject.into(),
        date,
        seen: false,
        flagged: false,
        answered: false,
        draft: false,
        has_attachments: false,
        preview: String::new(),
    }
}
