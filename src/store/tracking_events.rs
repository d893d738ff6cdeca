//! What happened to the tracked mail this user sent (the mail itself is in `tracked_mail`): the
//! events the poller fetched, the poll cursor, notification claims and the repeat throttle, the
//! in-app notification list, and the views built from events (timeline, summaries, list marks,
//! a contact's or organization's activity). Automated events are kept (with their reason) for the timeline but
//! never counted as opens or clicks.

use super::tracked_mail::TrackedMessageRecord;
use super::{Result, Store};
use crate::address::normalize_email;
use crate::message_id;
use crate::tracking_event::Event;
use crate::tracking_event::{Classification, Confidence, EventKind};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Opens and clicks of one recipient; automated events are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecipientActivity {
    pub address: String,
    pub name: String,
    pub opens: u64,
    pub first_open: Option<i64>,
    pub last_open: Option<i64>,
    pub clicks: u64,
    /// Seen through a caching image proxy: later opens by this recipient are invisible.
    pub via_proxy: bool,
    /// The clients this recipient's counted opens and clicks came from ("Outlook on Windows"),
    /// first seen first.
    pub clients: Vec<String>,
    /// This recipient's machine events (prefetch, scanners, previews): apart, never counted.
    pub automated: u64,
}

/// What is known about one tracked mail's opens and clicks. Times are unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrackingSummary {
    pub opens: u64,
    pub first_open: Option<i64>,
    pub last_open: Option<i64>,
    pub clicks: u64,
    /// Clicks per link URL.
    pub clicks_by_link: BTreeMap<String, u64>,
    /// Every addressed recipient (and anyone else the tracker reported), in address order.
    pub recipients: Vec<RecipientActivity>,
    /// Addresses with at least one counted open, in order of their first open.
    pub opened_by: Vec<String>,
    /// Events classified automated: shown dimmed in the timeline, never counted.
    pub automated: u64,
    /// Newest counted or automated event.
    pub last_activity: Option<i64>,
}

/// A person's open this soon after their last one from the same client is the same reading.
pub const REPEAT_OPEN_SECONDS: i64 = 60;

/// What [`Store::store_events_page`] did with a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredPage {
    /// Events no poller had stored before, in the page's order.
    pub fresh: Vec<Event>,
    /// False when another poller moved the cursor since this page was asked for: it was left
    /// alone (the events were still stored, idempotently).
    pub cursor_saved: bool,
}

/// One event as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    pub event_id: i64,
    pub at: i64,
    pub kind: EventKind,
    pub recipient: String,
    pub url: Option<String>,
    pub user_agent: String,
    pub classification: Classification,
    pub reason: String,
    pub confidence: Confidence,
    /// The client the tracker named ("Outlook on Windows"); empty when it could not tell.
    pub client: String,
    /// An open seconds after the recipient's last from the same client: not counted again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeat: bool,
}

/// An in-app notification (the bell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredNotification {
    pub id: i64,
    pub account: String,
    pub at: i64,
    pub kind: EventKind,
    pub summary: String,
    pub body: String,
    pub message_id: String,
    pub read: bool,
}

/// Counted opens and clicks of one tracked mail, for the list's marks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrackingMark {
    pub opens: u64,
    pub clicks: u64,
    /// Unix seconds of the last counted (not automated) open.
    pub last_open: Option<i64>,
}

/// Tracked mail sent to one contact (or organization) and what came of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactTracking {
    pub tracked_sent: u64,
    pub opens: u64,
    pub clicks: u64,
    pub last_activity: Option<i64>,
}

/// The `list_messages` condition for [`ListFilter::Tracked`](super::ListFilter::Tracked): the
/// message is tracked mail of its account (`m` messages, `f` folders, `a` accounts), listed once
/// — a mail sent to oneself also has an INBOX copy; the Sent copy stands for it, as in the CLI.
pub(super) const TRACKED_MESSAGES_SQL: &str = " AND m.message_id IN (
    SELECT message_id FROM tracked_messages WHERE account = a.name
    UNION SELECT message_id FROM tracking_events WHERE account = a.name)
    AND m.id = (SELECT c.id FROM messages c JOIN folders cf ON cf.id = c.folder_id
        WHERE cf.account_id = f.account_id AND c.message_id = m.message_id AND c.deleted = 0
        ORDER BY coalesce(cf.role = 'sent', 0) DESC, c.id LIMIT 1)";

/// Newest counted activity first, else newest sent.
pub(super) const TRACKED_ORDER_SQL: &str = " ORDER BY coalesce((SELECT max(e.at)
    FROM tracking_events e WHERE e.account = a.name AND e.message_id = m.message_id
        AND e.classification != 'automated'), m.date) DESC, m.id DESC";

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn kind_of(s: &str) -> EventKind {
    EventKind::parse(s).unwrap_or(EventKind::Open)
}

/// (Message-ID, marks) from a `message_id, opens, clicks, last_open` row.
fn mark_row(r: &rusqlite::Row) -> rusqlite::Result<(String, TrackingMark)> {
    Ok((
        r.get(0)?,
        TrackingMark {
            opens: r.get(1)?,
            clicks: r.get(2)?,
            last_open: r.get(3)?,
        },
    ))
}

fn class_of(s: &str) -> Classification {
    Classification::parse(s).unwrap_or(Classification::Automated)
}

/// One line of the Tracked list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackedItem {
    pub message: TrackedMessageRecord,
    pub summary: TrackingSummary,
}

impl TrackedItem {
    /// What the list sorts on: the last counted activity, else the sending time.
    pub fn sort_time(&self) -> i64 {
        self.summary.last_activity.unwrap_or(self.message.sent_at)
    }
}

impl Store {
    /// Tracked mail of `account` (every account when `None`), newest activity first. Mail with
    /// events the tracker reported but no local record (sent from another machine) is listed too.
    pub fn tracked_list(&self, account: Option<&str>) -> Result<Vec<TrackedItem>> {
        let mut st = self.conn.prepare(
            "SELECT account, message_id FROM tracked_messages WHERE ?1 IS NULL OR account = ?1
             UNION
             SELECT DISTINCT account, message_id FROM tracking_events WHERE ?1 IS NULL OR account = ?1",
        )?;
        let keys: Vec<(String, String)> = st
            .query_map([account], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut items = Vec::with_capacity(keys.len());
        for (acc, id) in keys {
            let summary = self.tracking_summary(&acc, &id)?;
            let message = match self.tracked_message(&acc, &id)? {
                Some(m) => m,
                None => TrackedMessageRecord {
                    account: acc.clone(),
                    message_id: id.clone(),
                    subject: String::new(),
                    sent_at: summary.first_open.unwrap_or(0),
                    track_opens: true,
                    track_links: summary.clicks > 0,
                    recipients: Vec::new(),
                },
            };
            items.push(TrackedItem { message, summary });
        }
        items.sort_by(|a, b| {
            b.sort_time()
                .cmp(&a.sort_time())
                .then_with(|| b.message.message_id.cmp(&a.message.message_id))
        });
        Ok(items)
    }

    /// The cursor to pass as `after` on the next poll (`None`: from the start).
    pub fn tracking_cursor(&self, account: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT cursor FROM tracking_cursors WHERE account = ?1",
                [account],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores a page of events and the cursor that follows it in one transaction, so that a crash
    /// either keeps both or neither. Events already stored (same server id) are ignored. Returns the
    /// events that were new, in the given order. The cursor is written whatever it was before; a
    /// poller that may race another one uses [`Store::store_events_page`].
    pub fn store_events_and_cursor(
        &mut self,
        account: &str,
        events: &[Event],
        cursor: &str,
    ) -> Result<Vec<Event>> {
        Ok(self.insert_page(account, None, events, cursor)?.fresh)
    }

    /// Stores a page fetched with `after` under the cursor named `cursor_account`, in one
    /// IMMEDIATE transaction. Several pollers may work on one data dir (the TUI's and
    /// `tidings watch`): an event already stored (the same tracker id for the same mail, under any
    /// account) is skipped, so only one of them ever gets it as fresh, and the cursor is moved only
    /// from `after` — a poller whose page was overtaken by another's never moves it backwards.
    /// Each event is stored under the account that recorded sending its mail, else under
    /// `cursor_account`. Fresh events wait as "pending" for [`Store::claim_pending_events`].
    pub fn store_events_page(
        &mut self,
        cursor_account: &str,
        after: Option<&str>,
        events: &[Event],
        cursor: &str,
    ) -> Result<StoredPage> {
        self.insert_page(cursor_account, Some(after), events, cursor)
    }

    fn insert_page(
        &mut self,
        cursor_account: &str,
        expected_cursor: Option<Option<&str>>,
        events: &[Event],
        cursor: &str,
    ) -> Result<StoredPage> {
        let tx = self.conn.transaction()?;
        let mut page = StoredPage::default();
        {
            // Event ids are unique per tracker user; with the Message-ID they identify an event
            // whichever account a poller would have filed it under.
            let mut known = tx
                .prepare("SELECT 1 FROM tracking_events WHERE event_id = ?1 AND message_id = ?2")?;
            let mut sent_from = tx.prepare(
                "SELECT account FROM tracked_messages WHERE message_id = ?1
                 ORDER BY account = ?2 DESC, account LIMIT 1",
            )?;
            let mut insert = tx.prepare(
                "INSERT OR IGNORE INTO tracking_events(account, event_id, kind, message_id, recipient,
                     url, at, user_agent, classification, reason, notify_pending, confidence, client,
                     repeat)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?13, ?11, ?12, ?14)",
            )?;
            let mut repeats = tx.prepare(
                "SELECT EXISTS (SELECT 1 FROM tracking_events
                     WHERE account = ?1 AND message_id = ?2 AND recipient = ?3 AND kind = 'open'
                       AND classification != 'automated' AND client = ?4
                       AND at BETWEEN ?5 - ?6 AND ?5)",
            )?;
            // Later evidence (a sweep, the trap link) re-marks earlier events of the same mail:
            // one still waiting to be notified is then an automated one, and is not notified.
            let mut remark = tx.prepare(
                "UPDATE tracking_events SET classification = 'automated', confidence = ?3,
                     reason = ?4
                 WHERE event_id = ?1 AND message_id = ?2",
            )?;
            for e in events {
                let message_id = message_id::bracketed(&e.message_id);
                if e.classification == Classification::Automated {
                    for id in &e.reclassified {
                        remark.execute(params![id, message_id, e.confidence.as_str(), e.reason])?;
                    }
                }
                if known.exists(params![e.id, message_id])? {
                    continue;
                }
                let owner: String = sent_from
                    .query_row(params![message_id, cursor_account], |r| r.get(0))
                    .optional()?
                    .unwrap_or_else(|| cursor_account.to_string());
                let recipient = normalize_email(&e.recipient);
                // A person's open right after their last from the same client is the same
                // reading (a client re-rendering the mail): kept, counted once, not notified.
                let repeat = e.kind == EventKind::Open
                    && e.classification != Classification::Automated
                    && !e.client.is_empty()
                    && repeats.query_row(
                        params![
                            owner,
                            message_id,
                            recipient,
                            e.client,
                            e.at.timestamp(),
                            REPEAT_OPEN_SECONDS
                        ],
                        |r| r.get::<_, bool>(0),
                    )?;
                let n = insert.execute(params![
                    owner,
                    e.id,
                    e.kind.as_str(),
                    message_id,
                    recipient,
                    e.url,
                    e.at.timestamp(),
                    e.user_agent,
                    e.classification.as_str(),
                    e.reason,
                    e.confidence.as_str(),
                    e.client,
                    !repeat,
                    repeat,
                ])?;
                if n == 1 {
                    page.fresh.push(e.clone());
                }
            }
        }
        let current: Option<String> = tx
            .query_row(
                "SELECT cursor FROM tracking_cursors WHERE account = ?1",
                [cursor_account],
                |r| r.get(0),
            )
            .optional()?;
        page.cursor_saved = match expected_cursor {
            None => true,
            Some(after) => current.as_deref() == after,
        };
        if page.cursor_saved {
            tx.execute(
                "INSERT INTO tracking_cursors(account, cursor, updated_at)
                 VALUES (?1, ?2, strftime('%s','now'))
                 ON CONFLICT(account) DO UPDATE SET cursor = excluded.cursor,
                     updated_at = excluded.updated_at",
                params![cursor_account, cursor],
            )?;
        }
        tx.commit()?;
        Ok(page)
    }

    /// Claims the stored events that no poller has considered for a notification yet (of every
    /// account: whichever poller runs decides), in one IMMEDIATE transaction: each is handed to
    /// `decide` with its account (which may read the store, pass the throttle with
    /// [`Store::throttle_pass`] and add a notification) and marked handled. Another poller on the
    /// same data dir waits for the lock and then finds them handled, so every event is decided
    /// once; if `decide` fails nothing is marked and the next poll tries again.
    pub fn claim_pending_events<T, E: From<super::StoreError>>(
        &mut self,
        decide: impl FnMut(&Store, &str, &Event) -> std::result::Result<Option<T>, E>,
    ) -> std::result::Result<Vec<T>, E> {
        self.claim_settled_events(i64::MAX, decide)
    }

    /// [`Store::claim_pending_events`] for the events that happened at or before `settled_at`
    /// (unix seconds) only: the younger ones wait, since later evidence (a sweep over the links,
    /// the hidden trap link) may still show them to be a machine.
    pub fn claim_settled_events<T, E: From<super::StoreError>>(
        &mut self,
        settled_at: i64,
        mut decide: impl FnMut(&Store, &str, &Event) -> std::result::Result<Option<T>, E>,
    ) -> std::result::Result<Vec<T>, E> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(super::StoreError::from)?;
        let mut claim = || -> std::result::Result<Vec<T>, E> {
            let mut decided = Vec::new();
            for (account, e) in self.pending_events(settled_at)? {
                self.conn
                    .execute(
                        "UPDATE tracking_events SET notify_pending = 0
                         WHERE account = ?1 AND event_id = ?2",
                        params![account, e.id],
                    )
                    .map_err(super::StoreError::from)?;
                if let Some(t) = decide(self, &account, &e)? {
                    decided.push(t);
                }
            }
            Ok(decided)
        };
        match claim() {
            Ok(decided) => {
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(super::StoreError::from)?;
                Ok(decided)
            }
            Err(e) => {
                if let Err(rollback) = self.conn.execute_batch("ROLLBACK") {
                    tracing::warn!(error = %rollback, "rollback of a notification claim failed");
                }
                Err(e)
            }
        }
    }

    fn pending_events(&self, settled_at: i64) -> Result<Vec<(String, Event)>> {
        let mut st = self.conn.prepare(
            "SELECT event_id, kind, message_id, recipient, url, at, user_agent, classification,
                    reason, account, confidence, client
             FROM tracking_events WHERE notify_pending = 1 AND at <= ?1 ORDER BY at, event_id",
        )?;
        let rows = st.query_map([settled_at], |r| {
            let e = Event {
                id: r.get(0)?,
                kind: kind_of(&r.get::<_, String>(1)?),
                message_id: r.get(2)?,
                recipient: r.get(3)?,
                url: r.get(4)?,
                at: chrono::DateTime::from_timestamp(r.get(5)?, 0).unwrap_or_default(),
                user_agent: r.get(6)?,
                ip: None,
                classification: class_of(&r.get::<_, String>(7)?),
                reason: r.get(8)?,
                confidence: Confidence::parse(&r.get::<_, String>(10)?).unwrap_or_default(),
                client: r.get(11)?,
                reclassified: Vec::new(),
            };
            Ok((r.get(9)?, e))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The time of the first event still waiting for a notification decision that happened
    /// after `at` (unix seconds): one in its settle window.
    pub fn first_pending_after(&self, at: i64) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT min(at) FROM tracking_events WHERE notify_pending = 1 AND at > ?1",
            [at],
            |r| r.get(0),
        )?)
    }

    /// The notification throttle, shared by every process on this data dir: true (and `at`
    /// recorded for `key`) unless `key` last notified within `window_seconds` before `at` (unix
    /// seconds). Decided in one statement, so two pollers can never both pass.
    pub fn throttle_pass(&self, key: &str, at: i64, window_seconds: u64) -> Result<bool> {
        let window = i64::try_from(window_seconds).unwrap_or(i64::MAX);
        let changed = self.conn.execute(
            "INSERT INTO notification_throttle(key, last_at) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET last_at = excluded.last_at
             WHERE NOT (excluded.last_at >= notification_throttle.last_at
                        AND excluded.last_at - notification_throttle.last_at < ?3)",
            params![key, at, window],
        )?;
        Ok(changed == 1)
    }

    /// Forgets throttle keys that last notified before `before` (unix seconds): they can no longer
    /// hold anything back once the longest window has passed.
    pub fn prune_throttle(&self, before: i64) -> Result<u64> {
        Ok(self.conn.execute(
            "DELETE FROM notification_throttle WHERE last_at < ?1",
            [before],
        )? as u64)
    }

    /// How many events are stored — a poller compares it across polls to notice events another
    /// process stored.
    pub fn tracking_event_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM tracking_events", [], |r| r.get(0))?)
    }

    /// Every event of one mail, oldest first, automated ones included.
    pub fn timeline(&self, account: &str, message_id: &str) -> Result<Vec<TimelineEntry>> {
        let mut st = self.conn.prepare(
            "SELECT event_id, at, kind, recipient, url, user_agent, classification, reason,
                    confidence, client, repeat
             FROM tracking_events WHERE account = ?1 AND message_id = ?2 ORDER BY at, event_id",
        )?;
        let rows = st.query_map(params![account, message_id::bracketed(message_id)], |r| {
            Ok(TimelineEntry {
                event_id: r.get(0)?,
                at: r.get(1)?,
                kind: kind_of(&r.get::<_, String>(2)?),
                recipient: r.get(3)?,
                url: r.get(4)?,
                user_agent: r.get(5)?,
                classification: class_of(&r.get::<_, String>(6)?),
                reason: r.get(7)?,
                confidence: Confidence::parse(&r.get::<_, String>(8)?).unwrap_or_default(),
                client: r.get(9)?,
                repeat: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Opens, clicks and who opened one mail. Recipients come from the tracked mail's record (so
    /// those who never opened are listed) and from the events.
    pub fn tracking_summary(&self, account: &str, message_id: &str) -> Result<TrackingSummary> {
        let record = self.tracked_message(account, message_id)?;
        let mut by_recipient: BTreeMap<String, RecipientActivity> = BTreeMap::new();
        for r in record.iter().flat_map(|m| &m.recipients) {
            by_recipient.insert(
                r.address.clone(),
                RecipientActivity {
                    address: r.address.clone(),
                    name: r.name.clone(),
                    ..Default::default()
                },
            );
        }
        let mut s = TrackingSummary::default();
        let mut first_opens: Vec<(i64, String)> = Vec::new();
        for e in self.timeline(account, message_id)? {
            s.last_activity = Some(s.last_activity.map_or(e.at, |t| t.max(e.at)));
            let who =
                by_recipient
                    .entry(e.recipient.clone())
                    .or_insert_with(|| RecipientActivity {
                        address: e.recipient.clone(),
                        ..Default::default()
                    });
            if e.classification == Classification::Automated {
                s.automated += 1;
                who.automated += 1;
                continue;
            }
            if !e.client.is_empty() && !who.clients.contains(&e.client) {
                who.clients.push(e.client.clone());
            }
            match e.kind {
                EventKind::Open if e.repeat => {
                    s.last_open = Some(s.last_open.map_or(e.at, |t| t.max(e.at)));
                    who.last_open = Some(who.last_open.map_or(e.at, |t| t.max(e.at)));
                }
                EventKind::Open => {
                    s.opens += 1;
                    s.first_open = Some(s.first_open.map_or(e.at, |t| t.min(e.at)));
                    s.last_open = Some(s.last_open.map_or(e.at, |t| t.max(e.at)));
                    if who.opens == 0 {
                        first_opens.push((e.at, e.recipient.clone()));
                    }
                    who.opens += 1;
                    who.first_open = Some(who.first_open.map_or(e.at, |t| t.min(e.at)));
                    who.last_open = Some(who.last_open.map_or(e.at, |t| t.max(e.at)));
                    who.via_proxy |= e.classification == Classification::Proxy;
                }
                EventKind::Click => {
                    s.clicks += 1;
                    who.clicks += 1;
                    *s.clicks_by_link
                        .entry(e.url.clone().unwrap_or_default())
                        .or_default() += 1;
                }
            }
        }
        s.opened_by = first_opens.into_iter().map(|(_, a)| a).collect();
        s.recipients = by_recipient.into_values().collect();
        Ok(s)
    }

    /// Counted (non-automated) opens of `message_id` by `recipient` up to and including event
    /// `up_to_event`: "2nd open" in a notification.
    pub fn open_ordinal(
        &self,
        account: &str,
        message_id: &str,
        recipient: &str,
        up_to_event: i64,
    ) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM tracking_events INDEXED BY tracking_events_by_message
             WHERE account = ?1 AND message_id = ?2 AND recipient = ?3 AND kind = 'open'
                 AND classification != 'automated' AND repeat = 0 AND event_id <= ?4",
            params![
                account,
                message_id::bracketed(message_id),
                normalize_email(recipient),
                up_to_event
            ],
            |r| r.get(0),
        )?)
    }

    /// For the list's marks: every tracked Message-ID of `account` (recorded as sent tracked, or
    /// with events) and its counted opens and clicks. One query, so a list of any length is
    /// marked by looking its rows up in the map.
    pub fn tracking_marks(&self, account: &str) -> Result<HashMap<String, TrackingMark>> {
        let mut st = self.conn.prepare(
            "SELECT message_id, sum(opens), sum(clicks), max(last_open) FROM (
                 SELECT message_id, 0 AS opens, 0 AS clicks, NULL AS last_open
                 FROM tracked_messages WHERE account = ?1
                 UNION ALL
                 SELECT message_id, kind = 'open', kind = 'click',
                        CASE WHEN kind = 'open' THEN at END
                 FROM tracking_events
                 WHERE account = ?1 AND classification != 'automated' AND repeat = 0
                 UNION ALL
                 SELECT message_id, 0, 0, NULL FROM tracking_events WHERE account = ?1
             ) GROUP BY message_id",
        )?;
        let rows = st.query_map([account], mark_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// [`Store::tracking_marks`] for the given Message-IDs (with brackets) only: a page of the list
    /// is marked through the mail index instead of a walk over every event of the account.
    pub fn tracking_marks_of(
        &self,
        account: &str,
        message_ids: &[&str],
    ) -> Result<HashMap<String, TrackingMark>> {
        let mut out = HashMap::new();
        for chunk in message_ids.chunks(500) {
            // Numbered, so both lists name the same parameters.
            let list = (2..chunk.len() + 2)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut st = self.conn.prepare(&format!(
                "SELECT message_id, sum(opens), sum(clicks), max(last_open) FROM (
                     SELECT message_id, 0 AS opens, 0 AS clicks, NULL AS last_open
                     FROM tracked_messages WHERE account = ?1 AND message_id IN ({list})
                     UNION ALL
                     SELECT message_id,
                            kind = 'open' AND classification != 'automated' AND repeat = 0,
                            kind = 'click' AND classification != 'automated',
                            CASE WHEN kind = 'open' AND classification != 'automated' THEN at END
                     FROM tracking_events INDEXED BY tracking_events_by_message
                     WHERE account = ?1 AND message_id IN ({list})
                 ) GROUP BY message_id"
            ))?;
            let params = std::iter::once(account).chain(chunk.iter().copied());
            let rows = st.query_map(rusqlite::params_from_iter(params), mark_row)?;
            for row in rows {
                let (id, mark) = row?;
                out.insert(id, mark);
            }
        }
        Ok(out)
    }

    /// Tracked mail sent to `email` and its counted opens and clicks.
    pub fn contact_tracking(&self, email: &str) -> Result<ContactTracking> {
        self.tracking_by_address_pattern(&like_escape(&normalize_email(email)))
    }

    /// Tracked mail sent to anyone at `domain` and their counted opens and clicks.
    pub fn organization_tracking(&self, domain: &str) -> Result<ContactTracking> {
        self.tracking_by_address_pattern(&format!("%@{}", like_escape(&domain.to_lowercase())))
    }

    fn tracking_by_address_pattern(&self, pattern: &str) -> Result<ContactTracking> {
        let tracked_sent: u64 = self.conn.query_row(
            "SELECT count(DISTINCT account || ' ' || message_id) FROM tracked_recipients
             WHERE address LIKE ?1 ESCAPE '\\'",
            [pattern],
            |r| r.get(0),
        )?;
        let (opens, clicks, last): (u64, u64, Option<i64>) = self.conn.query_row(
            "SELECT coalesce(sum(kind = 'open' AND repeat = 0), 0), coalesce(sum(kind = 'click'), 0),
                    max(at)
             FROM tracking_events WHERE recipient LIKE ?1 ESCAPE '\\'
                 AND classification != 'automated'",
            [pattern],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(ContactTracking {
            tracked_sent,
            opens,
            clicks,
            last_activity: last,
        })
    }

    /// Adds an in-app notification for event `event_id` (at most one per event and account);
    /// returns it as stored (unread).
    #[allow(clippy::too_many_arguments)]
    pub fn add_notification(
        &self,
        account: &str,
        event_id: Option<i64>,
        at: i64,
        kind: EventKind,
        summary: &str,
        body: &str,
        message_id: &str,
    ) -> Result<StoredNotification> {
        let message_id = message_id::bracketed(message_id);
        self.conn.execute(
            "INSERT INTO notifications(account, event_id, at, kind, summary, body, message_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                account,
                event_id,
                at,
                kind.as_str(),
                summary,
                body,
                message_id
            ],
        )?;
        Ok(StoredNotification {
            id: self.conn.last_insert_rowid(),
            account: account.to_string(),
            at,
            kind,
            summary: summary.to_string(),
            body: body.to_string(),
            message_id,
            read: false,
        })
    }

    /// Newest first.
    pub fn notifications(&self, limit: u32) -> Result<Vec<StoredNotification>> {
        self.query_notifications(
            "SELECT id, account, at, kind, summary, body, message_id, read FROM notifications
             ORDER BY id DESC LIMIT ?1",
            i64::from(limit),
        )
    }

    /// Notifications added after `id` (by any process), oldest first.
    pub fn notifications_after(&self, id: i64) -> Result<Vec<StoredNotification>> {
        self.query_notifications(
            "SELECT id, account, at, kind, summary, body, message_id, read FROM notifications
             WHERE id > ?1 ORDER BY id",
            id,
        )
    }

    /// The newest notification's id (0 when there is none).
    pub fn last_notification_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM notifications", [], |r| {
                r.get(0)
            })?)
    }

    fn query_notifications(&self, sql: &str, arg: i64) -> Result<Vec<StoredNotification>> {
        let mut st = self.conn.prepare(sql)?;
        let rows = st.query_map([arg], |r| {
            Ok(StoredNotification {
                id: r.get(0)?,
                account: r.get(1)?,
                at: r.get(2)?,
                kind: kind_of(&r.get::<_, String>(3)?),
                summary: r.get(4)?,
                body: r.get(5)?,
                message_id: r.get(6)?,
                read: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The bell's count.
    pub fn unread_notification_count(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM notifications WHERE read = 0",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn mark_notification_read(&self, id: i64) -> Result<()> {
        self.conn
            .execute("UPDATE notifications SET read = 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn mark_all_notifications_read(&self) -> Result<u64> {
        Ok(self
            .conn
            .execute("UPDATE notifications SET read = 1 WHERE read = 0", [])? as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).unwrap()
    }

    fn event(id: i64, kind: EventKind, who: &str, ts: i64, class: Classification) -> Event {
        Event {
            id,
            kind,
            message_id: "q3@acme.test".into(),
            recipient: who.into(),
            url: (kind == EventKind::Click).then(|| "https://acme.test/offer".into()),
            at: at(ts),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into(),
            ip: None,
            classification: class,
            reason: if class == Classification::Automated {
                "Apple Mail Privacy Protection".into()
            } else {
                String::new()
            },
            confidence: Default::default(),
            client: String::new(),
            reclassified: Vec::new(),
        }
    }

    fn record() -> TrackedMessageRecord {
        TrackedMessageRecord::q3_for_tests(
            "<q3@acme.test>",
            &[("Dana@Acme.test", "Dana Lee"), ("sam@acme.test", "")],
        )
    }

    #[test]
    fn a_persons_opens_seconds_apart_from_one_client_count_once_and_machines_apart() {
        let mut s = Store::open_in_memory().unwrap();
        s.record_tracked_message(&record()).unwrap();
        let open = |id, ts, client: &str, class| Event {
            client: client.into(),
            ..event(id, EventKind::Open, "dana@acme.test", ts, class)
        };
        let page = [
            open(1, 2000, "Outlook on Windows", Classification::Human),
            // Outlook renders the mail again 5 s later: the same reading.
            open(2, 2005, "Outlook on Windows", Classification::Human),
            // Her phone, seconds later: another reading.
            open(3, 2010, "Apple Mail on iPhone", Classification::Human),
            open(
                4,
                2011,
                "Apple Mail Privacy Protection",
                Classification::Automated,
            ),
            // Back in Outlook ten minutes on.
            open(5, 2600, "Outlook on Windows", Classification::Human),
        ];
        s.store_events_and_cursor("work", &page, "5").unwrap();
        let summary = s.tracking_summary("work", "q3@acme.test").unwrap();
        assert_eq!(summary.opens, 3);
        assert_eq!(summary.automated, 1);
        let dana = &summary.recipients[0];
        assert_eq!((dana.opens, dana.automated), (3, 1));
        assert_eq!(dana.clients, ["Outlook on Windows", "Apple Mail on iPhone"]);
        let marks = s.tracking_marks("work").unwrap();
        assert_eq!(marks["<q3@acme.test>"].opens, 3);
        // The repeat is not even considered for a notification.
        let pending = s
            .claim_pending_events(|_, _, e| -> Result<Option<i64>> { Ok(Some(e.id)) })
            .unwrap();
        assert_eq!(pending, [1, 3, 4, 5]);
    }

    #[test]
    fn events_and_cursor_commit_together_and_duplicates_count_once() {
        let mut s = Store::open_in_memory().unwrap();
        s.record_tracked_message(&record()).unwrap();
        assert_eq!(s.tracking_cursor("work").unwrap(), None);
        let page = [
            event(
                1,
                EventKind::Open,
                "dana@acme.test",
                2000,
                Classification::Human,
            ),
            event(
                2,
                EventKind::Open,
                "dana@acme.test",
                2100,
                Classification::Human,
            ),
        ];
        assert_eq!(
            s.store_events_and_cursor("work", &page, "c2")
                .unwrap()
                .len(),
            2
        );
        // The same page again (a crash between commit and acknowledgement) plus one new event.
        let again = [
            page[1].clone(),
            event(
                3,
                EventKind::Click,
                "sam@acme.test",
                2200,
                Classification::Human,
            ),
        ];
        let fresh = s.store_events_and_cursor("work", &again, "c3").unwrap();
        assert_eq!(fresh.iter().map(|e| e.id).collect::<Vec<_>>(), [3]);
        assert_eq!(s.tracking_cursor("work").unwrap().as_deref(), Some("c3"));
        let sum = s.tracking_summary("work", "q3@acme.test").unwrap();
        assert_eq!((sum.opens, sum.clicks), (2, 1));
        assert_eq!(
            s.open_ordinal("work", "<q3@acme.test>", "Dana@acme.test", 2)
                .unwrap(),
            2
        );
        // Another account's cursor is its own, but an event is stored once whoever fetches it.
        assert_eq!(s.tracking_cursor("home").unwrap(), None);
        assert!(s
            .store_events_and_cursor("home", &page, "h1")
            .unwrap()
            .is_empty());
        assert_eq!(s.tracking_cursor("home").unwrap().as_deref(), Some("h1"));
    }

    /// Dana's human open number `id`, at 2000 + `id`.
    fn dana_opens(id: i64) -> Event {
        event(
            id,
            EventKind::Open,
            "dana@acme.test",
            2000 + id,
            Classification::Human,
        )
    }

    #[test]
    fn a_page_overtaken_by_another_poller_neither_doubles_nor_moves_the_cursor_back() {
        let mut s = Store::open_in_memory().unwrap();
        s.record_tracked_message(&record()).unwrap();
        let ev = dana_opens;
        // Poller A asked after nothing and got three events; poller B asked after nothing too but
        // got two, and commits after A.
        let a = s
            .store_events_page("work", None, &[ev(1), ev(2), ev(3)], "c3")
            .unwrap();
        assert!(a.cursor_saved);
        assert_eq!(a.fresh.len(), 3);
        let b = s
            .store_events_page("work", None, &[ev(1), ev(2)], "c2")
            .unwrap();
        assert!(!b.cursor_saved);
        assert!(b.fresh.is_empty());
        assert_eq!(s.tracking_cursor("work").unwrap().as_deref(), Some("c3"));
        let next = s
            .store_events_page("work", Some("c3"), &[ev(4)], "c4")
            .unwrap();
        assert!(next.cursor_saved);
        assert_eq!(s.tracking_summary("work", "q3@acme.test").unwrap().opens, 4);

        // An event of mail sent from another account is filed under that account.
        let mut home = record();
        home.account = "home".into();
        home.message_id = "<home@acme.test>".into();
        s.record_tracked_message(&home).unwrap();
        let mut e = ev(5);
        e.message_id = "home@acme.test".into();
        s.store_events_page("work", Some("c4"), &[e], "c5").unwrap();
        assert_eq!(
            s.tracking_summary("home", "home@acme.test").unwrap().opens,
            1
        );
        assert_eq!(
            s.tracking_summary("work", "home@acme.test").unwrap().opens,
            0
        );
    }

    #[test]
    fn each_pending_event_is_claimed_once_and_the_throttle_is_kept_in_the_store() {
        let mut s = Store::open_in_memory().unwrap();
        let events: Vec<Event> = (1..=3).map(dana_opens).collect();
        s.store_events_page("work", None, &events, "c").unwrap();
        let claimed = s
            .claim_pending_events(|store, account, e| -> Result<Option<i64>> {
                assert_eq!(account, "work");
                let pass = store.throttle_pass("open|q3|dana", e.at.timestamp(), 600)?;
                Ok(pass.then_some(e.id))
            })
            .unwrap();
        assert_eq!(claimed, [1], "later opens inside the window are throttled");
        let again = s
            .claim_pending_events(|_, _, e| -> Result<Option<i64>> { Ok(Some(e.id)) })
            .unwrap();
        assert!(again.is_empty(), "nothing is claimed twice");

        // A failed decision leaves the event pending for the next poll.
        s.store_events_page(
            "work",
            Some("c"),
            &[event(
                9,
                EventKind::Click,
                "x@y.test",
                9000,
                Classification::Human,
            )],
            "d",
        )
        .unwrap();
        let failed = s.claim_pending_events(|_, _, _| -> Result<Option<i64>> {
            Err(crate::store::StoreError::from(
                rusqlite::Error::InvalidQuery,
            ))
        });
        assert!(failed.is_err());
        let retried = s
            .claim_pending_events(|_, _, e| -> Result<Option<i64>> { Ok(Some(e.id)) })
            .unwrap();
        assert_eq!(retried, [9]);

        assert!(!s.throttle_pass("open|q3|dana", 2001 + 599, 600).unwrap());
        assert!(s.throttle_pass("open|q3|dana", 2001 + 600, 600).unwrap());
        assert!(s.throttle_pass("open|q3|sam", 2002, 600).unwrap());
        assert_eq!(s.prune_throttle(2500).unwrap(), 1);
        assert_eq!(s.tracking_event_count().unwrap(), 4);
    }

    #[test]
    fn summary_counts_people_per_recipient_and_keeps_machines_for_the_timeline() {
        let mut s = Store::open_in_memory().unwrap();
        s.record_tracked_message(&record()).unwrap();
        let events = [
            event(
                1,
                EventKind::Open,
                "sam@acme.test",
                1010,
                Classification::Automated,
            ),
            event(
                2,
                EventKind::Open,
                "dana@acme.test",
                3000,
                Classification::Human,
            ),
            event(
                3,
                EventKind::Open,
                "dana@acme.test",
                4000,
                Classification::Human,
            ),
            event(
                4,
                EventKind::Click,
                "dana@acme.test",
                4100,
                Classification::Human,
            ),
            event(
                5,
                EventKind::Open,
                "sam@acme.test",
                5000,
                Classification::Proxy,
            ),
        ];
        s.store_events_and_cursor("work", &events, "c5").unwrap();
        let sum = s.tracking_summary("work", "<q3@acme.test>").unwrap();
        assert_eq!(sum.opens, 3);
        assert_eq!((sum.first_open, sum.last_open), (Some(3000), Some(5000)));
        assert_eq!(sum.clicks_by_link.get("https://acme.test/offer"), Some(&1));
        assert_eq!(sum.automated, 1);
        assert_eq!(sum.opened_by, ["dana@acme.test", "sam@acme.test"]);
        let dana = &sum.recipients[0];
        assert_eq!(
            (dana.name.as_str(), dana.opens, dana.clicks),
            ("Dana Lee", 2, 1)
        );
        assert!(sum.recipients[1].via_proxy);
        let tl = s.timeline("work", "q3@acme.test").unwrap();
        assert_eq!(tl.len(), 5);
        assert_eq!(tl[0].classification, Classification::Automated);
        assert_eq!(tl[0].reason, "Apple Mail Privacy Protection");

        let marks = s.tracking_marks("work").unwrap();
        let mark = marks.get("<q3@acme.test>").expect("a mark");
        assert_eq!((mark.opens, mark.clicks), (3, 1));
        assert_eq!(mark.last_open, sum.last_open, "the last counted open");
        assert_eq!(marks.len(), 1);
        assert_eq!(
            s.tracking_marks_of("work", &["<q3@acme.test>", "<other@acme.test>"])
                .unwrap(),
            marks,
            "a page's marks are the same as the account's"
        );
        assert!(s.tracking_marks("home").unwrap().is_empty());

        let dana = s.contact_tracking("dana@acme.test").unwrap();
        assert_eq!((dana.tracked_sent, dana.opens, dana.clicks), (1, 2, 1));
        let org = s.organization_tracking("acme.test").unwrap();
        assert_eq!(
            (org.tracked_sent, org.opens, org.last_activity),
            (1, 3, Some(5000))
        );
    }

    #[test]
    fn tracked_list_puts_newest_activity_first_and_lists_unrecorded_mail() {
        let mut s = Store::open_in_memory().unwrap();
        s.record_tracked_message(&record()).unwrap();
        let mut quiet = record();
        quiet.message_id = "quiet@acme.test".into();
        quiet.sent_at = 1500;
        s.record_tracked_message(&quiet).unwrap();
        let mut foreign = event(1, EventKind::Open, "x@y.test", 9000, Classification::Human);
        foreign.message_id = "<sent-elsewhere@y.test>".into();
        s.store_events_and_cursor(
            "work",
            &[
                event(
                    2,
                    EventKind::Open,
                    "dana@acme.test",
                    3000,
                    Classification::Human,
                ),
                foreign,
            ],
            "c",
        )
        .unwrap();
        let ids: Vec<_> = s
            .tracked_list(Some("work"))
            .unwrap()
            .into_iter()
            .map(|i| i.message.message_id)
            .collect();
        assert_eq!(
            ids,
            [
                "<sent-elsewhere@y.test>",
                "<q3@acme.test>",
                "<quiet@acme.test>"
            ]
        );
        assert!(s.tracked_list(Some("home")).unwrap().is_empty());
    }

    #[test]
    fn notifications_count_unread_until_marked() {
        let s = Store::open_in_memory().unwrap();
        let a = s
            .add_notification(
                "work",
                Some(1),
                10,
                EventKind::Open,
                "Dana Lee opened",
                "Q3 — 1st open",
                "q3@x",
            )
            .unwrap();
        s.add_notification(
            "work",
            None,
            11,
            EventKind::Click,
            "Dana Lee clicked a link",
            "Q3",
            "q3@x",
        )
        .unwrap();
        assert_eq!(s.unread_notification_count().unwrap(), 2);
        s.mark_notification_read(a.id).unwrap();
        assert_eq!(s.unread_notification_count().unwrap(), 1);
        let list = s.notifications(10).unwrap();
        assert_eq!(list[0].summary, "Dana Lee clicked a link");
        assert!(list[1].read);
        assert_eq!(list[1].message_id, "<q3@x>");
        assert_eq!(s.mark_all_notifications_read().unwrap(), 1);
        assert_eq!(s.unread_notification_count().unwrap(), 0);
    }
}
