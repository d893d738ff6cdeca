//! Reminders: "remind me if nobody answered (or opened) this mail in N days". A reminder stores
//! only what the user chose and whether it has notified; whether it is still waiting, due, or
//! settled by a reply or an open is read from `replies` and `tracking_events` each time, so it can
//! never disagree with them. The Follow up list filter is the conditions below.

use super::replies::Reply;
use super::{Result, Store, StoreError};
use crate::message_id;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// What settles a reminder before it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RemindIf {
    /// A real reply (the default).
    #[default]
    NoReply,
    /// A human open, or a real reply.
    NoOpen,
}

impl RemindIf {
    pub fn as_str(self) -> &'static str {
        match self {
            RemindIf::NoReply => "no-reply",
            RemindIf::NoOpen => "no-open",
        }
    }

    pub fn parse(s: &str) -> Option<RemindIf> {
        match s {
            "no-reply" => Some(RemindIf::NoReply),
            "no-open" => Some(RemindIf::NoOpen),
            _ => None,
        }
    }
}

/// Where a reminder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ReminderState {
    /// Its time has come and nothing settled it: follow up.
    Due,
    /// Waiting for its time.
    Pending,
    /// Someone answered.
    Replied,
    /// Someone opened it (a no-open reminder).
    Opened,
    /// The user marked it done.
    Done,
}

impl ReminderState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderState::Due => "due",
            ReminderState::Pending => "pending",
            ReminderState::Replied => "replied",
            ReminderState::Opened => "opened",
            ReminderState::Done => "done",
        }
    }

    /// Still asks something of the user (waiting or due).
    pub fn is_open(self) -> bool {
        matches!(self, ReminderState::Due | ReminderState::Pending)
    }
}

/// A reminder as the sending side sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReminder {
    pub account: String,
    pub message_id: String,
    pub subject: String,
    /// As addressed, for display.
    pub to: String,
    /// Lower-case addresses the mail went to (To, Cc, Bcc).
    pub recipients: Vec<String>,
    pub sent_at: i64,
    pub due_at: i64,
    pub condition: RemindIf,
}

/// A reminder and what became of its mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reminder {
    pub account: String,
    pub message_id: String,
    pub subject: String,
    pub to: String,
    pub sent_at: i64,
    pub due_at: i64,
    pub condition: RemindIf,
    pub state: ReminderState,
    /// The first real reply.
    pub reply: Option<Reply>,
    /// The first human open.
    pub opened_at: Option<i64>,
    /// When a process claimed it to notify (at most once per due time).
    pub notified_at: Option<i64>,
}

/// The `list_messages` condition for the Follow up filter (`m` messages, `a` accounts): the
/// message has a reminder nothing settled yet.
pub(super) const FOLLOWUP_MESSAGES_SQL: &str = " AND m.message_id IN (
    SELECT r.message_id FROM reminders r WHERE r.account = a.name AND r.done = 0
      AND NOT EXISTS (SELECT 1 FROM replies p WHERE p.sent_message_id = r.message_id)
      AND NOT (r.condition = 'no-open' AND EXISTS (SELECT 1 FROM tracking_events e
          WHERE e.message_id = r.message_id AND e.kind = 'open'
            AND e.classification != 'automated')))";

/// Earliest due first: what is overdue longest leads, then what comes due next.
pub(super) const FOLLOWUP_ORDER_SQL: &str = " ORDER BY (SELECT min(r.due_at) FROM reminders r
    WHERE r.account = a.name AND r.message_id = m.message_id), m.id DESC";

const COLUMNS: &str =
    "account, message_id, subject, to_addrs, sent_at, due_at, condition, done, notified_at";

impl Store {
    /// Sets (or replaces) the reminder of a mail; a replaced one notifies again when due.
    pub fn add_reminder(&self, r: &NewReminder) -> Result<()> {
        self.conn.execute(
            "INSERT INTO reminders(account, message_id, subject, to_addrs, recipients, sent_at,
                 due_at, condition)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(account, message_id) DO UPDATE SET subject = excluded.subject,
                 to_addrs = excluded.to_addrs, recipients = excluded.recipients,
                 sent_at = excluded.sent_at, due_at = excluded.due_at,
                 condition = excluded.condition, done = 0, notified_at = NULL",
            params![
                r.account,
                message_id::bracketed(&r.message_id),
                r.subject,
                r.to,
                r.recipients.join(" "),
                r.sent_at,
                r.due_at,
                r.condition.as_str()
            ],
        )?;
        Ok(())
    }

    /// Every reminder with its state as of `now` (unix seconds): due first (longest overdue
    /// first), then pending (soonest first), then the settled ones, newest first.
    pub fn reminders(&self, now: i64) -> Result<Vec<Reminder>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM reminders"))?;
        let rows: Vec<RawReminder> = st
            .query_map([], raw_reminder)?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = rows
            .into_iter()
            .map(|r| self.reminder_state(r, now))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            a.state.cmp(&b.state).then_with(|| {
                if a.state.is_open() {
                    a.due_at.cmp(&b.due_at)
                } else {
                    b.due_at.cmp(&a.due_at)
                }
            })
        });
        Ok(out)
    }

    /// The reminder of `message_id` (of `account` when given), with its state as of `now`.
    pub fn reminder(
        &self,
        account: Option<&str>,
        message_id: &str,
        now: i64,
    ) -> Result<Option<Reminder>> {
        let raw = self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM reminders WHERE message_id = ?1
                     AND (?2 IS NULL OR account = ?2) ORDER BY account LIMIT 1"
                ),
                params![message_id::bracketed(message_id), account],
                raw_reminder,
            )
            .optional()?;
        raw.map(|r| self.reminder_state(r, now)).transpose()
    }

    fn reminder_state(&self, r: RawReminder, now: i64) -> Result<Reminder> {
        let reply = self.first_reply(&r.message_id)?;
        let opened_at: Option<i64> = self.conn.query_row(
            "SELECT min(at) FROM tracking_events WHERE message_id = ?1 AND kind = 'open'
                 AND classification != 'automated'",
            [&r.message_id],
            |row| row.get(0),
        )?;
        let condition = RemindIf::parse(&r.condition).unwrap_or_default();
        let state = if r.done {
            ReminderState::Done
        } else if reply.is_some() {
            ReminderState::Replied
        } else if condition == RemindIf::NoOpen && opened_at.is_some() {
            ReminderState::Opened
        } else if now >= r.due_at {
            ReminderState::Due
        } else {
            ReminderState::Pending
        };
        Ok(Reminder {
            account: r.account,
            message_id: r.message_id,
            subject: r.subject,
            to: r.to,
            sent_at: r.sent_at,
            due_at: r.due_at,
            condition,
            state,
            reply,
            opened_at,
            notified_at: r.notified_at,
        })
    }

    /// Claims the reminders that came due by `now` and have not notified since, in one IMMEDIATE
    /// transaction, handing each to `decide` (which may pass the shared throttle). Another
    /// process on the same data dir waits for the lock and finds them claimed, so each due
    /// reminder notifies once; if `decide` fails nothing is claimed.
    pub fn claim_due_reminders<T, E: From<StoreError>>(
        &mut self,
        now: i64,
        mut decide: impl FnMut(&Store, &Reminder) -> std::result::Result<Option<T>, E>,
    ) -> std::result::Result<Vec<T>, E> {
        let sql = |e: rusqlite::Error| E::from(StoreError::from(e));
        self.in_immediate("reminder claim", |store| {
            let waiting: Vec<RawReminder> = {
                let mut st = store
                    .conn
                    .prepare(&format!(
                        "SELECT {COLUMNS} FROM reminders INDEXED BY reminders_waiting
                         WHERE done = 0 AND notified_at IS NULL AND due_at <= ?1 ORDER BY due_at"
                    ))
                    .map_err(sql)?;
                let rows = st.query_map([now], raw_reminder).map_err(sql)?;
                rows.collect::<rusqlite::Result<_>>().map_err(sql)?
            };
            let mut decided = Vec::new();
            for raw in waiting {
                let r = store.reminder_state(raw, now)?;
                if r.state != ReminderState::Due {
                    continue;
                }
                store
                    .conn
                    .execute(
                        "UPDATE reminders SET notified_at = ?3
                         WHERE account = ?1 AND message_id = ?2",
                        params![r.account, r.message_id, now],
                    )
                    .map_err(sql)?;
                decided.extend(decide(store, &r)?);
            }
            Ok(decided)
        })
    }

    /// Moves a reminder to `until` (unix seconds): it is open again and notifies once more then.
    /// False when the mail has no reminder.
    pub fn snooze_reminder(&self, message_id: &str, until: i64) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE reminders SET due_at = ?2, done = 0, notified_at = NULL WHERE message_id = ?1",
            params![message_id::bracketed(message_id), until],
        )? > 0)
    }

    /// Marks a reminder done: the user followed up (or chose not to). False when there is none.
    /// A mail the user cancelled before it went has nothing to wait for.
    pub fn delete_reminder(&self, message_id: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "DELETE FROM reminders WHERE message_id = ?1",
            [message_id::bracketed(message_id)],
        )? > 0)
    }

    pub fn finish_reminder(&self, message_id: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE reminders SET done = 1 WHERE message_id = ?1",
            [message_id::bracketed(message_id)],
        )? > 0)
    }
}

struct RawReminder {
    account: String,
    message_id: String,
    subject: String,
    to: String,
    sent_at: i64,
    due_at: i64,
    condition: String,
    done: bool,
    notified_at: Option<i64>,
}

fn raw_reminder(r: &rusqlite::Row) -> rusqlite::Result<RawReminder> {
    Ok(RawReminder {
        account: r.get(0)?,
        message_id: r.get(1)?,
        subject: r.get(2)?,
        to: r.get(3)?,
        sent_at: r.get(4)?,
        due_at: r.get(5)?,
        condition: r.get(6)?,
        done: r.get(7)?,
        notified_at: r.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reminder(id: &str, due_at: i64, condition: RemindIf) -> NewReminder {
        NewReminder {
            account: "work".into(),
            message_id: id.into(),
            subject: "Proposal".into(),
            to: "Dana <dana@acme.test>".into(),
            recipients: vec!["dana@acme.test".into()],
            sent_at: 1000,
            due_at,
            condition,
        }
    }

    fn claim(s: &mut Store, now: i64) -> Vec<String> {
        s.claim_due_reminders(now, |_, r| Ok::<_, StoreError>(Some(r.message_id.clone())))
            .unwrap()
    }

    #[test]
    fn a_due_reminder_is_claimed_once_and_again_after_a_snooze() {
        let mut s = Store::open_in_memory().unwrap();
        s.add_reminder(&reminder("a@x", 2000, RemindIf::NoReply))
            .unwrap();
        assert!(claim(&mut s, 1999).is_empty());
        let r = s.reminder(None, "a@x", 1999).unwrap().unwrap();
        assert_eq!(r.state, ReminderState::Pending);
        assert_eq!(claim(&mut s, 2000), ["<a@x>"]);
        assert!(claim(&mut s, 3000).is_empty());
        assert_eq!(
            s.reminder(None, "a@x", 3000).unwrap().unwrap().state,
            ReminderState::Due
        );
        assert!(s.snooze_reminder("<a@x>", 4000).unwrap());
        assert!(claim(&mut s, 3999).is_empty());
        assert_eq!(claim(&mut s, 4000), ["<a@x>"]);
        assert!(s.finish_reminder("a@x").unwrap());
        assert_eq!(
            s.reminder(None, "a@x", 5000).unwrap().unwrap().state,
            ReminderState::Done
        );
    }

    #[test]
    fn a_reply_settles_a_reminder_before_it_notifies() {
        let mut s = Store::open_in_memory().unwrap();
        s.add_reminder(&reminder("a@x", 2000, RemindIf::NoReply))
            .unwrap();
        s.add_reminder(&reminder("b@x", 2500, RemindIf::NoReply))
            .unwrap();
        s.record_reply(&Reply {
            account: "work".into(),
            sent_message_id: "<a@x>".into(),
            reply_message_id: "<re@y>".into(),
            replied_by: "dana@acme.test".into(),
            replied_by_name: "Dana".into(),
            replied_at: 1500,
        })
        .unwrap();
        assert_eq!(claim(&mut s, 3000), ["<b@x>"]);
        let all = s.reminders(3000).unwrap();
        let states: Vec<_> = all
            .iter()
            .map(|r| (r.message_id.as_str(), r.state))
            .collect();
        assert_eq!(
            states,
            [
                ("<b@x>", ReminderState::Due),
                ("<a@x>", ReminderState::Replied)
            ]
        );
        assert_eq!(all[1].reply.as_ref().map(|r| r.who()), Some("Dana"));
    }
}
