//! The Outbox view's state: mail waiting or refused, with attempts and the last error, the
//! question the view waits on, and its messages and effects. What a user can do about each mail —
//! retry, edit in the composer, cancel back to the drafts, say whether an unconfirmed mail
//! arrived, send a tracked mail untracked — is decided in `update::outbox` and carried out by
//! `runtime::outbox` through the outbox library, so a mail the worker is sending can never be
//! edited or sent twice.

use super::compose::ComposeOpen;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxLine {
    pub id: i64,
    pub account: String,
    pub state: String,
    pub subject: String,
    pub to: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix seconds of the next automatic attempt (meaningful while `queued`).
    pub next_attempt_at: i64,
    /// "Send later": the chosen time (unix seconds); nothing is tried before it.
    pub send_at: Option<i64>,
    /// Queued or refused with no copy possibly delivered: it can go back to the composer.
    pub editable: bool,
    /// Tracked, not yet planned (so no tracked copy exists): it can still go out untracked.
    pub untrackable: bool,
    /// Goes out with tracking (not switched off by the user).
    pub tracked: bool,
}

/// A question the view waits on (y / n), about mail `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// An unconfirmed mail: did it arrive? A wrong answer sends it twice or never.
    Arrived,
    /// Cancel sending: back to the drafts.
    Cancel,
    /// Send without tracking.
    Untrack,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asking {
    pub question: Question,
    pub id: i64,
    pub account: String,
    pub subject: String,
}

#[derive(Debug, Clone, Default)]
pub struct OutboxView {
    pub lines: Vec<OutboxLine>,
    pub cursor: usize,
    pub asking: Option<Asking>,
}

/// What the user decided about one outbox mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxChange {
    /// Send a refused or unconfirmed mail again.
    Retry,
    /// An unconfirmed mail did arrive: count it as sent.
    Confirm,
    /// Back to the drafts and into the composer.
    Edit,
    /// Back to the drafts only.
    Cancel,
    /// Send it without tracking.
    Untrack,
}

/// The result of an [`OutboxChange`].
#[derive(Debug, Clone)]
pub struct Changed {
    pub notice: String,
    pub lines: Vec<OutboxLine>,
    /// The account whose mail should be tried now.
    pub wake: Option<String>,
    /// The mail to edit (for [`OutboxChange::Edit`]).
    pub compose: Option<Box<ComposeOpen>>,
}

/// The Outbox view's work for the runtime.
#[derive(Debug, Clone)]
pub enum OutboxEffect {
    /// Reads the lines; answered by [`OutboxMsg::Loaded`].
    Load,
    /// Changes outbox mail `id` as the user decided (retry, edit, cancel, confirm, untrack);
    /// answered by [`OutboxMsg::Changed`].
    Change {
        id: i64,
        account: String,
        change: OutboxChange,
    },
    /// Wakes the outbox worker for mail just queued from `account`.
    Flush { account: String },
}

#[derive(Debug, Clone)]
pub enum OutboxMsg {
    Loaded(Result<Vec<OutboxLine>, String>),
    /// The outbox worker settled mail: the Outbox view reloads.
    Stale,
    Changed(Result<Box<Changed>, String>),
}

impl OutboxView {
    pub(super) fn set_lines(&mut self, lines: Vec<OutboxLine>) {
        // The cursor stays on the same mail when others come and go.
        let at = self.lines.get(self.cursor).map(|l| l.id);
        self.cursor = at
            .and_then(|id| lines.iter().position(|l| l.id == id))
            .unwrap_or(self.cursor)
            .min(lines.len().saturating_sub(1));
        self.lines = lines;
    }
}
