//! Queries only the sync engine and the operation queue need: folder generations, UID sets,
//! message locations, and the `pending_ops` queue (local changes waiting for the server).

use super::{Result, Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// Where a stored message lives, and the local state an operation may change or roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub id: i64,
    pub account: String,
    pub account_id: i64,
    pub folder_id: i64,
    pub folder: String,
    pub folder_role: Option<String>,
    pub uidvalidity: Option<u32>,
    pub uid: u32,
    pub message_id: Option<String>,
    pub seen: bool,
    pub flagged: bool,
    pub deleted: bool,
    pub pending: bool,
}

/// One queued local change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOp {
    pub id: i64,
    pub account_id: i64,
    pub folder: String,
    pub uid: u32,
    pub uidvalidity: u32,
    /// `flag`, `move`, `expunge` or `move_msgid`.
    pub kind: String,
    pub arg: String,
    pub attempts: u32,
    /// The local row this op changed (None once the row is gone).
    pub message_row: Option<i64>,
    /// The local value before the change, to roll back: a flag's 0/1 for `flag`.
    pub prev_value: Option<i64>,
}

/// An op to queue; see [`PendingOp`] for the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOp<'a> {
    pub account_id: i64,
    pub folder: &'a str,
    pub uid: u32,
    pub uidvalidity: u32,
    pub kind: &'a str,
    pub arg: &'a str,
    pub message_row: Option<i64>,
    pub prev_value: Option<i64>,
}

impl Store {
    /// Rows in a folder, hidden ones included: compared with the server's EXISTS.
    pub fn folder_row_count(&self, folder_id: i64) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM messages WHERE folder_id = ?1",
            [folder_id],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// A new UIDVALIDITY: every local UID of the folder is meaningless now. Drops the messages and
    /// records the new generation in one step, so a crash right after leaves a consistent cache.
    pub fn reset_folder_generation(&self, folder_id: i64, uidvalidity: u32) -> Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let n = self.delete_folder_messages(folder_id)?;
        tx.execute(
            "UPDATE folders SET uidvalidity = ?2, uidnext = NULL, highestmodseq = NULL WHERE id = ?1",
            params![folder_id, uidvalidity],
        )?;
        tx.execute(
            "DELETE FROM pending_ops WHERE folder = (SELECT name FROM folders WHERE id = ?1)
                 AND account_id = (SELECT account_id FROM folders WHERE id = ?1) AND kind != 'move_msgid'",
            [folder_id],
        )?;
        tx.commit()?;
        Ok(n)
    }

    pub fn message_ref(&self, id: i64) -> Result<MessageRef> {
        self.conn
            .query_row(
                "SELECT m.id, a.name, a.id, f.id, f.name, f.role, f.uidvalidity, m.uid, m.message_id,
                        m.seen, m.flagged, m.deleted, m.pending
                 FROM messages m JOIN folders f ON f.id = m.folder_id JOIN accounts a ON a.id = f.account_id
                 WHERE m.id = ?1",
                [id],
                |r| {
                    Ok(MessageRef {
                        id: r.get(0)?,
                        account: r.get(1)?,
                        account_id: r.get(2)?,
                        folder_id: r.get(3)?,
                        folder: r.get(4)?,
                        folder_role: r.get(5)?,
                        uidvalidity: r.get(6)?,
                        uid: r.get(7)?,
                        message_id: r.get(8)?,
                        seen: r.get(9)?,
                        flagged: r.get(10)?,
                        deleted: r.get(11)?,
                        pending: r.get(12)?,
                    })
                },
            )
            .optional()?
            .ok_or(StoreError::NoSuchMessage(id))
    }

    /// Hides a message locally (a move or delete waiting for the server) or shows it again.
    pub fn set_hidden(&self, id: i64, hidden: bool, pending: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET deleted = ?2, pending = ?3 WHERE id = ?1",
            params![id, hidden, pending],
        )?;
        Ok(())
    }

    pub fn queue_op(&self, op: &NewOp<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO pending_ops(account_id, folder, uid, uidvalidity, kind, arg, created_at,
                 message_row, prev_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, strftime('%s','now'), ?7, ?8)",
            params![
                op.account_id,
                op.folder,
                op.uid,
                op.uidvalidity,
                op.kind,
                op.arg,
                op.message_row,
                op.prev_value
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn pending_ops(&self, account_id: i64) -> Result<Vec<PendingOp>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, account_id, folder, uid, uidvalidity, kind, arg, attempts, message_row, prev_value
             FROM pending_ops WHERE account_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([account_id], |r| {
            Ok(PendingOp {
                id: r.get(0)?,
                account_id: r.get(1)?,
                folder: r.get(2)?,
                uid: r.get(3)?,
                uidvalidity: r.get(4)?,
                kind: r.get(5)?,
                arg: r.get(6)?,
                attempts: r.get(7)?,
                message_row: r.get(8)?,
                prev_value: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn pending_op_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM pending_ops", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// The op reached the server: forget it, and clear the row's `pending` mark once no other op
    /// waits on that row.
    pub fn finish_op(&self, op: &PendingOp) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM pending_ops WHERE id = ?1", [op.id])?;
        if let Some(row) = op.message_row {
            tx.execute(
                "UPDATE messages SET pending = 0 WHERE id = ?1
                     AND NOT EXISTS (SELECT 1 FROM pending_ops WHERE message_row = ?1)",
                [row],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn op_failed_transiently(&self, op_id: i64, reason: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE pending_ops SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            params![op_id, reason],
        )?;
        Ok(())
    }

    /// Removes a queued op without running it (undo before it reached the server).
    pub fn cancel_op(&self, op_id: i64) -> Result<Option<PendingOp>> {
        let op = self
            .conn
            .query_row(
                "SELECT account_id FROM pending_ops WHERE id = ?1",
                [op_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        let Some(account_id) = op else {
            return Ok(None);
        };
        let found = self
            .pending_ops(account_id)?
            .into_iter()
            .find(|o| o.id == op_id);
        if let Some(o) = &found {
            self.finish_op(o)?;
        }
        Ok(found)
    }

    /// Local rows whose UIDs the server no longer has.
    pub fn local_uids(&self, folder_id: i64) -> Result<Vec<u32>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT uid FROM messages WHERE folder_id = ?1 ORDER BY uid")?;
        let rows = st.query_map([folder_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
