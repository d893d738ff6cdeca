//! The outbox tables: mails committed before their first SMTP attempt, and their deliveries (one
//! per SMTP transaction). Every state change is its own committed statement, so what a crash
//! leaves behind tells the next run exactly how far each delivery got. The state machine itself
//! lives in `mail::outbox`; this file only reads and writes rows.

use super::{Result, Store};
use rusqlite::{params, OptionalExtension, Row};

/// Entry states, as stored.
pub mod outbox_state {
    pub const QUEUED: &str = "queued";
    pub const SENDING: &str = "sending";
    pub const SENT: &str = "sent";
    pub const FAILED: &str = "failed";
    pub const UNCONFIRMED: &str = "unconfirmed";
}

/// Delivery states, as stored.
pub mod delivery_state {
    pub const PENDING: &str = "pending";
    pub const DATA: &str = "data";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
    pub const UNCONFIRMED: &str = "unconfirmed";
}

/// What `mail::outbox` hands over when a mail enters the outbox.
#[derive(Debug, Clone)]
pub struct NewOutboxEntry<'a> {
    pub account: &'a str,
    pub message_id: &'a str,
    pub draft_json: &'a str,
    pub date: i64,
    pub raw: &'a [u8],
    pub sent_copy: &'a [u8],
    pub envelope_from: &'a str,
    pub tracking: Option<&'a str>,
    pub now: i64,
}

/// One outbox mail, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub account: String,
    pub message_id: String,
    pub draft_json: String,
    pub date: i64,
    pub envelope_from: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub filed: String,
    pub filed_error: Option<String>,
    pub tracking: Option<String>,
    /// The time the user chose to send it at (unix seconds); None = as soon as possible.
    pub send_at: Option<i64>,
}

impl OutboxRow {
    /// True while the mail waits for the time the user chose: no flush may send it yet.
    pub fn scheduled_after(&self, now: i64) -> bool {
        self.send_at.is_some_and(|t| t > now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub outbox_id: i64,
    pub recipients: Vec<String>,
    /// True when this delivery has its own bytes (a per-recipient copy).
    pub own_raw: bool,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

const OUTBOX_COLUMNS: &str = "id, account, message_id, draft, date, envelope_from, state, attempts,
    last_error, created_at, last_attempt_at, next_attempt_at, sent_at, filed, filed_error, tracking,
    send_at";

fn outbox_from_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        account: r.get(1)?,
        message_id: r.get(2)?,
        draft_json: r.get(3)?,
        date: r.get(4)?,
        envelope_from: r.get(5)?,
        state: r.get(6)?,
        attempts: r.get(7)?,
        last_error: r.get(8)?,
        created_at: r.get(9)?,
        last_attempt_at: r.get(10)?,
        next_attempt_at: r.get(11)?,
        sent_at: r.get(12)?,
        filed: r.get(13)?,
        filed_error: r.get(14)?,
        tracking: r.get(15)?,
        send_at: r.get(16)?,
    })
}

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    let recipients: String = r.get(2)?;
    Ok(DeliveryRow {
        id: r.get(0)?,
        outbox_id: r.get(1)?,
        recipients: serde_json::from_str(&recipients).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        own_raw: r.get(3)?,
        state: r.get(4)?,
        attempts: r.get(5)?,
        last_error: r.get(6)?,
        delivered_at: r.get(7)?,
    })
}

const DELIVERY_COLUMNS: &str =
    "id, outbox_id, recipients, raw IS NOT NULL, state, attempts, last_error, delivered_at";

impl Store {
    /// Commits a new mail in state `queued`, due now.
    pub fn outbox_insert(&self, e: &NewOutboxEntry<'_>) -> Result<i64> {
        Ok(self.conn.query_row(
            "INSERT INTO outbox(account, message_id, draft, date, raw, sent_copy, envelope_from,
                 state, created_at, next_attempt_at, tracking)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8, ?8, ?9) RETURNING id",
            params![
                e.account,
                e.message_id,
                e.draft_json,
                e.date,
                e.raw,
                e.sent_copy,
                e.envelope_from,
                e.now,
                e.tracking
            ],
            |r| r.get(0),
        )?)
    }

    pub fn outbox_entry(&self, id: i64) -> Result<Option<OutboxRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"),
                [id],
                outbox_from_row,
            )
            .optional()?)
    }

    /// Every entry in one of `states` (all when empty), oldest first.
    pub fn outbox_entries(&self, states: &[&str]) -> Result<Vec<OutboxRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY created_at, id"
        ))?;
        let rows = st.query_map([], outbox_from_row)?;
        let all: Vec<OutboxRow> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(all
            .into_iter()
            .filter(|r| states.is_empty() || states.contains(&r.state.as_str()))
            .collect())
    }

    /// (bytes sent over SMTP, bytes filed in Sent).
    pub fn outbox_bytes(&self, id: i64) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT raw, sent_copy FROM outbox WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn outbox_deliveries(&self, outbox_id: i64) -> Result<Vec<DeliveryRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM outbox_deliveries WHERE outbox_id = ?1 ORDER BY id"
        ))?;
        let rows = st.query_map([outbox_id], delivery_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The bytes one delivery sends: its own copy, or the mail's.
    pub fn outbox_delivery_bytes(&self, delivery_id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT COALESCE(d.raw, o.raw) FROM outbox_deliveries d
                 JOIN outbox o ON o.id = d.outbox_id WHERE d.id = ?1",
                [delivery_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Adds the planned deliveries of a mail in one transaction: either all or none exist.
    pub fn outbox_add_deliveries(
        &mut self,
        outbox_id: i64,
        deliveries: &[(Vec<String>, Option<Vec<u8>>)],
        now: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (recipients, raw) in deliveries {
            let json = serde_json::to_string(recipients).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO outbox_deliveries(outbox_id, recipients, raw, updated_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![outbox_id, json, raw, now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks the start of an attempt: state `sending`, one more attempt, when.
    pub fn outbox_begin_attempt(&self, id: i64, now: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, last_attempt_at = ?2
             WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// Sets one delivery's state; entering `data` counts an attempt, `delivered` stamps the time.
    pub fn outbox_set_delivery(
        &self,
        delivery_id: i64,
        state: &str,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE outbox_deliveries SET state = ?2,
                     last_error = COALESCE(?3, CASE WHEN ?2 = 'delivered' THEN NULL ELSE last_error END),
                     attempts = attempts + (?2 = 'data'), updated_at = ?4,
                     delivered_at = CASE WHEN ?2 = 'delivered' THEN ?4 ELSE delivered_at END
                 WHERE id = ?1",
            )?
            .execute(params![delivery_id, state, error, now])?;
        Ok(())
    }

    /// Records how an attempt ended.
    pub fn outbox_finish_attempt(
        &self,
        id: i64,
        state: &str,
        last_error: Option<&str>,
        next_attempt_at: i64,
        sent_at: Option<i64>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = ?2, last_error = ?3, next_attempt_at = ?4,
                 sent_at = COALESCE(?5, sent_at) WHERE id = ?1",
            params![id, state, last_error, next_attempt_at, sent_at],
        )?;
        Ok(())
    }

    pub fn outbox_set_filed(&self, id: i64, filed: &str, error: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET filed = ?2, filed_error = ?3 WHERE id = ?1",
            params![id, filed, error],
        )?;
        Ok(())
    }

    pub fn outbox_set_tracking(&self, id: i64, tracking: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET tracking = ?2 WHERE id = ?1",
            params![id, tracking],
        )?;
        Ok(())
    }

    /// Puts the deliveries in `from_states` back to `pending` and the mail back in the queue,
    /// due at `now`. Returns how many deliveries were reset.
    pub fn outbox_requeue(&mut self, id: i64, from_states: &[&str], now: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for state in from_states {
            n += tx.execute(
                "UPDATE outbox_deliveries SET state = 'pending', updated_at = ?3
                 WHERE outbox_id = ?1 AND state = ?2",
                params![id, state, now],
            )?;
        }
        tx.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Replaces the Date and the bytes of a mail not yet planned (a scheduled mail is dated when
    /// it goes, not when it was written).
    pub fn outbox_set_bytes(&self, id: i64, date: i64, raw: &[u8], sent_copy: &[u8]) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET date = ?2, raw = ?3, sent_copy = ?4 WHERE id = ?1",
            params![id, date, raw, sent_copy],
        )?;
        Ok(())
    }

    /// Makes a queued mail wait until `send_at` (unix seconds): no attempt before then.
    pub fn outbox_schedule(&self, id: i64, send_at: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET send_at = ?2, next_attempt_at = MAX(next_attempt_at, ?2)
             WHERE id = ?1",
            params![id, send_at],
        )?;
        Ok(())
    }

    pub fn outbox_delete(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM outbox WHERE id = ?1", [id])?
            > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_and_deliveries_round_trip() {
        let mut s = Store::open_in_memory().unwrap();
        let id = s
            .outbox_insert(&NewOutboxEntry {
                account: "work",
                message_id: "<m@x>",
                draft_json: "{}",
                date: 5,
                raw: b"wire",
                sent_copy: b"filed",
                envelope_from: "me@x",
                tracking: None,
                now: 7,
            })
            .unwrap();
        let e = s.outbox_entry(id).unwrap().unwrap();
        assert_eq!(
            (e.state.as_str(), e.next_attempt_at, e.attempts),
            ("queued", 7, 0)
        );
        s.outbox_add_deliveries(
            id,
            &[
                (vec!["a@x".into()], None),
                (vec!["b@x".into()], Some(b"own".to_vec())),
            ],
            7,
        )
        .unwrap();
        let d = s.outbox_deliveries(id).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].recipients, vec!["b@x"]);
        assert_eq!(s.outbox_delivery_bytes(d[0].id).unwrap().unwrap(), b"wire");
        assert_eq!(s.outbox_delivery_bytes(d[1].id).unwrap().unwrap(), b"own");
        s.outbox_set_delivery(d[0].id, "data", None, 8).unwrap();
        s.outbox_set_delivery(d[0].id, "delivered", None, 9)
            .unwrap();
        let d0 = &s.outbox_deliveries(id).unwrap()[0];
        assert_eq!(
            (d0.state.as_str(), d0.attempts, d0.delivered_at),
            ("delivered", 1, Some(9))
        );
        assert_eq!(s.outbox_entries(&["queued"]).unwrap().len(), 1);
        assert!(s.outbox_entries(&["sent"]).unwrap().is_empty());
    }
}
