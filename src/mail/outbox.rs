//! The durable outbox: a mail is committed to SQLite before its first SMTP attempt, retried with
//! backoff on temporary failures, kept with its reason on permanent ones, and never sent twice.
//!
//! A mail is split ("planned") into deliveries, one SMTP transaction each — one for all
//! recipients normally, one per recipient when tracking needs per-recipient copies. Each delivery
//! moves `pending → data → delivered`, where `data` is committed right before the DATA command.
//! Because every step is committed before the next network action, a crash leaves an honest
//! record: a delivery still `pending` was certainly not accepted and is simply sent again; one
//! found in `data` after a crash (or whose connection broke after the last byte went out) may or
//! may not have been accepted. Such a delivery is never resent blindly: unless the account says
//! its server does not file sent mail itself (`server_saves_sent = false`), the Sent folder is
//! searched for the Message-ID and a copy found there confirms it; otherwise it becomes
//! `unconfirmed` and waits for the user to say
//! "it arrived" ([`Outbox::confirm`]) or "send it again" ([`Outbox::retry`]). See docs/sending.md.
//!
//! Only one process flushes at a time: [`Outbox::flush`] holds an exclusive file lock next to the
//! database, so a `sending` entry seen under the lock belongs to a process that died.

use super::compose::{ComposeError, Draft};
use super::filing::{self, Role};
use super::local_mailbox;
use super::smtp::{FailureKind, SmtpError, SmtpSession};
use crate::config::{AccountConfig, Config};
use crate::store::{DeliveryRow, NewOutboxEntry, OutboxRow, Store, StoreError};
use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error("no outbox entry {0}")]
    NoSuchEntry(i64),
    #[error("outbox entry {id} is {state}; {action} needs it {needed}")]
    WrongState {
        id: i64,
        state: String,
        action: &'static str,
        needed: &'static str,
    },
    #[error("outbox entry {0} has a stored draft that cannot be read: {1}")]
    BadDraft(i64, String),
    #[error("{path}: cannot lock the outbox: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = OutboxError> = std::result::Result<T, E>;

pub use crate::store::{delivery_state as delivery, outbox_state as state};

/// Delay before retry number `attempts + 1`: `first`, doubling, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(30),
            max: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(20);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// One SMTP transaction a mail is split into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub recipients: Vec<String>,
    /// This copy's own bytes; `None` sends the mail's bytes unchanged.
    pub raw: Option<Vec<u8>>,
}

/// Why a mail could not be planned yet (e.g. the tracker did not answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// True to retry later; false fails the mail (with the message as reason).
    pub temporary: bool,
    pub message: String,
}

/// Splits a mail into deliveries. Called once per mail, under the outbox lock, right before its
/// first attempt; the result is committed and never re-planned, so tokens registered by a
/// tracking planner stay valid across retries. This is the tracking feature's seam: register the
/// mail's per-recipient tokens with the tracker, then return one delivery per recipient whose
/// `raw` is `draft.build_with_html(entry.date, false, Some(&html_for_that_recipient))`. The
/// entry's `tracking` column (set at [`enqueue`]) carries the options the planner needs.
pub trait DeliveryPlanner {
    fn plan(
        &mut self,
        entry: &OutboxRow,
        draft: &Draft,
    ) -> std::result::Result<Vec<PlannedDelivery>, PlanError>;
}

/// The plan for an untracked mail: one transaction to every recipient with the mail's bytes.
pub struct Untracked;

impl DeliveryPlanner for Untracked {
    fn plan(
        &mut self,
        entry: &OutboxRow,
        draft: &Draft,
    ) -> std::result::Result<Vec<PlannedDelivery>, PlanError> {
        // A tracked mail must never leave untracked by accident: it waits for a tracking planner.
        if entry.tracking.is_some() {
            return Err(PlanError {
                temporary: true,
                message: "a tracked mail waits for an outbox that runs the tracking planner \
                          (`tidings outbox flush`)"
                    .into(),
            });
        }
        Ok(vec![PlannedDelivery {
            recipients: draft.recipients(),
            raw: None,
        }])
    }
}

/// Commits `draft` to the outbox (state `queued`, due now) and removes it from the drafts, in
/// one transaction. The Date and the bytes are fixed here; `tracking` is opaque JSON for the
/// tracking planner (None = untracked).
pub fn enqueue(store: &Store, draft: &Draft, tracking: Option<&str>, now: i64) -> Result<i64> {
    enqueue_at(store, draft, tracking, now, None)
}

/// [`enqueue`] for a mail that must not go before `send_at` (unix seconds; None = now). It is
/// dated, planned (tracking registered) and sent by whichever process flushes the outbox once
/// that time has come; until then it can be edited or cancelled.
pub fn enqueue_at(
    store: &Store,
    draft: &Draft,
    tracking: Option<&str>,
    now: i64,
    send_at: Option<i64>,
) -> Result<i64> {
    draft.validate_for_sending()?;
    let date = send_at.unwrap_or(now).max(now);
    let raw = draft.build(date, false)?;
    let sent_copy = draft.build(date, true)?;
    let json = serde_json::to_string(draft)
        .map_err(|e| OutboxError::BadDraft(0, format!("serializing: {e}")))?;
    let tx = store
        .conn
        .unchecked_transaction()
        .map_err(StoreError::from)?;
    let id = store.outbox_insert(&NewOutboxEntry {
        account: &draft.account,
        message_id: &draft.message_id,
        draft_json: &json,
        date,
        raw: &raw,
        sent_copy: &sent_copy,
        envelope_from: &draft.from.email,
        tracking,
        now,
    })?;
    if let Some(t) = send_at.filter(|t| *t > now) {
        store.outbox_schedule(id, t)?;
    }
    if let Some(d) = store.draft_by_message_id(&draft.message_id)? {
        store.delete_draft(d.id)?;
    }
    tx.commit().map_err(StoreError::from)?;
    Ok(id)
}

/// What one attempt at one mail came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Waits for a retry (temporary failure); the reason.
    Queued(String),
    /// Permanently refused; the reason. Edit or retry it.
    Failed(String),
    /// Possibly delivered; the reason. Confirm or retry it.
    Unconfirmed(String),
}

/// The result of a flush for one mail, plus whether its Sent copy could not be filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushResult {
    pub id: i64,
    pub message_id: String,
    /// What people call the mail (its Subject, sanitized), for status lines.
    pub subject: String,
    /// Who it is for, as people read it ("Sam Rivera and 2 others"), sanitized; empty when the
    /// draft can't be read.
    pub to: String,
    pub outcome: Outcome,
    pub filing_error: Option<String>,
}

/// The Subject of an outbox entry's draft, terminal-safe; empty when it can't be read.
fn subject_of(entry: &OutboxRow) -> String {
    serde_json::from_str::<Draft>(&entry.draft_json)
        .map(|d| crate::sanitize::sanitize_line(&d.subject))
        .unwrap_or_default()
}

/// The recipients of an outbox entry's draft by name (address when unnamed), terminal-safe:
/// the first one, and how many more.
fn recipients_of(draft_json: &str) -> String {
    let Ok(d) = serde_json::from_str::<Draft>(draft_json) else {
        return String::new();
    };
    let mut all = d.to.iter().chain(&d.cc).chain(&d.bcc);
    let Some(first) = all.next() else {
        return String::new();
    };
    let name = match first.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n,
        _ => first.email.as_str(),
    };
    let name = crate::sanitize::sanitize_line(name);
    match all.count() {
        0 => name,
        1 => format!("{name} and 1 other"),
        n => format!("{name} and {n} others"),
    }
}

/// Which mails a flush tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Mails whose backoff has elapsed (what a background worker does).
    Due,
    /// Every waiting mail, now (`tidings outbox flush`).
    AllWaiting,
    /// One mail, now (`tidings send`).
    One(i64),
}

/// A mail with its deliveries, for the Outbox view and `tidings outbox --json`.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub entry: OutboxRow,
    pub draft: Option<Draft>,
    pub deliveries: Vec<DeliveryRow>,
}

pub struct Outbox {
    config: Config,
    lock_path: Option<PathBuf>,
    backoff: Backoff,
    planner: Box<dyn DeliveryPlanner + Send>,
}

struct LockGuard(Option<File>);

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            let _ = f.unlock();
        }
    }
}

impl Outbox {
    /// An outbox for the store at `store.path()`; the lock file sits next to it.
    pub fn new(config: Config, store: &Store) -> Outbox {
        let p = store.path();
        let lock_path = (p != std::path::Path::new(":memory:")).then(|| {
            let mut s = p.as_os_str().to_owned();
            s.push(".outbox-lock");
            PathBuf::from(s)
        });
        Outbox {
            config,
            lock_path,
            backoff: Backoff::default(),
            planner: Box::new(Untracked),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Outbox {
        self.backoff = backoff;
        self
    }

    pub fn with_planner(mut self, planner: Box<dyn DeliveryPlanner + Send>) -> Outbox {
        self.planner = planner;
        self
    }

    fn lock(&self) -> Result<LockGuard> {
        let Some(path) = &self.lock_path else {
            return Ok(LockGuard(None));
        };
        let lock_err = |source| OutboxError::Lock {
            path: path.clone(),
            source,
        };
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(lock_err)?;
        f.lock().map_err(lock_err)?;
        Ok(LockGuard(Some(f)))
    }

    /// Every mail not yet sent (or every mail with `include_sent`), oldest first.
    pub fn list(&self, store: &Store, include_sent: bool) -> Result<Vec<OutboxItem>> {
        let rows = store.outbox_entries(&[])?;
        rows.into_iter()
            .filter(|r| include_sent || r.state != state::SENT)
            .map(|entry| {
                Ok(OutboxItem {
                    draft: serde_json::from_str(&entry.draft_json).ok(),
                    deliveries: store.outbox_deliveries(entry.id)?,
                    entry,
                })
            })
            .collect()
    }

    /// Recovers from a crash, then attempts the chosen mails; files sent ones in Sent. `now` is
    /// unix seconds (injected so tests control time).
    pub fn flush(&mut self, store: &mut Store, which: Which, now: i64) -> Result<Vec<FlushResult>> {
        let _guard = self.lock()?;
        let mut results = self.recover(store, now)?;
        let candidates: Vec<OutboxRow> = match which {
            Which::One(id) => vec![store
                .outbox_entry(id)?
                .ok_or(OutboxError::NoSuchEntry(id))?],
            _ => store.outbox_entries(&[state::QUEUED, state::SENT])?,
        };
        for entry in candidates {
            // A mail this flush already settled (recovered) is reported once.
            // (A recovered mail that turned out sent still needs its Sent copy filed below.)
            if let Some(pos) = results.iter().position(|r| r.id == entry.id) {
                if entry.state != state::QUEUED && entry.state != state::SENT {
                    continue;
                }
                results.remove(pos);
            }
            // A mail scheduled for later waits for its time, whoever asks: a "flush now" from the
            // user or a script must not send it early.
            let due = !entry.scheduled_after(now)
                && match which {
                    Which::Due => entry.next_attempt_at <= now,
                    _ => true,
                };
            let outcome = if entry.state == state::QUEUED && due {
                self.attempt(store, &entry, now)?
            } else if entry.state == state::SENT {
                if entry.filed == "done" || entry.filed == "skipped" {
                    continue;
                }
                Outcome::Sent
            } else {
                match which {
                    Which::One(_) => current_outcome(&entry, now),
                    _ => continue,
                }
            };
            let filing_error = if outcome == Outcome::Sent {
                self.file_sent_copy(store, entry.id)?
            } else {
                None
            };
            results.push(FlushResult {
                id: entry.id,
                message_id: entry.message_id.clone(),
                subject: subject_of(&entry),
                to: recipients_of(&entry.draft_json),
                outcome,
                filing_error,
            });
        }
        Ok(results)
    }

    /// Settles what a dead process left in `sending`, and reports what became of each such mail.
    /// Call only under the lock.
    fn recover(&mut self, store: &mut Store, now: i64) -> Result<Vec<FlushResult>> {
        let mut recovered = Vec::new();
        for entry in store.outbox_entries(&[state::SENDING])? {
            let deliveries = store.outbox_deliveries(entry.id)?;
            for d in deliveries.iter().filter(|d| d.state == delivery::DATA) {
                let confirmed = self.confirm_by_server(store, &entry, &deliveries);
                let (st, why) = match confirmed {
                    Some(true) => (delivery::DELIVERED, None),
                    _ => (
                        delivery::UNCONFIRMED,
                        Some(
                            "tidings stopped while the server was receiving this mail; it may \
                             have been delivered",
                        ),
                    ),
                };
                tracing::warn!(
                    id = entry.id,
                    delivery = d.id,
                    state = st,
                    "recovered an interrupted send"
                );
                store.outbox_set_delivery(d.id, st, why, now)?;
            }
            let outcome = self.settle(store, &entry, Some("interrupted"), now)?;
            recovered.push(FlushResult {
                id: entry.id,
                message_id: entry.message_id.clone(),
                subject: subject_of(&entry),
                to: recipients_of(&entry.draft_json),
                outcome,
                filing_error: None,
            });
        }
        Ok(recovered)
    }

    /// Whether the server's own Sent copy proves the in-flight delivery was accepted: only
    /// possible when the server files sent mail itself (`server_saves_sent`, or unset: Gmail and
    /// others do it unasked), and only if it holds more copies with this Message-ID than
    /// deliveries we know went out. We never file our own copy before every delivery is
    /// accepted, so any copy beyond those is the server's. None = cannot tell.
    fn confirm_by_server(
        &self,
        store: &Store,
        entry: &OutboxRow,
        deliveries: &[DeliveryRow],
    ) -> Option<bool> {
        let acc = self.config.accounts.get(&entry.account)?;
        if acc.server_saves_sent == Some(false) {
            return None;
        }
        let imap = acc.imap.as_ref()?;
        let sent = filing::target(&entry.account, acc, Some(store), Role::Sent);
        match filing::count_message_id(imap, &sent, &entry.message_id) {
            Ok(n) => {
                let known = deliveries
                    .iter()
                    .filter(|d| d.state == delivery::DELIVERED)
                    .count();
                Some(n > known)
            }
            Err(e) => {
                tracing::warn!(
                    id = entry.id,
                    "could not check Sent for an interrupted send: {e}"
                );
                None
            }
        }
    }

    /// Derives the entry's state from its deliveries and records the attempt's end.
    fn settle(
        &self,
        store: &Store,
        entry: &OutboxRow,
        error: Option<&str>,
        now: i64,
    ) -> Result<Outcome> {
        let ds = store.outbox_deliveries(entry.id)?;
        let latest = store
            .outbox_entry(entry.id)?
            .ok_or(OutboxError::NoSuchEntry(entry.id))?;
        let first_error = || {
            error
                .map(str::to_string)
                .or_else(|| ds.iter().find_map(|d| d.last_error.clone()))
                .unwrap_or_else(|| "unknown error".into())
        };
        let has = |s: &str| ds.iter().any(|d| d.state == s);
        let (st, outcome) = if !ds.is_empty() && ds.iter().all(|d| d.state == delivery::DELIVERED) {
            (state::SENT, Outcome::Sent)
        } else if has(delivery::UNCONFIRMED) {
            let why = ds
                .iter()
                .find(|d| d.state == delivery::UNCONFIRMED)
                .and_then(|d| d.last_error.clone())
                .unwrap_or_else(first_error);
            (state::UNCONFIRMED, Outcome::Unconfirmed(why))
        } else if has(delivery::PENDING) || ds.is_empty() {
            (state::QUEUED, Outcome::Queued(first_error()))
        } else {
            let why = ds
                .iter()
                .find(|d| d.state == delivery::FAILED)
                .and_then(|d| d.last_error.clone())
                .unwrap_or_else(first_error);
            (state::FAILED, Outcome::Failed(why))
        };
        let last_error = match &outcome {
            Outcome::Sent => None,
            Outcome::Queued(e) | Outcome::Failed(e) | Outcome::Unconfirmed(e) => Some(e.as_str()),
        };
        let next = now + self.backoff.delay(latest.attempts.max(1)).as_secs() as i64;
        let sent_at = (st == state::SENT).then_some(now);
        store.outbox_finish_attempt(entry.id, st, last_error, next, sent_at)?;
        Ok(outcome)
    }

    /// One attempt at one mail. Every state change is committed before the next network step.
    fn attempt(&mut self, store: &mut Store, entry: &OutboxRow, now: i64) -> Result<Outcome> {
        store.outbox_begin_attempt(entry.id, now)?;
        let draft: Draft = serde_json::from_str(&entry.draft_json)
            .map_err(|e| OutboxError::BadDraft(entry.id, e.to_string()))?;
        let redated;
        let entry = if entry.send_at.is_some()
            && entry.date != now
            && store.outbox_deliveries(entry.id)?.is_empty()
        {
            // A scheduled mail bears the time it actually goes (the machine may have been off
            // at the chosen time); its bytes are fixed from here on, like any other mail's.
            let raw = draft.build(now, false)?;
            let sent_copy = draft.build(now, true)?;
            store.outbox_set_bytes(entry.id, now, &raw, &sent_copy)?;
            redated = OutboxRow {
                date: now,
                ..entry.clone()
            };
            &redated
        } else {
            entry
        };
        if store.outbox_deliveries(entry.id)?.is_empty() {
            match self.planner.plan(entry, &draft) {
                Ok(plan) => {
                    let rows: Vec<_> = plan.into_iter().map(|p| (p.recipients, p.raw)).collect();
                    store.outbox_add_deliveries(entry.id, &rows, now)?;
                }
                Err(e) if e.temporary => return self.settle(store, entry, Some(&e.message), now),
                Err(e) => {
                    store.outbox_finish_attempt(
                        entry.id,
                        state::FAILED,
                        Some(&e.message),
                        now,
                        None,
                    )?;
                    return Ok(Outcome::Failed(e.message));
                }
            }
        }
        let Some(acc) = self.config.accounts.get(&entry.account).cloned() else {
            let why = format!("account {:?} is not in the config", entry.account);
            return self.settle(store, entry, Some(&why), now);
        };
        let error = self.deliver_pending(store, entry, &acc, now)?;
        self.settle(store, entry, error.as_deref(), now)
    }

    /// Sends every pending delivery of a mail; returns the error that stopped the attempt early.
    fn deliver_pending(
        &self,
        store: &Store,
        entry: &OutboxRow,
        acc: &AccountConfig,
        now: i64,
    ) -> Result<Option<String>> {
        let Some(smtp) = &acc.smtp else {
            return Ok(Some(format!(
                "account {:?} has no [accounts.{}.smtp] section",
                entry.account, entry.account
            )));
        };
        let mut session: Option<SmtpSession> = None;
        for d in store.outbox_deliveries(entry.id)? {
            if d.state != delivery::PENDING {
                continue;
            }
            let conn = match session.as_mut() {
                Some(s) => s,
                None => match SmtpSession::connect_account(smtp, &entry.envelope_from) {
                    Ok(s) => session.insert(s),
                    Err(e) => {
                        // A refusal before any mail is named (e.g. 535 at AUTH) concerns the
                        // account, so it applies to every copy still waiting, not just this one.
                        let pending = store.outbox_deliveries(entry.id)?;
                        for p in pending.iter().filter(|p| p.state == delivery::PENDING) {
                            self.record_failure(store, p, &e, now)?;
                        }
                        return Ok(Some(e.message));
                    }
                },
            };
            let raw = store
                .outbox_delivery_bytes(d.id)?
                .ok_or(OutboxError::NoSuchEntry(entry.id))?;
            let mut mark_data = || {
                store
                    .outbox_set_delivery(d.id, delivery::DATA, None, now)
                    .map_err(|e| e.to_string())
            };
            match conn.send(&entry.envelope_from, &d.recipients, &raw, &mut mark_data) {
                Ok(()) => store.outbox_set_delivery(d.id, delivery::DELIVERED, None, now)?,
                Err(e) => {
                    let why = self.record_failure(store, &d, &e, now)?;
                    session = None;
                    if e.kind == FailureKind::Temporary {
                        return Ok(Some(why));
                    }
                }
            }
        }
        if let Some(s) = session {
            s.quit();
        }
        Ok(None)
    }

    fn record_failure(
        &self,
        store: &Store,
        d: &DeliveryRow,
        e: &SmtpError,
        now: i64,
    ) -> Result<String> {
        let st = match e.kind {
            FailureKind::Temporary => delivery::PENDING,
            FailureKind::Permanent => delivery::FAILED,
            FailureKind::Unknown => delivery::UNCONFIRMED,
        };
        tracing::info!(
            delivery = d.id,
            state = st,
            "SMTP attempt failed: {}",
            e.message
        );
        store.outbox_set_delivery(d.id, st, Some(&e.message), now)?;
        Ok(e.message.clone())
    }

    /// Files the Sent copy unless the server files it; returns the filing error, if any (the
    /// mail is sent either way; filing is retried by the next flush). `filing::file_sent` looks
    /// for the Message-ID before it APPENDs, so a copy whose APPEND went through but whose
    /// result was lost (a crash, a cut connection) is not filed twice.
    fn file_sent_copy(&self, store: &Store, id: i64) -> Result<Option<String>> {
        let entry = store
            .outbox_entry(id)?
            .ok_or(OutboxError::NoSuchEntry(id))?;
        let Some(acc) = self.config.accounts.get(&entry.account) else {
            return Ok(None);
        };
        if acc.server_saves_sent == Some(true) {
            store.outbox_set_filed(id, "skipped", None)?;
            return Ok(None);
        }
        let sent = filing::target(&entry.account, acc, Some(store), Role::Sent);
        if acc.imap.is_none() {
            let folder = sent.known.as_deref().unwrap_or("Sent");
            return self.file_sent_locally(store, &entry, acc, folder);
        }
        let (_, sent_copy) = store
            .outbox_bytes(id)?
            .ok_or(OutboxError::NoSuchEntry(id))?;
        let drafts = filing::target(&entry.account, acc, Some(store), Role::Drafts);
        match filing::file_sent(acc, &sent, &drafts, &entry.message_id, sent_copy) {
            Ok(filing::SentFiling::ServerFiles) => {
                store.outbox_set_filed(id, "skipped", None)?;
                Ok(None)
            }
            Ok(filed) => {
                tracing::debug!(id, ?filed, "Sent copy filed");
                store.outbox_set_filed(id, "done", None)?;
                Ok(None)
            }
            Err(e) => {
                let folder = sent.display_name().unwrap_or_else(|| "Sent".into());
                let why = format!("the mail was sent but could not be filed in {folder:?}: {e}");
                store.outbox_set_filed(id, "failed", Some(&why))?;
                Ok(Some(why))
            }
        }
    }

    /// An account without IMAP (the demo's) keeps its Sent copy in the local cache; a retried
    /// filing finds an earlier copy by Message-ID instead of adding a second one.
    fn file_sent_locally(
        &self,
        store: &Store,
        entry: &OutboxRow,
        acc: &AccountConfig,
        folder: &str,
    ) -> Result<Option<String>> {
        let (_, sent_copy) = store
            .outbox_bytes(entry.id)?
            .ok_or(OutboxError::NoSuchEntry(entry.id))?;
        let sent = local_mailbox::LocalFolder {
            account: &entry.account,
            role: "sent",
            default_name: folder,
        };
        // Nothing syncs a send-only account, so its first Sent copy may find it unknown.
        let filed = store
            .ensure_account(&entry.account, &acc.email, acc.display_name.as_deref())
            .and_then(|_| {
                local_mailbox::file_once(store, sent, sent_copy, &entry.message_id, entry.date)
            });
        match filed {
            Ok(_) => {
                store.outbox_set_filed(entry.id, "done", None)?;
                Ok(None)
            }
            Err(e) => {
                let why = format!("the mail was sent but could not be filed locally: {e}");
                store.outbox_set_filed(entry.id, "failed", Some(&why))?;
                Ok(Some(why))
            }
        }
    }

    /// The user's decision to send again: failed deliveries (after a 5xx, perhaps after editing
    /// the account) and unconfirmed ones (the user checked: it did not arrive) go back to pending.
    pub fn retry(&mut self, store: &mut Store, id: i64, now: i64) -> Result<()> {
        let _guard = self.lock()?;
        let entry = store
            .outbox_entry(id)?
            .ok_or(OutboxError::NoSuchEntry(id))?;
        if entry.state != state::FAILED && entry.state != state::UNCONFIRMED {
            return Err(OutboxError::WrongState {
                id,
                state: entry.state,
                action: "retry",
                needed: "failed or unconfirmed",
            });
        }
        store.outbox_requeue(id, &[delivery::FAILED, delivery::UNCONFIRMED], now)?;
        Ok(())
    }

    /// The user's word that an unconfirmed mail did arrive: it counts as sent and is filed.
    pub fn confirm(&mut self, store: &mut Store, id: i64, now: i64) -> Result<()> {
        let _guard = self.lock()?;
        let entry = store
            .outbox_entry(id)?
            .ok_or(OutboxError::NoSuchEntry(id))?;
        if entry.state != state::UNCONFIRMED {
            return Err(OutboxError::WrongState {
                id,
                state: entry.state,
                action: "confirm",
                needed: "unconfirmed",
            });
        }
        for d in store.outbox_deliveries(id)? {
            if d.state == delivery::UNCONFIRMED {
                store.outbox_set_delivery(d.id, delivery::DELIVERED, None, now)?;
            }
        }
        self.settle(store, &entry, None, now)?;
        Ok(())
    }

    /// The user's decision not to send a mail after all (a scheduled one, typically): it leaves
    /// the outbox for good. Only while no copy of it has been delivered; returns its Subject.
    pub fn cancel(&mut self, store: &mut Store, id: i64) -> Result<String> {
        let _guard = self.lock()?;
        let entry = self.editable(store, id, "cancel")?;
        store.outbox_delete(id)?;
        store.delete_reminder(&entry.message_id)?;
        Ok(subject_of(&entry))
    }

    /// The entry, if nothing of it may have reached anyone (so it can be changed or dropped).
    fn editable(&self, store: &Store, id: i64, action: &'static str) -> Result<OutboxRow> {
        let entry = store
            .outbox_entry(id)?
            .ok_or(OutboxError::NoSuchEntry(id))?;
        let delivered = store.outbox_deliveries(id)?.iter().any(|d| {
            d.state == delivery::DELIVERED
                || d.state == delivery::UNCONFIRMED
                || d.state == delivery::DATA
        });
        if delivered || entry.state == state::SENT || entry.state == state::SENDING {
            return Err(OutboxError::WrongState {
                id,
                state: entry.state,
                action,
                needed: "queued or failed with nothing delivered",
            });
        }
        Ok(entry)
    }

    /// Takes a mail out of the outbox and back into the drafts so it can be edited and sent
    /// again (it keeps its Message-ID). Only while no copy of it has been delivered.
    pub fn edit(&mut self, store: &mut Store, id: i64, now: i64) -> Result<(i64, Draft)> {
        let _guard = self.lock()?;
        let entry = self.editable(store, id, "edit")?;
        let draft: Draft = serde_json::from_str(&entry.draft_json)
            .map_err(|e| OutboxError::BadDraft(id, e.to_string()))?;
        let tx = store
            .conn
            .unchecked_transaction()
            .map_err(StoreError::from)?;
        let draft_id =
            store.save_draft(&entry.account, &entry.message_id, &entry.draft_json, now)?;
        store.outbox_delete(id)?;
        tx.commit().map_err(StoreError::from)?;
        Ok((draft_id, draft))
    }
}

/// Makes the planner for one pass of an [`OutboxWorker`] (config, database path).
pub type MakePlanner = fn(&Config, &std::path::Path) -> Box<dyn DeliveryPlanner + Send>;

/// What the UI asks of a running [`OutboxWorker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerCommand {
    /// Try every waiting mail now (after the user pressed "send" or "retry").
    FlushNow,
    Stop,
}

/// What a running [`OutboxWorker`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxEvent {
    /// A pass tried or settled these mails (never empty).
    Flushed(Vec<FlushResult>),
    /// A pass could not run (e.g. the database is unreadable); the worker keeps going.
    Error(String),
}

/// The outbox in the background: a thread that sends due mails, sleeps until the next one is
/// due (at most `poll`), and wakes early on [`OutboxWorker::flush_now`]. Blocking I/O stays off
/// the UI thread; results arrive on the `events` channel the UI already selects on.
pub struct OutboxWorker {
    commands: std::sync::mpsc::Sender<WorkerCommand>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl OutboxWorker {
    pub fn spawn(
        config: Config,
        db_path: PathBuf,
        backoff: Backoff,
        poll: Duration,
        events: tokio::sync::mpsc::UnboundedSender<OutboxEvent>,
    ) -> OutboxWorker {
        Self::spawn_with_planner(config, db_path, backoff, poll, events, |_, _| {
            Box::new(Untracked)
        })
    }

    /// Like [`OutboxWorker::spawn`], with the planner each pass uses (e.g. the tracking
    /// feature's `tracking::client::send::planner_for`, so tracked mail goes out tracked).
    pub fn spawn_with_planner(
        config: Config,
        db_path: PathBuf,
        backoff: Backoff,
        poll: Duration,
        events: tokio::sync::mpsc::UnboundedSender<OutboxEvent>,
        planner: MakePlanner,
    ) -> OutboxWorker {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            worker_loop(config, &db_path, backoff, poll, &rx, &events, planner)
        });
        OutboxWorker {
            commands: tx,
            handle: Some(handle),
        }
    }

    pub fn flush_now(&self) {
        let _ = self.commands.send(WorkerCommand::FlushNow);
    }

    /// Stops after the current pass (a send in progress is never cut short).
    pub fn stop(mut self) {
        let _ = self.commands.send(WorkerCommand::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn worker_loop(
    config: Config,
    db_path: &std::path::Path,
    backoff: Backoff,
    poll: Duration,
    commands: &std::sync::mpsc::Receiver<WorkerCommand>,
    events: &tokio::sync::mpsc::UnboundedSender<OutboxEvent>,
    planner: MakePlanner,
) {
    let mut which = Which::Due;
    loop {
        let now = crate::clock::now().timestamp();
        let next_due = match Store::open(db_path) {
            Ok(mut store) => {
                let mut ob = Outbox::new(config.clone(), &store)
                    .with_backoff(backoff)
                    .with_planner(planner(&config, db_path));
                match ob.flush(&mut store, which, now) {
                    Ok(results) if !results.is_empty() => {
                        let _ = events.send(OutboxEvent::Flushed(results));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = events.send(OutboxEvent::Error(e.to_string()));
                    }
                }
                store
                    .outbox_entries(&[state::QUEUED])
                    .ok()
                    .and_then(|q| q.iter().map(|e| e.next_attempt_at).min())
            }
            Err(e) => {
                let _ = events.send(OutboxEvent::Error(e.to_string()));
                None
            }
        };
        // At least a second between automatic passes, so a zero backoff cannot spin.
        let until_due = next_due
            .map(|t| Duration::from_secs((t - crate::clock::now().timestamp()).max(1) as u64))
            .unwrap_or(poll);
        which = match commands.recv_timeout(until_due.min(poll)) {
            Ok(WorkerCommand::FlushNow) => Which::AllWaiting,
            Ok(WorkerCommand::Stop) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Which::Due,
        };
    }
}

fn current_outcome(entry: &OutboxRow, now: i64) -> Outcome {
    if entry.state == state::QUEUED && entry.scheduled_after(now) {
        let at = entry.send_at.unwrap_or(now);
        let at = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
        return Outcome::Queued(format!("scheduled for {}", crate::clock::format_local(at)));
    }
    let why = entry.last_error.clone().unwrap_or_default();
    match entry.state.as_str() {
        state::SENT => Outcome::Sent,
        state::FAILED => Outcome::Failed(why),
        state::UNCONFIRMED => Outcome::Unconfirmed(why),
        _ => Outcome::Queued(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            first: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        let d: Vec<u64> = (1..=5).map(|a| b.delay(a).as_secs()).collect();
        assert_eq!(d, vec![10, 20, 40, 60, 60]);
        assert_eq!(b.delay(0).as_secs(), 10);
        assert_eq!(b.delay(u32::MAX).as_secs(), 60);
    }
}

#[cfg(test)]
mod recipient_tests {
    use super::recipients_of;
    use crate::mail::compose::{Draft, Mailbox, Sender};

    #[test]
    fn recipients_read_by_name_then_address_with_a_count_of_the_rest() {
        let sender = Sender {
            account: "w".into(),
            from: Mailbox::new(None, "me@x.test"),
            signature: None,
        };
        let mut d = Draft::new(&sender);
        d.to = vec![Mailbox::new(Some("Sam Rivera\u{1b}[2J"), "sam@globex.test")];
        let json = |d: &Draft| serde_json::to_string(d).unwrap();
        assert_eq!(recipients_of(&json(&d)), "Sam Rivera[2J");
        d.to = vec![Mailbox::new(None, "sam@globex.test")];
        d.cc = vec![Mailbox::new(Some("Dana"), "dana@acme.test")];
        d.bcc = vec![Mailbox::new(None, "boss@acme.test")];
        assert_eq!(recipients_of(&json(&d)), "sam@globex.test and 2 others");
        assert_eq!(recipients_of("not json"), "");
    }
}
