//! Queries for mail that lives only in the cache (accounts without IMAP, e.g. the demo's): which
//! UID comes next in a folder, whether a Message-ID is already filed there, and moving a message
//! between folders (no server will do it).

use super::{Result, Store};
use rusqlite::params;

impl Store {
    /// How many messages in folder `folder_id` carry `message_id` (angle brackets optional).
    pub fn count_message_id_in_folder(&self, folder_id: i64, message_id: &str) -> Result<usize> {
        let bare = crate::message_id::bare(message_id);
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM messages WHERE folder_id = ?1 AND message_id = ?2",
            params![folder_id, format!("<{bare}>")],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The UID for a new local message: past both the largest stored UID and the folder's
    /// `uidnext`, so a UID is never reused even after its message was deleted.
    pub fn next_local_uid(&self, folder_id: i64) -> Result<u32> {
        let uidnext: Option<u32> = self.conn.query_row(
            "SELECT uidnext FROM folders WHERE id = ?1",
            [folder_id],
            |r| r.get(0),
        )?;
        let max = self.max_uid(folder_id)?;
        Ok(uidnext.unwrap_or(1).max(max.saturating_add(1)))
    }

    /// Moves message `id` into folder `dest` under that folder's next UID (its body, parts and
    /// index entry follow the row); returns the UID. For local mail only: an IMAP folder's UIDs
    /// are the server's. The caller holds the transaction.
    pub fn move_local_message(&self, id: i64, dest: i64) -> Result<u32> {
        let uid = self.next_local_uid(dest)?;
        self.conn.execute(
            "UPDATE messages SET folder_id = ?2, uid = ?3, deleted = 0, pending = 0 WHERE id = ?1",
            params![id, dest, uid],
        )?;
        self.conn.execute(
            "UPDATE folders SET uidnext = ?2 WHERE id = ?1",
            params![dest, uid.saturating_add(1)],
        )?;
        Ok(uid)
    }
}
