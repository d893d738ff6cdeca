//! What the inbox's tracking views read: one tracked mail's timeline with a summary per recipient,
//! and the activity feed (recent events across tracked mail, newest first). The feed's read state
//! is the in-app notifications' `read` flag, so the bell, `tidings watch` and the feed agree and
//! it survives a restart. Both are bounded: a mail with thousands of events costs one page.

use super::{Result, Store};
use crate::message_id;
use crate::tracking_event::{Classification, Confidence, EventKind};
use rusqlite::{params, OptionalExtension, Row};
use std::collections::BTreeMap;

/// The newest events of one mail its timeline shows.
pub const TIMELINE_LIMIT: u32 = 500;
/// The newest events the activity feed shows.
pub const ACTIVITY_LIMIT: u32 = 200;

/// One recipient's part of a tracked mail: counted opens and clicks (automated ones apart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientTimeline {
    pub address: String,
    /// The contact's name, else the name the mail was addressed with; empty when neither.
    pub name: String,
    pub opens: u64,
    pub first_open: Option<i64>,
    pub last_open: Option<i64>,
    pub clicks: u64,
    /// Counted clicks per link URL, most clicked first.
    pub clicks_by_link: Vec<(String, u64)>,
    /// Events classified automated (prefetch, scanners): shown, never counted.
    pub automated: u64,
    /// An open came through a caching image proxy: later opens are invisible.
    pub via_proxy: bool,
}

/// One event, with the names a pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEvent {
    pub account: String,
    pub event_id: i64,
    pub at: i64,
    pub kind: EventKind,
    pub recipient: String,
    /// As [`RecipientTimeline::name`].
    pub name: String,
    pub url: Option<String>,
    pub user_agent: String,
    pub classification: Classification,
    pub reason: String,
    pub confidence: Confidence,
    /// The client the tracker named ("Outlook on Windows"); empty when it could not tell.
    pub client: String,
    /// With angle brackets.
    pub message_id: String,
    /// The tracked mail's subject, else the cached copy's; empty when neither is known.
    pub subject: String,
    /// Behind an unread in-app notification (the bell counts it).
    pub unread: bool,
}

/// A tracked mail's timeline: who opened and clicked what, and every event (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageTimeline {
    pub subject: String,
    pub sent_at: Option<i64>,
    /// Addressed recipients (and anyone else the tracker reported), in address order.
    pub recipients: Vec<RecipientTimeline>,
    /// Newest first, at most the limit asked for.
    pub events: Vec<ActivityEvent>,
    /// Every event of the mail, shown or not.
    pub total_events: u64,
    /// Real replies to the mail, earliest first (automatic answers are never stored).
    pub replies: Vec<super::Reply>,
}

/// The columns of an [`ActivityEvent`], from `tracking_events e`. A notification names its event;
/// one stored before notifications did (migration 0006) is matched by mail, kind and time.
const EVENT_COLUMNS: &str = "e.account, e.event_id, e.at, e.kind, e.recipient,
    coalesce(nullif((SELECT c.display_name FROM contacts c WHERE c.email = e.recipient), ''),
             (SELECT r.name FROM tracked_recipients r WHERE r.account = e.account
                  AND r.message_id = e.message_id AND r.address = e.recipient), ''),
    e.url, e.user_agent, e.classification, e.reason, e.message_id,
    coalesce(nullif((SELECT t.subject FROM tracked_messages t WHERE t.account = e.account
                         AND t.message_id = e.message_id), ''),
             (SELECT m.subject FROM messages m WHERE m.message_id = e.message_id LIMIT 1), ''),
    EXISTS (SELECT 1 FROM notifications n WHERE n.account = e.account
                AND n.event_id = e.event_id AND n.read = 0)
    OR EXISTS (SELECT 1 FROM notifications n WHERE n.message_id = e.message_id
                AND n.kind = e.kind AND n.at = e.at AND n.event_id IS NULL
                AND n.account = e.account AND n.read = 0),
    e.confidence, e.client";

fn event_row(r: &Row) -> rusqlite::Result<ActivityEvent> {
    Ok(ActivityEvent {
        account: r.get(0)?,
        event_id: r.get(1)?,
        at: r.get(2)?,
        kind: EventKind::parse(&r.get::<_, String>(3)?).unwrap_or(EventKind::Open),
        recipient: r.get(4)?,
        name: r.get(5)?,
        url: r.get(6)?,
        user_agent: r.get(7)?,
        // Unknown text is not trusted as a person.
        classification: Classification::parse(&r.get::<_, String>(8)?)
            .unwrap_or(Classification::Automated),
        reason: r.get(9)?,
        message_id: r.get(10)?,
        subject: r.get(11)?,
        unread: r.get(12)?,
        confidence: Confidence::parse(&r.get::<_, String>(13)?).unwrap_or_default(),
        client: r.get(14)?,
    })
}

impl Store {
    /// The timeline of `message_id`: a summary per recipient over all its events, and its newest
    /// `limit` events.
    pub fn message_timeline(
        &self,
        account: &str,
        message_id: &str,
        limit: u32,
    ) -> Result<MessageTimeline> {
        let id = message_id::bracketed(message_id);
        let record = self.tracked_message(account, &id)?;
        let mut out = MessageTimeline {
            subject: record
                .as_ref()
                .map(|m| m.subject.clone())
                .unwrap_or_default(),
            sent_at: record.as_ref().map(|m| m.sent_at),
            ..Default::default()
        };
        if out.subject.trim().is_empty() {
            out.subject = self.subject_by_message_id(&id)?.unwrap_or_default();
        }
        out.replies = self.replies_to(&id)?;
        let mut by_address: BTreeMap<String, RecipientTimeline> = BTreeMap::new();
        for r in record.iter().flat_map(|m| &m.recipients) {
            by_address.insert(
                r.address.clone(),
                RecipientTimeline {
                    address: r.address.clone(),
                    name: r.name.clone(),
                    ..Default::default()
                },
            );
        }
        let mut st = self.conn.prepare(
            "SELECT recipient,
                 coalesce(sum(kind = 'open' AND classification != 'automated' AND repeat = 0), 0),
                 min(CASE WHEN kind = 'open' AND classification != 'automated' THEN at END),
                 max(CASE WHEN kind = 'open' AND classification != 'automated' THEN at END),
                 coalesce(sum(kind = 'click' AND classification != 'automated'), 0),
                 coalesce(sum(classification = 'automated'), 0),
                 coalesce(max(kind = 'open' AND classification = 'proxy'), 0)
             FROM tracking_events INDEXED BY tracking_events_by_message
             WHERE account = ?1 AND message_id = ?2 GROUP BY recipient",
        )?;
        let rows = st.query_map(params![account, id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, u64>(4)?,
                r.get::<_, u64>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })?;
        for row in rows {
            let (address, opens, first_open, last_open, clicks, automated, via_proxy) = row?;
            let who = by_address
                .entry(address.clone())
                .or_insert_with(|| RecipientTimeline {
                    address,
                    ..Default::default()
                });
            who.opens = opens;
            who.first_open = first_open;
            who.last_open = last_open;
            who.clicks = clicks;
            who.automated = automated;
            who.via_proxy = via_proxy;
        }
        // The contact's name wins over the one typed when addressing, as in notifications.
        for who in by_address.values_mut() {
            if let Some(c) = self.contact(&who.address)? {
                if !c.display_name.trim().is_empty() {
                    who.name = c.display_name;
                }
            }
        }
        let mut st = self.conn.prepare(
            "SELECT recipient, coalesce(url, ''), count(*)
             FROM tracking_events INDEXED BY tracking_events_by_message
             WHERE account = ?1 AND message_id = ?2 AND kind = 'click'
                 AND classification != 'automated'
             GROUP BY recipient, url ORDER BY count(*) DESC, url",
        )?;
        let links = st.query_map(params![account, id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u64>(2)?,
            ))
        })?;
        for link in links {
            let (address, url, n) = link?;
            if let Some(who) = by_address.get_mut(&address) {
                who.clicks_by_link.push((url, n));
            }
        }
        out.recipients = by_address.into_values().collect();
        // The page is chosen first, so names and subjects are looked up for its rows only. Without
        // statistics SQLite prefers the primary key (account, event_id) and walks every event of
        // the account: the mail's index is named here and above.
        let mut st = self.conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM (SELECT * FROM tracking_events
                 INDEXED BY tracking_events_by_message
                 WHERE account = ?1 AND message_id = ?2
                 ORDER BY at DESC, event_id DESC LIMIT ?3) e
             ORDER BY e.at DESC, e.event_id DESC"
        ))?;
        out.events = st
            .query_map(params![account, id, limit], event_row)?
            .collect::<rusqlite::Result<_>>()?;
        out.total_events = self.conn.query_row(
            "SELECT count(*) FROM tracking_events WHERE account = ?1 AND message_id = ?2",
            params![account, id],
            |r| r.get(0),
        )?;
        Ok(out)
    }

    /// The newest `limit` events across every account's tracked mail, newest first.
    pub fn activity_feed(&self, limit: u32) -> Result<Vec<ActivityEvent>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM (SELECT * FROM tracking_events
                 ORDER BY at DESC, event_id DESC LIMIT ?1) e
             ORDER BY e.at DESC, e.event_id DESC"
        ))?;
        let rows = st.query_map([limit], event_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The feed as the activity pane shows it, then every notification it could show marked read:
    /// returns the feed (with what was unread still marked) and the bell's count after. A
    /// notification added while this runs stays unread.
    pub fn read_activity_feed(&self, limit: u32) -> Result<(Vec<ActivityEvent>, u64)> {
        let newest: Option<i64> = self
            .conn
            .query_row("SELECT max(id) FROM notifications", [], |r| r.get(0))
            .optional()?
            .flatten();
        let feed = self.activity_feed(limit)?;
        if let Some(newest) = newest {
            self.conn.execute(
                "UPDATE notifications SET read = 1 WHERE read = 0 AND id <= ?1",
                [newest],
            )?;
        }
        Ok((feed, self.unread_notification_count()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TrackedMessageRecord;
    use crate::tracking_event::Event;

    fn event(id: i64, kind: EventKind, who: &str, at: i64, class: Classification) -> Event {
        Event {
            id,
            kind,
            message_id: "q3@acme.test".into(),
            recipient: who.into(),
            url: (kind == EventKind::Click).then(|| format!("https://acme.test/{id}")),
            at: chrono::DateTime::from_timestamp(at, 0).unwrap(),
            user_agent: "Firefox".into(),
            ip: None,
            classification: class,
            reason: if class == Classification::Automated {
                "security scanner".into()
            } else {
                String::new()
            },
            confidence: Default::default(),
            client: String::new(),
            reclassified: Vec::new(),
        }
    }

    fn store_with_events() -> Store {
        let mut s = Store::open_in_memory().unwrap();
        s.record_tracked_message(&TrackedMessageRecord::q3_for_tests(
            "q3@acme.test",
            &[("dana@acme.test", "Dana Lee"), ("kim@acme.test", "")],
        ))
        .unwrap();
        use Classification::*;
        use EventKind::*;
        s.store_events_and_cursor(
            "work",
            &[
                event(1, Open, "dana@acme.test", 1010, Automated),
                event(2, Open, "dana@acme.test", 2000, Human),
                event(3, Click, "dana@acme.test", 2100, Human),
                event(4, Open, "dana@acme.test", 3000, Proxy),
                event(5, Click, "dana@acme.test", 3100, Human),
            ],
            "5",
        )
        .unwrap();
        s
    }

    #[test]
    fn the_timeline_summarises_each_recipient_and_bounds_its_events() {
        let s = store_with_events();
        let t = s.message_timeline("work", "<q3@acme.test>", 3).unwrap();
        assert_eq!(t.subject, "Proposal for Q3");
        assert_eq!(t.total_events, 5);
        assert_eq!(
            t.events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            [5, 4, 3],
            "newest first, bounded"
        );
        assert_eq!(t.events[0].name, "Dana Lee");
        let dana = &t.recipients[0];
        assert_eq!((dana.opens, dana.clicks, dana.automated), (2, 2, 1));
        assert_eq!((dana.first_open, dana.last_open), (Some(2000), Some(3000)));
        assert!(dana.via_proxy);
        assert_eq!(dana.clicks_by_link.len(), 2);
        let kim = &t.recipients[1];
        assert_eq!((kim.address.as_str(), kim.opens), ("kim@acme.test", 0));
    }

    #[test]
    fn reading_the_feed_marks_its_notifications_read_and_keeps_the_flag_in_the_answer() {
        let s = store_with_events();
        let notify = |event: Option<i64>, at: i64, kind: EventKind| {
            s.add_notification("work", event, at, kind, "Dana Lee", "", "q3@acme.test")
                .unwrap()
        };
        notify(Some(2), 2000, EventKind::Open);
        // Stored before notifications named their event: found by mail, kind and time.
        notify(None, 3100, EventKind::Click);
        let feed = s.activity_feed(10).unwrap();
        assert_eq!(feed.len(), 5);
        assert_eq!(feed[0].subject, "Proposal for Q3");
        let unread: Vec<i64> = feed
            .iter()
            .filter(|e| e.unread)
            .map(|e| e.event_id)
            .collect();
        assert_eq!(unread, [5, 2]);
        let (shown, left) = s.read_activity_feed(10).unwrap();
        assert!(shown.iter().any(|e| e.unread));
        assert_eq!(left, 0);
        assert!(!s.activity_feed(10).unwrap().iter().any(|e| e.unread));
    }
}
