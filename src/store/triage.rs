//! Local side of triage from the inbox: flag and move changes applied to the cache at once and queued
//! in `pending_ops` for the server. A moved message is hidden from its folder (marked deleted and
//! pending) until the server confirms; the destination shows it once synced.

use super::{Result, Store, StoreError};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Records a queued server operation on message `id` (`kind` "flag" or "move").
    pub fn queue_op(&self, id: i64, kind: &str, arg: &str) -> Result<i64> {
        let (account_id, folder, uidvalidity, uid): (i64, String, Option<u32>, u32) = self
            .conn
            .query_row(
                "SELECT f.account_id, f.name, f.uidvalidity, m.uid FROM messages m
                 JOIN folders f ON f.id = m.folder_id WHERE m.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?
            .ok_or(StoreError::NoSuchMessage(id))?;
        self.conn.execute(
            "INSERT INTO pending_ops(account_id, folder, uid, uidvalidity, kind, arg, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, strftime('%s','now'))",
            params![account_id, folder, uid, uidvalidity.unwrap_or(0), kind, arg],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Hides message `id` from its folder and queues its move to `dest` for the server. Call
    /// inside a transaction, so the two happen together.
    pub fn move_local(&self, id: i64, dest: &str) -> Result<()> {
        self.queue_op(id, "move", dest)?;
        self.conn.execute(
            "UPDATE messages SET deleted = 1, pending = 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Takes back a move that has not reached the server yet. Returns false when it already has
    /// (the queued operation is gone), so the caller must move the message back itself.
    pub fn undo_move_local(&self, id: i64) -> Result<bool> {
        let tx = self.conn.unchecked_transaction()?;
        let n = self.conn.execute(
            "DELETE FROM pending_ops WHERE id = (
                 SELECT p.id FROM pending_ops p JOIN messages m ON m.uid = p.uid
                 JOIN folders f ON f.id = m.folder_id AND f.name = p.folder AND f.account_id = p.account_id
                 WHERE m.id = ?1 AND p.kind = 'move' ORDER BY p.id DESC LIMIT 1)",
            [id],
        )?;
        if n == 1 {
            self.conn.execute(
                "UPDATE messages SET deleted = 0, pending = 0 WHERE id = ?1",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// The name of the account's folder with SPECIAL-USE `role`.
    pub fn folder_name_by_role(&self, account: &str, role: &str) -> Result<Option<String>> {
        let account_id = self.account_id(account)?;
        Ok(self.folder_by_role(account_id, role)?.map(|f| f.name))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{ListQuery, NewMessage, Store};

    #[test]
    fn a_local_move_hides_queues_and_can_be_taken_back() {
        let s = Store::open_in_memory().unwrap();
        let a = s.ensure_account("w", "me@x.test", None).unwrap();
        let f = s
            .upsert_folder(a, "INBOX", None, Some("inbox"), true)
            .unwrap();
        let id = s
            .put_message(
                f,
                &NewMessage {
                    uid: 3,
                    subject: "hi".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        s.move_local(id, "Archive").unwrap();
        assert!(s.list_messages(&ListQuery::default()).unwrap().is_empty());
        let (kind, arg): (String, String) = s
            .conn
            .query_row("SELECT kind, arg FROM pending_ops", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((kind.as_str(), arg.as_str()), ("move", "Archive"));
        assert!(s.undo_move_local(id).unwrap());
        assert_eq!(s.list_messages(&ListQuery::default()).unwrap().len(), 1);
        assert!(!s.undo_move_local(id).unwrap());
    }
}
