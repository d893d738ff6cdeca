//! Snoozed messages: which mail waits in which folder until when, and who returns it. A snooze is
//! returned by exactly one process: [`Store::claim_due_snoozes`] moves due rows to `returning`
//! under an IMMEDIATE transaction, so a second process on the same data dir (the TUI beside
//! `tidings watch`) finds them taken. The move itself lives in `mail::snooze`.

use super::{Result, Store};
use rusqlite::{params, OptionalExtension, Row};

/// Snooze states, as stored.
pub mod snooze_state {
    pub const WAITING: &str = "waiting";
    pub const RETURNING: &str = "returning";
    pub const RETURNED: &str = "returned";
    pub const CANCELLED: &str = "cancelled";
}

/// A claim older than this (seconds) belongs to a process that died mid-return; the return is
/// idempotent (the message is looked up by Message-ID), so taking it over is safe.
pub const STALE_CLAIM_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnoozeRow {
    pub id: i64,
    pub account: String,
    pub message_id: String,
    pub subject: String,
    /// Wire name of the folder the message returns to.
    pub from_folder: String,
    /// Wire name of the folder it waits in.
    pub folder: String,
    pub until: i64,
    pub state: String,
    pub created_at: i64,
    pub returned_at: Option<i64>,
    pub last_error: Option<String>,
}

/// What `mail::snooze` records when a message is put away.
#[derive(Debug, Clone)]
pub struct NewSnooze<'a> {
    pub account: &'a str,
    pub message_id: &'a str,
    pub subject: &'a str,
    pub from_folder: &'a str,
    pub folder: &'a str,
    pub until: i64,
    pub now: i64,
}

const COLUMNS: &str = "id, account, message_id, subject, from_folder, folder, until, state,
    created_at, returned_at, last_error";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SnoozeRow> {
    Ok(SnoozeRow {
        id: r.get(0)?,
        account: r.get(1)?,
        message_id: r.get(2)?,
        subject: r.get(3)?,
        from_folder: r.get(4)?,
        folder: r.get(5)?,
        until: r.get(6)?,
        state: r.get(7)?,
        created_at: r.get(8)?,
        returned_at: r.get(9)?,
        last_error: r.get(10)?,
    })
}

/// A message back from a snooze, in the folder it came back to (`m`, `f`, `a` as in
/// `Store::list_messages_among`).
const RETURNED: &str = "s.message_id = m.message_id AND s.account = a.name
    AND s.from_folder = f.name AND s.state = 'returned'";

/// Turns a folder listing (`SELECT … FROM messages m JOIN folders f … JOIN accounts a … WHERE
/// …`, no ORDER BY) into one ordered newest first with messages back from a snooze on top: each
/// sorts by the later of its date and the time it came back. The plain messages still come from
/// the date index, at most LIMIT + OFFSET of them (parameters `?limit_param` and the one after;
/// a negative limit is none), and the few returned ones are found through the snoozes, so a
/// first page of a 100,000-message folder costs what it did without snoozes. The caller appends
/// LIMIT and OFFSET.
pub fn returned_on_top(listing: &str, limit_param: usize) -> String {
    let (select, filters) = listing.split_once(" WHERE ").unwrap_or((listing, "1"));
    let (columns, from) = select.split_once(" FROM ").unwrap_or((select, ""));
    let (l, o) = (limit_param, limit_param + 1);
    let from_snoozes = from.replacen(
        "messages m",
        // Driven by the snoozes (a handful), never by the folder's rows.
        "snoozes s CROSS JOIN messages m INDEXED BY messages_by_msgid ON m.message_id = s.message_id",
        1,
    );
    format!(
        "SELECT * FROM (
           SELECT * FROM ({columns}, m.date AS sort_key, m.id AS sort_id FROM {from}
             WHERE {filters} AND NOT EXISTS (SELECT 1 FROM snoozes s WHERE {RETURNED})
             ORDER BY m.date DESC, m.id DESC
             LIMIT CASE WHEN ?{l} < 0 THEN -1 ELSE ?{l} + ?{o} END)
           UNION ALL
           {columns}, MAX(m.date, MAX(s.returned_at)), m.id FROM {from_snoozes}
             WHERE {filters} AND {RETURNED} GROUP BY m.id)
         ORDER BY sort_key DESC, sort_id DESC"
    )
}

impl Store {
    /// Records a snooze; an earlier waiting snooze of the same message is replaced (snoozing
    /// again changes the time).
    pub fn snooze_insert(&self, s: &NewSnooze<'_>) -> Result<i64> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE snoozes SET state = 'cancelled' WHERE account = ?1 AND message_id = ?2
             AND state = 'waiting'",
            params![s.account, s.message_id],
        )?;
        let id = tx.query_row(
            "INSERT INTO snoozes(account, message_id, subject, from_folder, folder, until, state,
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'waiting', ?7) RETURNING id",
            params![
                s.account,
                s.message_id,
                s.subject,
                s.from_folder,
                s.folder,
                s.until,
                s.now
            ],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(id)
    }

    pub fn snooze(&self, id: i64) -> Result<Option<SnoozeRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM snoozes WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// The waiting snooze of a message, if any.
    pub fn waiting_snooze(&self, account: &str, message_id: &str) -> Result<Option<SnoozeRow>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM snoozes WHERE account = ?1 AND message_id = ?2
                     AND state = 'waiting' ORDER BY id DESC LIMIT 1"
                ),
                params![account, message_id],
                from_row,
            )
            .optional()?)
    }

    /// Snoozes still waiting, the soonest first.
    pub fn waiting_snoozes(&self) -> Result<Vec<SnoozeRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM snoozes WHERE state IN ('waiting', 'returning')
             ORDER BY until, id"
        ))?;
        let rows = st.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next waiting snooze is due, if any.
    pub fn next_snooze_due(&self) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT MIN(until) FROM snoozes WHERE state = 'waiting'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Takes every due snooze (and every stale claim) for this process, in one IMMEDIATE
    /// transaction: no other process gets the same rows.
    pub fn claim_due_snoozes(&mut self, now: i64, claimer: &str) -> Result<Vec<SnoozeRow>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let claimed = {
            let mut st = tx.prepare(&format!(
                "UPDATE snoozes SET state = 'returning', claimed_at = ?1, claimed_by = ?2
                 WHERE (state = 'waiting' AND until <= ?1)
                    OR (state = 'returning' AND claimed_at <= ?1 - ?3)
                 RETURNING {COLUMNS}"
            ))?;
            let rows = st.query_map(params![now, claimer, STALE_CLAIM_SECS], from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok(claimed)
    }

    /// Marks a claimed snooze returned.
    pub fn snooze_returned(&self, id: i64, at: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE snoozes SET state = 'returned', returned_at = ?2, last_error = NULL,
                 claimed_at = NULL, claimed_by = NULL WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    /// Puts a claimed snooze back to `waiting` with the reason it could not return, not to be
    /// tried again before `retry_at` (so a server that is down is not asked every round).
    pub fn snooze_retry_later(&self, id: i64, error: &str, retry_at: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE snoozes SET state = 'waiting', until = MAX(until, ?3), last_error = ?2,
                 claimed_at = NULL, claimed_by = NULL WHERE id = ?1",
            params![id, error, retry_at],
        )?;
        Ok(())
    }

    /// Claims one waiting snooze for an early return (`tidings unsnooze`); None when it is not
    /// waiting (already returned, or another process is returning it).
    pub fn claim_snooze(&mut self, id: i64, now: i64, claimer: &str) -> Result<Option<SnoozeRow>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let row = tx
            .query_row(
                &format!(
                    "UPDATE snoozes SET state = 'returning', claimed_at = ?2, claimed_by = ?3
                     WHERE id = ?1 AND state = 'waiting' RETURNING {COLUMNS}"
                ),
                params![id, now, claimer],
                from_row,
            )
            .optional()?;
        tx.commit()?;
        Ok(row)
    }
}

impl Store {
    /// A snooze's move of a cached message (accounts without a server keep their mail only
    /// here): to `folder_id` under a fresh UID, and unread on the way back when `unseen`.
    pub fn snooze_move_local(&self, id: i64, folder_id: i64, unseen: bool) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        self.move_local_message(id, folder_id)?;
        if unseen {
            tx.execute("UPDATE messages SET seen = 0 WHERE id = ?1", params![id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The cached copies of a message in one folder of an account (by wire name).
    pub fn cached_copies(&self, account: &str, folder: &str, message_id: &str) -> Result<Vec<i64>> {
        let mut st = self.conn.prepare(
            "SELECT m.id FROM messages m JOIN folders f ON f.id = m.folder_id
             JOIN accounts a ON a.id = f.account_id
             WHERE a.name = ?1 AND f.name = ?2 AND m.message_id = ?3 ORDER BY m.id",
        )?;
        let rows = st.query_map(params![account, folder, message_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snooze(s: &Store, mid: &str, until: i64) -> i64 {
        s.snooze_insert(&NewSnooze {
            account: "work",
            message_id: mid,
            subject: "Hi",
            from_folder: "INBOX",
            folder: "Snoozed",
            until,
            now: 1,
        })
        .unwrap()
    }

    #[test]
    fn a_due_snooze_is_claimed_once_and_a_stale_claim_is_taken_over() {
        let mut s = Store::open_in_memory().unwrap();
        let due = snooze(&s, "<a@x>", 100);
        snooze(&s, "<b@x>", 10_000);
        assert!(s.claim_due_snoozes(99, "p1").unwrap().is_empty());
        let first = s.claim_due_snoozes(100, "p1").unwrap();
        assert_eq!(first.iter().map(|r| r.id).collect::<Vec<_>>(), [due]);
        assert!(s.claim_due_snoozes(101, "p2").unwrap().is_empty());
        // p1 died holding it: after the stale window another process takes it over.
        let again = s.claim_due_snoozes(100 + STALE_CLAIM_SECS, "p2").unwrap();
        assert_eq!(again.len(), 1);
        s.snooze_returned(due, 500).unwrap();
        assert!(
            s.claim_due_snoozes(10_000_000, "p3").unwrap().len() == 1,
            "only <b@x> left"
        );
        assert_eq!(s.snooze(due).unwrap().unwrap().state, "returned");
    }

    #[test]
    fn a_failed_return_waits_before_it_is_tried_again() {
        let mut s = Store::open_in_memory().unwrap();
        let id = snooze(&s, "<a@x>", 100);
        assert_eq!(s.claim_due_snoozes(100, "p1").unwrap().len(), 1);
        s.snooze_retry_later(id, "server down", 160).unwrap();
        assert!(s.claim_due_snoozes(159, "p1").unwrap().is_empty());
        let again = s.claim_due_snoozes(160, "p1").unwrap();
        assert_eq!(again[0].last_error.as_deref(), Some("server down"));
    }

    #[test]
    fn snoozing_again_replaces_the_waiting_snooze() {
        let s = Store::open_in_memory().unwrap();
        let old = snooze(&s, "<a@x>", 100);
        let new = snooze(&s, "<a@x>", 200);
        assert_eq!(s.snooze(old).unwrap().unwrap().state, "cancelled");
        assert_eq!(s.waiting_snooze("work", "<a@x>").unwrap().unwrap().id, new);
        assert_eq!(s.next_snooze_due().unwrap(), Some(200));
    }
}
